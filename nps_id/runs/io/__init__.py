"""Reading runs: one entry point, :func:`read_run`, that picks the reader from the path.

=================  ===============================  ========================================
format             path                              reader
=================  ===============================  ========================================
Agilent            a ``.D`` folder                   rainbow-api (``rainbow.read``)
ANDI/netCDF MS     ``.cdf``, ``.nc``                 netCDF4
mzML               ``.mzML`` (``.gz``) with MS1      pyteomics (through nps_id's mzML reader)
=================  ===============================  ========================================

:func:`is_run` tells a run from a spectrum file (an mzML counts as a run when it holds at least ``min_scans``
spectra and starts with MS1 scans), and :func:`find_runs` lists the runs in a folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nps_id.errors import UnknownFormatError
from nps_id.runs.run import Run

__all__ = ["RUN_FORMATS", "run_format", "is_run", "read_run", "find_runs"]

RUN_FORMATS = ("agilent", "andi", "mzml")

_ANDI_SUFFIXES = (".cdf", ".nc")
_MZML_SUFFIXES = (".mzml", ".mzml.gz")

#: an mzML file with at least this many spectra, the first of them MS1, is a run (fewer: a spectrum file)
MIN_SCANS = 20


def run_format(path: str | os.PathLike) -> str | None:
    """The run format a path has by its name (``"agilent"``, ``"andi"``, ``"mzml"``), or None."""
    p = Path(path)
    name = p.name.lower()
    if name.endswith(".d") and (p.is_dir() or not p.exists()):
        return "agilent"
    if name.endswith(_ANDI_SUFFIXES):
        return "andi"
    if name.endswith(_MZML_SUFFIXES):
        return "mzml"
    return None


def is_run(path: str | os.PathLike, min_scans: int = MIN_SCANS) -> bool:
    """Whether `path` is a chromatographic run rather than a spectrum file.

    A ``.D`` folder and an ANDI ``.cdf``/``.nc`` file are runs; an mzML file is a run when its index lists at
    least `min_scans` spectra and the first ones are MS1 scans (converted GC-MS/LC-MS acquisitions), and a
    spectrum file otherwise (a few MS/MS spectra). Other paths are not runs. Nothing is read but the mzML index
    and first spectra.
    """
    p = Path(path)
    fmt = run_format(p)
    if fmt == "agilent":
        return p.is_dir()
    if fmt == "andi":
        return p.is_file()
    if fmt == "mzml" and p.is_file():
        from nps_id.runs.io.mzml import mzml_overview

        n, ms1 = mzml_overview(p)
        return ms1 and n >= min_scans
    return False


def read_run(
    path: str | os.PathLike,
    format: str | None = None,
    *,
    bin_width: float = 1.0,
    on_error: str = "raise",
) -> Run:
    """Read a GC-MS (or LC-MS) run: an Agilent ``.D`` folder, an ANDI/netCDF ``.cdf`` file or an mzML file.

    Parameters
    ----------
    path : str or path-like
        The run.
    format : {"agilent", "andi", "mzml"}, optional
        Override the format told by the name.
    bin_width : float, default 1.0
        m/z bin width in Da for ANDI and mzML (1: nominal mass); Agilent data comes binned to nominal mass by
        rainbow.
    on_error : {"raise", "skip", "warn"}, default "raise"
        mzML only: refuse the run on a damaged spectrum, or skip that scan and count it
        (``run.metadata["n_skipped_scans"]``).

    Returns
    -------
    Run

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    UnknownFormatError
        If the format cannot be told from the name.
    RunFormatError
        If the run is damaged, truncated or not of its format; the message names the file.

    Examples
    --------
    >>> from nps_id.runs import read_run  # doctest: +SKIP
    >>> run = read_run("../shared/runs/agilent_yellow.D")  # doctest: +SKIP
    >>> run.n_scans, run.mz[0], run.mz[-1]  # doctest: +SKIP
    (1307, 100.0, 299.0)
    """
    p = Path(path)
    fmt = format or run_format(p)
    if fmt not in RUN_FORMATS:
        if format is not None:
            raise UnknownFormatError(f"unknown run format {format!r}; choose one of {RUN_FORMATS}")
        raise UnknownFormatError(
            f"{p}: cannot tell the run format from the name; runs are Agilent .D folders, ANDI .cdf/.nc files or "
            f".mzML files (or pass format= one of {RUN_FORMATS})"
        )
    if not p.exists():
        raise FileNotFoundError(f"No such run: {p}")
    if fmt == "agilent":
        from nps_id.runs.io.agilent import read_agilent

        return read_agilent(p)
    if fmt == "andi":
        from nps_id.runs.io.andi import read_andi

        return read_andi(p, bin_width=bin_width)
    from nps_id.runs.io.mzml import read_mzml_run

    return read_mzml_run(p, bin_width=bin_width, on_error=on_error)


def find_runs(path: str | os.PathLike, **options: Any) -> list[Path]:
    """The runs at `path`: ``[path]`` for a run, else every run below the folder (sorted; ``.D`` folders are
    not searched inside). `options` go to :func:`is_run`.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No such file or folder: {p}")
    if is_run(p, **options):
        return [p]
    if not p.is_dir():
        return []
    found: list[Path] = []
    for root, dirs, files in os.walk(p):
        here = Path(root)
        runs_here = sorted(d for d in dirs if run_format(here / d) == "agilent")
        found.extend(here / d for d in runs_here)
        dirs[:] = sorted(d for d in dirs if d not in runs_here)
        found.extend(here / f for f in sorted(files) if run_format(here / f) and is_run(here / f, **options))
    return sorted(found)
