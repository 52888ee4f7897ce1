"""Classifiers and substructure models (spectrum -> class, spectrum -> fingerprint)."""
