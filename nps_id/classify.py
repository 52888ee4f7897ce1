"""Classify case spectra: for each query, what it is, how sure, and why.

This is the user-facing pipeline behind ``python -m nps_id classify`` and :func:`classify`::

    >>> import nps_id                                                  # doctest: +SKIP
    >>> table = nps_id.classify("case_2024_117/")                       # doctest: +SKIP
    >>> table.to_csv("results.csv")                                     # doctest: +SKIP

For every query spectrum it

1. searches the reference library (top-k hits: name, score, NIST-style match factor 0-999);
2. gives the *identity verdict*: identified when the best hit's match factor reaches
   ``identity_threshold`` (default 800), the class and control status then being those of the matched
   compound;
3. otherwise gives the class predicted by the model with its probability (``"unknown"`` when below
   ``min_probability``), the substructure evidence, and the nearest controlled substances in the library.

Nothing a user gives is dropped: a file that cannot be read, a record that cannot be parsed, a spectrum
that cannot be processed each keep a row with ``status="skipped"`` and the reason in ``error``.

Integration points
------------------
The search engine, the chemistry labels and the classifier are reached only through the small adapter
functions at the bottom of this module (``_search_hits``, ``_label_library``, ``_class_control_status``,
``_load_model``, ``_predict_class``, ``_substructure_evidence``), so that changing an engine is a
one-place change.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import math
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nps_id.errors import NpsIdError

__all__ = [
    "FIELDS",
    "ClassifyOptions",
    "ResultTable",
    "QueryDetail",
    "classify",
]

logger = logging.getLogger(__name__)

#: Columns of the result table, in order (CSV header; the keys of every JSON row).
FIELDS: tuple[str, ...] = (
    "source_file",
    "index",
    "query_id",
    "status",
    "error",
    "verdict",
    "identified",
    "top_hit_name",
    "top_hit_score",
    "top_hit_match_factor",
    "top_hit_library_index",
    "top_hit_inchikey",
    "class",
    "predicted_class",
    "probability",
    "control_status",
    "control_note",
    "evidence",
    "nearest_controlled",
    "other_hits",
)

#: Name used for spectra given as Python objects rather than files.
MEMORY_SOURCE = "<memory>"


# ---------------------------------------------------------------------------------------------- options
@dataclasses.dataclass(frozen=True)
class ClassifyOptions:
    """Settings of one classification run (picklable; sent to every worker).

    Parameters
    ----------
    top_k : int, default 5
        Library hits kept per query.
    identity_threshold : float, default 800
        Minimum NIST-style match factor (0-999) of the best hit for an identity verdict. NIST's own guide
        reads >= 900 as excellent, 800-900 as good and 700-800 as fair; identity still needs a
        chemist's confirmation (retention time, a second technique).
    min_probability : float, default 0.5
        Minimum model probability for a class verdict; below it the verdict is ``"unknown"``.
    n_controlled : int, default 3
        Nearest controlled substances listed per unidentified query.
    batch_size : int, default 256
        Queries scored together (and sent to a worker together).
    """

    top_k: int = 5
    identity_threshold: float = 800.0
    min_probability: float = 0.5
    n_controlled: int = 3
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if not 0 <= self.identity_threshold <= 1000:
            raise ValueError(f"identity_threshold is a match factor on the 0-999 scale, got {self.identity_threshold}")
        if not 0 <= self.min_probability <= 1:
            raise ValueError(f"min_probability must be in [0, 1], got {self.min_probability}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


# ---------------------------------------------------------------------------------------------- results
@dataclasses.dataclass
class QueryDetail:
    """What the report needs beyond the table row for one processed query.

    Attributes
    ----------
    mz, intensity : ndarray
        The query's peaks as read.
    hits : list of dict
        Top hits, best first: ``library_index``, ``name``, ``score``, ``match_factor``, ``smiles``,
        ``inchikey``, ``class``, ``control_status``.
    probabilities : dict
        Class -> probability from the model (empty without a model).
    evidence : list of str
        Substructures the model found evidence for.
    nearest_controlled : list of dict
        ``name``, ``score``, ``control_status``, ``library_index`` of the most similar controlled
        library compounds.
    """

    mz: np.ndarray
    intensity: np.ndarray
    hits: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    probabilities: dict[str, float] = dataclasses.field(default_factory=dict)
    evidence: list[str] = dataclasses.field(default_factory=list)
    nearest_controlled: list[dict[str, Any]] = dataclasses.field(default_factory=list)


class ResultTable(Sequence[dict[str, Any]]):
    """The result of :func:`classify`: one row (a dict with the keys :data:`FIELDS`) per query, in input order.

    Rows of records that could not be read or processed have ``status == "skipped"`` and the reason in
    ``error``. ``details[i]`` holds the peaks, hits and probabilities of row ``i`` (``None`` for skipped
    rows), used by the HTML report.

    Examples
    --------
    >>> table = ResultTable([{"source_file": "a.msp", "index": 0, "status": "ok", "verdict": "unknown"}])
    >>> len(table), table[0]["verdict"]
    (1, 'unknown')
    >>> print(table.to_csv().splitlines()[0][:32])
    source_file,index,query_id,statu
    """

    def __init__(
        self,
        rows: Iterable[dict[str, Any]] = (),
        details: Iterable[QueryDetail | None] | None = None,
        *,
        library_path: str | None = None,
        options: ClassifyOptions | None = None,
        notes: Iterable[str] = (),
        library: Any = None,
    ) -> None:
        self.rows: list[dict[str, Any]] = [{k: r.get(k) for k in FIELDS} for r in rows]
        self.details: list[QueryDetail | None] = list(details) if details is not None else [None] * len(self.rows)
        if len(self.details) != len(self.rows):
            raise ValueError("details must have one entry per row")
        self.library_path = library_path
        #: the library object used (for the report's mirror plots); None when only its path is known
        self.library = library
        self.options = options or ClassifyOptions()
        self.notes = list(notes)

    columns = FIELDS

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        return self.rows[i]

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"ResultTable({s['rows']} rows: {s['identified']} identified, {s['classified']} classified, "
            f"{s['unknown']} unknown, {s['skipped']} skipped)"
        )

    def column(self, name: str) -> list[Any]:
        """All values of one column."""
        if name not in FIELDS:
            raise KeyError(f"no column {name!r}; columns: {', '.join(FIELDS)}")
        return [r[name] for r in self.rows]

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict[str, Any]:
        """Counts: rows, queries processed, identified, classified, unknown, skipped and skip reasons."""
        out: dict[str, Any] = {"rows": len(self.rows), "queries": 0, "identified": 0, "classified": 0,
                               "unknown": 0, "skipped": 0, "skip_reasons": {}}
        for r in self.rows:
            if r["status"] == "ok":
                out["queries"] += 1
                v = r["verdict"]
                if v in ("identified", "classified", "unknown"):
                    out[v] += 1
            else:
                out["skipped"] += 1
                reason = _reason_key(r["error"])
                out["skip_reasons"][reason] = out["skip_reasons"].get(reason, 0) + 1
        return out

    def summary_text(self) -> str:
        """The summary as a few lines of text (for the log and the report)."""
        s = self.summary()
        lines = [
            f"{s['queries']} queries classified: {s['identified']} identified, {s['classified']} classified, "
            f"{s['unknown']} unknown; {s['skipped']} skipped"
        ]
        for reason, n in sorted(s["skip_reasons"].items(), key=lambda kv: -kv[1]):
            lines.append(f"  skipped {n} x {reason}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ export
    def to_csv(self, path: str | os.PathLike | None = None) -> str | None:
        """Write the table as CSV (UTF-8, header :data:`FIELDS`); return the text if `path` is None.

        Booleans are written ``true``/``false``; missing values as empty fields; scores rounded to 4
        decimals.
        """
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(FIELDS)
        for r in self.rows:
            w.writerow([_csv_value(r[k]) for k in FIELDS])
        text = buf.getvalue()
        if path is None:
            return text
        _atomic_write(path, text)
        return None

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as plain JSON-ready dicts (NaN as None)."""
        return [{k: _json_value(r[k]) for k in FIELDS} for r in self.rows]

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int | None = 1) -> str | None:
        """Write ``{"summary": ..., "rows": [...]}`` as JSON (rows have the CSV's fields); return it if no `path`."""
        doc = {"summary": self.summary(), "fields": list(FIELDS), "rows": self.to_records()}
        text = json.dumps(doc, indent=indent, ensure_ascii=False) + "\n"
        if path is None:
            return text
        _atomic_write(path, text)
        return None

    def save(self, path: str | os.PathLike) -> None:
        """Write CSV or JSON, told by the extension (``.csv``, ``.json``)."""
        suffix = Path(path).suffix.lower()
        if suffix == ".csv":
            self.to_csv(path)
        elif suffix == ".json":
            self.to_json(path)
        else:
            raise ValueError(f"{path}: cannot tell the output format; name the file .csv or .json")

    def to_html(self, path: str | os.PathLike, *, title: str = "nps_id classification report", **kwargs: Any) -> None:
        """Write the self-contained HTML report; see :func:`nps_id.report.write_report`."""
        from nps_id.report import write_report

        write_report(self, path, title=title, **kwargs)


