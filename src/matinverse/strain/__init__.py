"""Strain design of monolayer MoS2 for a target band gap (MatDesINNe's problem): the DFT
table of strained cells under an electric field, an ensemble surrogate of the band gap,
inverse models (INN, cINN, cVAE, MDN) and a design pipeline that samples, filters and
localizes designs on the surrogate."""
