"""Does tuning pay? The porous predictor's default configuration against the best of an
Optuna study, at the same training budget (issue 8's benchmark).

Run:  python bench/porous_tuning.py --data TRAIN --test HELDOUT [--trials 16] [--epochs 4]
          [--out out/bench-tuning]

TRAIN and HELDOUT are ``matinverse porous dataset`` folders (e.g. ``--n 20000 --seed 1``
and ``--n 2000 --seed 2``). The study (TPE sampler, median pruner; journal file
OUT/study.journal, so a rerun resumes it) searches the ``matinverse tune porous predictor``
space, every trial trained for ``--epochs`` epochs and judged on the validation split;
then the default configuration and the study's best are each trained once more with the
same epochs and compared on HELDOUT (MAE of theta over the 41 pressures, leaving out the
isotherms of TRAIN, as ``porous evaluate-predictor --exclude`` does). Prints a table and
writes OUT/results.json.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from matinverse.io.atomic import atomic_path  # noqa: E402
from matinverse.tune.spaces import get_tunable  # noqa: E402
from matinverse.tune.study import open_storage, open_study, run_study  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("out/bench-tuning"))
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    args.out.mkdir(parents=True, exist_ok=True)
    tunable = get_tunable("porous", "predictor")
    settings = tunable.resolve({"epochs": args.epochs})
    data = tunable.load(args.data, settings, args.test)
    storage = open_storage(str(args.out / "study.journal"))
    study = open_study(tunable, settings, "porous-predictor", storage, "tpe")
    start = time.perf_counter()
    result = run_study(study, data, args.trials)
    search = time.perf_counter() - start
    rows = []
    print("| configuration | parameters | validation MAE | held-out MAE | train s |")
    print("|:--|:--|--:|--:|--:|")
    for name, params in (("default", tunable.defaults), ("tuned", result.best_params)):
        start = time.perf_counter()
        model, history = tunable.train(data, params, settings)
        seconds = time.perf_counter() - start
        row = {
            "configuration": name,
            "params": params,
            "validation_mae": float(history[-1][tunable.metric]),
            "heldout_mae": float(tunable.test_error(model, data)),
            "seconds": seconds,
        }
        rows.append(row)
        shown = ", ".join(
            f"{k} {v:.2g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items()
        )
        print(
            f"| {name} | {shown} | {row['validation_mae']:.4f} | {row['heldout_mae']:.4f} | "
            f"{seconds:.0f} |",
            flush=True,
        )
    ratio = rows[0]["heldout_mae"] / rows[1]["heldout_mae"]
    print(
        f"held-out MAE default / tuned: {ratio:.3f}; study: {result.complete} complete, "
        f"{result.pruned} pruned trials in {search / 60:.1f} min"
    )
    results = {
        "data": str(args.data),
        "test": str(args.test),
        "epochs": args.epochs,
        "trials": {"complete": result.complete, "pruned": result.pruned},
        "search_seconds": search,
        "rows": rows,
        "ratio_default_over_tuned": ratio,
    }
    with atomic_path(args.out / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
