"""mzML runs: the MS1 scans of a converted acquisition, read through nps_id's mzML spectrum reader (pyteomics).

Each MS1 spectrum with a scan start time becomes one scan; its points are summed onto a nominal-mass axis (or
`bin_width`). MSn spectra are not scans of the run and are counted in ``metadata["n_msn_spectra"]``; with
``on_error="skip"`` damaged spectra are skipped and counted in ``metadata["n_skipped_scans"]``, and a truncated
file (one that does not end with ``</mzML>``) is read up to the cut (``metadata["truncated"]``) instead of
refused.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from nps_id.errors import InvalidRunError, RunFormatError, SpectrumFormatError
from nps_id.runs.io._grid import bin_scans
from nps_id.runs.run import Run

__all__ = ["read_mzml_run", "mzml_overview"]

logger = logging.getLogger(__name__)


def mzml_overview(path: str | Path, peek: int = 3) -> tuple[int, bool]:
    """Count the spectra of an mzML file (from its index) and tell whether the first `peek` are MS1 scans.

    Returns ``(0, False)`` for a file that cannot be indexed as mzML.
    """
    from pyteomics import mzml

    from nps_id.spectra.io._common import open_binary

    try:
        with open_binary(str(path)) as fh:
            reader = mzml.MzML(fh, use_index=True, decode_binary=False)
            with reader:
                index = reader.index
                n = len(index["spectrum"]) if "spectrum" in index else 0
                levels = [int(reader.get_by_index(i).get("ms level", 0)) for i in range(min(n, peek))]
    except Exception:  # noqa: BLE001 - any failure means "not a readable mzML run"; read_run reports the cause
        return 0, False
    return n, bool(levels) and all(level == 1 for level in levels)


def _complete(path: str) -> bool:
    """Whether the file ends as an mzML document ends (``</mzML>`` or ``</indexedmzML>``): pyteomics reads the
    spectra of a cut file up to the cut without complaint."""
    from nps_id.spectra.io._common import open_binary

    with open_binary(path) as fh:
        tail = b""
        while True:
            block = fh.read(1 << 20)
            if not block:
                break
            tail = (tail + block)[-256:]
    return tail.rstrip().endswith((b"</mzML>", b"</indexedmzML>"))


def read_mzml_run(path: str | Path, bin_width: float = 1.0, on_error: str = "raise") -> Run:
    """Read the MS1 scans of an mzML file (gzip-transparent) as a run.

    Parameters
    ----------
    path : str or Path
        The ``.mzML`` (or ``.mzML.gz``) file.
    bin_width : float, default 1.0
        m/z bin width in Da (1: nominal mass).
    on_error : {"raise", "skip", "warn"}, default "raise"
        What to do with a damaged spectrum: refuse the run, or skip the scan and count it.

    Returns
    -------
    Run

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    RunFormatError
        If the file cannot be read as mzML, a spectrum is damaged (``on_error="raise"``), or it holds no MS1
        scans with retention times.
    """
    from nps_id.spectra.io import ReadReport, iter_spectra

    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such run file: {path}")
    complete = _complete(where)
    if not complete:
        if on_error == "raise":
            raise RunFormatError("the file is truncated: it does not end with </mzML>", path=where)
        logger.warning("%s: the file is truncated (no </mzML> at its end); reading the scans before the cut", where)
    report = ReadReport()
    times: list[float] = []
    mzs: list[np.ndarray] = []
    ints: list[np.ndarray] = []
    n_msn = 0
    n_no_time = 0
    try:
        for spec in iter_spectra(where, format="mzml", on_error=on_error, report=report):
            level = spec.metadata.get("ms_level", "MS1")
            if level != "MS1":
                n_msn += 1
                continue
            rt = spec.metadata.get("retention_time")
            if rt is None:
                n_no_time += 1
                continue
            times.append(float(rt) / 60.0)
            mzs.append(spec.mz)
            ints.append(spec.intensity)
    except SpectrumFormatError as exc:
        raise RunFormatError(f"damaged mzML ({exc.reason})", path=where) from exc
    if not times:
        raise RunFormatError(
            f"no MS1 scans with a scan start time ({n_msn} MSn spectra, {n_no_time} MS1 without a time); "
            "read it as spectra with nps_id.spectra.load_spectra instead",
            path=where,
        )
    counts = np.fromiter((m.size for m in mzs), dtype=np.int64, count=len(mzs))
    rt = np.asarray(times)
    order = np.argsort(rt, kind="stable")
    if (np.diff(rt) < 0).any():
        mzs = [mzs[i] for i in order]
        ints = [ints[i] for i in order]
        counts, rt = counts[order], rt[order]
    axis, matrix = bin_scans(np.concatenate(mzs), np.concatenate(ints), counts, bin_width)
    meta = {"n_msn_spectra": n_msn, "n_skipped_scans": report.n_skipped, "truncated": not complete}
    if n_no_time:
        meta["n_scans_without_time"] = n_no_time
    if report.n_skipped:
        logger.warning("%s: %d damaged spectra skipped (%s)", where, report.n_skipped, report.summary())
    try:
        return Run(rt, axis, matrix, source=where, metadata=meta)
    except InvalidRunError as exc:
        raise RunFormatError(f"inconsistent scans ({exc})", path=where) from exc