def _reason_key(error: Any) -> str:
    """The reason of a skip without its location (so that equal reasons are counted together)."""
    import re

    return re.sub(r" \((?:line|record) \d+\)", "", str(error or "unknown reason"))


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))
    return v


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _atomic_write(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------- inputs
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
    an unknown format, so that they get a row saying why they were not read.
    """
    from nps_id.spectra.spectrum import Spectrum

    if isinstance(inputs, (str, os.PathLike, Spectrum)):
        inputs = [inputs]
    out: list[Any] = []
    for item in inputs:
        if isinstance(item, Spectrum):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            p = Path(item)
            if p.is_dir():
                files = [
                    f for f in sorted(p.rglob("*"))
                    if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
                ]
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


def iter_stubs(items: Sequence[Any], on_file: Any = None) -> Iterator[_Stub]:
    """Read the inputs lazily and yield one :class:`_Stub` per record (good or bad), in input order.

    A file that cannot be opened or whose format is unknown yields one stub with ``index=None`` and the
    error; a record the reader skipped yields a stub with its index and reason; a reader that fails part-way
    keeps what it read and adds a stub for the failure.
    """
    from nps_id.spectra.io import ReadReport, detect_format, iter_spectra
    from nps_id.spectra.spectrum import Spectrum

    mem_index = 0
    for item in items:
        if on_file is not None:
            on_file(item)
        if isinstance(item, Spectrum):
            yield _Stub(MEMORY_SOURCE, mem_index, _query_id(item), spectrum=item)
            mem_index += 1
            continue
        path = Path(item)
        source = str(path)
        if not path.exists():
            yield _Stub(source, None, "", error=f"file not found: {source}")
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


# ---------------------------------------------------------------------------------------------- resources
class Resources:
    """What classification needs, loaded once per process: the library, its search index and labels, the model.

    Parameters
    ----------
    library : SpectralLibrary
    model : object or None
        A fitted classifier (see :func:`_predict_class`), or None for library search only.
    """

    def __init__(self, library: Any, model: Any = None) -> None:
        self.library = library
        self.model = model
        n = len(library)
        cols = set(library.columns)

        def text(name: str) -> np.ndarray:
            if name in cols:
                return np.asarray(library.column(name), dtype=object)
            return np.full(n, "", dtype=object)

        self.names = text("name")
        self.smiles = text("smiles")
        self.inchikeys = text("inchikey")
        labels = _label_library(library)
        self.classes = labels["class"]
        self.control_status = labels["control_status"]
        self.control_note = labels["control_note"]
        self.index = _build_search_index(library)


@dataclasses.dataclass(frozen=True)
class ResourceSpec:
    """How a worker gets its :class:`Resources`: library and model as file paths (or in-memory objects)."""

    library: Any
    model: Any = None

    def key(self) -> tuple[str, str]:
        return (_spec_key(self.library), _spec_key(self.model))


def _spec_key(obj: Any) -> str:
    if obj is None:
        return "none"
    if isinstance(obj, (str, os.PathLike)):
        p = Path(obj)
        try:
            st = p.stat()
            return f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            return str(p)
    return f"object:{id(obj)}"


_CACHE: dict[tuple[str, str], Resources] = {}
_CACHE_LOCK = threading.Lock()
#: how many times this process loaded resources (tests check "once per worker")
LOAD_COUNT = 0


def get_resources(spec: ResourceSpec) -> Resources:
    """Return this process's :class:`Resources` for `spec`, loading them on first use (thread-safe)."""
    global LOAD_COUNT
    key = spec.key()
    with _CACHE_LOCK:
        res = _CACHE.get(key)
        if res is None:
            from nps_id.spectra.library import SpectralLibrary

            lib = spec.library
            if isinstance(lib, (str, os.PathLike)):
                lib = SpectralLibrary.open(lib)
            model = spec.model
            if isinstance(model, (str, os.PathLike)):
                model = _load_model(model)
            res = Resources(lib, model)
            _CACHE.clear()  # one library per process at a time
            _CACHE[key] = res
            LOAD_COUNT += 1
            logger.debug("loaded resources %s (load %d in pid %d)", key, LOAD_COUNT, os.getpid())
        return res


def load_count() -> int:
    """How many times this process has loaded a library/model (for checking 'once per worker')."""
    return LOAD_COUNT


# ---------------------------------------------------------------------------------------------- the core
def classify_batch(spec: ResourceSpec, spectra: Sequence[Any], options: ClassifyOptions) -> list[dict[str, Any]]:
    """Classify a batch of spectra; one result dict per spectrum (row fields plus ``detail``).

    A failure on the batch as a whole falls back to one query at a time, so that one spectrum the
    engines cannot handle costs only its own row (``status="skipped"`` with the reason).
    """
    res = get_resources(spec)
    try:
        return _classify_batch(res, list(spectra), options)
    except Exception as exc:
        if len(spectra) == 1:
            logger.debug("query failed", exc_info=True)
            return [{"status": "skipped", "error": f"classification failed: {type(exc).__name__}: {exc}"}]
        out = []
        for s in spectra:
            out.extend(classify_batch(spec, [s], options))
        return out


def _classify_batch(res: Resources, spectra: list[Any], options: ClassifyOptions) -> list[dict[str, Any]]:
    n = len(spectra)
    if n == 0:
        return []
    k_search = max(options.top_k, 50)  # more candidates than shown: the nearest controlled come from them
    idx, scores, mfs, notes = _search_hits(res.index, spectra, k_search)
    probs_list = _predict_class(res.model, spectra, res, idx, scores)
    evidence = _substructure_evidence(res.model, spectra)
    out = []
    for q in range(n):
        if notes[q] is not None:
            out.append({"status": "skipped", "error": notes[q]})
            continue
        valid = idx[q] >= 0
        qi, qs, qm = idx[q][valid], scores[q][valid], mfs[q][valid]
        hits = [_hit(res, int(i), float(s), float(m)) for i, s, m in zip(qi[: options.top_k], qs, qm)]
        controlled = []
        seen: set[str] = set()
        for i, s in zip(qi, qs):
            status = res.control_status[i]
            key = res.inchikeys[i][:14] or res.names[i]
            if status and _is_controlled(status) and key not in seen:
                seen.add(key)
                controlled.append({"library_index": int(i), "name": res.names[i], "score": float(s),
                                   "control_status": status, "control_note": res.control_note[i]})
                if len(controlled) >= options.n_controlled:
                    break
        probs = probs_list[q]
        detail = QueryDetail(
            mz=np.asarray(spectra[q].x), intensity=np.asarray(spectra[q].intensity),
            hits=hits, probabilities=probs, evidence=list(evidence[q]), nearest_controlled=controlled,
        )
        out.append(_verdict(hits, probs, controlled, detail, options))
    return out


def _hit(res: Resources, i: int, score: float, mf: float) -> dict[str, Any]:
    return {
        "library_index": i, "name": res.names[i], "score": score, "match_factor": mf,
        "smiles": res.smiles[i], "inchikey": res.inchikeys[i], "class": res.classes[i],
        "control_status": res.control_status[i], "control_note": res.control_note[i],
    }


#: control statuses (:data:`nps_id.chem.control.CONTROL_STATUSES`) that mean "under control"
CONTROLLED_STATUSES = frozenset({"controlled", "listed_precursor", "fentanyl_related"})


def _is_controlled(status: str) -> bool:
    return status in CONTROLLED_STATUSES


def _verdict(
    hits: list[dict[str, Any]], probs: dict[str, float], controlled: list[dict[str, Any]],
    detail: QueryDetail, options: ClassifyOptions,
) -> dict[str, Any]:
    row: dict[str, Any] = {"status": "ok", "error": None}
    best_class, best_p = (max(probs.items(), key=lambda kv: kv[1]) if probs else ("", float("nan")))
    row["predicted_class"] = best_class or None
    row["probability"] = best_p
    if hits:
        top = hits[0]
        row.update(top_hit_name=top["name"], top_hit_score=top["score"], top_hit_match_factor=top["match_factor"],
                   top_hit_library_index=top["library_index"], top_hit_inchikey=top["inchikey"] or None)
        row["other_hits"] = "; ".join(f"{h['name']} ({h['match_factor']:.0f})" for h in hits[1:]) or None
    identified = bool(hits) and hits[0]["match_factor"] >= options.identity_threshold
    row["identified"] = identified
    if identified:
        row["verdict"] = "identified"
        # a library entry without a structure has no class: take it from the best entry of the same name
        # that has one (within the identity threshold)
        named = [h for h in hits if h["class"] and h["name"].casefold() == hits[0]["name"].casefold()
                 and h["match_factor"] >= options.identity_threshold]
        source = hits[0] if hits[0]["class"] or not named else named[0]
        row["class"] = source["class"] or "unclassified compound"
        row["control_status"] = source["control_status"] or None
        row["control_note"] = source["control_note"] or None
        if row["class"] in probs:  # the model's view of the matched compound's class
            row["predicted_class"], row["probability"] = row["class"], probs[row["class"]]
    elif probs and best_class != "unknown" and best_p >= options.min_probability:
        row["verdict"] = "classified"
        row["class"] = best_class
        row["control_status"], row["control_note"] = _class_control_status(best_class)
    else:
        row["verdict"] = "unknown"
        row["class"] = "unknown"
        row["control_status"] = None
    row["evidence"] = "; ".join(detail.evidence) or None
    if not identified:
        row["nearest_controlled"] = "; ".join(
            f"{c['name']} ({c['control_status']}, score {c['score']:.2f})" for c in controlled
        ) or None
    row["detail"] = detail
    return row


# ---------------------------------------------------------------------------------------------- public API
def classify(
    inputs: Any,
    library: Any = None,
    model: Any = None,
    *,
    top_k: int = 5,
    identity_threshold: float = 800.0,
    min_probability: float = 0.5,
    n_jobs: int = 1,
    dask: Any = None,
    progress: bool | None = None,
    data: str | os.PathLike | None = None,
    batch_size: int = 256,
) -> ResultTable:
    """Classify spectra: library hits, identity verdict, else predicted class with evidence.

    Parameters
    ----------
    inputs : path, Spectrum, or a list of them
        Spectrum files (MSP, MGF, mzML, JCAMP-DX, CSV; ``.gz`` allowed), folders (searched recursively)
        and/or :class:`~nps_id.spectra.Spectrum` objects.
    library : path or SpectralLibrary, optional
        The reference library (an HDF5 file from ``python -m nps_id library build``). Default: the default
        library, built from the reference data into the cache on first use (see :mod:`nps_id.defaults`).
    model : path or fitted classifier or False, optional
        The class model. Default: the default model (built on first use when `library` is also default;
        with a user library, a model is used only when given). ``False``: no model (search only).
    top_k : int, default 5
        Library hits reported per query.
    identity_threshold : float, default 800
        Minimum match factor (0-999) of the best hit for the verdict "identified".
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

    Returns
    -------
    ResultTable
        One row per query (and per unreadable file or record), in input order.

    Raises
    ------
    NpsIdError
        If the library or model cannot be loaded. Bad *inputs* never raise: they get skipped rows.

    Examples
    --------
    >>> import nps_id                                                          # doctest: +SKIP
    >>> table = nps_id.classify(["case/"], library="ref.h5", model="ref.model")  # doctest: +SKIP
    >>> table.to_csv("results.csv"); print(table.summary_text())              # doctest: +SKIP
    """
    from nps_id.parallel import run_batches

    options = ClassifyOptions(top_k=top_k, identity_threshold=identity_threshold, min_probability=min_probability,
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
        notes.append("no class model: verdicts are library identities only (classification needs -m MODEL)")
    spec = ResourceSpec(library, model)
    get_resources(spec) if dask is None and n_jobs == 1 else None  # fail early on a bad library/model

    items = expand_inputs(inputs)
    stubs: list[_Stub] = []
    bar = _progress_bar(progress, total=None)
    results: list[dict[str, Any] | None] = []

    def batches() -> Iterator[list[Any]]:
        pending: list[Any] = []
        for stub in iter_stubs(items):
            stubs.append(stub)
            results.append(None)
            if stub.spectrum is not None:
                pending.append((len(stubs) - 1, stub.spectrum))
                if len(pending) >= options.batch_size:
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
                        library=None if isinstance(library, (str, os.PathLike)) else library)
    return table


def _progress_bar(show: bool | None, total: int | None) -> Any:
    import sys

    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="classifying", unit=" spectra")


