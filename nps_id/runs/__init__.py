"""Chromatographic runs: read a GC-MS acquisition, find and deconvolve its components, mark them on the TIC.

>>> from nps_id.runs import read_run, find_components, plot_tic  # doctest: +SKIP
>>> run = read_run("../shared/runs/agilent_yellow.D")  # doctest: +SKIP
>>> table = find_components(run)  # doctest: +SKIP
>>> table.spectra[0].metadata["name"]  # doctest: +SKIP
'RT 1.95 min'

Names are imported lazily, so ``import nps_id.runs`` stays cheap.
"""

from __future__ import annotations

from nps_id._lazy import lazy_names

__all__ = [
    "Run",
    "read_run",
    "is_run",
    "find_runs",
    "Component",
    "ComponentTable",
    "find_components",
    "extract_components",
    "DeconvolutionOptions",
    "AlkaneLadder",
    "retention_index",
    "read_ladder",
    "find_peaks",
    "rolling_baseline",
    "plot_tic",
]

_LAZY = {
    "Run": "nps_id.runs.run",
    "read_run": "nps_id.runs.io",
    "is_run": "nps_id.runs.io",
    "find_runs": "nps_id.runs.io",
    "Component": "nps_id.runs.components",
    "ComponentTable": "nps_id.runs.components",
    "find_components": "nps_id.runs.components",
    "extract_components": "nps_id.runs.components",
    "DeconvolutionOptions": "nps_id.runs.deconvolution",
    "AlkaneLadder": "nps_id.runs.retention",
    "retention_index": "nps_id.runs.retention",
    "read_ladder": "nps_id.runs.retention",
    "find_peaks": "nps_id.runs.peaks",
    "rolling_baseline": "nps_id.runs.baseline",
    "plot_tic": "nps_id.runs.plot",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
