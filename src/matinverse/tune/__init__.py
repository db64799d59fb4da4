"""Hyperparameter and architecture search over the project's models (Optuna).

:mod:`~matinverse.tune.spaces` says what is searched for each (problem, model);
:mod:`~matinverse.tune.study` runs a resumable study from any number of workers;
:mod:`~matinverse.tune.curve` draws a configuration's learning curve.
"""

from matinverse.tune.curve import run_learning_curve
from matinverse.tune.spaces import TUNABLES, Param, Splits, Tunable, get_tunable
from matinverse.tune.study import (
    SAMPLERS,
    StudyResult,
    TuneStudy,
    best_configuration,
    make_objective,
    open_storage,
    open_study,
    run_study,
)

__all__ = [
    "SAMPLERS",
    "TUNABLES",
    "Param",
    "Splits",
    "StudyResult",
    "TuneStudy",
    "Tunable",
    "best_configuration",
    "get_tunable",
    "make_objective",
    "open_storage",
    "open_study",
    "run_learning_curve",
    "run_study",
]
