"""Batch adapters over the engine and the resolver: listings in, one line per mention out."""
