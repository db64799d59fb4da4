"""The ``matinverse`` command: a thin layer over the library, one sub-command per problem."""

import ipaddress
import os
import sys
from pathlib import Path

import typer

from matinverse import __version__
from matinverse.compositions.cli import app as compositions_app
from matinverse.crystals.cli import app as crystals_app
from matinverse.errors import InputError
from matinverse.graphene.cli import app as graphene_app
from matinverse.porous.cli import app as porous_app
from matinverse.strain.cli import app as strain_app
from matinverse.tune.cli import learning_curve, tune

app = typer.Typer(
    help="Machine-learning inverse design of materials, checked by physical oracles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(porous_app, name="porous")
app.add_typer(compositions_app, name="compositions")
app.add_typer(strain_app, name="strain")
app.add_typer(graphene_app, name="graphene")
app.add_typer(crystals_app, name="crystals")
app.command("tune")(tune)
app.command("learning-curve")(learning_curve)


@app.command()
def studio(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    crystals_model: Path = typer.Option(
        None, "--crystals-model", help="Crystal generator (.pt) for the crystals page."
    ),
    crystals_database: Path = typer.Option(
        None, "--crystals-database", help="A crystals database folder: its energies make the hull."
    ),
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Root of the public data sets (for the novelty checks)."
    ),
    jobs: int = typer.Option(4, "--jobs", min=1, help="Design jobs run at once."),
):
    """Start the studio, a web app to design materials interactively, at
    http://HOST:PORT/ (Ctrl-C stops it)."""
    from matinverse.studio.app import create_app, serve
    from matinverse.studio.tasks import StudioSettings

    if crystals_model is not None and not crystals_model.is_file():
        raise InputError(f"--crystals-model {crystals_model} is not a file")
    if crystals_database is not None and not crystals_database.is_dir():
        raise InputError(f"--crystals-database {crystals_database} is not a folder")
    settings = StudioSettings(crystals_model, crystals_database, data_dir, jobs)
    app = create_app(settings)
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    where = "localhost only" if local else f"{host}: other machines can reach it (no login)"
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"matinverse studio at http://{shown}:{port}/ (listening on {where})")
    serve(app, host, port)


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
):
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    """Console entry point: bad input is one line on stderr and exit status 2. Under
    ``torchrun`` only rank 0 writes to stdout (the others keep stderr for errors)."""
    if int(os.environ.get("RANK", 0)) > 0:
        sys.stdout = open(os.devnull, "w")
    try:
        app()
    except InputError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
