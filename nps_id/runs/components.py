"""Components of a run: deconvolved compounds with retention time, retention index, area share and a spectrum.

:func:`find_components` runs the deconvolution (:mod:`nps_id.runs.deconvolution`) on a :class:`Run` and returns
a :class:`ComponentTable`; :func:`extract_components` returns just the component spectra, ready for library
search and classification. Each component spectrum is a unit-mass GC-EI :class:`~nps_id.spectra.Spectrum`
(``kind="ms"``, no precursor) whose metadata holds:

==================  ==============================================================================
key                 value
==================  ==============================================================================
name                ``"RT 12.34 min"`` (``"RT 12.34 min, RI 1523"`` with a ladder)
retention_time      apex retention time in seconds (the unit of nps_id's mzML/MGF metadata)
retention_time_min  the same in minutes
retention_index     van den Dool & Kratz index (only with a ladder, and inside it)
area                summed abundance of the component over its scans and ions
area_share          its fraction (0-1) of the summed area of all components of the run
height              summed apex abundance of its ions (the deconvolved TIC at the apex)
component           1-based number of the component in the run, in order of retention
n_ions              number of m/z in its spectrum
model_ions          the m/z whose traces modelled its elution profile, space-separated
ionization          ``"EI"`` (or the run's own ``ionization``)
ms_level            ``"MS1"``
source_file         the run it was extracted from
==================  ==============================================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nps_id.runs.deconvolution import Deconvolution, DeconvolutionOptions, deconvolve
from nps_id.runs.retention import AlkaneLadder, retention_index
from nps_id.runs.run import Run

if TYPE_CHECKING:
    from nps_id.spectra.spectrum import Spectrum

__all__ = ["Component", "ComponentTable", "find_components", "extract_components"]


@dataclasses.dataclass(frozen=True)
class Component:
    """One deconvolved component of a run.

    Attributes
    ----------
    number : int
        1-based, in order of retention.
    rt : float
        Apex retention time (minutes).
    rt_start, rt_end : float
        Where its elution profile starts and ends (minutes).
    ri : float
        Retention index (NaN without a ladder or outside it).
    area, area_share, height : float
        See the module docstring.
    fwhm : float
        Width of the elution profile at half height (minutes).
    spectrum : Spectrum
        Its mass spectrum (apex abundances), with the metadata of the module docstring.
    profile_rt, profile : ndarray
        Its elution profile (maximum 1) and the retention times it is given at.
    """

    number: int
    rt: float
    rt_start: float
    rt_end: float
    ri: float
    area: float
    area_share: float
    height: float
    fwhm: float
    spectrum: "Spectrum"
    profile_rt: np.ndarray
    profile: np.ndarray

    def record(self) -> dict[str, Any]:
        """The component as one row: number, name, rt, ri, area, area_share, height, fwhm, n_ions, base_peak."""
        spec = self.spectrum
        base = float(spec.mz[int(np.argmax(spec.intensity))]) if spec.n_peaks else float("nan")
        return {
            "component": self.number,
            "name": spec.metadata.get("name"),
            "rt": self.rt,
            "ri": self.ri,
            "area": self.area,
            "area_share": self.area_share,
            "height": self.height,
            "fwhm": self.fwhm,
            "n_ions": spec.n_peaks,
            "base_peak": base,
        }


class ComponentTable(Sequence):
    """The components of one run, in order of retention: a sequence of :class:`Component`.

    Attributes
    ----------
    run : Run
        The run they were found in.
    deconvolution : Deconvolution
        The raw result (positions in scans, baseline, noise), for plots and diagnostics.
    """

    def __init__(self, components: list[Component], run: Run, deconvolution: Deconvolution) -> None:
        self._components = list(components)
        self.run = run
        self.deconvolution = deconvolution

    def __len__(self) -> int:
        return len(self._components)

    def __getitem__(self, i):  # type: ignore[override]
        return self._components[i]

    def __iter__(self) -> Iterator[Component]:
        return iter(self._components)

    @property
    def spectra(self) -> list["Spectrum"]:
        """The component spectra (:class:`~nps_id.spectra.Spectrum`), in order of retention."""
        return [c.spectrum for c in self._components]

    def records(self) -> list[dict[str, Any]]:
        """One dict per component (see :meth:`Component.record`)."""
        return [c.record() for c in self._components]

    def __repr__(self) -> str:
        return f"ComponentTable({len(self)} components of {self.run!r})"


def _options(options: dict[str, Any]) -> DeconvolutionOptions:
    names = {f.name for f in dataclasses.fields(DeconvolutionOptions)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise TypeError(f"unknown deconvolution option(s) {unknown}; known: {sorted(names)}")
    return DeconvolutionOptions(**options)


def find_components(
    run: Run,
    *,
    ladder: AlkaneLadder | dict[int, float] | None = None,
    rt_range: tuple[float | None, float | None] | None = None,
    min_area_share: float = 0.0,
    **options: Any,
) -> ComponentTable:
    """Deconvolve a run into components.

    Parameters
    ----------
    run : Run
        The acquisition (:func:`~nps_id.runs.read_run`).
    ladder : AlkaneLadder or dict, optional
        n-alkane retention times on the same column and method (``{carbons: rt_minutes}``); gives each
        component a retention index.
    rt_range : (float or None, float or None), optional
        Only the scans in this retention window (minutes), e.g. to skip the solvent front.
    min_area_share : float, default 0
        Drop components below this fraction of the summed area (after computing the shares).
    **options
        Settings of :class:`~nps_id.runs.deconvolution.DeconvolutionOptions` (``min_snr``, ``model_snr``,
        ``fwhm``, ``baseline_window``, ``novelty``, ``min_ions``, ``ion_snr``, ``min_relative``, ``refine``, ...).

    Returns
    -------
    ComponentTable

    Examples
    --------
    >>> from nps_id.runs import read_run, find_components  # doctest: +SKIP
    >>> table = find_components(read_run("sample.D"), ladder={10: 4.52, 11: 5.31, 12: 6.05})  # doctest: +SKIP
    >>> [(c.rt, c.ri, c.area_share) for c in table]  # doctest: +SKIP
    """
    opts = _options(options)
    if rt_range is not None:
        run = run.slice(*rt_range)
    if ladder is not None and not isinstance(ladder, AlkaneLadder):
        ladder = AlkaneLadder.from_mapping(ladder)
    dec = deconvolve(run.intensity, opts)
    scans = np.arange(run.n_scans, dtype=np.float64)
    rt_of = lambda pos: np.interp(pos, scans, run.rt)  # noqa: E731
    rts = rt_of(dec.position)
    ris = retention_index(rts, ladder) if ladder is not None else np.full(rts.size, np.nan)
    total = float(dec.area.sum())
    shares = dec.area / total if total > 0 else np.zeros_like(dec.area)
    dt = run.scan_interval if run.n_scans > 1 else 0.0
    components = []
    for k in range(len(dec)):
        if shares[k] < min_area_share:
            continue
        spectrum = _spectrum(run, dec, k, float(rts[k]), float(ris[k]), float(shares[k]), len(components) + 1)
        lo, hi = int(dec.start[k]), int(dec.stop[k])
        components.append(
            Component(
                number=len(components) + 1,
                rt=float(rts[k]),
                rt_start=float(run.rt[lo]),
                rt_end=float(run.rt[hi - 1]),
                ri=float(ris[k]),
                area=float(dec.area[k]),
                area_share=float(shares[k]),
                height=float(dec.spectra[k].sum(dtype=np.float64)),
                fwhm=float(dec.fwhm[k] * dt),
                spectrum=spectrum,
                profile_rt=run.rt[lo:hi],
                profile=dec.profiles[k],
            )
        )
    return ComponentTable(components, run, dec)


def _spectrum(run: Run, dec: Deconvolution, k: int, rt: float, ri: float, share: float, number: int) -> "Spectrum":
    from nps_id.spectra.spectrum import Spectrum

    row = dec.spectra[k]
    keep = row > 0
    name = f"RT {rt:.2f} min" + (f", RI {ri:.0f}" if np.isfinite(ri) else "")
    meta: dict[str, Any] = {
        "name": name,
        "retention_time": rt * 60.0,
        "retention_time_min": rt,
    }
    if np.isfinite(ri):
        meta["retention_index"] = ri
    meta.update(
        {
            "area": float(dec.area[k]),
            "area_share": share,
            "height": float(row.sum(dtype=np.float64)),
            "component": number,
            "n_ions": int(keep.sum()),
            "model_ions": " ".join(f"{run.mz[c]:g}" for c in sorted(set(dec.model_columns[k].tolist()))),
            "ionization": str(run.metadata.get("ionization", "EI")),
            "ms_level": "MS1",
        }
    )
    if run.source:
        meta["source_file"] = run.source
    return Spectrum._trusted(np.ascontiguousarray(run.mz[keep]), np.ascontiguousarray(row[keep]), "ms", None, meta)


def extract_components(run: Run, **options: Any) -> list["Spectrum"]:
    """The component spectra of a run (:class:`~nps_id.spectra.Spectrum`, in order of retention); the options
    are those of :func:`find_components`.

    Examples
    --------
    >>> from nps_id.runs import read_run, extract_components  # doctest: +SKIP
    >>> spectra = extract_components(read_run("sample.D"))  # doctest: +SKIP
    >>> spectra[0].metadata["name"], spectra[0].metadata["area_share"]  # doctest: +SKIP
    """
    return find_components(run, **options).spectra
