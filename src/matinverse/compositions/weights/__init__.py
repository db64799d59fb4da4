"""Shipped composition models (see MODEL_CARD.md)."""

from pathlib import Path

WEIGHTS = Path(__file__).parent

# shipped generators by name: the GANs trained on the SMACT-valid subset and on all of the
# train split, and the autoregressive transformer (valid subset)
GENERATORS = {
    "valid": "generator-valid.pt",
    "all": "generator-all.pt",
    "transformer": "transformer-valid.pt",
}
