"""Query-side helpers of the search index: preparing queries and running a search in batches.

Helpers of :class:`~nps_id.spectra.search.index.SearchIndex`: the library's processing pipeline from its stored
text and an empty peak table (:meth:`~nps_id.spectra.search.index.SearchIndex.prepare`), the starts of the query
batches (with a progress bar), and the device sync that times the stages.
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


def _batch_starts(n: int, batch_size: int, progress: bool):
    """First query of every batch of `batch_size`, under a tqdm progress bar if `progress`."""
    starts = range(0, n, batch_size)
    if not progress:
        return starts
    from tqdm.auto import tqdm

    return tqdm(starts, total=len(starts), unit="batch", desc="search")


def _sync(device: str) -> None:
    """Wait for the work queued on a CUDA device (stage timings)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)
