"""Running top-n per query over stage-1 score blocks that arrive one after another (CPU).

Stage 1 multiplies a query batch with the library in chunks of spectra; each chunk gives a [queries x chunk] score
block. Taking the top n of every block (:func:`~nps_id.spectra.search.binned._block_topk`) costs more than the
matrix product itself on a CPU with bf16 matrix instructions (AMX): measured on 1,024 queries x 65,536 spectra
x 256 columns, 45 ms for the product and 120 ms for the selection. After the first block, though, each query
already holds n scores, and only scores above its n-th best can enter: a few per block. So a block is cut into
groups of 64 columns (strided: column j, j + C/64, ...; their maximum is a vertical, vectorised one), the group maxima are compared with each query's threshold (one pass over the block, about
half the product's time), and only the groups above it are opened and merged.

Scores are compared as integers: non-negative floats (and -inf, below them all) order like their bit patterns
read as signed integers of the same width, and integer maxima vectorise well.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RunningTopK"]

_GROUP = 64  # columns per group of a score block


class RunningTopK:
    """Top-`n` scores and their columns per row over blocks of columns (scores >= 0 or -inf).

    Parameters
    ----------
    n_rows : int
        Rows (queries) of every block.
    n : int
        Scores kept per row.

    Examples
    --------
    >>> import torch
    >>> top = RunningTopK(2, 3)
    >>> for s in range(0, 512, 256):
    ...     top.add(torch.arange(s, s + 256, dtype=torch.float32).repeat(2, 1), s)
    >>> top.result()[1][0].tolist()
    [511, 510, 509]
    """

    def __init__(self, n_rows: int, n: int) -> None:
        self.n_rows = int(n_rows)
        self.n = int(n)
        self.keys = None  # [rows, m] integer views of the kept scores (numpy), m <= n
        self.cols = None  # [rows, m] int64 columns
        self._thr = None  # each row's n-th best key, once every row holds n
        self.dtype = None

    def add(self, S, start: int) -> None:
        """Merge the score block `S` [rows x C] (a CPU tensor) whose first column is column `start`."""
        import torch

        from nps_id.spectra.search.binned import _block_topk

        Q, C = S.shape
        kdtype = torch.int16 if S.element_size() == 2 else torch.int32
        self.dtype = S.dtype
        if self._thr is None:  # the first block: the two-step top-n
            v, i = _block_topk(S, min(self.n, C))
            k = v.to(S.dtype).view(kdtype).numpy()
            self._merge(np.repeat(np.arange(Q), k.shape[1]), k.reshape(-1), (i + start).numpy().reshape(-1))
            return
        key = S.view(kdtype)
        thr = self._thr
        ng = C // _GROUP
        # group j of the block's first ng * 64 columns: columns j, j + ng, j + 2 ng, ... (a vertical maximum)
        groups = key[:, : ng * _GROUP].view(Q, _GROUP, ng)
        qi, gi = np.nonzero(groups.amax(1).numpy() > thr[:, None]) if ng else (np.zeros(0, np.int64),) * 2
        vals = groups.numpy()[qi, :, gi]  # [hits, 64]
        r, j = np.nonzero(vals > thr[qi][:, None])
        rows, keys, cols = [qi[r]], [vals[r, j]], [gi[r] + j * ng + start]
        if C > ng * _GROUP:  # the last columns, fewer than 64: compared one by one
            tail = key[:, ng * _GROUP :].numpy()
            r, j = np.nonzero(tail > thr[:, None])
            rows.append(r)
            keys.append(tail[r, j])
            cols.append(ng * _GROUP + j + start)
        rows = np.concatenate(rows)
        if rows.size:
            self._merge(rows, np.concatenate(keys), np.concatenate(cols))

    def _merge(self, rows, keys, cols) -> None:
        """Merge candidates (row, key, column), flat arrays, into the kept top-n of their rows (numpy: its
        sorts of a few ten thousand elements take milliseconds, torch's CPU sorts about a hundred times longer)."""
        if self.keys is None:
            self.keys = np.empty((self.n_rows, 0), dtype=keys.dtype)
            self.cols = np.empty((self.n_rows, 0), dtype=np.int64)
        m = self.keys.shape[1]
        if m < self.n:  # every row gets the same number of candidates here (first blocks)
            per = keys.size // self.n_rows
            k = np.concatenate([self.keys, keys.reshape(self.n_rows, per)], 1)
            c = np.concatenate([self.cols, cols.reshape(self.n_rows, per)], 1)
            keep = min(self.n, k.shape[1])
            j = np.argsort(-k.astype(np.int64), axis=1, kind="stable")[:, :keep]
            self.keys, self.cols = np.take_along_axis(k, j, 1), np.take_along_axis(c, j, 1)
            self._thr = self.keys.min(1) if keep == self.n else None
            return
        touched = np.flatnonzero(np.bincount(rows, minlength=self.n_rows))
        all_rows = np.concatenate([np.repeat(touched, m), rows])
        all_keys = np.concatenate([self.keys[touched].reshape(-1), keys])
        all_cols = np.concatenate([self.cols[touched].reshape(-1), cols])
        # by row, then score descending (one int64 key; ties keep the kept ones first): the first m of each row
        # are its new top m
        top = np.iinfo(all_keys.dtype).max
        order = np.argsort((all_rows.astype(np.int64) << 32) | (top - all_keys.astype(np.int64)), kind="stable")
        counts = np.bincount(all_rows, minlength=self.n_rows)[touched]
        first = np.cumsum(counts) - counts
        pick = order[(first[:, None] + np.arange(m)[None, :]).reshape(-1)]
        self.keys[touched] = all_keys[pick].reshape(-1, m)
        self.cols[touched] = all_cols[pick].reshape(-1, m)
        self._thr = self.keys.min(1)

    def result(self):
        """(scores, columns) [rows x m], float32 scores descending (m = min(n, columns seen))."""
        import torch

        v = torch.from_numpy(self.keys).view(self.dtype).float()
        v, j = torch.topk(v, v.shape[1], dim=1, sorted=True)
        return v, torch.gather(torch.from_numpy(self.cols), 1, j)
