"""Spectrum processing: single steps, named pipelines of steps, and presets.

A *step* is a plain function ``step(spectrum, **params) -> Spectrum | None`` registered by name in
:data:`STEPS`; ``None`` means the spectrum is dropped (no peaks left, nothing to normalise, ...).
Steps never change their input (a :class:`~nps_id.spectra.Spectrum`'s arrays are read-only); they return a
new spectrum with the same ``kind``, ``precursor_mz`` and (copied) ``metadata``.

Mass-spectrum steps
    ``mz_range``, ``min_relative_intensity``, ``top_n``, ``intensity_power``, ``mz_weighting``,
    ``require_precursor``, ``remove_precursor``, ``merge_peaks``.
Vibrational (IR, Raman) steps
    ``als_baseline``, ``savgol``, ``snv``, ``vector_normalize``, ``resample``; ``despike`` (Raman only).
Steps for every kind
    ``crop``, ``normalize``, ``min_peaks``.

A :class:`Pipeline` applies steps in order and counts, per step, the spectra it dropped. It is saved as a
small text file, so that a library and the queries searched against it are processed the same way::

    # name: ei_default
    mz_range min_mz=40.0 max_mz=inf
    min_relative_intensity threshold=0.005
    normalize method=max scale=1.0

One step per line: the step's name, then ``key=value`` pairs (every parameter is written, defaults
included, so a stored pipeline does not change meaning when a default changes). Values are numbers
(``inf`` allowed where the step accepts it), ``true``/``false``, or a bare word for a choice. Blank lines
and ``#`` comments are ignored, except the header ``# name: ...``.

Examples
--------
>>> from nps_id.spectra import Spectrum
>>> from nps_id.spectra.processing import Pipeline, top_n
>>> s = Spectrum([41.0, 57.0, 91.0, 120.0], [120.0, 999.0, 45.0, 3.0])
>>> top_n(s, n=2).mz.tolist()
[41.0, 57.0]
>>> p = Pipeline([("top_n", {"n": 2}), ("normalize", {"method": "max", "scale": 100.0})], name="demo")
>>> print(p.to_string(), end="")
# name: demo
top_n n=2
normalize method=max scale=100.0
>>> [round(v, 3) for v in p(s).intensity.tolist()]
[12.012, 100.0]
>>> Pipeline.from_string(p.to_string()) == p
True
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import logging
import math
import os
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nps_id.errors import PipelineFormatError, ProcessingError
from nps_id.spectra.spectrum import Spectrum

__all__ = [
    "ProcessingError",
    "PipelineFormatError",
    "StepInfo",
    "STEPS",
    "register_step",
    "get_step",
    "Pipeline",
    "ProcessingReport",
    "PRESETS",
    "get_preset",
    # steps
    "mz_range",
    "min_relative_intensity",
    "top_n",
    "normalize",
    "intensity_power",
    "mz_weighting",
    "require_precursor",
    "remove_precursor",
    "merge_peaks",
    "min_peaks",
    "crop",
    "als_baseline",
    "savgol",
    "snv",
    "vector_normalize",
    "resample",
    "despike",
]

logger = logging.getLogger(__name__)

MS: tuple[str, ...] = ("ms",)
VIBRATIONAL: tuple[str, ...] = ("ir", "raman")
ALL_KINDS: tuple[str, ...] = ("ms", "ir", "raman")

_MAX_GRID_POINTS = 10_000_000


# --------------------------------------------------------------------------------------------------
# errors


def _fail(step: str, message: str) -> typing.NoReturn:
    raise ProcessingError(f"{step}: {message}")


# --------------------------------------------------------------------------------------------------
# the step registry


@dataclasses.dataclass(frozen=True, eq=False)
class StepInfo:
    """A registered step: its function, the spectrum kinds it applies to and its parameters.

    Attributes
    ----------
    name : str
        The name used in pipelines and pipeline files.
    func : callable
        The unchecked implementation ``func(spectrum, **params)``; :meth:`bind` the parameters first.
    kinds : tuple of str
        The spectrum kinds the step applies to.
    params : tuple of str
        Parameter names, in signature order (the order they are written in a pipeline file).
    types : dict
        Parameter name -> type (``int``, ``float``, ``bool``, ``str`` or a ``Literal``).
    defaults : dict
        Parameter name -> default, for parameters that have one.
    check : callable or None
        ``check(**params)`` raising :class:`ProcessingError` for invalid values.
    """

    name: str
    func: Callable[..., Spectrum | None]
    kinds: tuple[str, ...]
    params: tuple[str, ...]
    types: dict[str, Any]
    defaults: dict[str, Any]
    check: Callable[..., None] | None

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check and complete a parameter dict: types coerced, defaults filled in, values validated.

        Returns
        -------
        dict
            Every parameter of the step, in signature order.

        Raises
        ------
        ProcessingError
            On an unknown or missing parameter, a value of the wrong type, or an invalid value.
        """
        if not isinstance(params, Mapping):
            _fail(self.name, f"parameters must be a dict, got {type(params).__name__}")
        unknown = [k for k in params if k not in self.types]
        if unknown:
            known = ", ".join(self.params) or "(none)"
            _fail(self.name, f"unknown parameter(s) {', '.join(map(repr, unknown))}; its parameters are: {known}")
        out: dict[str, Any] = {}
        for key in self.params:
            if key in params:
                out[key] = _coerce(self.name, key, params[key], self.types[key])
            elif key in self.defaults:
                out[key] = self.defaults[key]
            else:
                _fail(self.name, f"parameter {key!r} is required (e.g. {self.name} {key}=...)")
        if self.check is not None:
            self.check(**out)
        return out

    def check_kind(self, spectrum: Any) -> None:
        """Raise if `spectrum` is not a :class:`Spectrum` of a kind this step applies to."""
        if not isinstance(spectrum, Spectrum):
            raise TypeError(f"{self.name}: expected a Spectrum, got {type(spectrum).__name__}")
        if spectrum.kind not in self.kinds:
            _fail(
                self.name,
                f"applies to {'/'.join(self.kinds)} spectra, not to {spectrum.kind!r} spectrum "
                f"{spectrum.name or ''!r}; use a pipeline made for {spectrum.kind!r} spectra",
            )


