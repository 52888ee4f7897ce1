"""Peak tables (CSR arrays) for many spectra at once, and the compute-device choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_id.errors import DeviceError

__all__ = ["PeakTable", "as_peak_table", "resolve_device", "segment_ids"]


@dataclass(frozen=True)
class PeakTable:
    """Peaks of ``n`` spectra in CSR form.

    Attributes
    ----------
    mz : ndarray of float64
        All peaks' m/z, concatenated; sorted within each spectrum.
    intensity : ndarray of float32
        Intensities, same length as `mz`.
    offsets : ndarray of int64, length n + 1
        Spectrum i holds peaks ``offsets[i]:offsets[i + 1]``.
    precursor_mz : ndarray of float64, length n
        Precursor m/z, NaN where none.
    """

    mz: np.ndarray
    intensity: np.ndarray
    offsets: np.ndarray
    precursor_mz: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def n_peaks(self) -> np.ndarray:
        """Number of peaks per spectrum."""
        return np.diff(self.offsets)

    def take(self, idx: np.ndarray) -> "PeakTable":
        """Return the table of the spectra `idx` (in that order), gathered without a Python loop."""
        idx = np.asarray(idx, dtype=np.int64)
        lengths = np.diff(self.offsets)[idx]
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        src = np.repeat(self.offsets[idx] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return PeakTable(self.mz[src], self.intensity[src], offsets, self.precursor_mz[idx])


def segment_ids(offsets: np.ndarray) -> np.ndarray:
    """Spectrum index of every peak of a CSR table (``repeat(arange(n), lengths)``)."""
    n = offsets.size - 1
    return np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))


def as_peak_table(spectra: Any) -> PeakTable:
    """Turn a :class:`~nps_id.spectra.SpectralLibrary`, a :class:`PeakTable`, one
    :class:`~nps_id.spectra.Spectrum` or a sequence of spectra into a :class:`PeakTable` (no copy for a library).
    """
    if isinstance(spectra, PeakTable):
        return spectra
    if hasattr(spectra, "offsets") and hasattr(spectra, "mz") and hasattr(spectra, "precursor_mz"):
        return PeakTable(
            np.asarray(spectra.mz, dtype=np.float64),
            np.asarray(spectra.intensity, dtype=np.float32),
            np.asarray(spectra.offsets, dtype=np.int64),
            np.asarray(spectra.precursor_mz, dtype=np.float64),
        )
    if hasattr(spectra, "mz") and hasattr(spectra, "intensity"):  # a single Spectrum
        spectra = [spectra]
    from nps_id.spectra.spectrum import bad_peaks, pack_peaks

    spectra = list(spectra)
    table = PeakTable(*pack_peaks(spectra))
    ms = np.repeat([getattr(s, "kind", "ms") == "ms" for s in spectra], np.diff(table.offsets)).astype(bool)
    bad = bad_peaks(table.mz, table.intensity, "ms") & ms  # the readers' bounds, for spectra made in Python too
    if bad.any():
        from nps_id.errors import InvalidSpectrumError

        peak = int(np.flatnonzero(bad)[0])
        first = int(np.searchsorted(table.offsets, peak, side="right") - 1)
        raise InvalidSpectrumError(
            f"query {first} holds a peak no reader accepts (m/z {float(table.mz[peak])!r}, intensity "
            f"{float(table.intensity[peak])!r}; m/z must be in (0, 1e5], intensities finite and >= 0): fix or drop it"
        )
    return table


def resolve_device(device: str | None) -> str:
    """Check a device name (``"cpu"``, ``"cuda"``, ``"cuda:N"``) and return it.

    Raises
    ------
    DeviceError
        If CUDA is asked for but torch sees no CUDA device (the message says what to do).
    ValueError
        If the name is not a device nps_id knows.
    """
    device = (device or "cpu").lower()
    if device == "cpu":
        return device
    if device == "cuda" or device.startswith("cuda:"):
        import torch

        if not torch.cuda.is_available():
            raise DeviceError(
                f"device={device!r} was asked for but torch finds no CUDA device (torch {torch.__version__}, "
                f"CUDA build: {torch.version.cuda or 'no'}); use device='cpu', or install a CUDA build of torch "
                "on a machine with an NVIDIA GPU"
            )
        return device
    raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'")
