"""Dense 1-Da-bin matrices and the chunked matrix-product top-k search (the coarse stage).

Every spectrum becomes a vector of ``width`` bins starting at m/z ``lo`` (bin = nearest integer m/z), holding
``mz ** mz_power * intensity ** intensity_power`` summed per bin and L2-normalised (the norm counts every
peak, also those outside the bin range). The library is stored as a [bins x spectra] matrix in bf16 (or fp32);
a batch of queries is multiplied with it in chunks of spectra, and the top ``n`` per query of each chunk are
kept and merged, so memory stays O(queries x n) beside one [queries x chunk] block.
"""

from __future__ import annotations

import numpy as np

from nps_id.spectra.search._peaks import PeakTable, segment_ids

__all__ = ["auto_chunk", "bin_rows", "coarse_topk", "torch_dtype"]


def torch_dtype(name: str):
    """torch dtype for ``"bf16"`` or ``"fp32"``."""
    import torch

    try:
        return {"bf16": torch.bfloat16, "fp32": torch.float32}[name]
    except KeyError:
        raise ValueError(f"unknown coarse dtype {name!r}; use 'bf16' or 'fp32'") from None


def bin_rows(
    table: PeakTable,
    lo: int,
    width: int,
    mz_power: float,
    intensity_power: float,
    neutral_loss: bool = False,
    rows: slice | None = None,
) -> np.ndarray:
    """Dense, L2-normalised float32 rows [n, width] for the spectra of `table` (or the slice `rows`).

    With ``neutral_loss`` the bins hold ``precursor_mz - mz`` (spectra without a precursor give zero rows).
    """
    if rows is None:
        rows = slice(0, len(table))
    a, b = table.offsets[rows.start], table.offsets[rows.stop]
    n = rows.stop - rows.start
    off = table.offsets[rows.start : rows.stop + 1] - a
    seg = segment_ids(off)
    mz = table.mz[a:b]
    w = table.intensity[a:b].astype(np.float64)
    if intensity_power != 1:
        w = w**intensity_power
    if mz_power != 0:
        w = w * mz**mz_power
    norm = np.sqrt(np.bincount(seg, weights=w * w, minlength=n))
    pos = mz
    if neutral_loss:
        pos = table.precursor_mz[rows.start : rows.stop][seg] - mz
        w = np.where(np.isfinite(pos), w, 0.0)
        pos = np.nan_to_num(pos, nan=-1e9)
    col = np.rint(pos).astype(np.int64) - lo
    ok = (col >= 0) & (col < width)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(norm[seg] > 0, w / norm[seg], 0.0)
    flat = np.bincount(seg[ok] * width + col[ok], weights=val[ok], minlength=n * width)
    return flat.reshape(n, width).astype(np.float32)


def auto_chunk(n_queries: int, n_library: int, budget_bytes: int = 32 << 20) -> int:
    """Library columns per matrix product: the [queries x chunk] score block stays near `budget_bytes`."""
    chunk = budget_bytes // (2 * max(1, n_queries))
    return int(min(n_library, max(4096, chunk)))


def coarse_topk(
    queries,
    library,
    n: int,
    chunk: int | None = None,
    reverse: bool = False,
    allowed=None,
):
    """Top-`n` library spectra per query by dot product, over the library in chunks (torch, any device).

    Parameters
    ----------
    queries : torch.Tensor [Q, D]
        Normalised query rows, same dtype and device as `library`.
    library : torch.Tensor [D, N]
        Normalised library spectra as columns (bins x spectra), so that one query's nonzero bins are
        contiguous rows: a single query reads only those (sparse product) instead of the whole matrix.
    n : int
        Candidates kept per query.
    chunk : int, optional
        Library columns per matrix product; default :func:`auto_chunk`.
    reverse : bool
        Score ``q.l / ||q restricted to l's bins||`` (reverse search) instead of ``q.l``.
    allowed : torch.Tensor of bool [N], optional
        Spectra that may be returned (others score -inf).

    Returns
    -------
    scores, indices : torch.Tensor [Q, min(n, N)]
        float32 scores (descending) and int64 library indices.
    """
    import torch

    N = library.shape[1]
    Q = queries.shape[0]
    n = min(n, N)
    chunk = chunk or auto_chunk(Q, N)
    sparse = Q <= 8 and not reverse and queries.device.type == "cpu"
    if sparse:  # memory-bound: touch only the rows of the query's nonzero bins
        queries = queries.to_sparse()
    q2 = (queries.float() ** 2).to(queries.dtype) if reverse else None
    vals: list = []
    idxs: list = []
    width = 0
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        block = library[:, s:e]
        S = torch.sparse.mm(queries, block) if sparse else torch.mm(queries, block)
        if reverse:
            den = torch.mm(q2, (block > 0).to(block.dtype)).float()
            S = S.float() / den.clamp_min(1e-12).sqrt()
        if allowed is not None:
            S = S.float().masked_fill(~allowed[s:e][None, :], -float("inf"))
        v, i = torch.topk(S, min(n, e - s), dim=1, sorted=False)
        vals.append(v.float())
        idxs.append(i + s)
        width += v.shape[1]
        if width >= 32 * n:  # merge now and then: memory stays O(Q x n)
            v, j = torch.topk(torch.cat(vals, 1), n, dim=1, sorted=False)
            vals, idxs, width = [v], [torch.gather(torch.cat(idxs, 1), 1, j)], n
    v, i = torch.cat(vals, 1), torch.cat(idxs, 1)
    v, j = torch.topk(v, n, dim=1, sorted=True)
    return v, torch.gather(i, 1, j)
