"""Harmonised metadata keys and the synonym table that maps file keys onto them.

Every reader passes each key it finds through :func:`harmonize_key`: the key is lower-cased, spaces and
dashes become underscores, and known synonyms map onto one canonical name. Unknown keys are kept under
their normalised name, so nothing a file holds is dropped. Writers map canonical keys back with
:data:`MSP_KEYS` / :data:`MGF_KEYS`.

Canonical keys
--------------
========================  ==========================================================
key                       synonyms (after lower-casing)
========================  ==========================================================
name                      name, compound_name, compound, title (MGF)
spectrum_id               spectrum_id, db#, id, accession, spectrumid
smiles                    smiles, computed_smiles
inchikey                  inchikey, inchi_key, computed_inchikey
inchi                     inchi
formula                   formula, molecular_formula
exact_mass                exactmass, exact_mass, monoisotopic_mass, mw (when exact)
precursor_mz              precursormz, precursor_mz, pepmass, precursor_m/z, selected_ion_m/z
precursor_type            precursortype, precursor_type, adduct, ion_type
charge                    charge
ion_mode                  ionmode, ion_mode, polarity, ionmode
ionization                ionization, ionisation, ion_source
ms_level                  mslevel, ms_level, spectrum_type
collision_energy          collisionenergy, collision_energy, ce
instrument_type           instrumenttype, instrument_type
instrument                instrument
retention_time            rt, retention_time, rtinseconds, retentiontime
retention_index           ri, retention_index, retentionindex
is_derivative             is_derivative
is_isotope_labelled       is_isotope_labelled, is_isotope_labeled
license                   license, licence
license_bucket            license_bucket
copyright                 copyright
authors                   authors
source                    source
source_record             source_record
cas                       cas, casno, cas#, cas_number
comment                   comment, comments
========================  ==========================================================

``precursor_mz`` is held on :attr:`Spectrum.precursor_mz`, not in the metadata dict.
"""

from __future__ import annotations

import re

__all__ = ["SYNONYMS", "MSP_KEYS", "MGF_KEYS", "harmonize_key"]

_CANONICAL: dict[str, tuple[str, ...]] = {
    "name": ("name", "compound_name", "compound", "title"),
    "spectrum_id": ("spectrum_id", "db#", "id", "accession", "spectrumid"),
    "smiles": ("smiles", "computed_smiles"),
    "inchikey": ("inchikey", "inchi_key", "computed_inchikey"),
    "inchi": ("inchi",),
    "formula": ("formula", "molecular_formula"),
    "exact_mass": ("exactmass", "exact_mass", "monoisotopic_mass"),
    "precursor_mz": ("precursormz", "precursor_mz", "pepmass", "precursor_m/z", "selected_ion_m/z"),
    "precursor_type": ("precursortype", "precursor_type", "adduct", "ion_type"),
    "charge": ("charge",),
    "ion_mode": ("ionmode", "ion_mode", "polarity"),
    "ionization": ("ionization", "ionisation", "ion_source"),
    "ms_level": ("mslevel", "ms_level", "spectrum_type"),
    "collision_energy": ("collisionenergy", "collision_energy", "ce"),
    "instrument_type": ("instrumenttype", "instrument_type"),
    "instrument": ("instrument",),
    "retention_time": ("rt", "retention_time", "rtinseconds", "retentiontime"),
    "retention_index": ("ri", "retention_index", "retentionindex"),
    "is_derivative": ("is_derivative",),
    "is_isotope_labelled": ("is_isotope_labelled", "is_isotope_labeled"),
    "license": ("license", "licence"),
    "license_bucket": ("license_bucket",),
    "copyright": ("copyright",),
    "authors": ("authors",),
    "source": ("source",),
    "source_record": ("source_record",),
    "cas": ("cas", "casno", "cas#", "cas_number"),
    "comment": ("comment", "comments"),
}

#: normalised file key -> canonical key
SYNONYMS: dict[str, str] = {syn: canon for canon, syns in _CANONICAL.items() for syn in syns}

#: canonical key -> key written to MSP files (NIST / MassBank style)
MSP_KEYS: dict[str, str] = {
    "name": "NAME",
    "spectrum_id": "SPECTRUM_ID",
    "smiles": "SMILES",
    "inchikey": "INCHIKEY",
    "inchi": "INCHI",
    "formula": "FORMULA",
    "exact_mass": "EXACTMASS",
    "precursor_mz": "PRECURSORMZ",
    "precursor_type": "PRECURSORTYPE",
    "charge": "CHARGE",
    "ion_mode": "IONMODE",
    "ionization": "IONIZATION",
    "ms_level": "MSLEVEL",
    "collision_energy": "COLLISIONENERGY",
    "instrument_type": "INSTRUMENTTYPE",
    "instrument": "INSTRUMENT",
    "retention_time": "RETENTIONTIME",
    "retention_index": "RETENTIONINDEX",
    "is_derivative": "IS_DERIVATIVE",
    "is_isotope_labelled": "IS_ISOTOPE_LABELLED",
    "license": "LICENSE",
    "license_bucket": "LICENSE_BUCKET",
    "copyright": "COPYRIGHT",
    "authors": "AUTHORS",
    "source": "SOURCE",
    "source_record": "SOURCE_RECORD",
    "cas": "CASNO",
    "comment": "COMMENT",
}

#: canonical key -> key written to MGF files; other keys are written upper-cased
MGF_KEYS: dict[str, str] = {
    **{k: v for k, v in MSP_KEYS.items()},
    "name": "TITLE",
    "precursor_mz": "PEPMASS",
    "retention_time": "RTINSECONDS",
}

_SEP = re.compile(r"[\s\-]+")


def harmonize_key(key: str) -> str:
    """Return the canonical metadata key for a key read from a file.

    Parameters
    ----------
    key : str
        Key as written in the file (any case, e.g. ``"PrecursorMZ"``, ``"Num Peaks"``).

    Returns
    -------
    str
        Canonical key (e.g. ``"precursor_mz"``), or the normalised key if it has no synonym.

    Examples
    --------
    >>> harmonize_key("PrecursorMZ"), harmonize_key("PEPMASS"), harmonize_key("My Field")
    ('precursor_mz', 'precursor_mz', 'my_field')
    """
    norm = _SEP.sub("_", key.strip().lower())
    return SYNONYMS.get(norm, norm)
