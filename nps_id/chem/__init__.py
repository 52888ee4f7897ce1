"""Chemistry: structures, fingerprints, drug classes and control status (RDKit).

Names are imported lazily, so ``import nps_id.chem`` stays cheap (RDKit loads on first use).

* :mod:`nps_id.chem.structure` - parse, standardise, InChIKey/formula/mass, parent of labelled/derivatised records
* :mod:`nps_id.chem.fingerprints` - :class:`FingerprintTransformer` and Tanimoto search
* :mod:`nps_id.chem.classes` - the taxonomy and its SMARTS rules
* :mod:`nps_id.chem.schedules` - the international control list as data, matching a structure to it
* :mod:`nps_id.chem.control` - control status with its source, analogues, national lists
* :mod:`nps_id.chem.fentanyl_definition` - the class-wide definition of fentanyl-related substances
* :mod:`nps_id.chem.labels` - labelling spectra and libraries
"""

from __future__ import annotations

from nps_id._lazy import lazy_names

__all__ = [
    "Structure",
    "quiet_rdkit",
    "read_structure",
    "standardize",
    "parent_structure",
    "describe",
    "FingerprintTransformer",
    "tanimoto_search",
    "tanimoto_matrix",
    "TAXONOMY",
    "CLASS_NAMES",
    "classify",
    "control_status",
    "fentanyl_related",
    "nearest_controlled",
    "analogue_report",
    "load_controlled",
    "listed_precursors",
    "national_status",
    "schedule_counts",
    "label_smiles",
    "label_library",
]

_LAZY = {
    "Structure": "nps_id.chem.structure",
    "quiet_rdkit": "nps_id.chem.structure",
    "read_structure": "nps_id.chem.structure",
    "standardize": "nps_id.chem.structure",
    "parent_structure": "nps_id.chem.structure",
    "describe": "nps_id.chem.structure",
    "FingerprintTransformer": "nps_id.chem.fingerprints",
    "tanimoto_search": "nps_id.chem.fingerprints",
    "tanimoto_matrix": "nps_id.chem.fingerprints",
    "TAXONOMY": "nps_id.chem.classes",
    "CLASS_NAMES": "nps_id.chem.classes",
    "classify": "nps_id.chem.classes",
    "control_status": "nps_id.chem.control",
    "fentanyl_related": "nps_id.chem.control",
    "nearest_controlled": "nps_id.chem.control",
    "analogue_report": "nps_id.chem.control",
    "load_controlled": "nps_id.chem.control",
    "listed_precursors": "nps_id.chem.control",
    "national_status": "nps_id.chem.control",
    "schedule_counts": "nps_id.chem.schedules",
    "label_smiles": "nps_id.chem.labels",
    "label_library": "nps_id.chem.labels",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
