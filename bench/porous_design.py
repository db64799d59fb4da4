"""Verified accuracy and time of porous inverse design, stage by stage.

Run:  python bench/porous_design.py --train out/porous-train [--workers 2] [--time-limit 9]

Suite (fixed seeds):
(a) realizable: 100 isotherms of grids simulated here (seed 9001, every family) whose
    isotherm does not occur in the training dataset ``--train``, so the models never saw them;
(b) piecewise-linear: 50 monotone curves with random levels and breakpoints;
(c) steps: 10 sharp 0 -> 1 steps at RH = 0.1, 0.175, ..., 0.775.
Stages: generator alone; generator + steepest descent (the default pipeline); swarm alone
(from random family grids); random search over the dataset families (the baseline); and, on
request, the default pipeline with the descent's flips ranked by the predictor instead of
the simulator's linear response ("predictor-ranked descent"). Each target runs on one core
(targets fan out over ``--workers`` processes, torch and numba one thread each);
``--time-limit`` is the budget per target, all stages included. All errors are the exact
simulator's: mean absolute error over the 41 points of the best grid.
"""

import os

for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import tempfile  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from matinverse.parallel.executor import make_executor  # noqa: E402
from matinverse.porous.dataset import generate_dataset, load_dataset  # noqa: E402
from matinverse.porous.design import DesignSettings, PorousDesigner  # noqa: E402
from matinverse.porous.simulator import default_relative_pressure  # noqa: E402
from matinverse.porous.targets import piecewise_linear_curves, step_curves  # noqa: E402
from matinverse.porous.training import isotherm_keys  # noqa: E402

STAGES = {  # row name: the stages and any other DesignSettings
    "generator": {"stages": ("generator",)},
    "generator+descent": {"stages": ("generator", "descent")},
    "swarm": {"stages": ("swarm",)},
    "random search": {"stages": ("random",)},
    "predictor-ranked descent": {"stages": ("generator", "descent"), "ranking": "surrogate"},
}
DEFAULT_ROWS = ("generator", "generator+descent", "swarm", "random search")


def realizable_targets(train_dir, n: int, seed: int) -> np.ndarray:
    """n isotherms of freshly simulated grids, equal shares per family, none in train."""
    seen = set(isotherm_keys(load_dataset(train_dir).adsorption))
    with tempfile.TemporaryDirectory() as tmp:
        generate_dataset(tmp, 1500, seed=seed, desorption=False)
        data = load_dataset(tmp)
    novel = np.array([key not in seen for key in isotherm_keys(data.adsorption)])
    rng = np.random.default_rng(seed)
    per_family = n // len(data.family_names)
    picks = []
    for code in range(len(data.family_names)):
        idx = np.flatnonzero(novel & (data.family == code))
        picks.extend(rng.choice(idx, min(per_family, len(idx)), replace=False).tolist())
    rest = np.setdiff1d(np.flatnonzero(novel), picks)
    picks.extend(rng.choice(rest, n - len(picks), replace=False).tolist())
    return data.adsorption[np.sort(picks)]


def _run(item, settings, time_limit):
    torch.set_num_threads(1)
    index, target = item
    designer = PorousDesigner.pretrained(
        settings=DesignSettings(candidates=1, time_limit=time_limit, **settings)
    )
    result = designer.design(target, np.random.default_rng([1234, index]))
    return result.mae[0], result.max_error[0], result.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, help="training dataset folder")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=9.0)
    parser.add_argument(
        "--stages", default=",".join(DEFAULT_ROWS), help=f"rows to run, of: {', '.join(STAGES)}"
    )
    parser.add_argument("--parts", default="realizable,piecewise-linear,steps")
    parser.add_argument("--limit", type=int, default=None, help="first targets of each part")
    args = parser.parse_args()
    rh = default_relative_pressure()
    parts = args.parts.split(",")
    suite = {
        "realizable": lambda: realizable_targets(args.train, 100, 9001),
        "piecewise-linear": lambda: piecewise_linear_curves(50, np.random.default_rng(9002), rh),
        "steps": lambda: step_curves(np.linspace(0.1, 0.775, 10), rh),
    }
    suite = {part: make() for part, make in suite.items() if part in parts}
    print(
        f"{'part':<17} {'stage':<26} {'mean MAE':>9} {'median':>8} {'max':>8}"
        f" {'max err':>8} {'s/target':>9}"
    )
    with make_executor(workers=args.workers) as executor:
        for part, targets in suite.items():
            targets = targets[: args.limit]
            for name in args.stages.split(","):
                task = partial(_run, settings=STAGES[name], time_limit=args.time_limit)
                out = np.array(
                    [r for _, r in executor.map_unordered(task, list(enumerate(targets)))]
                )
                mae, max_err, secs = out.T
                print(
                    f"{part:<17} {name:<26} {mae.mean():9.4f} {np.median(mae):8.4f} "
                    f"{mae.max():8.4f} {np.median(max_err):8.4f} {secs.mean():9.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
