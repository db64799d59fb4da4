"""Accuracy, uncertainty, learning curves and targeted design of the composition property
models (issue 5's benchmark).

Run:  python bench/compositions_properties.py --data-dir ../shared/data
          [--parts accuracy,curve,design] [--model FILE ...] [--out out/bench-properties]

- accuracy: test MAE (and RMSE) on CrabNet's OQMD formation-enthalpy and band-gap test splits
  of the shipped models and of every ``--model FILE`` (e.g. the ElemNet and gradient-boosting
  files of the README's training commands), beside the published figures; and the quality of
  the predicted standard deviations: the share of test errors inside +-1 and +-2 std
  (Laplace-distributed errors: 0.757, 0.941), the rank correlation of std and |error|, and
  the MAE of the more confident half; for band gaps, also the MAE on the gapped rows
  (target > 0, 7% of the table: a model can score a low MAE by predicting 0 for metals)
  and the share of rows put on the right side of 0 (a gap predicted where there is one,
  0 where there is none); a second table gives, per band-gap model, the share of gapped
  rows predicted 0 and of metals predicted a gap, and on the rows predicted a gap the
  share within 1 std and the median std.
- curve: learning curves, test MAE against training-set size (1,000 rows to the whole split,
  nested random subsets), for one attention network shaped like the shipped members
  (max(3,000, 30 epochs) steps of 256; on the whole split, the shipped ensemble's first
  member, trained with the shipped settings) and one gradient-boosting model (1,000 trees);
  written to OUT/learning-curve.png (log-log) and OUT/learning-curve.json, which
  also lets an interrupted run resume.
- design: for a few property requests, the hit rate (share of raw samples that decode to a
  valid, novel formula whose predictions meet the request) of the steered generator against
  plain generate-then-filter, and seconds per 100 distinct designs.

Torch runs on one thread; the curve part is long (about an hour on one core).
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from matinverse.compositions.data import known_formulas  # noqa: E402
from matinverse.compositions.design import PropertyRequest, design  # noqa: E402
from matinverse.compositions.models import CompositionGenerator  # noqa: E402
from matinverse.compositions.prediction import (  # noqa: E402
    default_model_path,
    load_property_model,
    model_property,
)
from matinverse.compositions.property_training import (  # noqa: E402
    PROPERTIES,
    load_property_splits,
    mean_absolute_error,
    train_boosted_model,
    train_property_model,
)
from matinverse.compositions.regressors import PropertyEnsemble  # noqa: E402
from matinverse.compositions.weights import WEIGHTS  # noqa: E402
from matinverse.errors import InputError  # noqa: E402
from matinverse.nn import load_model  # noqa: E402
from matinverse.train.learning_curve import (  # noqa: E402
    CurveRecord,
    nested_subsets,
    plot_curve,
    save_figure,
)
from matinverse.train.uncertainty import uncertainty_report  # noqa: E402

# published test MAEs on these splits (CrabNet repository, metrics/all_metrics.csv)
PUBLISHED = {
    "formation_energy": {"CrabNet": 0.0311, "Roost": 0.0315, "ElemNet": 0.0489, "RF": 0.0834},
    "bandgap": {"CrabNet": 0.0492, "ElemNet": 0.148},
}
CURVE_SIZES = (1_000, 4_000, 16_000, 64_000)
REQUESTS = {
    "formation energy <= -1.5 eV/atom": PropertyRequest(formation_energy_max=-1.5),
    "band gap 1-3 eV": PropertyRequest(bandgap=(1.0, 3.0)),
    "formation energy <= -0.5 eV/atom, band gap 1-3 eV": PropertyRequest(-0.5, (1.0, 3.0)),
}


def model_name(path: Path, model) -> str:
    kind = model.config["architecture"] if hasattr(model, "config") else "boosting"
    if getattr(model, "config", {}).get("two_part"):
        kind += ", two-part"
    return f"{kind} ({path.name})"


def accuracy(splits: dict, extra: list[Path]) -> None:
    print(
        "| property | model | test rows | test MAE | RMSE | within 1 std | within 2 std | "
        "rank corr. std-error | MAE, confident half | MAE, gapped rows | gap or metal right |"
    )
    print("|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    gap_rows = []
    for property in PROPERTIES:
        paths = [default_model_path(property)] + [
            p for p in extra if model_property(load_property_model(p)) == property
        ]
        _, unit, nonnegative = PROPERTIES[property]
        test = splits[property]["test"]
        for path in paths:
            model = load_property_model(path)
            prediction, std = model.predict(test.fractions)
            r = uncertainty_report(prediction, std, test.target)
            gapped = test.target > 0
            error = np.abs(prediction - test.target)[gapped]
            gapped_mae = f"{error.mean():.4f}" if nonnegative else ""
            sorted_right = f"{np.mean((prediction > 0) == gapped):.3f}" if nonnegative else ""
            print(
                f"| {property} ({unit}) | {model_name(path, model)} | {r['rows']:,} | "
                f"**{r['mae']:.4f}** | {r['rmse']:.4f} | {r['within_1std']:.3f} | "
                f"{r['within_2std']:.3f} | {r['rank_correlation']:.3f} | "
                f"{r['mae_confident_half']:.4f} | {gapped_mae} | {sorted_right} |"
            )
            if nonnegative:
                called = prediction > 0
                within = np.abs(prediction - test.target)[called] <= std[called]
                gap_rows.append(
                    f"| {model_name(path, model)} | {np.mean(~called[gapped]):.3f} | "
                    f"{np.mean(called[~gapped]):.3f} | {within.mean():.3f} | "
                    f"{np.median(std[called]):.3f} |"
                )
        for name, mae in PUBLISHED[property].items():
            print(f"| {property} ({unit}) | {name} (published) | | {mae:.4f} | | | | | | | |")
    print(
        "\n| band-gap model | gapped rows predicted 0 | metals predicted a gap | "
        "within 1 std, rows predicted a gap | median std there (eV) |"
    )
    print("|:--|--:|--:|--:|--:|")
    print("\n".join(gap_rows))


def first_member(ensemble: PropertyEnsemble) -> PropertyEnsemble:
    """A one-member ensemble holding the first member of ``ensemble``."""
    single = PropertyEnsemble(**{**ensemble.config, "size": 1})
    single.members[0].load_state_dict(ensemble.members[0].state_dict())
    return single


def curve(splits: dict, out: Path) -> None:
    """Learning curves; each finished point is kept in OUT/learning-curve.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record = CurveRecord(out / "learning-curve.json")
    for property, split in splits.items():
        shipped = load_model(default_model_path(property))
        member = shipped.config["member_config"]
        sizes = (*CURVE_SIZES, len(split["train"]))
        for size, rows in zip(sizes, nested_subsets(len(split["train"]), sizes), strict=True):
            for kind in ("attention", "boosting"):
                key = f"{property}/{kind}/{size}"
                if key in record:
                    continue
                train = split["train"].rows(rows)
                start = time.perf_counter()
                if kind == "attention" and size == len(split["train"]):
                    model = first_member(shipped)
                elif kind == "attention":
                    steps = max(3_000, 30 * size // 256)
                    model, _ = train_property_model(
                        train, split["val"], property, "attention", member, 1, 1, steps
                    )
                else:
                    model = train_boosted_model(train, split["val"], property, 1, 1000)
                mae = mean_absolute_error(model, split["test"])
                record.add(key, {"mae": mae, "seconds": time.perf_counter() - start})
                print(f"{key}: test MAE {mae:.4f}", flush=True)

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    print("| property | model | " + " | ".join(f"{s:,}" for s in CURVE_SIZES) + " | all |")
    print("|:--|:--|" + "--:|" * (len(CURVE_SIZES) + 1))
    for ax, property in zip(axes, splits, strict=True):
        unit = PROPERTIES[property][1]
        for kind, marker in (("attention", "o"), ("boosting", "s")):
            points = sorted(
                (int(k.rsplit("/", 1)[1]), v["mae"])
                for k, v in record.points.items()
                if k.startswith(f"{property}/{kind}/")
            )
            sizes, maes = zip(*points, strict=True)
            plot_curve(ax, sizes, maes, kind, marker)
            print(f"| {property} | {kind} | " + " | ".join(f"{m:.4f}" for m in maes) + " |")
        for name, mae in PUBLISHED[property].items():
            ax.axhline(mae, ls=":", lw=1, color="grey")
            ax.annotate(name, (sizes[0], mae), fontsize=7, va="bottom", color="grey")
        ax.set(xlabel="training formulas", ylabel=f"test MAE ({unit})", title=property)
        ax.legend()
    figure.tight_layout()
    save_figure(figure, out / "learning-curve.png")
    print(f"wrote {out / 'learning-curve.png'}")


def design_part(data_dir, n: int) -> None:
    generator = load_model(WEIGHTS / "generator-valid.pt", CompositionGenerator)
    models = {p: load_property_model(default_model_path(p)) for p in PROPERTIES}
    known = known_formulas(data_dir)
    print("| request | method | hit rate | raw samples | s per 100 designs |")
    print("|:--|:--|--:|--:|--:|")
    for label, request in REQUESTS.items():
        for method, steering in (("steered", True), ("generate, then filter", False)):
            start = time.perf_counter()
            try:
                result = design(generator, models, request, n, known, seed=0, steering=steering)
            except InputError as error:  # too few hits within design's draw limit
                print(f"| {label} (1 std margin) | {method} | {error} | | |", flush=True)
                continue
            seconds = time.perf_counter() - start
            print(
                f"| {label} (1 std margin) | {method} | {result.hit_rate:.4f} | "
                f"{result.drawn:,} | {100 * seconds / n:.1f} |",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--parts", default="accuracy,curve,design")
    parser.add_argument("--model", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, default=Path("out/bench-properties"))
    parser.add_argument("--designs", type=int, default=200, help="designs per request")
    args = parser.parse_args()
    torch.set_num_threads(1)
    parts = args.parts.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    splits = {}
    if {"accuracy", "curve"} & set(parts):
        splits = {p: load_property_splits(p, args.data_dir)[0] for p in PROPERTIES}
    if "accuracy" in parts:
        accuracy(splits, args.model)
    if "curve" in parts:
        curve(splits, args.out)
    if "design" in parts:
        design_part(args.data_dir, args.designs)


if __name__ == "__main__":
    main()
