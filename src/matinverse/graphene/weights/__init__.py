"""Shipped porous-graphene generator (see MODEL_CARD.md)."""

from pathlib import Path

WEIGHTS = Path(__file__).parent
