"""Inputs of ``classify``: files, folders and spectra turned into one stub per record, good or bad, in order.

A file that cannot be opened, a record a reader skipped, a reader failing part-way: each keeps a row with the
reason (:class:`_Stub` with ``error``), so that nothing a user gave is silently dropped.

A GC-MS run (:func:`nps_id.runs.is_run`: an Agilent ``.D`` folder, an ANDI file, an mzML acquisition) is one
input: it is read and deconvolved (:func:`nps_id.runs.find_components`) and gives one stub per component; a
damaged run gives one stub with the reason, and the other inputs go on.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nps_id.errors import NpsIdError

__all__ = ["MEMORY_SOURCE", "expand_inputs", "iter_stubs"]

logger = logging.getLogger(__name__)

#: Name used for spectra given as Python objects rather than files.
MEMORY_SOURCE = "<memory>"

@dataclasses.dataclass
class _Stub:
    """One row before classification: where the query came from, and its spectrum or why there is none."""

    source_file: str
    index: int | None
    query_id: str
    spectrum: Any = None
    error: str | None = None


def _query_id(spectrum: Any) -> str:
    meta = spectrum.metadata
    for key in ("name", "spectrum_id", "title", "scan", "id"):
        v = meta.get(key)
        if v not in (None, ""):
            return str(v)
    return ""


def expand_inputs(inputs: Any) -> list[Any]:
    """Turn the `inputs` of :func:`classify` into a flat list of files (:class:`Path`) and spectra, in order.

    Folders are searched recursively (sorted); every file in them except hidden ones is kept, also files of
    an unknown format, so that they get a row saying why they were not read. An Agilent ``.D`` folder is one
    input (a run), never searched inside.
    """
    from nps_id.runs.io import run_format
    from nps_id.spectra.spectrum import Spectrum

    if isinstance(inputs, (str, os.PathLike, Spectrum)):
        inputs = [inputs]
    out: list[Any] = []
    for item in inputs:
        if isinstance(item, Spectrum):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            p = Path(item)
            if p.is_dir() and run_format(p) != "agilent":
                files = _folder_inputs(p)
                if not files:
                    logger.warning("%s: folder holds no files", p)
                out.extend(files)
            else:
                out.append(p)  # missing files get a row saying so
        elif hasattr(item, "__iter__") and not isinstance(item, (bytes, dict)):
            out.extend(expand_inputs(list(item)))
        else:
            raise TypeError(f"cannot classify a {type(item).__name__}; give file or folder paths or Spectrum objects")
    return out


def _folder_inputs(folder: Path) -> list[Path]:
    """The files below `folder` (sorted, hidden ones left out), with each Agilent ``.D`` folder as one entry."""
    from nps_id.runs.io import run_format

    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        runs = [d for d in dirs if run_format(here / d) == "agilent"]
        dirs[:] = [d for d in dirs if d not in runs]
        found.extend(here / d for d in runs)
        # every entry that is not a folder, FIFOs, devices and broken links included: each gets a row (a skipped
        # one saying what it is), none is opened unless it is a regular file
        found.extend(here / f for f in files if not f.startswith("."))
    return sorted(found)


def iter_stubs(items: Sequence[Any], on_file: Any = None, *, ladder: Any = None, min_area_share: float = 0.0,
               on_run: Any = None) -> Iterator[_Stub]:
    """Read the inputs lazily and yield one :class:`_Stub` per record (good or bad), in input order.

    A file that cannot be opened or whose format is unknown yields one stub with ``index=None`` and the
    error; a record the reader skipped yields a stub with its index and reason; a reader that fails part-way
    keeps what it read and adds a stub for the failure.

    A run (:func:`nps_id.runs.is_run`) yields one stub per component (``index`` the component number, in order
    of retention), found with `ladder` and `min_area_share` (see :func:`nps_id.runs.find_components`); a run
    that cannot be read yields one stub with the reason. ``on_run(source, run, components)`` is called for
    each run read, with the run reduced to its TIC (for the report's chromatogram) and its components.
    """
    from nps_id.runs.io import is_run
    from nps_id.spectra.io import ReadReport, detect_format, iter_spectra
    from nps_id.spectra.spectrum import Spectrum, peak_problem

    mem_index = 0
    for item in items:
        if on_file is not None:
            on_file(item)
        if isinstance(item, Spectrum):
            problem = peak_problem(item.x, item.intensity, item.kind)  # the readers' bounds, for API spectra too
            if problem is not None:
                yield _Stub(MEMORY_SOURCE, mem_index, _query_id(item), error=f"bad peaks: {problem[0]}")
            else:
                yield _Stub(MEMORY_SOURCE, mem_index, _query_id(item), spectrum=item)
            mem_index += 1
            continue
        path = Path(item)
        source = str(path)
        if not path.exists():
            yield _Stub(source, None, "", error=f"file not found: {source}")
            continue
        kind = _not_a_file(path)
        if kind is not None:  # never read from a FIFO or device: it may block or never end (/dev/zero)
            yield _Stub(source, None, "", error=kind)
            continue
        if is_run(path):
            yield from _run_stubs(path, ladder, min_area_share, on_run)
            continue
        if path.is_dir():
            yield _Stub(source, None, "", error="a folder that is not a GC-MS run (an Agilent .D folder); give "
                                                "the folder itself to classify every file in it")
            continue
        try:
            detect_format(path)
        except NpsIdError as exc:
            yield _Stub(source, None, "", error=f"unreadable format: {_short(exc, source)}")
            continue
        report = ReadReport()
        good: list[Spectrum] = []
        failure: str | None = None
        try:
            for s in iter_spectra(path, on_error="skip", report=report):
                good.append(s)
        except Exception as exc:  # a damaged file: keep what was read, report the rest
            failure = f"file could not be read past record {len(good) + report.n_skipped}: " \
                      f"{type(exc).__name__}: {_short(exc, source)}"
        yield from _merge_records(source, good, report.skipped, failure)


def _not_a_file(path: Path) -> str | None:
    """Why `path` is not read: a FIFO, socket or device (None for regular files and folders)."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot open: {exc.strerror or exc}"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return f"not read: {what}, not a spectrum file; copy the data into a file and give that"


def _run_stubs(path: Path, ladder: Any, min_area_share: float, on_run: Any) -> Iterator[_Stub]:
    """One stub per component of the run at `path`, or one stub saying why the run could not be read."""
    from nps_id.runs import Run, find_components, read_run

    source = str(path)
    try:
        run = read_run(path)
        components = find_components(run, ladder=ladder, min_area_share=min_area_share)
    except Exception as exc:  # a damaged run costs its own row only
        logger.debug("run %s could not be read", source, exc_info=True)
        text = _short(exc, source)
        text = text[len(source) + 1:] if text.startswith(source + os.sep) else text  # "data.ms: ..."
        kind = "" if isinstance(exc, NpsIdError) else f"{type(exc).__name__}: "
        yield _Stub(source, None, "", error=f"unreadable run: {kind}{text}")
        return
    if on_run is not None:  # the TIC is all the report draws: keep it, not the scans x m/z matrix
        tic = Run(run.rt, [0.0], run.tic[:, None], source=run.source, metadata=run.metadata)
        on_run(source, tic, list(components))
    if not len(components):
        share = f" of at least {min_area_share:g} of the area" if min_area_share > 0 else ""
        yield _Stub(source, None, "", error=f"no components{share} found in the run")
    for c in components:
        yield _Stub(source, c.number, _query_id(c.spectrum), spectrum=c.spectrum)


def _short(exc: BaseException, source: str) -> str:
    """The message of `exc` without a leading copy of the file name."""
    text = str(exc) or type(exc).__name__
    for prefix in (source + ": ", Path(source).name + ": "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _merge_records(source: str, good: list[Any], skipped: list[Any], failure: str | None) -> Iterator[_Stub]:
    """Interleave read spectra and skipped records in record order (readers number every record)."""
    bad = {s.record: s for s in skipped if s.record is not None}
    unplaced = [s for s in skipped if s.record is None]
    n_total = len(good) + len(bad)
    gi = 0
    for i in range(n_total):
        if i in bad:
            s = bad[i]
            loc = f" (line {s.line})" if s.line else ""
            yield _Stub(source, i, s.record_id or "", error=f"bad record{loc}: {s.reason}")
        else:
            sp = good[gi]
            gi += 1
            yield _Stub(source, i, _query_id(sp), spectrum=sp)
    # records numbered beyond the count (should not happen) and unnumbered skips keep their rows too
    for s in skipped:
        if s.record is not None and s.record >= n_total:
            yield _Stub(source, s.record, s.record_id or "", error=f"bad record: {s.reason}")
    for s in unplaced:
        yield _Stub(source, None, s.record_id or "", error=f"bad record: {s.reason}")
    if failure is not None:
        yield _Stub(source, None, "", error=failure)
    if n_total == 0 and not unplaced and failure is None:
        yield _Stub(source, None, "", error="no spectra in file")
