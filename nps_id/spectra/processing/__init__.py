"""Spectrum processing: single steps, named pipelines of steps, and presets.

A *step* is a plain function ``step(spectrum, **params) -> Spectrum | None`` registered by name in
:data:`STEPS`; ``None`` means the spectrum is dropped (no peaks left, nothing to normalise, ...).
Steps never change their input; they return a new spectrum (see :mod:`~nps_id.spectra.processing._steps`).

Mass-spectrum steps (:mod:`~nps_id.spectra.processing.ms`)
    ``mz_range``, ``min_relative_intensity``, ``top_n``, ``intensity_power``, ``mz_weighting``,
    ``require_precursor``, ``remove_precursor``, ``merge_peaks``.
Vibrational (IR, Raman) steps (:mod:`~nps_id.spectra.processing.vibrational`)
    ``als_baseline``, ``savgol``, ``snv``, ``vector_normalize``, ``resample``; ``despike`` (Raman only).
Steps for every kind
    ``crop`` (in :mod:`~nps_id.spectra.processing.vibrational`), ``normalize``, ``min_peaks`` (in
    :mod:`~nps_id.spectra.processing.ms`).

A :class:`Pipeline` (:mod:`~nps_id.spectra.processing.pipeline`) applies steps in order and counts, per step,
the spectra it dropped. It is saved as a small text file, one step per line, so that a library and the
queries searched against it are processed the same way. :data:`PRESETS`
(:mod:`~nps_id.spectra.processing.presets`) holds named pipelines for the usual cases.

Importing this package registers every step.

Examples
--------
>>> from nps_id.spectra import Spectrum
>>> from nps_id.spectra.processing import Pipeline, top_n
>>> s = Spectrum([41.0, 57.0, 91.0, 120.0], [120.0, 999.0, 45.0, 3.0])
>>> top_n(s, n=2).mz.tolist()
[41.0, 57.0]
>>> p = Pipeline([("top_n", {"n": 2}), ("normalize", {"method": "max", "scale": 100.0})], name="demo")
>>> print(p.to_string(), end="")
# name: demo
top_n n=2
normalize method=max scale=100.0
>>> [round(v, 3) for v in p(s).intensity.tolist()]
[12.012, 100.0]
>>> Pipeline.from_string(p.to_string()) == p
True
"""

from __future__ import annotations

from nps_id.errors import PipelineFormatError, ProcessingError
from nps_id.spectra.processing._steps import (
    ALL_KINDS,
    MS,
    STEPS,
    VIBRATIONAL,
    StepInfo,
    get_step,
    register_step,
)

# the step modules register their steps on import, in this order (the order of STEPS)
from nps_id.spectra.processing.ms import (
    intensity_power,
    merge_peaks,
    min_peaks,
    min_relative_intensity,
    mz_range,
    mz_weighting,
    normalize,
    remove_precursor,
    require_precursor,
    top_n,
)
from nps_id.spectra.processing.vibrational import (
    als_baseline,
    crop,
    despike,
    resample,
    savgol,
    snv,
    vector_normalize,
)
from nps_id.spectra.processing.pipeline import Pipeline, ProcessingReport
from nps_id.spectra.processing.presets import PRESETS, get_preset

__all__ = [
    "ProcessingError",
    "PipelineFormatError",
    "StepInfo",
    "STEPS",
    "register_step",
    "get_step",
    "Pipeline",
    "ProcessingReport",
    "PRESETS",
    "get_preset",
    # steps
    "mz_range",
    "min_relative_intensity",
    "top_n",
    "normalize",
    "intensity_power",
    "mz_weighting",
    "require_precursor",
    "remove_precursor",
    "merge_peaks",
    "min_peaks",
    "crop",
    "als_baseline",
    "savgol",
    "snv",
    "vector_normalize",
    "resample",
    "despike",
]
