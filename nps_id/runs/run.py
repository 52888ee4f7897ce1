"""The run type: one chromatographic acquisition as a scans x m/z intensity matrix."""

from __future__ import annotations

from typing import Any

import numpy as np

from nps_id.errors import InvalidRunError

__all__ = ["Run"]


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class Run:
    """A GC-MS (or LC-MS) acquisition: retention times, an m/z axis and the scans x m/z intensity matrix.

    Unit-mass GC-MS data is stored dense (every scan has a value at every m/z of the axis, zero where the ion
    was not recorded), which makes ion traces (columns) and scans (rows) plain array slices. Validated once on
    construction; the arrays are stored read-only and returned without copying.

    Parameters
    ----------
    rt : array_like, shape (n_scans,)
        Scan retention times in minutes, strictly increasing.
    mz : array_like, shape (n_mz,)
        The m/z axis (bin centres), strictly increasing.
    intensity : array_like, shape (n_scans, n_mz)
        Ion abundances, finite and >= 0; stored as float32.
    source : str, optional
        The file or folder the run was read from.
    metadata : dict, optional
        What the reader found (instrument, method, acquisition date, ``ionization``, ...); copied.

    Raises
    ------
    InvalidRunError
        If the shapes disagree, the axes are not strictly increasing or the values are not finite / negative.

    Examples
    --------
    >>> run = Run([0.5, 0.6, 0.7], [41.0, 43.0], [[0, 1], [5, 9], [1, 2]])
    >>> run.n_scans, run.n_mz, run.tic.tolist()
    (3, 2, [1.0, 14.0, 3.0])
    """

    __slots__ = ("_rt", "_mz", "_intensity", "_tic", "source", "metadata")

    def __init__(
        self,
        rt: Any,
        mz: Any,
        intensity: Any,
        *,
        source: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        try:
            rt_a = np.array(rt, dtype=np.float64, ndmin=1)
            mz_a = np.array(mz, dtype=np.float64, ndmin=1)
            data = np.array(intensity, dtype=np.float32, ndmin=2)
        except (TypeError, ValueError) as exc:
            raise InvalidRunError(f"run arrays are not numeric: {exc}") from None
        if rt_a.ndim != 1 or mz_a.ndim != 1 or data.ndim != 2:
            raise InvalidRunError(
                f"rt and mz must be 1-D and intensity 2-D, got shapes {rt_a.shape}, {mz_a.shape}, {data.shape}"
            )
        if data.shape != (rt_a.size, mz_a.size):
            raise InvalidRunError(
                f"intensity has shape {data.shape} but there are {rt_a.size} scans and {mz_a.size} m/z values"
            )
        if not (np.isfinite(rt_a).all() and np.isfinite(mz_a).all()):
            raise InvalidRunError("rt or mz holds NaN or infinite values")
        if rt_a.size > 1 and (np.diff(rt_a) <= 0).any():
            raise InvalidRunError("retention times must be strictly increasing")
        if mz_a.size > 1 and (np.diff(mz_a) <= 0).any():
            raise InvalidRunError("the m/z axis must be strictly increasing")
        if not np.isfinite(data).all():
            raise InvalidRunError("intensity holds NaN or infinite values (or values beyond float32)")
        if (data < 0).any():
            raise InvalidRunError("ion abundances must be >= 0")
        self._rt = _frozen(rt_a)
        self._mz = _frozen(mz_a)
        self._intensity = _frozen(np.ascontiguousarray(data))
        self._tic: np.ndarray | None = None
        self.source: str | None = None if source is None else str(source)
        self.metadata: dict[str, Any] = dict(metadata) if metadata else {}

    # ------------------------------------------------------------------ arrays
    @property
    def rt(self) -> np.ndarray:
        """Scan retention times in minutes (float64, read-only)."""
        return self._rt

    @property
    def mz(self) -> np.ndarray:
        """The m/z axis (float64, read-only)."""
        return self._mz

    @property
    def intensity(self) -> np.ndarray:
        """Scans x m/z abundances (float32, read-only)."""
        return self._intensity

    @property
    def n_scans(self) -> int:
        """Number of scans."""
        return int(self._rt.size)

    @property
    def n_mz(self) -> int:
        """Number of m/z values on the axis."""
        return int(self._mz.size)

    def __len__(self) -> int:
        return int(self._rt.size)

    @property
    def tic(self) -> np.ndarray:
        """Total ion chromatogram: the sum of each scan (float64, computed once)."""
        if self._tic is None:
            self._tic = _frozen(self._intensity.sum(axis=1, dtype=np.float64))
        return self._tic

    @property
    def scan_interval(self) -> float:
        """Median time between scans in minutes (NaN for fewer than two scans)."""
        return float(np.median(np.diff(self._rt))) if self._rt.size > 1 else float("nan")

    # ------------------------------------------------------------------ views
    def xic(self, mz: float, tolerance: float = 0.5) -> np.ndarray:
        """Extracted ion chromatogram: the summed abundance of the axis m/z within `tolerance` of `mz`."""
        cols = np.flatnonzero(np.abs(self._mz - float(mz)) <= tolerance)
        return self._intensity[:, cols].sum(axis=1, dtype=np.float64)

    def scan_index(self, rt: float) -> int:
        """Index of the scan closest to retention time `rt` (minutes)."""
        i = int(np.searchsorted(self._rt, rt))
        if i == 0:
            return 0
        if i >= self._rt.size:
            return self._rt.size - 1
        return i if self._rt[i] - rt < rt - self._rt[i - 1] else i - 1

    def slice(self, rt_min: float | None = None, rt_max: float | None = None) -> "Run":
        """The scans with ``rt_min <= rt <= rt_max`` (minutes) as a new run sharing nothing mutable."""
        lo = 0 if rt_min is None else int(np.searchsorted(self._rt, rt_min, side="left"))
        hi = self._rt.size if rt_max is None else int(np.searchsorted(self._rt, rt_max, side="right"))
        return Run(self._rt[lo:hi], self._mz, self._intensity[lo:hi], source=self.source, metadata=self.metadata)

    def scan(self, index: int):
        """One scan as a :class:`~nps_id.spectra.Spectrum` (the m/z with non-zero abundance)."""
        from nps_id.spectra.spectrum import Spectrum

        row = self._intensity[index]
        keep = row > 0
        meta = {"name": f"scan {index} (RT {self._rt[index]:.3f} min)", "retention_time": float(self._rt[index] * 60.0)}
        if self.source:
            meta["source_file"] = self.source
        return Spectrum(self._mz[keep], row[keep], metadata=meta)

    def __repr__(self) -> str:
        if self.n_scans:
            span = f"rt={self._rt[0]:.3f}-{self._rt[-1]:.3f} min"
        else:
            span = "empty"
        mz = f"m/z {self._mz[0]:g}-{self._mz[-1]:g}" if self.n_mz else "no m/z"
        name = f", source={self.source!r}" if self.source else ""
        return f"Run(n_scans={self.n_scans}, {span}, {mz}{name})"
