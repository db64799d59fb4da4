"""Shipped crystal generators (see MODEL_CARD.md)."""
