"""matinverse: machine-learning inverse design of materials, checked by physical oracles."""

__version__ = "0.1.0"
