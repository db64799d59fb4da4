"""``matinverse compositions ...``: train the composition GAN and autoencoder, generate
formulas, and evaluate a formula file (validity, uniqueness, novelty).

The library (pymatgen, SMACT, torch) is imported inside each command, so that other
sub-commands of ``matinverse`` do not pay for it at start-up.
"""

import json
from pathlib import Path

import typer

from matinverse.cliutil import command_line, training_run
from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.progress import progress_bar

app = typer.Typer(
    help="Chemical compositions: OQMD formulas, SMACT validity, generative models.",
    no_args_is_help=True,
)

DATA_DIR_HELP = "Root holding crabnet-oqmd-mp/ (else $MATINVERSE_DATA, the cache, then a download)."
SUBSET_HELP = "Training formulas: 'all' (OQMD train split) or 'valid' (its SMACT-valid part)."


def _training_states(subset: str, data_dir: Path | None):
    from matinverse.compositions.data import training_set

    with progress_bar("checking validity") as progress:
        data = training_set(subset, data_dir, progress)
    typer.echo(
        f"{data.report['formulas']} training formulas ({data.report['dropped_bad_target']} "
        f"rows dropped for |target| > 5 eV/atom, {data.report['skipped_not_fitting']} not "
        "fitting the 8 x 85 encoding)"
    )
    return data


def _train_and_save(
    ctx: typer.Context,
    train,
    description: str,
    out: Path,
    subset: str,
    data_dir,
    half: bool = False,
    **options,
):
    """Run ``train(states, checkpoint=, progress=, **options)`` on the training formulas,
    save the model (float16 weights if ``half``) with its data report, history and command
    line; returns the history.
    The run folder OUT.run keeps config.json (the options of ``ctx``), metrics.jsonl and a
    checkpoint per epoch."""
    run = training_run(out, ctx)
    data = _training_states(subset, data_dir)
    run.add_config(data=data.report)
    with progress_bar(description) as progress:
        model, history = train(data.states, checkpoint=run, progress=progress, **options)
    run.finish(
        lambda: model.save(
            out,
            {"data": data.report, "history": history, "command": command_line()},
            half=half,
        )
    )
    return history


@app.command("train-gan")
def train_gan_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Generator file (.pt) to write."),
    subset: str = typer.Option("valid", help=SUBSET_HELP),
    epochs: int = typer.Option(30, min=1),
    steps: int = typer.Option(800, min=1, help="Steps per epoch (critic or generator)."),
    batch_size: int = typer.Option(256, min=1),
    n_critic: int = typer.Option(5, min=1, help="Critic updates per generator update."),
    lr: float = typer.Option(1e-4),
    width: int = typer.Option(256, min=8),
    depth: int = typer.Option(3, min=1),
    latent_dim: int = typer.Option(128, min=1),
    seed: int = typer.Option(0),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
):
    """Train the WGAN-GP generator on OQMD formulas. Interrupted runs resume from the run
    folder OUT.run (one checkpoint per epoch)."""
    from matinverse.compositions.training import train_gan

    history = _train_and_save(
        ctx,
        train_gan,
        "training GAN",
        out,
        subset,
        data_dir,
        epochs=epochs,
        steps_per_epoch=steps,
        batch=batch_size,
        n_critic=n_critic,
        lr=lr,
        latent_dim=latent_dim,
        width=width,
        depth=depth,
        seed=seed,
    )
    last = history[-1]
    typer.echo(
        f"wrote {out}; last epoch: valid {last['valid']:.3f}, unique {last['unique']:.3f}, "
        f"novel vs training {last['novel']:.3f}"
    )


