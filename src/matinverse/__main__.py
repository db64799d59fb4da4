"""``python -m matinverse`` runs the ``matinverse`` command."""

from matinverse.cli import main

main()