#: Step name -> :class:`StepInfo`, for every registered step.
STEPS: dict[str, StepInfo] = {}


def register_step(
    name: str, *, kinds: tuple[str, ...] = ALL_KINDS, check: Callable[..., None] | None = None
) -> Callable[[Callable[..., Spectrum | None]], Callable[..., Spectrum | None]]:
    """Register a processing step under `name` (decorator).

    The decorated function takes the spectrum, then keyword-only parameters annotated ``int``, ``float``,
    ``bool``, ``str`` or a ``Literal`` of strings (those types are what a pipeline file can hold).
    The returned function checks the spectrum kind and the parameters (with `check`) on every call;
    a :class:`Pipeline` checks them once and calls the unchecked function.

    Parameters
    ----------
    name : str
        The step's name in pipelines; one word.
    kinds : tuple of str, default all kinds
        The spectrum kinds the step applies to.
    check : callable, optional
        ``check(**params)`` raising :class:`ProcessingError` for invalid parameter values.
    """
    if not name.isidentifier():
        raise ValueError(f"step name must be one word (an identifier), got {name!r}")

    def decorate(func: Callable[..., Spectrum | None]) -> Callable[..., Spectrum | None]:
        sig = inspect.signature(func)
        hints = typing.get_type_hints(func)
        params = list(sig.parameters.values())[1:]
        for p in params:
            if p.kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"step {name!r}: parameter {p.name!r} must be keyword-only")
            _check_type(name, p.name, hints.get(p.name))
        info = StepInfo(
            name=name,
            func=func,
            kinds=tuple(kinds),
            params=tuple(p.name for p in params),
            types={p.name: hints[p.name] for p in params},
            defaults={p.name: p.default for p in params if p.default is not inspect.Parameter.empty},
            check=check,
        )
        if name in STEPS and STEPS[name].func.__qualname__ != func.__qualname__:
            raise ValueError(f"a different step is already registered as {name!r}")
        STEPS[name] = info

        @functools.wraps(func)
        def checked(spectrum: Spectrum, **params: Any) -> Spectrum | None:
            bound = info.bind(params)
            info.check_kind(spectrum)
            return func(spectrum, **bound)

        checked.step_info = info  # type: ignore[attr-defined]
        return checked

    return decorate


def get_step(name: str) -> StepInfo:
    """Return the registered step called `name`.

    Raises
    ------
    ProcessingError
        If there is no such step; the message suggests close names and lists all.
    """
    try:
        return STEPS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), STEPS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ProcessingError(
            f"unknown processing step {name!r}; {hint}known steps: {', '.join(sorted(STEPS))}"
        ) from None


def _check_type(step: str, pname: str, hint: Any) -> None:
    if hint in (int, float, bool, str):
        return
    if typing.get_origin(hint) is Literal and all(isinstance(a, str) for a in typing.get_args(hint)):
        return
    raise TypeError(f"step {step!r}: parameter {pname!r} must be annotated int, float, bool, str or a Literal")


