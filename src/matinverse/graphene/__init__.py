"""Porous graphene sheets: lattice, energy oracle, ASE export (issue 7)."""
