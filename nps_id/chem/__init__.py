"""Chemistry: structures, fingerprints, drug classes and control status (RDKit)."""