# ================================================================================================ adapters
# The only places that know the search engine (nps_id.spectra.search), the chemistry labels (nps_id.chem)
# and the models (nps_id.models).

#: search settings per query group: GC-EI (no precursor) and MS/MS (precursor m/z)
_GROUP_SEARCH = {"ei": {"metric": "nist"}, "msms": {"metric": "entropy"}}
_GROUP_NAMES = {"ei": "EI (no precursor m/z)", "msms": "MS/MS (with precursor m/z)"}


def _query_group(kind: str, precursor: float | None) -> str:
    if kind != "ms":
        return kind
    return "ei" if precursor is None or (isinstance(precursor, float) and math.isnan(precursor)) else "msms"


@dataclasses.dataclass
class _GroupIndex:
    """The library split by group, each part with its own :class:`~nps_id.spectra.search.SearchIndex`."""

    groups: dict[str, tuple[np.ndarray, Any]]  # group -> (library rows, search index of those rows)


def _build_search_index(library: Any) -> _GroupIndex:
    """Prepare the library for searching (once per process): one search index per group (EI, MS/MS).

    For a library file the group indexes are stored beside it (``LIB.search/<group>/``, see
    :meth:`~nps_id.spectra.search.SearchIndex.persist`) and reused while the library is unchanged.
    """
    from nps_id.spectra.search import SearchIndex
    from nps_id.spectra.search.index import index_path

    base = getattr(library, "path", None)
    prec = np.asarray(library.precursor_mz)
    kinds = np.asarray(library.kinds, dtype=object)
    groups = {}
    for g in _GROUP_SEARCH:
        mask = (kinds == "ms") & (np.isnan(prec) if g == "ei" else ~np.isnan(prec))
        rows = np.flatnonzero(mask)
        if rows.size:
            sub = library if rows.size == len(library) else library.select(rows)
            groups[g] = (rows, SearchIndex.open(sub, index_path(base) / g) if base else SearchIndex(sub))
    return _GroupIndex(groups)


