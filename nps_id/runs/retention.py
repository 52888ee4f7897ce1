"""Retention indices from an n-alkane ladder.

Temperature-programmed GC uses the linear index of van den Dool & Kratz (1963): a compound eluting at ``t``
between the n-alkanes with ``n`` and ``N`` carbons (``t_n <= t <= t_N``, consecutive in the ladder) has

    RI = 100 * (n + (N - n) * (t - t_n) / (t_N - t_n))

Isothermal GC uses Kovats' logarithmic index, the same with ``log(t - t0)`` (``t0`` the dead time). Times outside
the ladder get NaN: extrapolating an index is not reliable.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np

from nps_id.errors import ProcessingError

__all__ = ["AlkaneLadder", "retention_index", "read_ladder"]


class AlkaneLadder:
    """The retention times of n-alkanes measured on the same column and method as the runs.

    Parameters
    ----------
    carbons : sequence of int
        Carbon numbers (e.g. 8 for n-octane, index 800).
    rt : sequence of float
        Their retention times in minutes, same order.

    Raises
    ------
    ProcessingError
        If fewer than two alkanes are given, carbon numbers repeat, or the times do not increase with the
        carbon number.

    Examples
    --------
    >>> ladder = AlkaneLadder([10, 12], [5.0, 7.0])
    >>> float(ladder.index(6.0))
    1100.0
    """

    __slots__ = ("carbons", "rt")

    def __init__(self, carbons, rt) -> None:
        c = np.asarray(carbons, dtype=np.float64).ravel()
        t = np.asarray(rt, dtype=np.float64).ravel()
        if c.size != t.size or c.size < 2:
            raise ProcessingError(f"an alkane ladder needs at least two (carbons, rt) pairs, got {c.size} and {t.size}")
        if not (np.isfinite(c).all() and np.isfinite(t).all()) or (c != np.round(c)).any():
            raise ProcessingError("alkane ladder: carbon numbers must be integers and times finite")
        order = np.argsort(c)
        c, t = c[order], t[order]
        if (np.diff(c) == 0).any():
            raise ProcessingError("alkane ladder: a carbon number is given twice")
        if (np.diff(t) <= 0).any():
            raise ProcessingError("alkane ladder: retention times must increase with the carbon number")
        self.carbons = c.astype(np.int64)
        self.rt = t

    @classmethod
    def from_mapping(cls, mapping: Mapping[int, float]) -> "AlkaneLadder":
        """From ``{carbons: rt}``."""
        return cls(list(mapping.keys()), list(mapping.values()))

    def index(self, rt, method: Literal["linear", "kovats"] = "linear", dead_time: float = 0.0) -> np.ndarray:
        """Retention indices of retention times `rt` (minutes); see :func:`retention_index`."""
        return retention_index(rt, self, method=method, dead_time=dead_time)

    def __repr__(self) -> str:
        return f"AlkaneLadder(C{self.carbons[0]}-C{self.carbons[-1]}, {self.carbons.size} alkanes)"


def retention_index(
    rt, ladder: AlkaneLadder | Mapping[int, float], method: Literal["linear", "kovats"] = "linear", dead_time: float = 0.0
) -> np.ndarray:
    """Retention indices from an n-alkane ladder (vectorised).

    Parameters
    ----------
    rt : float or array_like
        Retention times in minutes.
    ladder : AlkaneLadder or mapping of carbons to rt
    method : {"linear", "kovats"}, default "linear"
        ``"linear"``: van den Dool & Kratz (temperature programme); ``"kovats"``: logarithmic (isothermal).
    dead_time : float, default 0.0
        Column dead time (minutes), subtracted before the logarithm (``"kovats"`` only).

    Returns
    -------
    ndarray of float64
        Same shape as `rt`; NaN outside the ladder.
    """
    if not isinstance(ladder, AlkaneLadder):
        ladder = AlkaneLadder.from_mapping(ladder)
    t = np.asarray(rt, dtype=np.float64)
    lt = ladder.rt
    if method == "kovats":
        if dead_time >= lt[0]:
            raise ProcessingError("kovats index: the dead time must be before the first alkane")
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.log(t - dead_time)
        lt = np.log(lt - dead_time)
    elif method != "linear":
        raise ProcessingError(f"unknown retention index method {method!r}; choose 'linear' or 'kovats'")
    k = np.clip(np.searchsorted(lt, t, side="right") - 1, 0, lt.size - 2)
    c0, c1 = ladder.carbons[k], ladder.carbons[k + 1]
    ri = 100.0 * (c0 + (c1 - c0) * (t - lt[k]) / (lt[k + 1] - lt[k]))
    inside = (t >= lt[0]) & (t <= lt[-1])
    return np.where(inside, ri, np.nan)


def read_ladder(path: str | os.PathLike) -> AlkaneLadder:
    """Read an alkane ladder from a CSV/TSV file of two columns: carbon number and retention time (minutes).

    A header line (any non-numeric first row) is skipped; the delimiter is told from the text.

    Raises
    ------
    ProcessingError
        If a row cannot be read as two numbers, naming the file and line.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text.strip() else ",", delimiters=",;\t ")
    except csv.Error:
        dialect = csv.excel
    carbons, times = [], []
    for line_no, row in enumerate(csv.reader(text.splitlines(), dialect), start=1):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        try:
            c, t = float(cells[0].lstrip("Cc")), float(cells[1])
        except (ValueError, IndexError):
            if line_no == 1:
                continue
            raise ProcessingError(f"{path}: line {line_no}: expected 'carbons, retention time', got {row!r}") from None
        carbons.append(c)
        times.append(t)
    return AlkaneLadder(carbons, times)