@app.command("train-transformer")
def train_transformer_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Generator file (.pt) to write."),
    subset: str = typer.Option("valid", help=SUBSET_HELP),
    epochs: int = typer.Option(12, min=1),
    steps: int = typer.Option(380, min=1, help="Batches per epoch."),
    batch_size: int = typer.Option(256, min=1),
    lr: float = typer.Option(1e-3),
    width: int = typer.Option(192, min=8),
    depth: int = typer.Option(3, min=1),
    heads: int = typer.Option(4, min=1),
    dropout: float = typer.Option(0.1, min=0.0, max=0.9),
    element_temperature: float = typer.Option(
        1.0, min=0.05, help="Default sampling temperature of the element choice."
    ),
    count_temperature: float = typer.Option(
        1.0, min=0.05, help="Default sampling temperature of the count of an element."
    ),
    seed: int = typer.Option(0),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
):
    """Train the autoregressive transformer generator ((element, count) tokens in
    electronegativity order) by maximum likelihood. Interrupted runs resume from OUT.run."""
    from matinverse.compositions.training import train_transformer

    if width % heads:
        raise InputError(f"--width ({width}) must be a multiple of --heads ({heads})")
    history = _train_and_save(
        ctx,
        train_transformer,
        "training transformer",
        out,
        subset,
        data_dir,
        half=True,
        epochs=epochs,
        steps_per_epoch=steps,
        batch=batch_size,
        lr=lr,
        width=width,
        depth=depth,
        heads=heads,
        dropout=dropout,
        element_temperature=element_temperature,
        count_temperature=count_temperature,
        seed=seed,
    )
    last = history[-1]
    typer.echo(
        f"wrote {out}; last epoch: held-out NLL {last['held_out_nll']:.3f} nats/formula, "
        f"valid {last['valid']:.3f}, unique {last['unique']:.3f}, "
        f"novel vs training {last['novel']:.3f}"
    )


@app.command("finetune-transformer")
def finetune_transformer_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Generator file (.pt) to write."),
    prior: Path = typer.Option(None, help="Transformer (.pt) to start from (default: shipped)."),
    epochs: int = typer.Option(12, min=1),
    steps: int = typer.Option(100, min=1, help="Batches per epoch."),
    batch_size: int = typer.Option(256, min=2),
    lr: float = typer.Option(3e-4),
    sigma: float = typer.Option(
        12.0, min=0.0, help="Reward scale (nats): rewarded formulas gain up to e^sigma."
    ),
    max_probability: float = typer.Option(
        5e-7, min=1e-12, max=1.0, help="No reward for a formula the agent samples more often."
    ),
    temperature: str = typer.Option(
        None,
        metavar="ELEMENT,COUNT",
        help="Sampling temperatures the fine-tuned model keeps as its defaults "
        "(default: the prior's, at which it trains).",
    ),
    seed: int = typer.Option(0),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
):
    """Fine-tune a transformer generator by reinforcement (REINVENT's augmented likelihood)
    toward formulas that are SMACT-valid (headline setting) and not among OQMD's formulas.
    Interrupted runs resume from OUT.run."""
    from matinverse.compositions.data import known_formulas
    from matinverse.compositions.models import CompositionTransformer
    from matinverse.compositions.training import finetune_transformer
    from matinverse.compositions.weights import GENERATORS, WEIGHTS
    from matinverse.nn import load_model

    start = load_model(prior or WEIGHTS / GENERATORS["transformer"], CompositionTransformer)
    sampling = _temperatures(temperature, start)
    run = training_run(out, ctx)
    known = known_formulas(data_dir)
    with progress_bar("fine-tuning transformer") as progress:
        model, history = finetune_transformer(
            start,
            known,
            epochs,
            steps,
            batch_size,
            lr,
            sigma,
            max_probability,
            seed,
            sampling,
            checkpoint=run,
            progress=progress,
        )
    metadata = {"prior": start.metadata, "history": history, "command": command_line()}
    run.finish(lambda: model.save(out, metadata, half=True))
    last = history[-1]
    typer.echo(
        f"wrote {out}; last epoch: reward {last['reward']:.3f}, valid {last['valid']:.3f}, "
        f"unique {last['unique']:.3f}, novel vs OQMD {last['novel']:.3f}"
    )