def _search_hits(index: _GroupIndex, spectra: Sequence[Any], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
    """Top-`k` library hits per query, each query searched against library spectra of its own group.

    EI queries are scored with the NIST composite match factor, MS/MS queries with spectral entropy
    similarity (open search, so analogues with another precursor m/z are found too).

    Returns
    -------
    indices : ndarray (Q, k) int64
        Library indices, best first; -1 where fewer than k candidates exist.
    scores : ndarray (Q, k) float
        The search score (0-1).
    match_factors : ndarray (Q, k) float
        The same score on the 0-999 match-factor scale.
    notes : list
        Per query None, or why the query could not be searched (it is then skipped).
    """
    q = len(spectra)
    idx = np.full((q, k), -1, dtype=np.int64)
    sc = np.zeros((q, k))
    notes: list[str | None] = [None] * q
    for g, js in _by_group(spectra).items():
        if g not in _GROUP_SEARCH:  # IR, Raman: read and processed, but not searched or classified yet
            for j in js:
                notes[j] = (f"{g.upper() if g == 'ir' else g.capitalize()} spectra are read, but library search and "
                            "classification cover mass spectra (EI, MS/MS) only in this version")
            continue
        if g not in index.groups:
            for j in js:
                notes[j] = (f"the library holds no {_GROUP_NAMES[g]} spectra to compare with; use a library of "
                            "that kind (-l)")
            continue
        rows, si = index.groups[g]
        res = si.search([spectra[j] for j in js], k=k, **_GROUP_SEARCH[g])
        si.persist()
        found = res.indices >= 0
        idx[js] = np.where(found, rows[np.maximum(res.indices, 0)], -1)
        sc[js] = np.where(found, np.clip(np.nan_to_num(res.scores), 0.0, 1.0), 0.0)
    return idx, sc, np.rint(999 * sc), notes


def _label_library(library: Any) -> dict[str, np.ndarray]:
    """Per library spectrum: drug class, control status and its note (text, "" where unknown).

    Read from the library's label columns (written by :func:`nps_id.chem.labels.label_library`; the
    default library has them); a library without them gets "" everywhere (identities still work).
    """
    n = len(library)
    cols = set(library.columns)
    out = {}
    for name, sources in (("class", ("chem_class", "class")), ("control_status", ("control_status",)),
                          ("control_note", ("control_note",))):
        src = next((c for c in sources if c in cols), None)
        out[name] = (np.asarray(library.column(src), dtype=object) if src is not None
                     else np.full(n, "", dtype=object))
    if not any(c in cols for c in ("chem_class", "class")):
        logger.info("the library has no class labels (label it with nps_id.chem.labels.label_library)")
    return out


def _class_control_status(cls: str) -> tuple[str | None, str | None]:
    """What a *predicted* class says about control (status code, note); (None, None) when it says nothing.

    Only a structure decides control status; a class predicted from a spectrum flags a possibility.
    """
    if cls == "fentanyl_analogue":
        return ("possibly_fentanyl_related",
                "predicted fentanyl analogue: may fall under class-wide control of fentanyl-related "
                "substances; confirm the structure")
    if cls in ("fentanyl_precursor", "ats_precursor"):
        return ("possibly_precursor",
                "predicted precursor class: may be a listed precursor or a close analogue; confirm the structure")
    return None, None


def _load_model(path: str | os.PathLike) -> Any:
    """Load a model folder written by ``python -m nps_id train`` (checked: versions, checksums)."""
    from nps_id.models.io import load_model

    return load_model(path)


def _by_group(spectra: Sequence[Any]) -> dict[str, list[int]]:
    members: dict[str, list[int]] = {}
    for j, s in enumerate(spectra):
        members.setdefault(_query_group(s.kind, s.precursor_mz), []).append(j)
    return members


def _predict_class(model: Any, spectra: Sequence[Any], res: Resources, idx: np.ndarray, scores: np.ndarray) -> list[dict[str, float]]:
    """Class probabilities per query, from the model of the query's group ({} where there is none).

    A query the classifier's open-set rule rejects (unlike every training spectrum) gets ``"unknown": 1.0``
    first, followed by the class probabilities for information.
    """
    out: list[dict[str, float]] = [{} for _ in spectra]
    if model is None:
        return out
    if not hasattr(model, "classifiers"):  # any fitted object with predict_proba(spectra) and classes_
        proba = np.asarray(model.predict_proba(list(spectra)))
        classes = [str(c) for c in model.classes_]
        return [{c: float(p) for c, p in zip(classes, row)} for row in proba]
    for g, js in _by_group(spectra).items():
        clf = model.classifiers.get(g)
        if clf is None:
            continue
        det = clf.predict_detailed([spectra[j] for j in js])
        classes = [str(c) for c in clf.classes_]
        for r, j in enumerate(js):
            probs = dict(sorted(zip(classes, map(float, det["proba"][r])), key=lambda kv: -kv[1]))
            out[j] = {"unknown": 1.0, **probs} if det["unknown"][r] else probs
    return out


def _substructure_evidence(model: Any, spectra: Sequence[Any], min_p: float = 0.5, top: int = 6) -> list[list[str]]:
    """Substructures the model finds evidence for, per query (``"fentanyl_core (0.97)"``; [] where it cannot tell)."""
    out: list[list[str]] = [[] for _ in spectra]
    if model is None or not hasattr(model, "substructure"):
        return out
    for g, js in _by_group(spectra).items():
        sub = model.substructure.get(g)
        if sub is None:
            continue
        for j, keys in zip(js, sub.predict_keys([spectra[j] for j in js])):
            best = sorted(((p, k) for k, p in keys.items() if p >= min_p), reverse=True)[:top]
            out[j] = [f"{k} ({p:.2f})" for p, k in best]
    return out


# ------------------------------------------------------------------------------------------------ callable module
class _CallableModule(__import__("types").ModuleType):
    """Lets ``nps_id.classify(...)`` call :func:`classify` although ``nps_id.classify`` is also this module."""

    def __call__(self, *args: Any, **kwargs: Any) -> ResultTable:
        return classify(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
