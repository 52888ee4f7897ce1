"""Pipelines: a named sequence of steps, applied in order, with a report of what each step dropped.

A :class:`Pipeline` applies steps in order and counts, per step, the spectra it dropped
(:class:`ProcessingReport`). It is saved as a small text file, so that a library and the queries searched
against it are processed the same way::

    # name: ei_default
    mz_range min_mz=40.0 max_mz=inf
    min_relative_intensity threshold=0.005
    normalize method=max scale=1.0

One step per line: the step's name, then ``key=value`` pairs (every parameter is written, defaults
included, so a stored pipeline does not change meaning when a default changes). Values are numbers
(``inf`` allowed where the step accepts it), ``true``/``false``, or a bare word for a choice. Blank lines
and ``#`` comments are ignored, except the header ``# name: ...``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nps_id.errors import PipelineFormatError, ProcessingError
from nps_id.spectra.processing._steps import (
    ALL_KINDS,
    StepInfo,
    _copy,
    _fail,
    _format_value,
    _parse_value,
    get_step,
)
from nps_id.spectra.spectrum import Spectrum

__all__ = ["Pipeline", "ProcessingReport"]

# the package's logger, as before the split into modules: one name to configure for all of processing
logger = logging.getLogger("nps_id.spectra.processing")


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
