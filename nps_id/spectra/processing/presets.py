"""Preset pipelines: named :class:`~nps_id.spectra.processing.Pipeline` objects for the usual cases."""

from __future__ import annotations

import math

from nps_id.errors import ProcessingError
from nps_id.spectra.processing import ms as _ms, vibrational as _vibrational  # noqa: F401  (registers the steps)
from nps_id.spectra.processing.pipeline import Pipeline

__all__ = ["PRESETS", "get_preset"]

#: Named pipelines for the usual cases. The library stores the pipeline it was built with, so a preset
#: may change between versions without changing how an existing library is searched.
PRESETS: dict[str, Pipeline] = {
    # GC-EI (unit mass). m/z >= 40: most SWGDRUG library spectra start there (scan start), so peaks below it
    # (air, water, and low fragments some instruments record) would only make spectra differ.
    # 0.5% of the base peak removes noise and the 0.1% level quantisation floor of library spectra.
    "ei_default": Pipeline(
        [
            ("mz_range", {"min_mz": 40.0, "max_mz": math.inf}),
            ("min_relative_intensity", {"threshold": 0.005}),
            ("normalize", {"method": "max", "scale": 1.0}),
        ],
        name="ei_default",
    ),
    # LC-MS/MS: drop records without a precursor; remove the precursor and everything above
    # (precursor_mz - 1.6 Da, as in Flash entropy search); merge peaks within 0.01 Da; 1% noise floor;
    # the 100 most intense peaks; base peak 1.
    "msms_default": Pipeline(
        [
            ("require_precursor", {}),
            ("remove_precursor", {"tolerance": 1.6, "unit": "Da", "remove_above": True}),
            ("merge_peaks", {"tolerance": 0.01, "unit": "Da", "how": "sum"}),
            ("min_relative_intensity", {"threshold": 0.01}),
            ("top_n", {"n": 100}),
            ("normalize", {"method": "max", "scale": 1.0}),
        ],
        name="msms_default",
    ),
    # Raman: spikes out on the raw data, then a 2 cm-1 grid over 200-3200 cm-1, baseline, light smoothing,
    # vector normalisation.
    "raman_default": Pipeline(
        [
            ("despike", {"threshold": 6.0, "window": 7}),
            ("resample", {"start": 200.0, "stop": 3200.0, "step": 2.0, "outside": "trim"}),
            ("als_baseline", {"lam": 1e5, "p": 0.01, "n_iter": 10}),
            ("savgol", {"window": 7, "polyorder": 2, "deriv": 0}),
            ("vector_normalize", {}),
        ],
        name="raman_default",
    ),
    # Mid-IR (absorbance): a 2 cm-1 grid over 400-4000 cm-1, a stiff baseline, light smoothing, SNV.
    "ir_default": Pipeline(
        [
            ("resample", {"start": 400.0, "stop": 4000.0, "step": 2.0, "outside": "trim"}),
            ("als_baseline", {"lam": 1e6, "p": 0.01, "n_iter": 10}),
            ("savgol", {"window": 7, "polyorder": 2, "deriv": 0}),
            ("snv", {}),
        ],
        name="ir_default",
    ),
}


def get_preset(name: str) -> Pipeline:
    """Return the preset pipeline called `name` (see :data:`PRESETS`).

    Raises
    ------
    ProcessingError
        If there is no such preset; the message lists them.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ProcessingError(f"no preset pipeline {name!r}; presets: {', '.join(sorted(PRESETS))}") from None