@app.command("train-autoencoder")
def train_autoencoder_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Autoencoder file (.pt) to write."),
    subset: str = typer.Option("all", help=SUBSET_HELP),
    epochs: int = typer.Option(20, min=1),
    steps: int = typer.Option(1000, min=1, help="Batches per epoch."),
    batch_size: int = typer.Option(256, min=1),
    lr: float = typer.Option(1e-3),
    width: int = typer.Option(256, min=8),
    depth: int = typer.Option(3, min=1),
    latent_dim: int = typer.Option(128, min=1),
    seed: int = typer.Option(0),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
):
    """Train the autoencoder (negative Dice + cross-entropy loss; its decoder has the
    generator's architecture). Interrupted runs resume from the run folder OUT.run."""
    from matinverse.compositions.training import train_autoencoder

    history = _train_and_save(
        ctx,
        train_autoencoder,
        "training autoencoder",
        out,
        subset,
        data_dir,
        epochs=epochs,
        steps_per_epoch=steps,
        batch=batch_size,
        lr=lr,
        latent_dim=latent_dim,
        width=width,
        depth=depth,
        seed=seed,
    )
    typer.echo(f"wrote {out}; exact reconstruction {history[-1]['reconstructed']:.3f}")


MAX_SAMPLES = 10_000_000


def _generator(model: str, generator: Path | None):
    from matinverse.compositions.models import CompositionGenerator, CompositionTransformer
    from matinverse.compositions.weights import GENERATORS, WEIGHTS
    from matinverse.nn import load_model

    if generator is None:
        if model not in GENERATORS:
            raise InputError(f"--model must be one of {', '.join(GENERATORS)}, got {model!r}")
        generator = WEIGHTS / GENERATORS[model]
    return load_model(generator, (CompositionGenerator, CompositionTransformer))


def _temperatures(temperature: str | None, net) -> dict:
    """--temperature as ``sample_states`` arguments ({} when not given)."""
    from matinverse.compositions.generation import sampling_temperatures

    if temperature is None:
        return {}
    if "element_temperature" not in net.config:
        raise InputError("--temperature applies to the transformer generator only")
    return sampling_temperatures(temperature)


@app.command()
def generate(
    n: int = typer.Option(..., "--n", help="Number of samples (rows) to write."),
    out: Path = typer.Option(..., "--out", help="CSV file to write (formula, valid)."),
    seed: int = typer.Option(0),
    model: str = typer.Option(
        "valid",
        help="Shipped generator: the GAN trained on the SMACT-'valid' subset or on 'all' of "
        "the train split, the autoregressive 'transformer' (valid subset), or "
        "'transformer-novel', that transformer fine-tuned toward valid formulas new to OQMD.",
    ),
    generator: Path = typer.Option(None, help="A generator file (.pt) instead of a shipped one."),
    valid_only: bool = typer.Option(
        False, "--valid-only", help="Keep sampling until N valid (headline setting) rows."
    ),
    temperature: str = typer.Option(
        None,
        help="Transformer only: sampling temperatures 'ELEMENT,COUNT' (default: the model's). "
        "A higher element and lower count temperature trades validity for novelty.",
    ),
):
    """Sample formulas from the generator. Without --valid-only the rows are the raw
    decoded samples, duplicates included; a sample that decodes to nothing is a row with an
    empty formula (counted on stderr)."""
    if n < 1 or n > MAX_SAMPLES:
        raise InputError(f"--n must be between 1 and {MAX_SAMPLES:,}, got {n}")
    if out.suffix.lower() != ".csv":
        raise InputError(f"--out must be a .csv file, got {out}")
    from matinverse.compositions.files import write_formulas
    from matinverse.compositions.generation import sample_formulas

    net = _generator(model, generator)
    sampling = _temperatures(temperature, net)
    with progress_bar("sampling") as progress:
        rows, drawn = sample_formulas(net, n, seed, valid_only, progress, sampling=sampling)
    write_formulas(out, rows)
    empty = sum(1 for f, _ in rows if f is None)
    valid = sum(1 for _, v in rows if v)
    typer.echo(
        f"wrote {out}: {len(rows)} rows from {drawn} samples, {valid} valid "
        f"(SMACT headline setting), {empty} decoded to nothing",
        err=True,
    )


