"""The central spectrum type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from nps_id.errors import InvalidSpectrumError

__all__ = ["Spectrum", "KINDS", "MZ_MAX", "WAVENUMBER_MAX", "pack_peaks", "peak_problem", "bad_peaks"]

KINDS = ("ms", "ir", "raman")
Kind = Literal["ms", "ir", "raman"]

#: the largest m/z (and precursor m/z) a mass spectrum read from a file may hold; beyond it a value is taken
#: for damage (1e8 or 1e300 would make a 1-Da binned search allocate gigabytes or overflow)
MZ_MAX = 1e5
#: the largest |x| (wavenumber or Raman shift, cm-1) an IR or Raman spectrum read from a file may hold
WAVENUMBER_MAX = 1e5
_F32_MAX = float(np.finfo(np.float32).max)


def bad_peaks(x: np.ndarray, intensity: np.ndarray, kind: str = "ms") -> np.ndarray:
    """Per point: True where a point breaks the bounds of a spectrum read from a file.

    The bounds (one definition for every reader, see :func:`peak_problem`): x and intensity finite and the
    intensity within the float32 range; for mass spectra ``0 < m/z <= MZ_MAX`` and intensities ``>= 0``; for IR
    and Raman ``|x| <= WAVENUMBER_MAX``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(intensity)
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~(np.isfinite(x) & np.isfinite(y)) | (np.abs(y) > _F32_MAX)
        if kind == "ms":
            bad |= (x <= 0) | (x > MZ_MAX) | (y < 0)
        else:
            bad |= np.abs(x) > WAVENUMBER_MAX
    return bad


