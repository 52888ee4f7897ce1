"""Dense 1-Da-bin matrices and the chunked matrix-product top-k search (the coarse stage).

Every spectrum becomes a vector of ``width`` bins starting at m/z ``lo`` (bin = nearest integer m/z), holding
``mz ** mz_power * intensity ** intensity_power`` summed per bin and L2-normalised (the norm counts every
peak, also those outside the bin range). Bins may be folded into fewer columns (``colmap``, see
:func:`fold_columns`): the values of bins sharing a column add up, so, all values being non-negative, a folded
dot product is never below the unfolded one. The library is stored as a [columns x spectra] matrix in bf16 (or
fp32); a batch of queries is multiplied with it in chunks of spectra, and the top ``n`` per query of each chunk
are kept and merged, so memory stays O(queries x n) beside one [queries x chunk] block.
"""

from __future__ import annotations

import numpy as np

from nps_id.spectra.search._peaks import PeakTable, segment_ids
from nps_id.spectra.search._topk import RunningTopK

__all__ = ["auto_chunk", "bin_rows", "coarse_topk", "fold_columns", "torch_dtype"]


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
    colmap: np.ndarray | None = None,
) -> np.ndarray:
    """Dense, L2-normalised float32 rows [n, columns] for the spectra of `table` (or the slice `rows`).

    With ``neutral_loss`` the bins hold ``precursor_mz - mz`` (spectra without a precursor give zero rows).
    `colmap` (int array of length `width`) sends bin ``lo + i`` to column ``colmap[i]``; default: bin i is
    column i.
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
    cols = width
    if colmap is not None:
        cols = int(colmap.max()) + 1
        col = np.where(ok, colmap[np.clip(col, 0, width - 1)], 0)
    flat = np.bincount(seg[ok] * cols + col[ok], weights=val[ok], minlength=n * cols)
    return flat.reshape(n, cols).astype(np.float32)


def fold_columns(mass: np.ndarray, columns: int) -> np.ndarray:
    """Column of each bin when the bins are folded into `columns` columns: heavy bins share with light ones.

    Bins are ranked by `mass` (e.g. the library's summed squared intensity per bin) and dealt to the columns in
    snake order (ranks 0..D-1 to columns 0..D-1, ranks D..2D-1 to columns D-1..0, ...), so the most intense
    bin shares its column with the least intense of the next tier: the cross terms that folding adds to a dot
    product stay small, and no bin is dropped.

    Parameters
    ----------
    mass : ndarray [width]
        Weight of each bin.
    columns : int
        Number of columns D (1 <= D <= width).

    Returns
    -------
    ndarray of int64 [width]
        Column index (0 .. D - 1) of each bin.
    """
    width = mass.size
    if not 1 <= columns <= width:
        raise ValueError(f"columns={columns} must be between 1 and the number of bins ({width})")
    rank = np.empty(width, dtype=np.int64)
    rank[np.argsort(-mass, kind="stable")] = np.arange(width)
    tier, pos = rank // columns, rank % columns
    return np.where(tier % 2 == 0, pos, columns - 1 - pos)


def auto_chunk(n_queries: int, n_library: int, budget_bytes: int = 128 << 20) -> int:
    """Library columns per matrix product: the [queries x chunk] score block stays near `budget_bytes`."""
    chunk = budget_bytes // (2 * max(1, n_queries)) // _GROUP * _GROUP
    return int(min(n_library, max(4096, chunk)))


_GROUP = 64  # columns per group in the two-step top-k of one score block
#: CPU batches of at most this many queries use a sparse product (memory-bound; its bf16 sums are rounded as
#: they go, so its scores are not within the dense product's rounding bound)
SPARSE_QUERIES = 8


def _block_topk(S, n: int):
    """Top-`n` values and column indices per row of a score block whose values are >= 0 or -inf.

    Such floats order like their bit patterns read as integers, and integer maxima vectorise well on CPU: the
    row is cut into groups of 64 columns, the `n` groups with the highest maxima are kept (they hold the row's
    top `n`: each of them has an element at least as high as the `n`-th group maximum), and the top `n` of
    their elements is taken. About twice as fast as ``torch.topk`` over the block.
    """
    import torch

    Q, C = S.shape
    G = _GROUP
    if C % G or C < 4 * n * G or S.dtype not in (torch.bfloat16, torch.float32):
        v, i = torch.topk(S, min(n, C), dim=1, sorted=False)
        return v.float(), i
    key = S.view(torch.int16 if S.dtype == torch.bfloat16 else torch.int32)
    ng = C // G
    _, g = torch.topk(key.view(Q, ng, G).amax(2), n, dim=1, sorted=False)
    rows = (g + torch.arange(Q, device=S.device)[:, None] * ng).reshape(-1)
    cand = key.view(Q * ng, G).index_select(0, rows).view(Q, n * G)
    kv, j = torch.topk(cand, n, dim=1, sorted=False)
    idx = torch.gather(g, 1, j // G) * G + j % G
    return kv.view(S.dtype).float(), idx


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
        Library columns per matrix product; default :func:`auto_chunk` (a 128 MB score block on the CPU,
        1 GiB on CUDA). On CUDA with bf16 matrices and Triton, forward search runs as two fused kernels
        instead (:mod:`~nps_id.spectra.search._triton`; float32 sums, no score block).
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

    from nps_id.spectra.search import _triton

    if not reverse and allowed is None and _triton.available(queries, library):
        return _triton.grouped_topk(queries, library, n)
    N = library.shape[1]
    Q = queries.shape[0]
    n = min(n, N)
    chunk = chunk or auto_chunk(Q, N, (1 << 30) if queries.device.type == "cuda" else 128 << 20)
    sparse = Q <= SPARSE_QUERIES and not reverse and queries.device.type == "cpu"
    if sparse:  # memory-bound: touch only the rows of the query's nonzero bins
        queries = queries.to_sparse()
    q2 = (queries.float() ** 2).to(queries.dtype) if reverse else None
    running = RunningTopK(Q, n) if queries.device.type == "cpu" and not sparse else None
    vals: list = []
    idxs: list = []
    width = 0
    buf = None  # one score block reused: a fresh one per chunk costs page faults
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        block = library[:, s:e]
        if sparse:
            S = torch.sparse.mm(queries, block)
        elif e - s == chunk:
            if buf is None:
                buf = torch.empty((Q, chunk), dtype=queries.dtype, device=queries.device)
            S = torch.mm(queries, block, out=buf)
        else:
            S = torch.mm(queries, block)
        if reverse:
            den = torch.mm(q2, (block > 0).to(block.dtype)).float()
            S = S.float() / den.clamp_min(1e-12).sqrt()
        if allowed is not None:
            S = S.float().masked_fill(~allowed[s:e][None, :], -float("inf"))
        if running is not None:  # only the groups above each query's n-th best are opened
            running.add(S, s)
            continue
        v, i = _block_topk(S, n)
        vals.append(v)
        idxs.append(i + s)
        width += v.shape[1]
        if width >= 32 * n:  # merge now and then: memory stays O(Q x n)
            v, j = torch.topk(torch.cat(vals, 1), n, dim=1, sorted=False)
            vals, idxs, width = [v], [torch.gather(torch.cat(idxs, 1), 1, j)], n
    if running is not None:
        return running.result()
    v, i = torch.cat(vals, 1), torch.cat(idxs, 1)
    v, j = torch.topk(v, n, dim=1, sorted=True)
    return v, torch.gather(i, 1, j)
