"""Classifiers and substructure models (spectrum -> class, spectrum -> fingerprint).

Names are imported lazily, so ``import nps_id.models`` stays cheap (no torch or scikit-learn until used).

- :class:`SpectrumFeaturizer` -- features from spectra (binned, neutral losses, characteristic ions,
  library-search evidence).
- :class:`SpectrumClassifier` -- spectrum -> drug class; calibrated; open-set "unknown".
- :class:`SubstructurePredictor` -- spectrum -> substructure fingerprint (PyTorch, CPU/CUDA);
  ``rank_suspects(spectrum, smiles_list, library=lib)`` (scores: :mod:`nps_id.models.suspects`).
- :func:`save_model` / :func:`load_model` -- safe model folders (skops + safetensors + JSON manifest).
- :func:`cross_validate`, :func:`compound_groups` -- compound-grouped evaluation.
"""

from __future__ import annotations

from nps_id._lazy import lazy_names

__all__ = [
    "SpectrumFeaturizer",
    "SpectrumClassifier",
    "SubstructurePredictor",
    "SuspectHit",
    "enumerate_fentanyl_suspects",
    "substructure_keys",
    "ModelBundle",
    "save_model",
    "load_model",
    "compound_groups",
    "cross_validate",
    "nearest_hit_baseline",
]

_LAZY = {
    "SpectrumFeaturizer": "nps_id.models.features",
    "SpectrumClassifier": "nps_id.models.classifier",
    "SubstructurePredictor": "nps_id.models.substructure",
    "SuspectHit": "nps_id.models.suspects",
    "enumerate_fentanyl_suspects": "nps_id.models.suspects",
    "substructure_keys": "nps_id.models.substructure",
    "ModelBundle": "nps_id.models.io",
    "save_model": "nps_id.models.io",
    "load_model": "nps_id.models.io",
    "compound_groups": "nps_id.models.evaluation",
    "cross_validate": "nps_id.models.evaluation",
    "nearest_hit_baseline": "nps_id.models.evaluation",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
