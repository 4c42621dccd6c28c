"""Claims of the noise stability optimization (NSO) paper (papers/noise-stability-optimization-nso.md)."""
