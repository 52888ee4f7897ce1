"""Both search stages and the final top-k on one torch device, for unit-mass (GC-EI) searches.

On a GPU, stage 1 (:func:`~nps_id.spectra.search.binned.coarse_topk`) takes a few milliseconds per thousand
queries against a million spectra; scoring the candidates exactly on the host (numpy) and copying the
candidate lists there would then take most of the time. Here the queries' stage-1 rows are binned on the
device, the candidates are scored exactly there with the arithmetic of
:func:`~nps_id.spectra.search.exact.score_pairs_unit` (float64 weights and sums; entropy terms in float32),
and only the top ``k`` per query come back. :meth:`SearchIndex.search
<nps_id.spectra.search.index.SearchIndex.search>` uses this path when ``device`` is not ``"cpu"`` and the
unit-mass exact engine applies (modes ``similarity`` and ``reverse``); the tests run it on CPU tensors
against the numpy engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_id.spectra.search._peaks import PeakTable
from nps_id.spectra.search._queries import _batch_bounds, _sync
from nps_id.spectra.search.binned import coarse_topk, torch_dtype
from nps_id.spectra.search.exact import MetricParams

__all__ = ["DeviceTable", "device_table", "query_table", "peak_weights", "is_unit_mass", "coarse_rows", "score_candidates",
           "top_k", "search_unit", "exact_table"]


@dataclass(frozen=True)
class DeviceTable:
    """Peaks of many spectra as CSR tensors on one device.

    Attributes
    ----------
    offsets : torch.Tensor of int64 [n + 1]
    bins : torch.Tensor of int64 [peaks]
        Each peak's 1-Da bin (nearest integer m/z, >= 0).
    values : torch.Tensor [peaks]
        Each peak's weight under the exact metric (float64; float32 entropy-weighted intensities for entropy).
    norms : torch.Tensor of float64 [n] or None
        Euclidean norm of each spectrum's values (cosine, nist); None for entropy.
    mz, intensity : torch.Tensor or None
        m/z (float64) and intensity (float32) of each peak, kept for queries (stage-1 rows), None for libraries.
    """

    offsets: Any
    bins: Any
    values: Any
    norms: Any = None
    mz: Any = None
    intensity: Any = None

    def __len__(self) -> int:
        return int(self.offsets.numel() - 1)


def device_table(table: PeakTable, values: np.ndarray, bins: np.ndarray, norms: np.ndarray | None,
                 device: str) -> DeviceTable:
    """Copy a library's per-peak metric `values`, 1-Da `bins` and per-spectrum `norms` to `device`."""
    import torch

    def put(a: np.ndarray | None):
        return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(device)

    return DeviceTable(put(table.offsets.astype(np.int64)), put(bins.astype(np.int64)), put(values), put(norms))


def query_table(table: PeakTable, params: MetricParams, device: str) -> DeviceTable:
    """Copy queries' peaks to `device` and compute their bins, metric values and norms there.

    Same arithmetic as the numpy engine (``exact._weights``, ``_seg_norms``, ``_store._bins``); for
    ``entropy`` the table must already be cleaned and weighted.
    """
    import torch

    offsets = torch.from_numpy(table.offsets.astype(np.int64)).to(device)
    mz = torch.from_numpy(np.ascontiguousarray(table.mz, dtype=np.float64)).to(device)
    intensity = torch.from_numpy(np.ascontiguousarray(table.intensity, dtype=np.float32)).to(device)
    bins = torch.round(mz).clamp_min(0).long()
    if params.metric == "entropy":
        return DeviceTable(offsets, bins, intensity, None, mz, intensity)
    w = _weights(mz, intensity, *params.powers)
    owner = torch.repeat_interleave(torch.arange(len(table), device=mz.device), offsets.diff(), output_size=mz.numel())
    norms = torch.zeros(len(table), dtype=torch.float64, device=mz.device).index_add_(0, owner, w * w).sqrt()
    return DeviceTable(offsets, bins, w, norms, mz, intensity)