def _coerce(step: str, pname: str, value: Any, hint: Any) -> Any:
    """Convert a parameter value to its declared type, or raise :class:`ProcessingError`."""
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if isinstance(value, str) and value in choices:
            return value
        _fail(step, f"{pname} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    if hint is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        _fail(step, f"{pname} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return int(value)
        _fail(step, f"{pname} must be a whole number, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
            v = float(value)
            if math.isnan(v):
                _fail(step, f"{pname} must be a number, got NaN")
            return v
        _fail(step, f"{pname} must be a number, got {value!r}")
    if isinstance(value, str):
        return value
    _fail(step, f"{pname} must be a string, got {value!r}")


def _parse_value(step: str, pname: str, text: str, hint: Any) -> Any:
    """Parse one ``key=value`` value of a pipeline file by the parameter's declared type."""
    if hint is bool:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        _fail(step, f"{pname} must be true or false, got {text!r}")
    if hint is int:
        try:
            return int(text)
        except ValueError:
            _fail(step, f"{pname} must be a whole number, got {text!r}")
    if hint is float:
        try:
            return float(text)
        except ValueError:
            _fail(step, f"{pname} must be a number, got {text!r}")
    return text


def _format_value(value: Any) -> str:
    """Write a parameter value so that :func:`_parse_value` reads back exactly the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that round-trips exactly; 'inf' for infinity
    return str(value)


# --------------------------------------------------------------------------------------------------
# helpers shared by the steps


def _new(spectrum: Spectrum, x: np.ndarray, intensity: np.ndarray, step: str) -> Spectrum:
    """A new spectrum with `spectrum`'s kind, precursor and (copied) metadata; `x` must be sorted."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.ascontiguousarray(intensity, dtype=np.float32)
    if not np.isfinite(y).all():
        _fail(
            step,
            f"the result for spectrum {spectrum.name or ''!r} holds NaN or values beyond float32 "
            "(about 3.4e38); choose smaller powers or normalise first",
        )
    return Spectrum._trusted(x, y, spectrum.kind, spectrum.precursor_mz, dict(spectrum.metadata))


def _copy(spectrum: Spectrum) -> Spectrum:
    """The same arrays (read-only, shared) with a copied metadata dict."""
    return Spectrum._trusted(
        spectrum.x, spectrum.intensity, spectrum.kind, spectrum.precursor_mz, dict(spectrum.metadata)
    )


def _subset(spectrum: Spectrum, keep: np.ndarray | slice, step: str) -> Spectrum | None:
    """Keep some peaks (mask, sorted indices or slice); ``None`` if none are left."""
    x = spectrum.x[keep]
    if x.size == 0:
        return None
    return _new(spectrum, x, spectrum.intensity[keep], step)


def _tolerance_da(tolerance: float, unit: str, mz: np.ndarray | float) -> np.ndarray | float:
    return tolerance if unit == "Da" else tolerance * 1e-6 * mz


def _needs(step: str, ok: bool, message: str) -> None:
    if not ok:
        _fail(step, message)


def _is_even(step: str, x: np.ndarray) -> None:
    dx = np.diff(x)
    mean = (x[-1] - x[0]) / (x.size - 1)
    _needs(
        step,
        mean > 0 and bool(np.all(np.abs(dx - mean) <= 1e-3 * mean)),
        "the x values are not evenly spaced; add a 'resample' step before it",
    )


# --------------------------------------------------------------------------------------------------
# mass-spectrum steps


def _check_mz_range(min_mz: float, max_mz: float) -> None:
    _needs("mz_range", min_mz >= 0, f"min_mz must be >= 0, got {min_mz}")
    _needs("mz_range", min_mz <= max_mz, f"min_mz ({min_mz}) must not exceed max_mz ({max_mz})")


@register_step("mz_range", kinds=MS, check=_check_mz_range)
def mz_range(spectrum: Spectrum, *, min_mz: float = 0.0, max_mz: float = math.inf) -> Spectrum | None:
    """Keep the peaks with ``min_mz <= m/z <= max_mz``.

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    min_mz : float, default 0.0
        Lowest m/z kept (inclusive), >= 0.
    max_mz : float, default inf
        Highest m/z kept (inclusive), >= `min_mz`.

    Returns
    -------
    Spectrum or None
        ``None`` if no peak lies in the range.
    """
    x = spectrum.x
    lo, hi = np.searchsorted(x, min_mz, side="left"), np.searchsorted(x, max_mz, side="right")
    return _subset(spectrum, slice(lo, hi), "mz_range")


def _check_threshold(threshold: float) -> None:
    _needs(
        "min_relative_intensity",
        0.0 <= threshold <= 1.0,
        f"threshold is a fraction of the base peak, between 0 and 1; got {threshold} (for 1% give 0.01)",
    )


@register_step("min_relative_intensity", kinds=MS, check=_check_threshold)
def min_relative_intensity(spectrum: Spectrum, *, threshold: float) -> Spectrum | None:
    """Remove the peaks below a fraction of the most intense peak.

    Keeps the peaks with ``intensity >= threshold * max(intensity)`` (compared in float64).

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    threshold : float
        Fraction of the base peak, 0 to 1 (0.01 = 1%).

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has no peaks or no peak with positive intensity.
    """
    y = spectrum.intensity
    if y.size == 0:
        return None
    top = float(y.max())
    if top <= 0.0:
        return None
    return _subset(spectrum, y.astype(np.float64) >= threshold * top, "min_relative_intensity")


def _check_top_n(n: int) -> None:
    _needs("top_n", n >= 1, f"n must be >= 1, got {n}")


@register_step("top_n", kinds=MS, check=_check_top_n)
def top_n(spectrum: Spectrum, *, n: int) -> Spectrum | None:
    """Keep the `n` most intense peaks (in m/z order).

    Among peaks of equal intensity at the cut, those of lower m/z are kept.

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    n : int
        Number of peaks to keep, >= 1.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has no peaks.
    """
    y = spectrum.intensity
    if y.size == 0:
        return None
    if y.size <= n:
        return _copy(spectrum)
    keep = np.argsort(-y, kind="stable")[:n]
    keep.sort()
    return _subset(spectrum, keep, "top_n")


def _check_normalize(method: str, scale: float) -> None:
    _needs("normalize", 0.0 < scale < math.inf, f"scale must be a positive number, got {scale}")


@register_step("normalize", kinds=ALL_KINDS, check=_check_normalize)
def normalize(
    spectrum: Spectrum, *, method: Literal["max", "sum", "l2"] = "max", scale: float = 1.0
) -> Spectrum | None:
    """Scale the intensities so that their maximum, sum or Euclidean norm equals `scale`.

    Parameters
    ----------
    spectrum : Spectrum
        Any spectrum.
    method : {"max", "sum", "l2"}, default "max"
        Divide by ``max(|I|)`` (the base peak becomes `scale`), by ``sum(|I|)``, or by ``sqrt(sum(I**2))``.
        For mass spectra (I >= 0) the absolute values change nothing.
    scale : float, default 1.0
        The value the chosen measure has afterwards (e.g. 999 or 100 for library-style spectra), > 0.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum is empty or all its intensities are 0 (nothing to normalise).
    """
    y = spectrum.intensity.astype(np.float64)
    if y.size == 0:
        return None
    if method == "max":
        d = float(np.abs(y).max())
    elif method == "sum":
        d = float(np.abs(y).sum())
    else:
        d = float(np.sqrt(np.dot(y, y)))
    if not d > 0.0 or not math.isfinite(d):
        return None
    return _new(spectrum, spectrum.x, (y / d) * scale, "normalize")


def _check_power(power: float) -> None:
    _needs("intensity_power", 0.0 < power < math.inf, f"power must be > 0, got {power} (0.5 = square root)")


@register_step("intensity_power", kinds=MS, check=_check_power)
def intensity_power(spectrum: Spectrum, *, power: float) -> Spectrum:
    """Raise the intensities to a power: ``I ** power`` (NIST-style intensity weighting).

    With :func:`mz_weighting` this gives the weighted intensities ``I**a * mz**b`` of the NIST composite
    score (Stein & Scott 1994 use a = 0.6, b = 3 for EI spectra; a = 0.5, b = 1 is common for MS/MS).

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    power : float
        The exponent a, > 0 (0.5 = square root, 1 = unchanged).
    """
    y = spectrum.intensity.astype(np.float64)
    return _new(spectrum, spectrum.x, np.power(y, power), "intensity_power")


def _check_mz_power(mz_power: float) -> None:
    _needs("mz_weighting", math.isfinite(mz_power), f"mz_power must be a finite number, got {mz_power}")


@register_step("mz_weighting", kinds=MS, check=_check_mz_power)
def mz_weighting(spectrum: Spectrum, *, mz_power: float) -> Spectrum:
    """Multiply each intensity by its m/z to a power: ``I * mz ** mz_power`` (NIST-style m/z weighting).

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum; its m/z values must be > 0 unless ``mz_power == 0``.
    mz_power : float
        The exponent b (3 in the NIST EI composite score, 0 = unchanged).

    Raises
    ------
    ProcessingError
        If the spectrum has an m/z <= 0, or the result overflows float32.
    """
    x = spectrum.x
    if mz_power != 0 and x.size and x[0] <= 0:
        _fail("mz_weighting", f"spectrum {spectrum.name or ''!r} has m/z <= 0; remove them first (mz_range min_mz=...)")
    y = spectrum.intensity.astype(np.float64)
    return _new(spectrum, x, y * np.power(x, mz_power), "mz_weighting")


@register_step("require_precursor", kinds=MS)
def require_precursor(spectrum: Spectrum) -> Spectrum | None:
    """Drop spectra without a precursor m/z (GC-EI spectra, MS/MS records lacking it).

    Returns
    -------
    Spectrum or None
        ``None`` if ``spectrum.precursor_mz`` is ``None``.
    """
    return None if spectrum.precursor_mz is None else _copy(spectrum)


def _check_remove_precursor(tolerance: float, unit: str, remove_above: bool) -> None:
    _needs("remove_precursor", 0.0 <= tolerance < math.inf, f"tolerance must be >= 0, got {tolerance}")


@register_step("remove_precursor", kinds=MS, check=_check_remove_precursor)
def remove_precursor(
    spectrum: Spectrum,
    *,
    tolerance: float,
    unit: Literal["Da", "ppm"] = "Da",
    remove_above: bool = False,
) -> Spectrum | None:
    """Remove the precursor peak of an MS/MS spectrum: peaks with ``|mz - precursor_mz| <= tolerance``.

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum with a precursor m/z.
    tolerance : float
        Half-width of the removed window, >= 0, in `unit`.
    unit : {"Da", "ppm"}, default "Da"
        Unit of `tolerance`; ppm are relative to the precursor m/z.
    remove_above : bool, default False
        Also remove every peak above the window (``mz >= precursor_mz - tolerance``): isotope peaks of the
        precursor and co-isolated ions.

    Returns
    -------
    Spectrum or None
        ``None`` if no peak is left.

    Raises
    ------
    ProcessingError
        If the spectrum has no precursor m/z; put ``require_precursor`` before this step to drop those.
    """
    pmz = spectrum.precursor_mz
    if pmz is None:
        _fail(
            "remove_precursor",
            f"spectrum {spectrum.name or ''!r} has no precursor m/z; add the step 'require_precursor' "
            "before it to drop such spectra, or set the precursor m/z",
        )
    tol = float(_tolerance_da(tolerance, unit, pmz))
    x = spectrum.x
    lo = np.searchsorted(x, pmz - tol, side="left")
    if remove_above:
        return _subset(spectrum, slice(0, lo), "remove_precursor")
    hi = np.searchsorted(x, pmz + tol, side="right")
    if lo == hi:
        return _copy(spectrum)
    keep = np.ones(x.size, dtype=bool)
    keep[lo:hi] = False
    return _subset(spectrum, keep, "remove_precursor")


def _check_merge(tolerance: float, unit: str, how: str) -> None:
    _needs("merge_peaks", 0.0 <= tolerance < math.inf, f"tolerance must be >= 0, got {tolerance}")


@register_step("merge_peaks", kinds=MS, check=_check_merge)
def merge_peaks(
    spectrum: Spectrum,
    *,
    tolerance: float,
    unit: Literal["Da", "ppm"] = "Da",
    how: Literal["sum", "max"] = "sum",
) -> Spectrum | None:
    """Merge peaks closer than a tolerance into one peak.

    Neighbouring peaks (in m/z order) whose gap is ``<= tolerance`` belong to one group (single linkage:
    a chain of close peaks forms one group even if its ends are farther apart than `tolerance`).

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    tolerance : float
        Largest gap between neighbouring peaks that are merged, >= 0, in `unit` (0 merges equal m/z only).
    unit : {"Da", "ppm"}, default "Da"
        Unit of `tolerance`; ppm are relative to the lower m/z of each pair.
    how : {"sum", "max"}, default "sum"
        ``"sum"``: the merged peak's intensity is the group's summed intensity, its m/z the
        intensity-weighted mean m/z (the plain mean if all intensities are 0). ``"max"``: the group's most
        intense peak is kept as it is (the lowest m/z among equally intense ones).

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has no peaks.
    """
    x = spectrum.x
    n = x.size
    if n == 0:
        return None
    if n == 1:
        return _copy(spectrum)
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = np.diff(x) > _tolerance_da(tolerance, unit, x[:-1])
    starts = np.flatnonzero(new_group)
    if starts.size == n:
        return _copy(spectrum)
    y = spectrum.intensity.astype(np.float64)
    if how == "max":
        group = np.cumsum(new_group) - 1
        order = np.lexsort((-y, group))  # by group, then by decreasing intensity, ties by m/z
        pick = order[starts]
        return _new(spectrum, x[pick], y[pick], "merge_peaks")
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = n
    total = np.add.reduceat(y, starts)
    weighted = np.add.reduceat(y * x, starts)
    plain = np.add.reduceat(x, starts) / (ends - starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        mz = np.where(total > 0, weighted / np.where(total > 0, total, 1.0), plain)
    mz = np.clip(mz, x[starts], x[ends - 1])  # guard the order against rounding
    return _new(spectrum, mz, total, "merge_peaks")


def _check_min_peaks(n: int) -> None:
    _needs("min_peaks", n >= 1, f"n must be >= 1, got {n}")


@register_step("min_peaks", kinds=ALL_KINDS, check=_check_min_peaks)
def min_peaks(spectrum: Spectrum, *, n: int) -> Spectrum | None:
    """Drop spectra with fewer than `n` peaks (points).

    Parameters
    ----------
    spectrum : Spectrum
        Any spectrum.
    n : int
        Smallest number of peaks kept, >= 1.
    """
    return None if spectrum.n_peaks < n else _copy(spectrum)


# --------------------------------------------------------------------------------------------------
# steps for vibrational spectra (and crop for all)


def _check_crop(start: float, stop: float) -> None:
    _needs("crop", start <= stop, f"start ({start}) must not exceed stop ({stop})")


@register_step("crop", kinds=ALL_KINDS, check=_check_crop)
def crop(spectrum: Spectrum, *, start: float = -math.inf, stop: float = math.inf) -> Spectrum | None:
    """Keep the points with ``start <= x <= stop`` (wavenumber in cm-1, or m/z).

    Parameters
    ----------
    spectrum : Spectrum
        Any spectrum.
    start : float, default -inf
        Lowest x kept (inclusive).
    stop : float, default inf
        Highest x kept (inclusive), >= `start`.

    Returns
    -------
    Spectrum or None
        ``None`` if no point lies in the range.
    """
    x = spectrum.x
    lo, hi = np.searchsorted(x, start, side="left"), np.searchsorted(x, stop, side="right")
    return _subset(spectrum, slice(lo, hi), "crop")


def _check_als(lam: float, p: float, n_iter: int) -> None:
    _needs("als_baseline", 0.0 < lam < math.inf, f"lam (smoothness) must be > 0, got {lam} (typical: 1e4 to 1e8)")
    _needs("als_baseline", 0.0 < p < 0.5, f"p (asymmetry) must be between 0 and 0.5, got {p} (typical: 0.001 to 0.05)")
    _needs("als_baseline", n_iter >= 1, f"n_iter must be >= 1, got {n_iter}")


@register_step("als_baseline", kinds=VIBRATIONAL, check=_check_als)
def als_baseline(spectrum: Spectrum, *, lam: float = 1e5, p: float = 0.01, n_iter: int = 10) -> Spectrum | None:
    """Subtract an asymmetric-least-squares baseline (Eilers & Boelens, 2005).

    The baseline z minimises ``sum(w * (y - z)**2) + lam * sum(diff(z, 2)**2)``; points above the baseline
    get weight `p`, points below ``1 - p``, and the weights are re-estimated `n_iter` times (stopping early
    when they no longer change). Each solve is one sparse pentadiagonal system (:func:`scipy.sparse.linalg.spsolve`).

    Parameters
    ----------
    spectrum : Spectrum
        An IR or Raman spectrum (bands pointing up: absorbance, Raman intensity). `lam` acts per point, so
        resample onto a fixed grid first for the same smoothness on every spectrum.
    lam : float, default 1e5
        Smoothness penalty, > 0; larger gives a stiffer baseline.
    p : float, default 0.01
        Asymmetry, 0 < p < 0.5; smaller keeps the baseline further below the bands.
    n_iter : int, default 10
        Largest number of re-weighting iterations, >= 1.

    Returns
    -------
    Spectrum or None
        The spectrum minus its baseline; ``None`` if it has fewer than 3 points.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    y = spectrum.intensity.astype(np.float64)
    n = y.size
    if n < 3:
        return None
    d = sparse.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(n - 2, n), format="csc")
    penalty = (lam * (d.T @ d)).tocsc()
    w = np.ones(n)
    z = y
    for _ in range(n_iter):
        z = spsolve((sparse.diags(w, 0, format="csc") + penalty).tocsc(), w * y)
        w_new = np.where(y > z, p, 1.0 - p)
        if np.array_equal(w_new, w):
            break
        w = w_new
    return _new(spectrum, spectrum.x, y - z, "als_baseline")


def _check_savgol(window: int, polyorder: int, deriv: int) -> None:
    _needs("savgol", window >= 3 and window % 2 == 1, f"window must be an odd number >= 3, got {window}")
    _needs("savgol", 0 <= polyorder < window, f"polyorder must be >= 0 and < window ({window}), got {polyorder}")
    _needs("savgol", 0 <= deriv <= polyorder, f"deriv must be between 0 and polyorder ({polyorder}), got {deriv}")


@register_step("savgol", kinds=VIBRATIONAL, check=_check_savgol)
def savgol(spectrum: Spectrum, *, window: int = 11, polyorder: int = 3, deriv: int = 0) -> Spectrum | None:
    """Savitzky-Golay smoothing or derivative (:func:`scipy.signal.savgol_filter`, ``mode="interp"``).

    Parameters
    ----------
    spectrum : Spectrum
        An IR or Raman spectrum on evenly spaced x (use ``resample`` first).
    window : int, default 11
        Window length in points, odd, >= 3.
    polyorder : int, default 3
        Order of the fitted polynomial, < `window`.
    deriv : int, default 0
        Order of the derivative (0 = smoothing), <= `polyorder`; in intensity units per cm-1**deriv.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has fewer points than `window`.

    Raises
    ------
    ProcessingError
        If the x values are not evenly spaced (within 0.1% of the mean spacing).
    """
    from scipy.signal import savgol_filter

    x = spectrum.x
    if x.size < window:
        return None
    _is_even("savgol", x)
    delta = (x[-1] - x[0]) / (x.size - 1)
    y = savgol_filter(spectrum.intensity.astype(np.float64), window, polyorder, deriv=deriv, delta=delta, mode="interp")
    return _new(spectrum, x, y, "savgol")


@register_step("snv", kinds=VIBRATIONAL)
def snv(spectrum: Spectrum) -> Spectrum | None:
    """Standard normal variate: subtract the mean, divide by the standard deviation (``ddof=0``).

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum is empty or constant.
    """
    y = spectrum.intensity.astype(np.float64)
    if y.size == 0:
        return None
    centred = y - y.mean()
    sd = float(np.sqrt(np.mean(centred * centred)))
    if not sd > 0.0:
        return None
    return _new(spectrum, spectrum.x, centred / sd, "snv")


@register_step("vector_normalize", kinds=VIBRATIONAL)
def vector_normalize(spectrum: Spectrum) -> Spectrum | None:
    """Vector normalisation as in IR practice: subtract the mean, then divide by the Euclidean norm.

    Unlike ``normalize method=l2`` the spectrum is mean-centred first; afterwards its mean is 0 and its
    sum of squares 1.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum is empty or constant.
    """
    y = spectrum.intensity.astype(np.float64)
    if y.size == 0:
        return None
    centred = y - y.mean()
    norm = float(np.sqrt(np.dot(centred, centred)))
    if not norm > 0.0:
        return None
    return _new(spectrum, spectrum.x, centred / norm, "vector_normalize")


def _grid_size(start: float, stop: float, step: float) -> int:
    return int(math.floor((stop - start) / step * (1 + 1e-12))) + 1


def _check_resample(start: float, stop: float, step: float, outside: str) -> None:
    _needs("resample", math.isfinite(start) and math.isfinite(stop), "start and stop must be finite numbers")
    _needs("resample", start <= stop, f"start ({start}) must not exceed stop ({stop})")
    _needs("resample", 0.0 < step < math.inf, f"step must be > 0, got {step}")
    n = _grid_size(start, stop, step)
    _needs("resample", n <= _MAX_GRID_POINTS, f"the grid would have {n} points (limit {_MAX_GRID_POINTS}); use a larger step")


@register_step("resample", kinds=VIBRATIONAL, check=_check_resample)
def resample(
    spectrum: Spectrum,
    *,
    start: float,
    stop: float,
    step: float,
    outside: Literal["trim", "zero", "edge"] = "trim",
) -> Spectrum | None:
    """Interpolate linearly onto the fixed grid ``start + k * step`` (``k = 0, 1, ...``, up to `stop`).

    Points of equal x are averaged first.

    Parameters
    ----------
    spectrum : Spectrum
        An IR or Raman spectrum.
    start, stop : float
        First and last grid value (cm-1); `stop` is included when it lies on the grid.
    step : float
        Grid spacing (cm-1), > 0.
    outside : {"trim", "zero", "edge"}, default "trim"
        Grid points outside the measured range: left out (the result holds only grid points inside the
        spectrum's range, still on the same grid), set to 0, or set to the nearest measured value.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has fewer than 2 points, or (``"trim"``) no grid point lies in its range.
    """
    x = spectrum.x
    y = spectrum.intensity.astype(np.float64)
    if x.size < 2:
        return None
    if (np.diff(x) == 0).any():
        x, inverse = np.unique(x, return_inverse=True)
        y = np.bincount(inverse, weights=y) / np.bincount(inverse)
        if x.size < 2:
            return None
    grid = start + step * np.arange(_grid_size(start, stop, step))
    if outside == "trim":
        grid = grid[(grid >= x[0]) & (grid <= x[-1])]
        if grid.size == 0:
            return None
        values = np.interp(grid, x, y)
    elif outside == "zero":
        values = np.interp(grid, x, y, left=0.0, right=0.0)
    else:
        values = np.interp(grid, x, y)
    return _new(spectrum, grid, values, "resample")


def _check_despike(threshold: float, window: int) -> None:
    _needs("despike", 0.0 < threshold < math.inf, f"threshold must be > 0, got {threshold} (typical: 5 to 10)")
    _needs("despike", window >= 3 and window % 2 == 1, f"window must be an odd number >= 3, got {window}")


@register_step("despike", kinds=("raman",), check=_check_despike)
def despike(spectrum: Spectrum, *, threshold: float = 6.0, window: int = 7) -> Spectrum:
    """Remove cosmic-ray spikes from a Raman spectrum and fill them in from their neighbours.

    A point is a spike when it stands above the running median (over `window` points) by more than
    ``threshold * noise + spread``: `noise` is the robust noise level (the median absolute deviation of the
    first difference, scaled to a standard deviation), `spread` the range of the running median over
    ``2 * window - 1`` points. The spread term keeps tall, sharp Raman bands intact (with the default
    window, bands down to a Gaussian sigma of about 2 points), while spikes one to ``window // 2`` points
    wide are caught. Spike points and one point either side are replaced by linear interpolation (in x)
    between the nearest unflagged points. A spike on the flank of a band is only found if it is taller
    than the band's rise over the wide window; the step errs towards leaving data unchanged.

    Parameters
    ----------
    spectrum : Spectrum
        A Raman spectrum. Only upward spikes are removed.
    threshold : float, default 6.0
        How many noise standard deviations a spike must stand out, > 0.
    window : int, default 7
        Running-median window in points, odd, >= 3; spikes up to ``window // 2`` points wide are found.

    Returns
    -------
    Spectrum
        Unchanged (a copy) if no spike is found or the spectrum is shorter than `window`.
    """
    from scipy.ndimage import maximum_filter1d, median_filter, minimum_filter1d

    y = spectrum.intensity.astype(np.float64)
    n = y.size
    if n < window:
        return _copy(spectrum)
    base = median_filter(y, size=window, mode="nearest")
    d = np.diff(y)
    noise = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)
    wide = 2 * window - 1
    spread = maximum_filter1d(base, wide, mode="nearest") - minimum_filter1d(base, wide, mode="nearest")
    spike = (y - base) > threshold * noise + spread
    if not spike.any():
        return _copy(spectrum)
    flagged = spike.copy()
    flagged[1:] |= spike[:-1]
    flagged[:-1] |= spike[1:]
    good = ~flagged
    if not good.any():
        return _copy(spectrum)
    x = spectrum.x
    y[flagged] = np.interp(x[flagged], x[good], y[good])
    return _new(spectrum, x, y, "despike")


# --------------------------------------------------------------------------------------------------
# pipelines


@dataclasses.dataclass
class ProcessingReport:
    """What :meth:`Pipeline.apply` did: how many spectra went in, and which step dropped which.

    Attributes
    ----------
    pipeline : str or None
        The pipeline's name.
    steps : tuple of str
        The pipeline's step names, in order.
    dropped_at : numpy.ndarray
        For every input spectrum (in input order) the index of the step that dropped it, or -1 if kept.
    """

    pipeline: str | None
    steps: tuple[str, ...]
    dropped_at: np.ndarray

    @property
    def n_in(self) -> int:
        """Number of spectra processed."""
        return int(self.dropped_at.size)

    @property
    def n_kept(self) -> int:
        """Number of spectra kept."""
        return int(np.count_nonzero(self.dropped_at < 0))

    @property
    def n_dropped(self) -> int:
        """Number of spectra dropped."""
        return self.n_in - self.n_kept

    @property
    def dropped_by_step(self) -> list[tuple[str, int]]:
        """``(step name, number dropped)`` for every step, in pipeline order."""
        counts = np.bincount(self.dropped_at[self.dropped_at >= 0], minlength=len(self.steps))
        return [(name, int(c)) for name, c in zip(self.steps, counts)]

    @property
    def dropped(self) -> dict[str, int]:
        """Step name -> number of spectra it dropped (steps used twice are summed)."""
        out: dict[str, int] = {}
        for name, c in self.dropped_by_step:
            out[name] = out.get(name, 0) + c
        return out

    def dropped_indices(self, step: int | str | None = None) -> np.ndarray:
        """Input indices of the dropped spectra: all, or those dropped by one step (its index or name)."""
        if step is None:
            return np.flatnonzero(self.dropped_at >= 0)
        if isinstance(step, str):
            where = [k for k, name in enumerate(self.steps) if name == step]
            if not where:
                raise ValueError(f"the pipeline has no step {step!r}; its steps: {', '.join(self.steps)}")
            return np.flatnonzero(np.isin(self.dropped_at, where))
        return np.flatnonzero(self.dropped_at == step)

    def summary(self) -> str:
        """One line: spectra in, kept, dropped and by which steps."""
        label = f"pipeline {self.pipeline!r}" if self.pipeline else "pipeline"
        text = f"{label}: {self.n_in} spectra in, {self.n_kept} kept, {self.n_dropped} dropped"
        parts = [f"{c} by {name} (step {k + 1})" for k, (name, c) in enumerate(self.dropped_by_step) if c]
        if parts:
            text += " (" + ", ".join(parts) + ")"
        return text


StepSpec = tuple[str, Mapping[str, Any]] | str


class Pipeline:
    """A named sequence of processing steps, stored as a small text file.

    Parameters
    ----------
    steps : list of (str, dict) or str
        ``(step name, parameters)`` pairs, in order; a bare name stands for a step with default parameters.
        Parameters are checked, converted to their declared types and completed with the defaults now.
    name : str, optional
        One line of text naming the pipeline (e.g. ``"ei_default"``).

    Attributes
    ----------
    last_report : ProcessingReport or None
        The report of the latest :meth:`apply`.

    Raises
    ------
    ProcessingError
        On an unknown step, bad parameters, or steps that do not apply to any one spectrum kind together.

    Examples
    --------
    >>> p = Pipeline([("mz_range", {"min_mz": 40}), ("top_n", {"n": 50}), "normalize"])
    >>> p.steps[0]
    ('mz_range', {'min_mz': 40.0, 'max_mz': inf})
    """

    __slots__ = ("_steps", "_infos", "_name", "_kinds", "last_report")

    def __init__(self, steps: Iterable[StepSpec] = (), name: str | None = None) -> None:
        if isinstance(steps, (str, bytes)):
            raise TypeError("steps must be a list of (name, params) pairs; to parse a pipeline text use Pipeline.from_string")
        infos: list[StepInfo] = []
        bound: list[dict[str, Any]] = []
        for k, item in enumerate(steps):
            if isinstance(item, str):
                sname, params = item, {}
            else:
                try:
                    sname, params = item
                except (TypeError, ValueError):
                    raise ProcessingError(
                        f"step {k + 1}: give a (name, params) pair or a step name, got {item!r}"
                    ) from None
            info = get_step(sname)
            infos.append(info)
            bound.append(info.bind(params))
        kinds = tuple(k for k in ALL_KINDS if all(k in info.kinds for info in infos))
        if not kinds:
            which = "; ".join(f"{info.name}: {'/'.join(info.kinds)}" for info in infos)
            raise ProcessingError(
                f"these steps do not all apply to one spectrum kind ({which}); make one pipeline per kind"
            )
        if name is not None:
            if not isinstance(name, str):
                raise TypeError(f"name must be a string, got {type(name).__name__}")
            name = name.strip()
            if not name or len(name.splitlines()) != 1:
                raise ProcessingError(f"a pipeline name must be one non-empty line of text, got {name!r}")
        self._infos: tuple[StepInfo, ...] = tuple(infos)
        self._steps: tuple[tuple[str, dict[str, Any]], ...] = tuple((i.name, b) for i, b in zip(infos, bound))
        self._name = name
        self._kinds = kinds
        self.last_report: ProcessingReport | None = None

    # -- description ----------------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The pipeline's name."""
        return self._name

    @property
    def steps(self) -> list[tuple[str, dict[str, Any]]]:
        """``(step name, complete parameter dict)`` pairs (copies)."""
        return [(n, dict(p)) for n, p in self._steps]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The spectrum kinds every step applies to."""
        return self._kinds

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(self.steps)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pipeline):
            return NotImplemented
        return self._name == other._name and self._steps == other._steps

    def __hash__(self) -> int:
        return hash(self.to_string())

    def __repr__(self) -> str:
        return f"Pipeline({list(self._steps)!r}, name={self._name!r})"

    # -- running --------------------------------------------------------------------------------

    def _check_kind(self, spectrum: Any) -> None:
        if not isinstance(spectrum, Spectrum):
            raise TypeError(f"a pipeline processes Spectrum objects, got {type(spectrum).__name__}")
        if spectrum.kind not in self._kinds:
            label = f"pipeline {self._name!r}" if self._name else "this pipeline"
            raise ProcessingError(
                f"{label} processes {'/'.join(self._kinds)} spectra, not {spectrum.kind!r} spectrum "
                f"{spectrum.name or ''!r}; use a pipeline made for {spectrum.kind!r} spectra"
            )

    def _run(self, spectrum: Spectrum) -> tuple[Spectrum | None, int]:
        """Apply the steps; return the result and the index of the step that dropped it (-1 if kept)."""
        self._check_kind(spectrum)
        current: Spectrum | None = spectrum
        for k, (info, (_, params)) in enumerate(zip(self._infos, self._steps)):
            try:
                current = info.func(current, **params)
            except Exception as exc:
                exc.add_note(f"in step {k + 1} ({info.name}) of {self._name or 'a pipeline'}")
                raise
            if current is None:
                return None, k
        if current is spectrum:
            current = _copy(spectrum)
        return current, -1

    def __call__(self, spectrum: Spectrum) -> Spectrum | None:
        """Process one spectrum; ``None`` if a step dropped it (use :meth:`apply` to learn which)."""
        return self._run(spectrum)[0]

    def apply(
        self, spectra: Iterable[Spectrum], *, return_report: bool = False
    ) -> list[Spectrum] | tuple[list[Spectrum], ProcessingReport]:
        """Process many spectra; return the kept ones, in input order.

        The counts of dropped spectra per step are stored in :attr:`last_report` (and returned with
        ``return_report=True``) and logged in one line at INFO level.

        Parameters
        ----------
        spectra : iterable of Spectrum
            The spectra (a list, or a reader's iterator).
        return_report : bool, default False
            Return ``(kept, report)`` instead of ``kept``.

        Raises
        ------
        ProcessingError
            If a spectrum is of a kind the pipeline does not apply to, or a step cannot process it; the
            error notes name the spectrum (input index and name) and the step.
        """
        kept: list[Spectrum] = []
        dropped_at: list[int] = []
        for i, s in enumerate(spectra):
            try:
                out, k = self._run(s)
            except Exception as exc:
                name = getattr(s, "name", None)
                exc.add_note(f"while processing spectrum {i}" + (f" ({name!r})" if name else ""))
                raise
            dropped_at.append(k)
            if out is not None:
                kept.append(out)
        report = ProcessingReport(self._name, tuple(n for n, _ in self._steps), np.asarray(dropped_at, dtype=np.int64))
        self.last_report = report
        logger.info("%s", report.summary())
        return (kept, report) if return_report else kept

    # -- text form ------------------------------------------------------------------------------

    def to_string(self) -> str:
        """The pipeline as text: an optional ``# name: ...`` header, then one step per line.

        :meth:`from_string` reads it back into an equal pipeline.
        """
        lines = [f"# name: {self._name}"] if self._name else []
        for sname, params in self._steps:
            lines.append(" ".join([sname, *(f"{k}={_format_value(v)}" for k, v in params.items())]))
        return "\n".join(lines) + "\n" if lines else ""

    @classmethod
    def from_string(cls, text: str, *, source: str | None = None) -> "Pipeline":
        """Parse a pipeline text (the format written by :meth:`to_string`).

        Parameters
        ----------
        text : str
            Lines ``step key=value ...``; blank lines and ``#`` comments are ignored; ``# name: ...``
            names the pipeline. Parameters left out take the step's defaults.
        source : str, optional
            Where the text came from, for error messages.

        Raises
        ------
        PipelineFormatError
            Naming the line: unknown step or parameter, malformed ``key=value``, bad value, repeated name.
        """
        name: str | None = None
        steps: list[tuple[str, dict[str, Any]]] = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                body = line[1:].strip()
                if body.lower().startswith("name:"):
                    if name is not None:
                        raise PipelineFormatError("the pipeline is named twice", line=lineno, source=source)
                    name = body[5:].strip()
                    if not name:
                        raise PipelineFormatError("empty pipeline name after '# name:'", line=lineno, source=source)
                continue
            tokens = line.split("#", 1)[0].split()
            try:
                info = get_step(tokens[0])
                params: dict[str, Any] = {}
                for tok in tokens[1:]:
                    key, sep, value = tok.partition("=")
                    if not sep or not key or not value:
                        _fail(info.name, f"expected key=value, got {tok!r}")
                    if key in params:
                        _fail(info.name, f"parameter {key!r} given twice")
                    if key not in info.types:
                        info.bind({key: None})  # raises the unknown-parameter error
                    params[key] = _parse_value(info.name, key, value, info.types[key])
                steps.append((info.name, info.bind(params)))
            except ProcessingError as exc:
                raise PipelineFormatError(str(exc), line=lineno, source=source) from None
        try:
            return cls(steps, name=name)
        except ProcessingError as exc:
            raise PipelineFormatError(str(exc), source=source) from None

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_string` to a UTF-8 text file."""
        Path(path).write_text(self.to_string(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Pipeline":
        """Read a pipeline file written by :meth:`save` (or by hand).

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        PipelineFormatError
            If it cannot be parsed (names the file and line).
        """
        return cls.from_string(Path(path).read_text(encoding="utf-8"), source=str(path))


# --------------------------------------------------------------------------------------------------
# presets

#: Named pipelines for the usual cases. The library stores the pipeline it was built with, so a preset
#: may change between versions without changing how an existing library is searched.
PRESETS: dict[str, Pipeline] = {
    # GC-EI (unit mass). m/z >= 40: most SWGDRUG library spectra start there (scan start), so peaks below it
    # (air, water, and low fragments some instruments record) would only make spectra differ.
    # 0.5% of the base peak removes noise and the 0.1% level quantisation floor of library spectra.
    "ei_default": Pipeline(
        [
            ("mz_range", {"min_mz": 40.0, "max_mz": math.inf}),
            ("min_relative_intensity", {"threshold": 0.005}),
            ("normalize", {"method": "max", "scale": 1.0}),
        ],
        name="ei_default",
    ),
    # LC-MS/MS: drop records without a precursor; remove the precursor and everything above
    # (precursor_mz - 1.6 Da, as in Flash entropy search); merge peaks within 0.01 Da; 1% noise floor;
    # the 100 most intense peaks; base peak 1.
    "msms_default": Pipeline(
        [
            ("require_precursor", {}),
            ("remove_precursor", {"tolerance": 1.6, "unit": "Da", "remove_above": True}),
            ("merge_peaks", {"tolerance": 0.01, "unit": "Da", "how": "sum"}),
            ("min_relative_intensity", {"threshold": 0.01}),
            ("top_n", {"n": 100}),
            ("normalize", {"method": "max", "scale": 1.0}),
        ],
        name="msms_default",
    ),
    # Raman: spikes out on the raw data, then a 2 cm-1 grid over 200-3200 cm-1, baseline, light smoothing,
    # vector normalisation.
    "raman_default": Pipeline(
        [
            ("despike", {"threshold": 6.0, "window": 7}),
            ("resample", {"start": 200.0, "stop": 3200.0, "step": 2.0, "outside": "trim"}),
            ("als_baseline", {"lam": 1e5, "p": 0.01, "n_iter": 10}),
            ("savgol", {"window": 7, "polyorder": 2, "deriv": 0}),
            ("vector_normalize", {}),
        ],
        name="raman_default",
    ),
    # Mid-IR (absorbance): a 2 cm-1 grid over 400-4000 cm-1, a stiff baseline, light smoothing, SNV.
    "ir_default": Pipeline(
        [
            ("resample", {"start": 400.0, "stop": 4000.0, "step": 2.0, "outside": "trim"}),
            ("als_baseline", {"lam": 1e6, "p": 0.01, "n_iter": 10}),
            ("savgol", {"window": 7, "polyorder": 2, "deriv": 0}),
            ("snv", {}),
        ],
        name="ir_default",
    ),
}


def get_preset(name: str) -> Pipeline:
    """Return the preset pipeline called `name` (see :data:`PRESETS`).

    Raises
    ------
    ProcessingError
        If there is no such preset; the message lists them.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ProcessingError(f"no preset pipeline {name!r}; presets: {', '.join(sorted(PRESETS))}") from None
