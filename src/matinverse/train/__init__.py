"""Training loop shared by the design problems: Adam, cosine schedule, resumable runs."""

from matinverse.train.loop import Trainer

__all__ = ["Trainer"]
