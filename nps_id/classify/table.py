"""The result of ``classify``: one row per query, the column contract, and the CSV/JSON writers.

Every row has the keys :data:`FIELDS`. Rows of records that could not be read or processed have
``status == "skipped"`` and the reason in ``error``; nothing a user gives is dropped.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from nps_id.textio import csv_text, json_text, output_format, write_text_atomic

__all__ = ["FIELDS", "VERDICTS", "QueryDetail", "ResultTable"]

#: Columns of the result table, in order (CSV header; the keys of every JSON row).
FIELDS: tuple[str, ...] = (
    "source_file",
    "index",
    "query_id",
    "retention_time",
    "retention_index",
    "area_share",
    "status",
    "error",
    "technique",
    "verdict",
    "identified",
    "identity",
    "identity_probability",
    "isomer_probability",
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
    "national_status",
    "evidence",
    "nearest_controlled",
    "other_hits",
)

#: the verdicts of processed queries (:mod:`nps_id.classify.verdict`)
VERDICTS: tuple[str, ...] = ("identified", "isomer", "classified", "unknown")

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
    rows), used by the HTML report. ``runs`` maps the ``source_file`` of each GC-MS run classified to
    ``(run, components)``: the run reduced to its TIC and its :class:`~nps_id.runs.Component` list, for the
    report's chromatogram.

    Examples
    --------
    >>> table = ResultTable([{"source_file": "a.msp", "index": 0, "status": "ok", "verdict": "unknown"}])
    >>> len(table), table[0]["verdict"]
    (1, 'unknown')
    >>> print(table.to_csv().splitlines()[0][:26])
    source_file,index,query_id
    """

    def __init__(
        self,
        rows: Iterable[dict[str, Any]] = (),
        details: Iterable[QueryDetail | None] | None = None,
        *,
        library_path: str | None = None,
        options: Any = None,
        notes: Iterable[str] = (),
        library: Any = None,
        runs: dict[str, Any] | None = None,
    ) -> None:
        self.rows: list[dict[str, Any]] = [{k: r.get(k) for k in FIELDS} for r in rows]
        self.details: list[QueryDetail | None] = list(details) if details is not None else [None] * len(self.rows)
        if len(self.details) != len(self.rows):
            raise ValueError("details must have one entry per row")
        self.library_path = library_path
        #: the library object used (for the report's mirror plots); None when only its path is known
        self.library = library
        self.options = options
        self.notes = list(notes)
        self.runs: dict[str, Any] = dict(runs or {})

    columns = FIELDS

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        return self.rows[i]

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"ResultTable({s['rows']} rows: {s['identified']} identified, {s['isomer']} isomer, {s['classified']} classified, "
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
        out: dict[str, Any] = {"rows": len(self.rows), "queries": 0, **{v: 0 for v in VERDICTS},
                               "skipped": 0, "skip_reasons": {}}
        for r in self.rows:
            if r["status"] == "ok":
                out["queries"] += 1
                v = r["verdict"]
                if v in VERDICTS:
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
            f"{s['queries']} queries classified: {s['identified']} identified, {s['isomer']} identified up to an "
            f"isomer, {s['classified']} classified, {s['unknown']} unknown; {s['skipped']} skipped"
        ]
        for reason, n in sorted(s["skip_reasons"].items(), key=lambda kv: -kv[1]):
            lines.append(f"  skipped {n} x {reason}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ export
    def to_csv(self, path: str | os.PathLike | None = None) -> str | None:
        """Write the table as CSV (UTF-8, header :data:`FIELDS`); return the text if `path` is None.

        Booleans are written ``true``/``false``; missing values as empty fields; scores rounded to 4
        decimals. Text a spreadsheet would evaluate as a formula (``=``, ``+``, ``-``, ``@``, ...) gets a
        leading ``'``; bytes of names that are not UTF-8 are written as visible escapes (``\\xe9``); the file
        is replaced atomically (see :mod:`nps_id.textio`).
        """
        text = csv_text(FIELDS, ([_csv_value(r[k]) for k in FIELDS] for r in self.rows))
        if path is None:
            return text
        write_text_atomic(path, text)
        return None

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as plain JSON-ready dicts (NaN as None)."""
        return [{k: _json_value(r[k]) for k in FIELDS} for r in self.rows]

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int | None = 1) -> str | None:
        """Write ``{"summary": ..., "rows": [...]}`` as JSON (rows have the CSV's fields); return it if no `path`."""
        doc = {"summary": self.summary(), "fields": list(FIELDS), "rows": self.to_records()}
        text = json_text(doc, indent=indent)
        if path is None:
            return text
        write_text_atomic(path, text)
        return None

    def save(self, path: str | os.PathLike) -> None:
        """Write CSV or JSON, told by the extension (``.csv``, ``.json``; see :func:`nps_id.textio.output_format`)."""
        if output_format(path, ("csv", "json")) == "csv":
            self.to_csv(path)
        else:
            self.to_json(path)

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

