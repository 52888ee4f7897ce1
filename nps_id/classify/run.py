"""``classify``: inputs in, one result row per query out (the orchestration; the answer path is in :mod:`.core`).

Reads the inputs lazily (:mod:`.inputs`), sends batches of spectra to :func:`~nps_id.classify.core.classify_batch`
here, on local worker processes or on a Dask cluster (:mod:`nps_id.parallel`), and assembles the
:class:`~nps_id.classify.table.ResultTable` in input order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nps_id.classify.core import ClassifyOptions
from nps_id.classify.inputs import _Stub, expand_inputs, iter_stubs
from nps_id.classify.resources import ResourceSpec, get_resources
from nps_id.classify.table import QueryDetail, ResultTable

__all__ = ["classify"]

logger = logging.getLogger(__name__)


def classify(
    inputs: Any,
    library: Any = None,
    model: Any = None,
    *,
    top_k: int = 5,
    min_identity_probability: float | None = None,
    min_isomer_probability: float | None = None,
    min_probability: float = 0.5,
    n_jobs: int = 1,
    dask: Any = None,
    progress: bool | None = None,
    data: str | os.PathLike | None = None,
    batch_size: int = 256,
    ladder: Any = None,
    min_area_share: float = 0.0,
) -> ResultTable:
    """Classify spectra: technique, library hits, identity verdict, else predicted class with evidence.

    Parameters
    ----------
    inputs : path, Spectrum, or a list of them
        Spectrum files (MSP, MGF, mzML, JCAMP-DX, CSV; ``.gz`` allowed), GC-MS runs (Agilent ``.D`` folders,
        ANDI ``.cdf`` files, mzML acquisitions: one row per component), folders (searched recursively)
        and/or :class:`~nps_id.spectra.Spectrum` objects.
    library : path or SpectralLibrary, optional
        The reference library (an HDF5 file from ``python -m nps_id library build``). Default: the default
        library, built from the reference data into the cache on first use (see :mod:`nps_id.defaults`).
    model : path or ModelBundle or False, optional
        The class, substructure and identity models (a folder from ``python -m nps_id train``). Default: the
        default model, built from the reference data on first use, also with a user library. ``False``: no
        model: search only, the best hit is a candidate (no identity probability, no class).
    top_k : int, default 5
        Library hits reported per query.
    min_identity_probability : float, optional
        Calibrated probability that the best hit is the query's compound, from which the verdict is
        "identified". Default: the identity model's own threshold, chosen from the cross-fitted curve of its
        training data (docs/models.md, "Identification").
    min_isomer_probability : float, optional
        Probability that the best hit is the compound or one of its isomers, from which the verdict is "isomer"
        ("X, or an isomer of it"). Default: the isomer model's own threshold.
    min_probability : float, default 0.5
        Minimum model probability for the verdict "classified" (else "unknown").
    n_jobs : int, default 1
        Worker processes on this machine (``-1``: one per CPU core).
    dask : str or distributed.Client, optional
        A Dask scheduler address (``"tcp://host:8786"``) or client: classify on that cluster, the library
        loaded once per worker. Library and model must then be files the workers can read.
    progress : bool, optional
        Show a progress bar (default: when standard error is a terminal).
    data : path, optional
        Reference-data folder for building the defaults (default ``NPS_ID_DATA`` / ``../shared/data``).
    batch_size : int, default 256
        Queries scored together and sent to a worker together.
    ladder : path, AlkaneLadder or dict, optional
        Runs only: the n-alkane ladder measured on the same column and method (a CSV of carbon number and
        minutes, see :func:`nps_id.runs.read_ladder`, or ``{carbons: minutes}``), for the components'
        retention indices.
    min_area_share : float, default 0
        Runs only: leave out components below this fraction (0-1) of the run's summed component area.

    Returns
    -------
    ResultTable
        One row per query (and per unreadable file or record), in input order.

    Raises
    ------
    NpsIdError
        If the library, model or ladder cannot be loaded. Bad *inputs* never raise: they get skipped rows.
    ValueError
        If `min_area_share` is not in [0, 1).

    Examples
    --------
    >>> import nps_id                                                          # doctest: +SKIP
    >>> table = nps_id.classify(["case/"], library="ref.h5", model="ref.model")  # doctest: +SKIP
    >>> table.to_csv("results.csv"); print(table.summary_text())              # doctest: +SKIP
    """
    from nps_id.parallel import run_batches

    ladder = _check_run_options(ladder, min_area_share)
    _check_national_list()
    options = ClassifyOptions(top_k=top_k, min_identity_probability=min_identity_probability,
                              min_isomer_probability=min_isomer_probability, min_probability=min_probability,
                              batch_size=batch_size)
    notes: list[str] = []
    if isinstance(library, (str, os.PathLike)) and not Path(library).exists():
        raise FileNotFoundError(
            f"No such library file: {library}; build one with `python -m nps_id library build FILES -o {library}`"
        )
    if library is None or model is None:
        from nps_id.defaults import ensure_defaults

        try:
            d = ensure_defaults(data=data, progress=progress)
        except FileNotFoundError as exc:
            if library is None:
                raise
            d = None
            notes.append(f"default model not available ({exc})")
        if library is None and d is not None:
            library = d.library_path
        if model is None:
            model = d.model_path if d is not None else None
    if model is False:
        model = None
    lib_path = str(library) if isinstance(library, (str, os.PathLike)) else getattr(library, "path", None)
    if isinstance(library, (str, os.PathLike)) and not Path(library).exists():
        raise FileNotFoundError(
            f"No such library file: {library}; build one with `python -m nps_id library build FILES -o {library}`"
        )
    if model is None:
        notes.append("no model: the best hits are candidates only (identification and classification need a model, "
                     "-m MODEL)")
    spec = ResourceSpec(library, model)
    get_resources(spec) if dask is None and n_jobs == 1 else None  # fail early on a bad library/model

    items = expand_inputs(inputs)
    stubs: list[_Stub] = []
    bar = _progress_bar(progress, items)
    results: list[dict[str, Any] | None] = []
    runs: dict[str, Any] = {}

    def on_file(item: Any) -> None:
        from nps_id.runs.io import run_format

        if bar is not None and isinstance(item, (str, os.PathLike)) and run_format(item):
            bar.set_postfix_str(f"reading {Path(item).name[-40:]}")  # a run takes a moment: say which

    def batches() -> Iterator[list[Any]]:
        pending: list[Any] = []
        for stub in iter_stubs(items, on_file, ladder=ladder, min_area_share=min_area_share,
                               on_run=lambda source, run, components: runs.update({source: (run, components)})):
            stubs.append(stub)
            results.append(None)
            if stub.spectrum is not None:
                pending.append((len(stubs) - 1, stub.spectrum))
                run = runs.get(stub.source_file)
                # a run's components go as soon as the run is read, so that the bar moves run by run
                if len(pending) >= options.batch_size or (run is not None and stub.index == len(run[1])):
                    yield pending
                    pending = []
            elif bar is not None:
                bar.update(1)
        if pending:
            yield pending

    for batch, out in run_batches(batches(), spec, options, n_jobs=n_jobs, dask=dask):
        for (pos, _), r in zip(batch, out):
            results[pos] = r
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()

    rows: list[dict[str, Any]] = []
    details: list[QueryDetail | None] = []
    for stub, r in zip(stubs, results):
        row: dict[str, Any] = {"source_file": stub.source_file, "index": stub.index, "query_id": stub.query_id}
        if stub.spectrum is None:
            row.update(status="skipped", error=stub.error)
            details.append(None)
        else:
            r = dict(r or {"status": "skipped", "error": "no result (worker lost)"})
            details.append(r.pop("detail", None))
            row.update(r)
        if row["status"] != "ok":
            row["identified"] = False
            row["verdict"] = None
        rows.append(row)
    table = ResultTable(rows, details, library_path=lib_path, options=options, notes=notes,
                        library=None if isinstance(library, (str, os.PathLike)) else library, runs=runs)
    return table


def _check_national_list() -> None:
    """Read the national control list (``NPS_ID_NATIONAL_LIST``) now, if one is named: a bad list stops the run
    before any work, with the line that is wrong, rather than costing every identified row its status."""
    from nps_id.chem.control import national_list_path

    path = national_list_path()
    if path is not None:
        from nps_id.chem.schedules import control_list

        control_list(path)


def _check_run_options(ladder: Any, min_area_share: float) -> Any:
    """Validate the run options before any work: the ladder read (a path) or converted, the share in [0, 1)."""
    if not 0 <= float(min_area_share) < 1:
        raise ValueError(f"min_area_share is a fraction of the run's component area in [0, 1) (0.01 is 1 %), "
                         f"got {min_area_share}")
    if ladder is None:
        return None
    from nps_id.runs.retention import AlkaneLadder, read_ladder

    if isinstance(ladder, (str, os.PathLike)):
        if not Path(ladder).is_file():
            raise FileNotFoundError(f"No such alkane ladder file: {ladder} (a CSV of carbon number and minutes)")
        return read_ladder(ladder)
    return ladder if isinstance(ladder, AlkaneLadder) else AlkaneLadder.from_mapping(ladder)


def _progress_bar(show: bool | None, items: list[Any]) -> Any:
    """A bar over the spectra of `items`, with a total (and so an ETA) when every item is a spectrum file whose
    records can be counted (:func:`~nps_id.spectra.io.count.count_records`) or a spectrum; runs have none."""
    import sys

    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    from tqdm import tqdm

    from nps_id.runs.io import run_format
    from nps_id.spectra.io.count import count_records

    total: int | None = 0
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            total += 1
            continue
        n = None if run_format(item) else count_records(item)
        if n is None:
            total = None
            break
        total += n
    return tqdm(total=total, desc="classifying", unit=" spectra")