@app.command()
def evaluate(
    file: Path = typer.Argument(..., help="CSV with a 'formula' column (first)."),
    reference: str = typer.Option("all", help="Training set for the element-count EMD."),
    autoencoder: Path = typer.Option(None, help="Autoencoder (.pt; default: shipped)."),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
    json_out: Path = typer.Option(None, "--json", help="Also write the report as JSON."),
):
    """Validity (both SMACT settings), uniqueness, novelty against every OQMD formula, the
    number-of-elements EMD against the training set, and the fraction of training formulas
    the autoencoder reconstructs exactly."""
    from matinverse.compositions.files import read_formulas
    from matinverse.compositions.metrics import evaluate_file

    formulas = read_formulas(file)
    with progress_bar("checking") as progress:
        report = evaluate_file(formulas, reference, autoencoder, data_dir, progress)
    if json_out is not None:
        with atomic_path(json_out) as tmp:
            tmp.write_text(json.dumps(report, indent=2))
    typer.echo(format_report(report))


def format_report(report: dict) -> str:
    """The evaluate report as a few lines of text."""
    lines = [f"{report['samples']} samples, {report['empty']} decoded to nothing"]
    for name, value in report["validity"].items():
        setting = report["validity_settings"][name]
        lines.append(
            f"valid ({name}: oxidation states {setting['oxidation_states_set'] or 'ICSD-24'}, "
            f"Pauling {'on' if setting['use_pauling_test'] else 'off'}, alloys "
            f"{'accepted' if setting['include_alloys'] else 'not accepted'}): {value:.4f}"
        )
    lines.append(f"unique: {report['unique']:.4f}")
    lines.append(f"novel (not among OQMD's formulas): {report['novel']:.4f}")
    emd = report["element_count_emd"]
    lines.append(
        f"element-count EMD vs the {report['training_set']['subset']} training set: "
        + ("n/a" if emd is None else f"{emd:.4f}")
    )
    lines.append(
        "training formulas the autoencoder reconstructs exactly: "
        f"{report['autoencoder_reconstructed']:.4f}"
    )
    return "\n".join(lines)


PROPERTY_HELP = "Property: 'formation_energy' (eV/atom) or 'bandgap' (eV)."
TRAIN_PROPERTY_HELP = PROPERTY_HELP[:-1] + ", or a name for the target of --table."
PROPERTY_MODELS = ("attention", "elemnet", "boosting")


