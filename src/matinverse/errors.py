"""Errors that the CLI turns into a one-line message and exit status 2."""


class InputError(ValueError):
    """Bad user input (a file, an array, an option): the message names the problem."""
