"""The ``matinverse`` command: a thin layer over the library, one sub-command per problem."""

import os
import sys

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
