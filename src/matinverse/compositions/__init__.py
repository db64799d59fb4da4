"""Composition design: OQMD formulas as count one-hot matrices, SMACT validity, a WGAN-GP
generator and an autoencoder whose decoder shares the generator's architecture."""