def _weights(mz, intensity, mz_power: float, intensity_power: float):
    """Torch twin of :func:`nps_id.spectra.search.exact._weights`: ``intensity ** ip * mz ** mp``, float64."""
    w = intensity.double()
    if intensity_power != 1:
        w = w**intensity_power
    if mz_power != 0:
        w = w * mz**mz_power
    return w


def peak_weights(q: DeviceTable, mz_power: float, intensity_power: float):
    """Every query peak's stage-1 weight ``intensity ** intensity_power * mz ** mz_power`` (float64)."""
    return _weights(q.mz, q.intensity, mz_power, intensity_power)


def is_unit_mass(q: DeviceTable, tolerance: float) -> bool:
    """Torch twin of :func:`~nps_id.spectra.search.exact.is_unit_mass` for a :func:`query_table`."""
    import torch

    if q.mz.numel() == 0:
        return True
    r = torch.round(q.mz)
    if float((q.mz - r).abs().max()) > tolerance / 2:
        return False
    same = r[1:] == r[:-1]
    starts = q.offsets[1:-1]
    starts = starts[(starts > 0) & (starts < q.mz.numel())]
    same[starts - 1] = False  # spectrum boundaries
    return not bool(same.any())


def _gather(offsets, rows):
    """Peaks of the CSR rows `rows`: (global peak index, position in `rows` of its owner), in row order."""
    import torch

    start = offsets[rows]
    counts = offsets[rows + 1] - start
    first = torch.cumsum(counts, 0) - counts
    total = int(counts.sum())
    owner = torch.repeat_interleave(torch.arange(rows.numel(), device=rows.device), counts, output_size=total)
    src = start[owner] + torch.arange(total, device=rows.device) - first[owner]
    return src, owner


def coarse_rows(q: DeviceTable, weights, s: int, e: int, lo: int, width: int, colmap, dtype):
    """Stage-1 rows of queries ``s:e`` on their device: the torch twin of
    :func:`~nps_id.spectra.search.binned.bin_rows` (fragments; `weights` of every query peak, from
    :func:`peak_weights`; `colmap` a device tensor or None)."""
    import torch

    rows = torch.arange(s, e, device=q.offsets.device)
    src, owner = _gather(q.offsets, rows)
    mz = q.mz[src]
    w = weights[src]
    n = e - s
    norm = torch.zeros(n, dtype=torch.float64, device=w.device).index_add_(0, owner, w * w).sqrt()
    col = torch.round(mz).long() - lo
    ok = (col >= 0) & (col < width)
    nrm = norm[owner]
    val = torch.where(nrm > 0, w / nrm, torch.zeros_like(w))
    cols = width
    if colmap is not None:
        cols = int(colmap.max()) + 1
        col = colmap[col.clamp(0, width - 1)]
    flat = torch.zeros(n * cols, dtype=torch.float64, device=w.device)
    flat.index_add_(0, (owner * cols + col)[ok], val[ok])
    return flat.view(n, cols).float().to(dtype)


def _entropy_terms(a, b):
    """Torch twin of :func:`nps_id.spectra.search.exact._entropy_terms` (float32)."""
    import torch

    a = a.float() / 2
    b = b.float() / 2
    ab = a + b
    return ab * torch.log2(ab) - a * torch.log2(a) - b * torch.log2(b)


#: most library peaks gathered at once by :func:`score_candidates` (about 45 bytes of device memory each, so
#: about 6 GB; a batch of 16,384 queries x 50 candidates of GC-EI spectra, ~130 peaks each, is not split)
MAX_PEAKS = 1 << 27