def peak_problem(x: np.ndarray, intensity: np.ndarray, kind: str = "ms") -> tuple[str, int] | None:
    """Why the points cannot form a spectrum read from a file, and the index of the first bad point; or None.

    Readers report the reason as a bad record (a named :class:`~nps_id.errors.SpectrumFormatError`, or a
    counted skip). Unsorted x is not a problem (readers sort).
    """
    bad = bad_peaks(x, intensity, kind)
    if not bad.any():
        return None
    i = int(np.flatnonzero(bad)[0])
    xi, yi = float(np.asarray(x)[i]), float(np.asarray(intensity)[i])
    if not (np.isfinite(xi) and np.isfinite(yi)):
        return "peaks hold NaN or infinite values", i
    if abs(yi) > _F32_MAX:
        return f"intensity {yi!r} exceeds the float32 range", i
    if kind == "ms":
        if yi < 0:
            return f"peaks hold negative intensities ({yi!r} at m/z {xi!r})", i
        if xi <= 0:
            return f"m/z {xi!r} is not positive (a mass spectrum's m/z must be > 0)", i
        return f"m/z {xi!r} is beyond {MZ_MAX:g}, the largest m/z accepted (damaged value?)", i
    return f"x {xi!r} is beyond +-{WAVENUMBER_MAX:g} cm-1, the largest wavenumber accepted (damaged value?)", i


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class Spectrum:
    """One spectrum: mass spectrum (m/z) or vibrational spectrum (wavenumber).

    Validated once on construction; the arrays are stored read-only and returned without copying.

    Parameters
    ----------
    x : array_like
        m/z values (``kind="ms"``) or wavenumbers in cm-1 (``"ir"``, ``"raman"``), non-decreasing.
    intensity : array_like
        Intensities, same length as `x`, finite; non-negative for mass spectra.
    kind : {"ms", "ir", "raman"}, default "ms"
        What the spectrum is.
    precursor_mz : float, optional
        Precursor m/z of an MS/MS spectrum; ``None`` for GC-EI, IR and Raman spectra.
    metadata : dict, optional
        Harmonised metadata (see :mod:`nps_id.spectra.metadata`); copied.
    sort : bool, default False
        Sort the peaks by `x` instead of rejecting an unsorted spectrum.

    Raises
    ------
    InvalidSpectrumError
        If the arrays differ in length, are not 1-D, hold NaN/inf or negative MS intensities,
        `x` is unsorted (and ``sort=False``), or `kind` / `precursor_mz` is invalid.

    Examples
    --------
    >>> s = Spectrum([41.0, 57.0, 91.0], [120.0, 999.0, 45.0], metadata={"name": "demo"})
    >>> s.n_peaks, s.kind, s.precursor_mz
    (3, 'ms', None)
    """

    __slots__ = ("_x", "_intensity", "kind", "precursor_mz", "metadata")

    def __init__(
        self,
        x: Any,
        intensity: Any,
        *,
        kind: Kind = "ms",
        precursor_mz: float | None = None,
        metadata: dict[str, Any] | None = None,
        sort: bool = False,
    ) -> None:
        try:
            xa = np.array(x, dtype=np.float64)
            ia = np.array(intensity, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidSpectrumError(f"peaks are not numeric: {exc}") from None
        if xa.ndim != 1 or ia.ndim != 1:
            raise InvalidSpectrumError(f"x and intensity must be 1-D, got shapes {xa.shape} and {ia.shape}")
        if xa.shape != ia.shape:
            raise InvalidSpectrumError(f"x has {xa.size} values but intensity has {ia.size}")
        if kind not in KINDS:
            raise InvalidSpectrumError(f"kind must be one of {KINDS}, got {kind!r}")
        if not np.isfinite(xa).all():
            raise InvalidSpectrumError("x holds NaN or infinite values")
        if not np.isfinite(ia).all():
            raise InvalidSpectrumError("intensity holds NaN or infinite values (or values beyond float32)")
        if kind == "ms" and (ia < 0).any():
            raise InvalidSpectrumError("mass spectrum intensities must be >= 0")
        if xa.size > 1 and (np.diff(xa) < 0).any():
            if not sort:
                raise InvalidSpectrumError("x is not sorted; pass sort=True to sort the peaks")
            order = np.argsort(xa, kind="stable")
            xa, ia = xa[order], ia[order]
        if precursor_mz is not None:
            try:
                precursor_mz = float(precursor_mz)
            except (TypeError, ValueError):
                raise InvalidSpectrumError(f"precursor_mz must be a number, got {precursor_mz!r}") from None
            if not np.isfinite(precursor_mz) or precursor_mz <= 0:
                raise InvalidSpectrumError(f"precursor_mz must be a positive number, got {precursor_mz!r}")
            if kind != "ms":
                raise InvalidSpectrumError("precursor_mz applies to mass spectra only")
        self._x = _readonly(xa)
        self._intensity = _readonly(ia)
        self.kind: str = kind
        self.precursor_mz: float | None = precursor_mz
        self.metadata: dict[str, Any] = dict(metadata) if metadata else {}

    @classmethod
    def _trusted(
        cls,
        x: np.ndarray,
        intensity: np.ndarray,
        kind: str = "ms",
        precursor_mz: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> "Spectrum":
        """Build from arrays already known to be valid (float64/float32, sorted, finite); no copy, no checks.

        For readers and :class:`SpectralLibrary`, which validate whole batches at once.
        """
        self = object.__new__(cls)
        if x.flags.writeable:
            x = x.view()
            x.flags.writeable = False
        if intensity.flags.writeable:
            intensity = intensity.view()
            intensity.flags.writeable = False
        self._x = x
        self._intensity = intensity
        self.kind = kind
        self.precursor_mz = precursor_mz
        self.metadata = metadata if metadata is not None else {}
        return self

    @property
    def x(self) -> np.ndarray:
        """m/z or wavenumber values (float64, read-only)."""
        return self._x

    @property
    def mz(self) -> np.ndarray:
        """Alias of :attr:`x` for mass spectra."""
        return self._x

    @property
    def intensity(self) -> np.ndarray:
        """Intensities (float32, read-only)."""
        return self._intensity

    @property
    def n_peaks(self) -> int:
        """Number of points (peaks)."""
        return int(self._x.size)

    def __len__(self) -> int:
        return int(self._x.size)

    @property
    def name(self) -> str | None:
        """The spectrum's name (``metadata["name"]``), if any."""
        return self.metadata.get("name")

    def replace(self, **changes: Any) -> "Spectrum":
        """Return a new, validated spectrum with some fields changed (``x``, ``intensity``, ``metadata``, ...)."""
        fields = {
            "x": self._x,
            "intensity": self._intensity,
            "kind": self.kind,
            "precursor_mz": self.precursor_mz,
            "metadata": self.metadata,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown Spectrum field(s): {sorted(unknown)}")
        fields.update(changes)
        return Spectrum(fields.pop("x"), fields.pop("intensity"), **fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spectrum):
            return NotImplemented
        return (
            self.kind == other.kind
            and self.precursor_mz == other.precursor_mz
            and np.array_equal(self._x, other._x)
            and np.array_equal(self._intensity, other._intensity)
            and self.metadata == other.metadata
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        name = self.metadata.get("name")
        parts = [f"kind={self.kind!r}", f"n_peaks={self.n_peaks}"]
        if self.precursor_mz is not None:
            parts.append(f"precursor_mz={self.precursor_mz:.4f}")
        if name:
            parts.append(f"name={name!r}")
        return f"Spectrum({', '.join(parts)})"


def pack_peaks(spectra: Sequence[Spectrum]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate the peaks of many spectra into CSR arrays.

    Returns
    -------
    x : ndarray of float64
        All x values, spectrum after spectrum.
    intensity : ndarray of float32
    offsets : ndarray of int64, length ``len(spectra) + 1``
        Spectrum i holds ``x[offsets[i]:offsets[i + 1]]``.
    precursor_mz : ndarray of float64
        NaN where a spectrum has none.
    """
    n = len(spectra)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter((s.n_peaks for s in spectra), dtype=np.int64, count=n), out=offsets[1:])
    x = np.concatenate([s.x for s in spectra]) if n else np.empty(0)
    intensity = np.concatenate([s.intensity for s in spectra]) if n else np.empty(0, np.float32)
    precursor = np.fromiter(
        (np.nan if s.precursor_mz is None else s.precursor_mz for s in spectra), dtype=np.float64, count=n
    )
    return x.astype(np.float64, copy=False), intensity.astype(np.float32, copy=False), offsets, precursor
