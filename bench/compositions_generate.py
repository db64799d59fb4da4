"""Quality and speed of the shipped composition generators (issue 4's benchmark).

Run:  python bench/compositions_generate.py [--n 100000] [--seed 0] [--data-dir ../shared/data]
      [--temperatures "2,0.5 3,0.3"]

For each shipped generator (the GANs "valid", trained on the SMACT-valid part of OQMD's
train split, and "all", on the whole split; the autoregressive "transformer", on the valid
part, at its saved sampling temperatures and at each element,count temperature pair of
``--temperatures``; "transformer-novel", that transformer fine-tuned by reinforcement toward
valid formulas new to OQMD) it draws n samples and prints validity under both SMACT settings,
uniqueness, novelty against every OQMD formula, the number-of-elements earth
mover's distance to its training set, and samples per second for generation + decoding
(validity checking timed separately). The training sets' own validity is printed beside
them, and the fraction of training formulas the shipped autoencoder reconstructs exactly.
"""

import argparse
import time

import torch

from matinverse.compositions.data import known_formulas, load_split, training_set
from matinverse.compositions.encoding import decode, encode
from matinverse.compositions.generation import sampling_temperatures
from matinverse.compositions.metrics import evaluate_formulas
from matinverse.compositions.models import CompositionAutoencoder
from matinverse.compositions.training import reconstruction_rate
from matinverse.compositions.validity import SETTINGS, validity
from matinverse.compositions.weights import GENERATORS, WEIGHTS
from matinverse.nn import load_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--temperatures", default="", help="extra transformer rows: 'element,count' pairs"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    known = known_formulas(args.data_dir)
    train = load_split("formation_enthalpy", "train", args.data_dir)
    states, kept, _ = encode(train.formulas)
    formulas = [train.formulas[i] for i in kept]
    own = {s.name: validity(formulas, s) for s in SETTINGS}
    print(f"training split: {len(formulas)} encodable formulas")
    runs = [(name, {}) for name in GENERATORS] + [
        ("transformer", sampling_temperatures(t)) for t in args.temperatures.split()
    ]
    trained = {subset: training_set(subset, args.data_dir) for subset in ("valid", "all")}
    rows = []
    for name, sampling in runs:
        subset = "all" if name == "all" else "valid"
        data = trained[subset]
        counts = (data.states > 0).sum(axis=1)
        generator = load_model(WEIGHTS / GENERATORS[name])
        temperature = {**generator.config, **sampling}
        if "element_temperature" in temperature:
            name += (
                f" (T {temperature['element_temperature']:g}, {temperature['count_temperature']:g})"
            )
        start = time.perf_counter()
        sampled = generator.sample_states(
            args.n, torch.Generator().manual_seed(args.seed), **sampling
        )
        samples = decode(sampled)
        generation = time.perf_counter() - start
        start = time.perf_counter()
        report = evaluate_formulas(samples, known, counts)
        checking = time.perf_counter() - start
        if subset == "valid":
            mask = own["headline"]
            train_validity = {
                "headline": 1.0,
                "smact-default": float(own["smact-default"][mask].mean()),
            }
        else:
            train_validity = {k: float(v.mean()) for k, v in own.items()}
        rows.append((name, len(data.states), report, train_validity, args.n / generation, checking))

    print()
    print(
        "| model (training set) | training formulas | valid, headline | valid, SMACT default | "
        "unique | novel | element-count EMD | empty | samples/s (generate + decode) | "
        "validity check s | training set valid, headline | training set valid, default |"
    )
    print("|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, n_train, r, tv, speed, checking in rows:
        print(
            f"| {name} | {n_train:,} | {r['validity']['headline']:.4f} | "
            f"{r['validity']['smact-default']:.4f} | {r['unique']:.4f} | {r['novel']:.4f} | "
            f"{r['element_count_emd']:.4f} | {r['empty']} | {speed:,.0f} | {checking:.1f} | "
            f"{tv['headline']:.4f} | {tv['smact-default']:.4f} |"
        )
    autoencoder = load_model(WEIGHTS / "autoencoder.pt", CompositionAutoencoder)
    print()
    print(
        "autoencoder: exact reconstruction of the training formulas "
        f"{reconstruction_rate(autoencoder, states):.4f} ({len(states):,} formulas)"
    )
    print(
        f"samples per model: {args.n:,}, seed {args.seed}; "
        f"novelty against {len(known):,} OQMD formulas"
    )


if __name__ == "__main__":
    main()