def score_candidates(q: DeviceTable, s: int, lib: DeviceTable, cand, params: MetricParams, width: int):
    """Exact scores of queries ``s : s + B`` against their candidates ``cand`` [B, C] (library rows).

    Same definitions and arithmetic as :func:`~nps_id.spectra.search.exact.score_pairs_unit`: each candidate's
    peaks look up the query's value in their 1-Da bin (`width` > every bin of queries and library). Work over
    `MAX_PEAKS` library peaks is split (by queries, then by candidates), so device memory stays bounded.

    Returns
    -------
    torch.Tensor of float64 [B, C]
    """
    import torch

    B, C = cand.shape
    if B * C > 1:
        pl = cand.reshape(-1)
        if int((lib.offsets[pl + 1] - lib.offsets[pl]).sum()) > MAX_PEAKS:
            if B > 1:
                h = B // 2
                return torch.cat([score_candidates(q, s, lib, cand[:h], params, width),
                                  score_candidates(q, s + h, lib, cand[h:], params, width)])
            h = C // 2
            return torch.cat([score_candidates(q, s, lib, cand[:, :h], params, width),
                              score_candidates(q, s, lib, cand[:, h:], params, width)], dim=1)
    return _score(q, s, lib, cand, params, width)


def _score(q: DeviceTable, s: int, lib: DeviceTable, cand, params: MetricParams, width: int):
    """:func:`score_candidates` for one part that fits the gather budget."""
    import torch

    B, C = cand.shape
    dev = cand.device
    P = B * C
    f64 = torch.float64
    # the queries as dense [B, width] rows of their metric values
    qsrc, qown = _gather(q.offsets, torch.arange(s, s + B, device=dev))
    Qd = torch.zeros(B * width, dtype=q.values.dtype, device=dev)
    Qd[qown * width + q.bins[qsrc]] = q.values[qsrc]
    pl = cand.reshape(-1)
    src, owner = _gather(lib.offsets, pl)
    qv = Qd[(owner // C) * width + lib.bins[src]]
    lv = lib.values[src]
    hit = qv > 0
    if params.metric == "entropy":
        terms = torch.where(hit, _entropy_terms(qv, lv), torch.zeros((), device=dev)).to(f64)
        return torch.zeros(P, dtype=f64, device=dev).index_add_(0, owner, terms).view(B, C)
    prod = qv * lv  # zero where the query has no peak in that bin
    dot = torch.zeros(P, dtype=f64, device=dev).index_add_(0, owner, prod)
    if params.reverse:
        nq = torch.zeros(P, dtype=f64, device=dev).index_add_(0, owner, torch.where(hit, qv * qv, 0.0)).sqrt()
        n_q = torch.zeros(P, dtype=f64, device=dev).index_add_(0, owner, hit.to(f64))
    else:
        qn = q.norms[s : s + B]
        nq = qn.repeat_interleave(C)
        n_q = (q.offsets[s + 1 : s + B + 1] - q.offsets[s : s + B]).to(f64).repeat_interleave(C)
    denom = nq * lib.norms[pl]
    cos = torch.where(denom > 0, dot / torch.where(denom > 0, denom, 1.0), torch.zeros((), dtype=f64, device=dev))
    if params.metric == "cosine":
        return cos.view(B, C)
    # ratio term over consecutive shared peaks (library peaks are in m/z order within each candidate)
    keep = torch.nonzero(hit).squeeze(1)
    pair, qh, lh = owner[keep], qv[keep], lv[keep]
    n_c = torch.zeros(P, dtype=f64, device=dev).index_add_(0, pair, torch.ones_like(qh))
    f_r = torch.zeros(P, dtype=f64, device=dev)
    if pair.numel() > 1:
        r = (lh[1:] / lh[:-1]) * (qh[:-1] / qh[1:])
        r = torch.where(r > 1, 1 / r, r)
        r = torch.where((pair[1:] == pair[:-1]) & torch.isfinite(r), r, torch.zeros((), dtype=f64, device=dev))
        f_r.index_add_(0, pair[1:], r)
        f_r = torch.where(n_c > 1, f_r / (n_c - 1).clamp_min(1), torch.zeros((), dtype=f64, device=dev))
    return ((n_q * cos**2 + n_c * f_r) / (n_q + n_c).clamp_min(1)).view(B, C)


def top_k(cand, scores, k: int):
    """The `k` best candidates per row: score descending, then library row ascending (as the numpy engine).

    Returns
    -------
    indices : torch.Tensor of int64 [B, k], scores : torch.Tensor of float64 [B, k]
        Padded with -1 / NaN where a row has fewer than `k` candidates.
    """
    import torch

    by_index = torch.argsort(cand, dim=1, stable=True)
    cand, scores = cand.gather(1, by_index), scores.gather(1, by_index)
    by_score = torch.argsort(-scores, dim=1, stable=True)[:, :k]
    idx, sc = cand.gather(1, by_score), scores.gather(1, by_score)
    if idx.shape[1] < k:
        pad = k - idx.shape[1]
        idx = torch.nn.functional.pad(idx, (0, pad), value=-1)
        sc = torch.nn.functional.pad(sc, (0, pad), value=float("nan"))
    return idx, sc


def search_unit(index: Any, qd: DeviceTable, k: int, params: MetricParams, n_cand: int, batch_size: int, device: str,
                progress: bool = False) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Both stages and the top-k on `device` for the unit-mass queries `qd` (a :func:`query_table`) against the
    library of `index` (a :class:`~nps_id.spectra.search.index.SearchIndex`); any torch device, so tests run it on
    the CPU.

    Returns
    -------
    indices : ndarray of int64 [n_queries, k], scores : ndarray of float64 [n_queries, k], timings : dict
        As in :class:`~nps_id.spectra.search.index.SearchResult`.
    """
    import torch

    spec = index._coarse_spec(params)
    _, mp, ip, source, folded = spec
    # stage-1 peak weights: the exact metric's own values where stage 1 uses the same powers (cosine; not nist)
    weights = qd.values if source == "raw" and (mp, ip) == params.powers else peak_weights(qd, mp, ip)
    lib, top_bin = exact_table(index, params, device)
    width = max(top_bin, int(qd.bins.max()) if qd.bins.numel() else 0) + 2
    colmap = torch.from_numpy(index.colmap).to(device) if folded else None
    dtype = torch_dtype(index.coarse_dtype)
    Q = len(qd)
    idx_out = np.full((Q, k), -1, dtype=np.int64)
    sc_out = np.full((Q, k), np.nan)
    timings = {"coarse": 0.0, "exact": 0.0}
    batch_size = max(1, min(batch_size, (1 << 24) // max(1, min(n_cand, len(index.table)))))  # candidate lists
    # by count alone: the device path caps its candidate pairs instead (batch_size above)
    batches = _batch_bounds(np.zeros(Q, dtype=np.int64), batch_size, progress)
    with torch.inference_mode():
        L = index._device_matrix(spec, device)
        for s, e in batches:
            t0 = time.perf_counter()
            rows = coarse_rows(qd, weights, s, e, index.lo, index.width, colmap, dtype)
            _, cand = coarse_topk(rows, L, n_cand, index.chunk, reverse=params.reverse)
            _sync(device)
            t1 = time.perf_counter()
            idx, sc = top_k(cand, score_candidates(qd, s, lib, cand, params, width), k)
            idx_out[s:e], sc_out[s:e] = idx.cpu().numpy(), sc.cpu().numpy()
            timings["coarse"] += t1 - t0
            timings["exact"] += time.perf_counter() - t1
    return idx_out, sc_out, timings


def exact_table(index: Any, params: MetricParams, device: str) -> tuple[DeviceTable, int]:
    """The library's exact-metric weights on `device` (copied once, cached in `index`) and its highest 1-Da bin."""
    key = ("exact", "entropy" if params.metric == "entropy" else params.powers, device)
    if key not in index._on_device:
        values, norms, bins = index._lib_weights(params)
        table = index.entropy_table() if params.metric == "entropy" else index.table
        top = int(bins.max()) if bins.size else 0
        index._on_device[key] = (device_table(table, values, bins, norms, device), top)
    return index._on_device[key]
