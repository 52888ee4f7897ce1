"""The step registry: what a processing step is, how it is registered, and the helpers the steps share.

A *step* is a plain function ``step(spectrum, **params) -> Spectrum | None`` registered by name in
:data:`STEPS`; ``None`` means the spectrum is dropped (no peaks left, nothing to normalise, ...).
Steps never change their input (a :class:`~nps_id.spectra.Spectrum`'s arrays are read-only); they return a
new spectrum with the same ``kind``, ``precursor_mz`` and (copied) ``metadata``.

Parameters are typed ``int``, ``float``, ``bool``, ``str`` or a ``Literal`` of strings: the values a
pipeline file can hold. This module converts them (:meth:`StepInfo.bind`) and reads and writes their text
form (:func:`_parse_value`, :func:`_format_value`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np

from nps_id.errors import ProcessingError
from nps_id.spectra.spectrum import Spectrum

__all__ = ["MS", "VIBRATIONAL", "ALL_KINDS", "StepInfo", "STEPS", "register_step", "get_step"]

MS: tuple[str, ...] = ("ms",)
VIBRATIONAL: tuple[str, ...] = ("ir", "raman")
ALL_KINDS: tuple[str, ...] = ("ms", "ir", "raman")


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


def _needs(step: str, ok: bool, message: str) -> None:
    if not ok:
        _fail(step, message)