@app.command("train-property")
def train_property_command(
    ctx: typer.Context,
    property: str = typer.Option(..., "--property", help=TRAIN_PROPERTY_HELP),
    out: Path = typer.Option(..., "--out", help="Model file: .pt (networks) or .skops (boosting)."),
    model: str = typer.Option("attention", help=f"Architecture: one of {PROPERTY_MODELS}."),
    size: int = typer.Option(3, min=1, help="Ensemble members."),
    epochs: int = typer.Option(24, min=1),
    steps: int = typer.Option(1000, min=1, help="Batches per epoch."),
    batch_size: int = typer.Option(256, min=1),
    lr: float = typer.Option(1e-3),
    dim: int = typer.Option(128, min=8, help="Attention model width."),
    layers: int = typer.Option(3, min=1, help="Attention model layers."),
    heads: int = typer.Option(4, min=1, help="Attention heads."),
    width_factor: float = typer.Option(1.0, help="ElemNet layer widths, times this."),
    trees: int = typer.Option(1000, min=1, help="Boosting: trees per member."),
    seed: int = typer.Option(0),
    device: str = typer.Option("cpu", help="Torch device of network training, e.g. cuda."),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
    table: Path = typer.Option(
        None,
        "--table",
        help="Your own formula,target CSV instead of OQMD (optional split column "
        "train/val/test, else a fixed 70/15/15 random split); --property names its target.",
    ),
    unit: str = typer.Option(None, help="Unit of the target (needed with --table)."),
    nonnegative: bool = typer.Option(
        None, "--nonnegative/--signed", help="Clip predictions at zero (default: OQMD's rule)."
    ),
    two_part: bool = typer.Option(
        False,
        "--two-part",
        help="Networks on a nonnegative target: a probability of target > 0 (a band gap) "
        "times a value fitted on those rows.",
    ),
):
    """Train a property model on the OQMD train split, or on your own table (validation
    MAE per epoch; the standard deviation is calibrated on validation; test is never
    used). Network runs keep config.json, metrics.jsonl and a checkpoint per epoch in the
    run folder OUT.run and resume from it after an interruption."""
    from matinverse.compositions.property_training import (
        load_property_splits,
        mean_absolute_error,
        property_spec,
        train_boosted_model,
        train_property_model,
    )

    if model not in PROPERTY_MODELS:
        raise InputError(f"--model must be one of {PROPERTY_MODELS}, got {model!r}")
    expected = ".skops" if model == "boosting" else ".pt"
    if out.suffix != expected:
        raise InputError(f"--out for a {model} model must end in {expected}, got {out}")
    if two_part and model == "boosting":
        raise InputError("--two-part is for the networks (attention, elemnet), not boosting")
    unit, nonnegative = property_spec(property, unit, nonnegative)
    if two_part and not nonnegative:
        raise InputError(f"--two-part needs a nonnegative target; {property} is signed")
    splits, report = load_property_splits(property, data_dir, table)
    target = {"unit": unit, "nonnegative": nonnegative}
    metadata = {"data": report, "command": command_line()}
    if model == "boosting":
        with progress_bar("fitting boosted trees") as progress:
            net = train_boosted_model(
                splits["train"], splits["val"], property, size, trees, seed, progress, **target
            )
        metadata.update(val_mae=mean_absolute_error(net, splits["val"]), std_scale=net.std_scale)
        net.save(out, metadata)
        typer.echo(f"wrote {out}; validation MAE {metadata['val_mae']:.4f} {net.unit}")
        return
    run = training_run(out, ctx)
    run.add_config(data=report)
    config = (
        {"dim": dim, "heads": heads, "layers": layers}
        if model == "attention"
        else {"width_factor": width_factor}
    )
    with progress_bar(f"training {model} ensemble") as progress:
        net, history = train_property_model(
            splits["train"],
            splits["val"],
            property,
            model,
            config,
            size,
            epochs,
            steps,
            batch_size,
            lr,
            seed=seed,
            checkpoint=run,
            progress=progress,
            device=device,
            two_part=two_part,
            **target,
        )
    metadata.update(history=history, val_mae=history[-1]["val_mae"], std_scale=net.std_scale)
    run.finish(lambda: net.save(out, metadata, half=True))
    typer.echo(f"wrote {out}; validation MAE {metadata['val_mae']:.4f} {net.config['unit']}")


@app.command()
def calibrate(
    model: Path = typer.Argument(..., help="Property model file (.pt or .skops) to recalibrate."),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
    table: Path = typer.Option(None, "--table", help="The formula,target CSV it was trained on."),
):
    """Refit a property model's standard-deviation factor on its validation split (as
    training does at its end) and rewrite the file in place, the old factor kept in its
    metadata."""
    from matinverse.compositions.prediction import load_property_model, model_property
    from matinverse.compositions.property_training import calibrate as refit
    from matinverse.compositions.property_training import load_property_splits
    from matinverse.compositions.regressors import PropertyEnsemble

    net = load_property_model(model)
    splits, _ = load_property_splits(model_property(net), data_dir, table)
    old = net.std_scale
    factor = refit(net, splits["val"])
    metadata = dict(net.metadata or {})
    metadata.setdefault("calibrations", []).append(
        {"old_std_scale": old, "std_scale": factor, "command": command_line()}
    )
    metadata["std_scale"] = factor
    if isinstance(net, PropertyEnsemble):
        net.save(model, metadata, half=True)
    else:
        net.save(model, metadata)
    typer.echo(f"{model}: std factor {old:.3f} -> {factor:.3f}")


