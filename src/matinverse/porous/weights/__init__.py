"""Shipped weights of the porous models (see MODEL_CARD.md)."""
