"""Shipped composition models (see MODEL_CARD.md)."""

from pathlib import Path

WEIGHTS = Path(__file__).parent

# shipped generators by name: the GANs trained on the SMACT-valid subset and on all of the
# train split, the autoregressive transformer (valid subset) and that transformer fine-tuned
# by reinforcement toward valid formulas not in OQMD
GENERATORS = {
    "valid": "generator-valid.pt",
    "all": "generator-all.pt",
    "transformer": "transformer-valid.pt",
    "transformer-novel": "transformer-novel.pt",
}
