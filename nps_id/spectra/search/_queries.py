"""Query-side helpers of the search index: preparing queries and running a search in batches.

Helpers of :class:`~nps_id.spectra.search.index.SearchIndex`: the library's processing pipeline from its stored
text and an empty peak table (:meth:`~nps_id.spectra.search.index.SearchIndex.prepare`), the bounds of the query
batches (by count and by peaks, with a progress bar), and the device sync that times the stages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nps_id.spectra.search._peaks import PeakTable


def _pipeline(text: str) -> Any:
    from nps_id.spectra.processing import Pipeline

    return Pipeline.from_string(text)


def _empty_table() -> PeakTable:
    return PeakTable(np.zeros(0), np.zeros(0, np.float32), np.zeros(1, np.int64), np.zeros(0))


#: query peaks scored together at most (CPU): the candidate pairs' gathered peaks grow with the batch's peaks, about
#: 0.65 GB per 100,000 query peaks, so batches of spectra with thousands of peaks are cut smaller
PEAK_BUDGET = 1 << 17


def _batch_bounds(n_peaks: np.ndarray, batch_size: int, progress: bool, peak_budget: int = PEAK_BUDGET):
    """(first, end) of every batch: at most `batch_size` queries and, beyond one query, `peak_budget` peaks;
    under a tqdm progress bar if `progress`. Zero peaks everywhere bound the batches by count alone."""
    n_peaks = np.asarray(n_peaks, dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(n_peaks)])
    bounds = [0]
    while bounds[-1] < n_peaks.size:
        s = bounds[-1]
        by_peaks = int(np.searchsorted(cum, cum[s] + peak_budget, side="right")) - 1
        bounds.append(max(s + 1, min(n_peaks.size, s + batch_size, by_peaks)))
    pairs = list(zip(bounds[:-1], bounds[1:]))
    if not progress:
        return pairs
    from tqdm.auto import tqdm

    return tqdm(pairs, total=len(pairs), unit="batch", desc="search")


def _sync(device: str) -> None:
    """Wait for the work queued on a CUDA device (stage timings)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)
