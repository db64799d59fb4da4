"""Energy-conditioned generation of porous graphene at the training size and beyond
(issue 7's benchmark).

Run:  python bench/graphene_generation.py --model generator.pt --data DIR
          [--requests 10000] [--scales 1,2] [--candidates 4,1] [--workers 1]
          [--out out/bench-graphene]

For each scale K (K = 1: the training size; K = 2: twice the side, 4x the area, same
generator), ``--requests`` densities are drawn from the training data's densities (seed 0)
and one sheet generated for each; the built-in oracle then gives the achieved densities.
At scale K the generator draws M candidates per request (``--candidates``, one M per
scale) as ``graphene generate --candidates M`` does; rows are given for candidate 0 alone
(the generator's own figure) and for the oracle's pick of the nearest of M. Per row: the
Kolmogorov-Smirnov statistic and p-value between requested and achieved
densities (the seed's figure: KS 0.02 at both scales), their mean absolute error, the
share of distinct sheets, and seconds per 1,000 returned sheets for generation and for the
oracle apart (one thread; with ``--workers W`` the oracle runs in W processes and its figure is
the sum of their seconds, so it stays a one-thread cost). Physics sanity against the
training data (all at K = 1 and K = 2): mean hole size, share of holes of one atom, and
the share of under-coordinated carbons; OUT/holes.png compares the hole-size distributions
and OUT/dos.png draws the density of states (Hueckel levels, 0.1 eV Gaussian broadening)
of a few generated sheets beside training sheets of similar density. Everything goes to
OUT/results.json.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from matinverse.graphene.analysis import (  # noqa: E402
    hole_sizes,
    hueckel_levels,
    undercoordinated_fraction,
)
from matinverse.graphene.dataset import load_sheet_dataset  # noqa: E402
from matinverse.graphene.design import nearest_candidate  # noqa: E402
from matinverse.graphene.models import SheetGenerator  # noqa: E402
from matinverse.graphene.oracle import HueckelOracle, energy_density  # noqa: E402
from matinverse.io.atomic import atomic_path  # noqa: E402
from matinverse.nn import load_model  # noqa: E402
from matinverse.parallel.executor import make_executor  # noqa: E402

CHUNK = 250  # sheets per oracle task


def timed_energies(task: tuple[int, np.ndarray]) -> tuple[np.ndarray, float]:
    """Oracle energies (eV) of a (start, (n, nx, ny) sheets) task and the seconds they
    took on one thread."""
    torch.set_num_threads(1)
    begin = time.perf_counter()
    return HueckelOracle().energies(task[1]), time.perf_counter() - begin


def oracle_energies(sheets: np.ndarray, executor) -> tuple[np.ndarray, float]:
    """(N,) energies of (N, nx, ny) sheets, in chunks over ``executor``, and the summed
    seconds of the chunks."""
    energies, seconds = np.empty(len(sheets)), 0.0
    tasks = [(start, sheets[start : start + CHUNK]) for start in range(0, len(sheets), CHUNK)]
    for (start, chunk), (values, took) in executor.map_unordered(timed_energies, tasks):
        energies[start : start + len(chunk)] = values
        seconds += took
    return energies, seconds


def sanity(sheets: np.ndarray) -> dict:
    holes = np.concatenate(hole_sizes(sheets))
    return {
        "mean_hole_size": float(holes.mean()) if len(holes) else 0.0,
        "single_vacancy_share": float(np.mean(holes == 1)) if len(holes) else 0.0,
        "undercoordinated": float(np.nanmean(undercoordinated_fraction(sheets))),
        "holes": holes,
    }


def save_figure(figure, path: Path) -> None:
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--scales", default="1,2")
    parser.add_argument("--candidates", default="4,1", help="M per scale.")
    parser.add_argument("--workers", type=int, default=1, help="Oracle processes.")
    parser.add_argument("--out", type=Path, default=Path("out/bench-graphene"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    generator = load_model(args.model, SheetGenerator)
    data = load_sheet_dataset(args.data)
    executor = make_executor(args.workers)
    reference = sanity(data.sheets[: args.requests])
    scales = [int(k) for k in args.scales.split(",")]
    candidates = [int(m) for m in args.candidates.split(",")]
    if len(candidates) != len(scales) or min(candidates) < 1:
        parser.error("--candidates needs one M >= 1 per scale")
    results = {"model": str(args.model), "requests": args.requests, "rows": []}
    results["training"] = {k: v for k, v in reference.items() if k != "holes"}
    print(
        "| K | sheet | M | KS | p | MAE (eV/A^2) | distinct | s/1,000 generation | "
        "s/1,000 oracle | mean hole | single vacancies | under-coordinated |"
    )
    print("|--:|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    train = results["training"]
    print(
        f"| | training data | | | | | | | | {train['mean_hole_size']:.2f} | "
        f"{train['single_vacancy_share']:.3f} | {train['undercoordinated']:.3f} |"
    )
    generated = {}
    for scale, m in zip(scales, candidates, strict=True):
        requested = np.random.default_rng(0).choice(data.density, args.requests)
        start = time.perf_counter()
        pool = generator.sample(np.repeat(requested, m), scale, seed=scale)
        generation = time.perf_counter() - start
        _, nx, ny = pool.shape
        energies, oracle_seconds = oracle_energies(pool, executor)
        pool_density = energy_density(energies, nx, ny).reshape(-1, m)
        for pick in sorted({1, m}):
            best = nearest_candidate(pool_density[:, :pick], requested)
            sheets = pool.reshape(-1, m, nx, ny)[np.arange(len(requested)), best]
            achieved = pool_density[np.arange(len(requested)), best]
            test = ks_2samp(requested, achieved)
            quality = sanity(sheets)
            generated[scale, pick] = (sheets, requested, achieved, quality["holes"])
            row = {
                "scale": scale,
                "candidates": pick,
                "ks": float(test.statistic),
                "ks_p": float(test.pvalue),
                "mae": float(np.abs(achieved - requested).mean()),
                "distinct": len({s.tobytes() for s in sheets}) / len(sheets),
                "seconds_per_1000_generation": 1000 * generation / len(pool) * pick,
                "seconds_per_1000_oracle": 1000 * oracle_seconds / len(pool) * pick,
                **{k: v for k, v in quality.items() if k != "holes"},
            }
            results["rows"].append(row)
            print(
                f"| {scale} | {nx} x {ny} | {pick} | {row['ks']:.3f} | {row['ks_p']:.2g} | "
                f"{row['mae']:.4f} | {row['distinct']:.3f} | "
                f"{row['seconds_per_1000_generation']:.1f} | "
                f"{row['seconds_per_1000_oracle']:.1f} | {row['mean_hole_size']:.2f} | "
                f"{row['single_vacancy_share']:.3f} | {row['undercoordinated']:.3f} |",
                flush=True,
            )

    figure, ax = plt.subplots(figsize=(6, 4))
    bins = np.arange(1, 80)
    ax.hist(reference["holes"], bins, density=True, histtype="step", label="training data")
    for (scale, pick), (_, _, _, holes) in generated.items():
        label = f"generated, K = {scale}, best of {pick}"
        ax.hist(holes, bins, density=True, histtype="step", label=label)
    ax.set(xlabel="hole size (missing atoms)", ylabel="share of holes", yscale="log")
    ax.legend()
    save_figure(figure, args.out / "holes.png")

    figure, axes = plt.subplots(1, 3, figsize=(12, 3.5), sharey=True)
    grid = np.linspace(-9, 9, 721)
    sheets, requested, achieved, _ = (
        generated[1, 1] if (1, 1) in generated else generated[min(generated)]
    )
    for ax, quantile in zip(axes, (0.1, 0.5, 0.9), strict=True):
        i = int(np.argsort(requested)[int(quantile * (len(requested) - 1))])
        j = int(np.argmin(np.abs(data.density - requested[i])))
        for sheet, label in ((sheets[i], "generated"), (data.sheets[j], "training")):
            levels = hueckel_levels(sheet)
            dos = np.exp(-0.5 * ((grid[:, None] - levels[None]) / 0.1) ** 2).sum(1)
            ax.plot(grid, dos / (len(levels) * 0.1 * np.sqrt(2 * np.pi)), label=label, lw=1)
        ax.set(title=f"requested {requested[i]:.3f} eV/A^2", xlabel="E (eV)")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("DOS per atom (1/eV)")
    save_figure(figure, args.out / "dos.png")
    executor.close()
    with atomic_path(args.out / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}/results.json, holes.png, dos.png")


if __name__ == "__main__":
    main()