@app.command()
def predict(
    file: Path = typer.Argument(..., help="CSV with a 'formula' column."),
    property: str = typer.Option(..., "--property", help=PROPERTY_HELP),
    out: Path = typer.Option(
        ...,
        "--out",
        help="CSV to write: the input plus prediction, "
        "uncertainty (one standard deviation) and error columns.",
    ),
    model: Path = typer.Option(None, help="A property model file instead of the shipped one."),
):
    """Predict a property for every formula of a CSV file. A formula that cannot be parsed,
    or holds an element outside the model's list, gets its reason in the error column; the
    other rows are still predicted."""
    from matinverse.compositions.prediction import (
        default_model_path,
        load_property_model,
        model_property,
        predict_file,
    )

    if out.suffix.lower() != ".csv":
        raise InputError(f"--out must be a .csv file, got {out}")
    net = load_property_model(model or default_model_path(property))
    if model_property(net) != property:
        raise InputError(f"{model} predicts {model_property(net)}, not {property}")
    counts = predict_file(net, file, out)
    typer.echo(f"wrote {out}: {counts['predicted']} of {counts['rows']} rows predicted", err=True)


def _bandgap_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, high = (float(part) for part in text.split(":"))
    except ValueError:
        raise InputError(f"--bandgap must be LO:HI in eV (e.g. 1.0:3.0), got {text!r}") from None
    return low, high


@app.command()
def design(
    n: int = typer.Option(..., "--n", help="Number of distinct designs to write."),
    out: Path = typer.Option(
        ..., "--out", help="CSV to write: formula, predictions, uncertainties."
    ),
    formation_energy_max: float = typer.Option(
        None, "--formation-energy-max", help="Upper bound on the formation energy, eV/atom."
    ),
    bandgap: str = typer.Option(None, "--bandgap", help="Band gap range LO:HI, eV."),
    confidence: float = typer.Option(
        1.0, help="Standard deviations of margin a prediction must keep from each bound."
    ),
    steer: bool = typer.Option(
        True, "--steer/--no-steer", help="Steer the generator (else generate, then filter)."
    ),
    steps: int = typer.Option(100, min=0, help="Steering steps per batch of latents."),
    seed: int = typer.Option(0),
    generator: Path = typer.Option(None, help="Generator file (default: shipped 'valid')."),
    formation_energy_model: Path = typer.Option(None, help="Formation energy model file."),
    bandgap_model: Path = typer.Option(None, help="Band gap model file."),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
):
    """Design N distinct formulas, valid (headline SMACT setting) and novel (not in OQMD),
    whose predicted properties meet the bounds; reports the hit rate of the raw samples."""
    import time

    from matinverse.compositions.data import known_formulas
    from matinverse.compositions.design import PropertyRequest
    from matinverse.compositions.design import design as run_design
    from matinverse.compositions.prediction import default_model_path, load_property_model
    from matinverse.io.tables import write_rows

    if n < 1 or n > 100_000:
        raise InputError(f"--n must be between 1 and 100,000, got {n}")
    if out.suffix.lower() != ".csv":
        raise InputError(f"--out must be a .csv file, got {out}")
    request = PropertyRequest(formation_energy_max, _bandgap_range(bandgap), confidence)
    paths = {"formation_energy": formation_energy_model, "bandgap": bandgap_model}
    models = {
        name: load_property_model(paths[name] or default_model_path(name))
        for name in request.properties
    }
    net = _generator("valid", generator)
    known = known_formulas(data_dir)
    start = time.perf_counter()
    with progress_bar("designing") as progress:
        result = run_design(
            net, models, request, n, known, seed, steer, steps=steps, progress=progress
        )
    seconds = time.perf_counter() - start
    write_rows(out, result.rows)
    typer.echo(
        f"wrote {out}: {len(result.rows)} designs; hit rate {result.hit_rate:.4f} "
        f"({result.hits} of {result.drawn} raw samples valid, novel and meeting the request), "
        f"{seconds:.1f} s",
        err=True,
    )
