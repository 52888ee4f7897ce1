"""The HTML report of a classification run: one self-contained file to read and to attach to the case file.

It holds a summary (counts, skip reasons, the settings used), a table with one row per query (the same rows
as the CSV), and per processed query: a mirror plot of the query against its best library hit, the class
probabilities, the structure of the hit (RDKit depiction), the other hits, the substructure evidence and the
nearest controlled substances. Each GC-MS run classified gets its total ion chromatogram with the components
marked, above the sections of its components. Images are embedded (``data:`` URIs); the file needs no network and no other
file, and runs no JavaScript. All text that comes from input files (names, ids, errors) is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from nps_id import __version__
from nps_id.textio import visible, write_text_atomic

__all__ = ["write_report", "render_report", "mirror_plot", "hybrid_mirror_plot", "structure_svg"]

logger = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:1.5rem auto;max-width:1200px;color:#1d1d1f;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
h3{font-size:1.05rem;margin:.2rem 0 .6rem}
table{border-collapse:collapse;font-size:.85rem;width:100%} th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
td[data-col=error]{max-width:22rem;font-size:.8rem}
th{background:#f3f3f3;position:sticky;top:0} tr.skipped td{color:#777;background:#fafafa}
.v-identified{color:#0a6b2d;font-weight:600} .v-isomer{color:#2d5a8a;font-weight:600} .v-classified{color:#8a5a00;font-weight:600} .v-unknown{color:#555;font-weight:600}
.controlled{color:#a40000;font-weight:600} .meta{color:#555;font-size:.85rem}
.query{border:1px solid #ddd;border-radius:6px;padding:.8rem;margin:1rem 0;page-break-inside:avoid}
.grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem}
.bar{background:#e8e8e8;height:.8rem;width:10rem;display:inline-block;vertical-align:middle}
.bar span{background:#3b6fb6;height:100%;display:block}
.note{background:#fff8e1;border-left:4px solid #e0a800;padding:.4rem .8rem;margin:.6rem 0}
img.plot{max-width:100%} .mol{border:1px solid #eee;background:#fff;max-width:100%}
.counts td{font-size:1rem;text-align:right} .counts th{font-size:.95rem}
"""


def _e(value: Any) -> str:
    """HTML-escaped text of a value ("" for None/NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"
    return html.escape(visible(str(value)), quote=True)


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# ---------------------------------------------------------------------------------------------- figures
def mirror_plot(
    query: tuple[np.ndarray, np.ndarray],
    reference: tuple[np.ndarray, np.ndarray] | None,
    *,
    query_label: str = "query",
    reference_label: str = "library hit",
    ax: Any = None,
) -> Any:
    """Draw a mirror plot: the query's peaks up, the reference's down, both scaled to 100 % base peak.

    Parameters
    ----------
    query, reference : (mz, intensity) tuples
        `reference` may be None (query only).
    query_label, reference_label : str
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure (Agg, no pyplot) is made if None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    xmax = 0.0
    for sign, (mz, inten), color, label in (
        (1, query, "#1f4e9c", query_label),
        (-1, reference, "#b3261e", reference_label),
    ) if reference is not None else ((1, query, "#1f4e9c", query_label),):
        mz = np.asarray(mz, dtype=float)
        inten = np.asarray(inten, dtype=float)
        top = inten.max() if inten.size else 0.0
        rel = inten / top * 100 if top > 0 else inten
        # matplotlib cannot draw an undecodable byte kept by surrogateescape: show it as its escape (\xe9)
        ax.vlines(mz, 0, sign * rel, color=color, linewidth=0.9, label=visible(label))
        if mz.size:
            xmax = max(xmax, float(mz.max()))
            for j in np.argsort(rel)[-4:]:  # label the main peaks
                if rel[j] > 15:
                    ax.annotate(f"{mz[j]:.0f}", (mz[j], sign * rel[j]), fontsize=6, ha="center",
                                va="bottom" if sign > 0 else "top", color=color)
    return _finish_axes(ax, xmax, mirrored=reference is not None, legend="upper right")


def _axes(ax: Any) -> Any:
    """`ax`, or the axes of a new figure (Agg, no pyplot) sized for a mirror plot."""
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(7.0, 3.2), dpi=90).add_subplot(1, 1, 1)
    return ax


def _finish_axes(ax: Any, xmax: float, *, mirrored: bool, legend: str) -> Any:
    """The frame of a (mirror) plot: zero line, m/z range up to `xmax`, percent ticks up (and down), legend."""
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlim(0, xmax * 1.05 + 5 if xmax else 100)
    ax.set_ylim(-115 if mirrored else 0, 115)
    ax.set_yticks([-100, -50, 0, 50, 100] if mirrored else [0, 50, 100])
    ax.set_yticklabels(["100", "50", "0", "50", "100"] if mirrored else ["0", "50", "100"])
    ax.set_xlabel("m/z")
    ax.set_ylabel("relative intensity (%)")
    ax.legend(loc=legend, fontsize=7, frameon=False)
    return ax


def hybrid_mirror_plot(
    query: tuple[np.ndarray, np.ndarray],
    reference: tuple[np.ndarray, np.ndarray],
    shift: float,
    *,
    tolerance: float = 0.1,
    query_label: str = "query",
    reference_label: str = "library hit",
    ax: Any = None,
) -> Any:
    """Mirror plot of a hybrid (analogue) hit: peaks that match directly and peaks that match shifted by `shift`.

    The query is drawn up and the reference down (100 % base peak each), as in :func:`mirror_plot`; peaks that
    match directly are drawn in the spectrum's colour, peaks that match only shifted (``query m/z = reference m/z +
    shift``) in green and joined by a dotted line, the other peaks in grey.

    Parameters
    ----------
    query, reference : (mz, intensity) tuples
    shift : float
        Query minus reference (Da), as :attr:`nps_id.spectra.search.SearchResult.shifts` reports it; 0: direct only.
    tolerance : float, default 0.1
        Peak matching tolerance (Da).
    query_label, reference_label : str
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure (Agg, no pyplot) is made if None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from nps_id.spectra.search._peaks import PeakTable
    from nps_id.spectra.search.exact import MetricParams
    from nps_id.spectra.search.hybrid import hybrid_matches

    def table(mz: Any, inten: Any) -> PeakTable:
        mz = np.asarray(mz, dtype=np.float64)
        order = np.argsort(mz, kind="stable")
        return PeakTable(mz[order], np.asarray(inten, dtype=np.float32)[order], np.array([0, mz.size]),
                         np.full(1, np.nan))

    qt, rt = table(*query), table(*reference)
    m = hybrid_matches(qt, rt, shift, MetricParams("cosine", tolerance=tolerance))
    ax = _axes(ax)
    qrel = qt.intensity / max(float(qt.intensity.max(initial=0)), 1e-12) * 100
    rrel = rt.intensity / max(float(rt.intensity.max(initial=0)), 1e-12) * 100
    sq, sr = m["shifted"][:, 0], m["shifted"][:, 1]
    dq, dr = m["direct"][:, 0], m["direct"][:, 1]
    rest_q = np.setdiff1d(np.arange(qt.mz.size), np.concatenate([sq, dq]))
    rest_r = np.setdiff1d(np.arange(rt.mz.size), np.concatenate([sr, dr]))
    green = "#1b7f3b"
    ax.vlines(qt.mz[rest_q], 0, qrel[rest_q], color="#9a9a9a", linewidth=0.7)
    ax.vlines(rt.mz[rest_r], 0, -rrel[rest_r], color="#9a9a9a", linewidth=0.7)
    ax.vlines(qt.mz[dq], 0, qrel[dq], color="#1f4e9c", linewidth=1.0, label=f"{visible(query_label)} (direct)")
    ax.vlines(rt.mz[dr], 0, -rrel[dr], color="#b3261e", linewidth=1.0, label=f"{visible(reference_label)} (direct)")
    if sq.size:
        sign = "+" if shift > 0 else "-"
        ax.vlines(qt.mz[sq], 0, qrel[sq], color=green, linewidth=1.2,
                  label=f"shifted match (reference {sign} {abs(shift):.4g} Da)")
        ax.vlines(rt.mz[sr], 0, -rrel[sr], color=green, linewidth=1.2)
        for a, b in zip(sq, sr):
            ax.plot([rt.mz[b], qt.mz[a]], [-rrel[b], qrel[a]], color=green, linewidth=0.5, linestyle=":")
        for j in sq[np.argsort(qrel[sq])[-4:]]:  # label the main shifted peaks
            ax.annotate(f"{qt.mz[j]:.0f}", (qt.mz[j], qrel[j]), fontsize=6, ha="center", va="bottom", color=green)
        for j in sr[np.argsort(rrel[sr])[-4:]]:
            ax.annotate(f"{rt.mz[j]:.0f}", (rt.mz[j], -rrel[j]), fontsize=6, ha="center", va="top", color=green)
    xmax = float(max(qt.mz.max(initial=0), rt.mz.max(initial=0)))
    return _finish_axes(ax, xmax, mirrored=True, legend="best")


def _mirror_png(query: tuple[np.ndarray, np.ndarray], reference: tuple[np.ndarray, np.ndarray] | None,
                qlabel: str, rlabel: str) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 3.2), dpi=90)
    ax = fig.add_subplot(1, 1, 1)
    mirror_plot(query, reference, query_label=qlabel, reference_label=rlabel, ax=ax)
    return _figure_png(fig)


def _figure_png(fig: Any) -> bytes:
    """A matplotlib Figure as PNG bytes (laid out tight)."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _run_html(source: str, run: Any, components: list[Any]) -> str:
    """A run's section: its total ion chromatogram with the components marked (:func:`nps_id.runs.plot_tic`)."""
    from matplotlib.figure import Figure

    from nps_id.runs import plot_tic

    name = Path(source).name
    span = f"{len(components)} components" + (
        f", {run.n_scans} scans, {run.rt[0]:.2f}-{run.rt[-1]:.2f} min" if run.n_scans else "")
    out = [f'<section class="query run" data-run="{_e(name)}"><h3>Run {_e(name)} <span class="meta">{span}</span>'
           "</h3>"]
    try:
        fig = Figure(figsize=(10.0, 3.4), dpi=90)
        plot_tic(run, components, ax=fig.add_subplot(1, 1, 1))
        png = _figure_png(fig)
        out.append(f'<img class="plot tic" alt="total ion chromatogram of {_e(name)}" '
                   f'src="{_data_uri("image/png", png)}">')
    except Exception as exc:  # a plot must not stop the report
        out.append(f'<p class="meta">Chromatogram failed: {_e(exc)}</p>')
    out.append("</section>")
    return "".join(out)


def structure_svg(smiles: str, size: tuple[int, int] = (320, 240)) -> str | None:
    """RDKit depiction of a SMILES as SVG text, or None if it cannot be parsed."""
    if not smiles:
        return None
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdDepictor
    from rdkit.Chem.Draw import rdMolDraw2D

    RDLogger.DisableLog("rdApp.*")
    try:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return None
        rdDepictor.Compute2DCoords(mol)
        d = rdMolDraw2D.MolDraw2DSVG(*size)
        d.drawOptions().clearBackground = True
        d.DrawMolecule(mol)
        d.FinishDrawing()
        return d.GetDrawingText()
    except Exception:  # a structure RDKit cannot draw must not stop the report
        logger.debug("cannot depict %r", smiles, exc_info=True)
        return None
    finally:
        RDLogger.EnableLog("rdApp.*")


# ---------------------------------------------------------------------------------------------- report
def _open_library(table: Any, library: Any) -> Any:
    lib = library if library is not None else getattr(table, "library", None) or getattr(table, "library_path", None)
    if lib is None or not isinstance(lib, (str, os.PathLike)):
        return lib
    from nps_id.spectra.library import SpectralLibrary

    try:
        return SpectralLibrary.open(lib)
    except Exception as exc:
        logger.warning("report: cannot open the library %s for the mirror plots (%s)", lib, exc)
        return None


def _threshold(value: float | None) -> str:
    return "the identity model's own threshold" if value is None else f"{value:.2f}"


def _summary_html(table: Any) -> str:
    s = table.summary()
    opts = table.options
    parts = ['<table class="counts" id="counts"><tr>']
    keys = ("rows", "queries", "identified", "isomer", "classified", "unknown", "skipped")
    for key in keys:
        parts.append(f"<th>{key}</th>")
    parts.append("</tr><tr>")
    for key in keys:
        parts.append(f'<td id="count-{key}">{s[key]}</td>')
    parts.append("</tr></table>")
    if s["skip_reasons"]:
        parts.append("<h3>Skipped, with reasons</h3><ul id='skip-reasons'>")
        for reason, n in sorted(s["skip_reasons"].items(), key=lambda kv: -kv[1]):
            parts.append(f"<li>{n} &times; {_e(reason)}</li>")
        parts.append("</ul>")
    parts.append(
        f'<p class="meta">Identified: calibrated probability that the best hit is the compound &ge; '
        f"{_threshold(opts.min_identity_probability)}; isomer (&ldquo;X, or an isomer of it&rdquo;): probability "
        f"that it is the compound or an isomer &ge; {_threshold(opts.min_isomer_probability)}. "
        f"Classified: model probability &ge; {opts.min_probability:.2f}, else <i>unknown</i>. "
        f"Library: {_e(getattr(table, 'library_path', None) or '(in memory)')}.</p>"
    )
    for note in getattr(table, "notes", []):
        parts.append(f'<div class="note">{_e(note)}</div>')
    return "".join(parts)


_TABLE_COLUMNS = (
    ("source_file", "file"), ("index", "index"), ("query_id", "query"), ("status", "status"),
    ("technique", "technique"), ("verdict", "verdict"), ("top_hit_name", "best hit"),
    ("top_hit_match_factor", "match factor"), ("identity_probability", "identity probability"), ("class", "class"), ("probability", "probability"), ("control_status", "control status"), ("error", "reason"),
)


def _rows_html(table: Any, linked: set[int]) -> str:
    out = ['<table id="results"><thead><tr><th>#</th>']
    out += [f"<th>{_e(label)}</th>" for _, label in _TABLE_COLUMNS]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(table.rows):
        status = row.get("status") or ""
        out.append(
            f'<tr class="result-row {_e(status)}" id="row-{i}" data-status="{_e(status)}" '
            f'data-verdict="{_e(row.get("verdict"))}">'
        )
        num = f'<a href="#q-{i}">{i + 1}</a>' if i in linked else str(i + 1)
        out.append(f"<td>{num}</td>")
        for key, _ in _TABLE_COLUMNS:
            v = row.get(key)
            if key == "source_file" and v:
                v = Path(str(v)).name
            cls = ""
            if key == "verdict" and v:
                cls = f' class="v-{_e(v)}"'
            elif key == "control_status" and v:
                from nps_id.classify import is_controlled as _is_controlled

                cls = ' class="controlled"' if _is_controlled(str(v)) else ""
                if row.get("control_note"):
                    cls += f' title="{_e(row["control_note"])}"'
            elif key == "top_hit_match_factor" and v is not None:
                v = int(round(float(v)))
            elif key == "identity_probability" and v is not None:
                v = f"{float(v):.3f}"
            out.append(f"<td data-col=\"{key}\"{cls}>{_e(v)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _probability_html(probs: dict[str, float]) -> str:
    if not probs:
        return '<p class="meta">No class model was used.</p>'
    out = ['<table class="probs"><tr><th>class</th><th>probability</th></tr>']
    for cls, p in sorted(probs.items(), key=lambda kv: -kv[1])[:8]:
        width = max(0.0, min(100.0, 100 * p))
        out.append(
            f'<tr><td>{_e(cls)}</td><td><span class="bar"><span style="width:{width:.1f}%"></span></span> '
            f"{p:.3f}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _query_html(i: int, row: dict[str, Any], detail: Any, lib: Any) -> str:
    out = [f'<section class="query" id="q-{i}"><h3>{i + 1}. {_e(row.get("query_id") or "(no name)")} '
           f'<span class="meta">{_e(Path(str(row.get("source_file") or "")).name)} record {_e(row.get("index"))}</span>'
           f' &mdash; <span class="v-{_e(row.get("verdict"))}">{_e(row.get("verdict"))}</span>: {_e(row.get("class"))}'
           "</h3>"]
    hits = detail.hits
    top = hits[0] if hits else None
    ref = None
    if top is not None and lib is not None:
        try:
            a, b = lib.offsets[top["library_index"]], lib.offsets[top["library_index"] + 1]
            ref = (np.asarray(lib.mz[a:b]), np.asarray(lib.intensity[a:b]))
        except Exception:
            logger.debug("no peaks for hit %s", top, exc_info=True)
    out.append('<div class="grid"><div>')
    try:
        rlabel = f"library: {top['name']}" if top is not None else "library hit"
        png = _mirror_png((detail.mz, detail.intensity), ref, f"query: {row.get('query_id') or ''}"[:60], rlabel[:60])
        out.append(f'<img class="plot" alt="mirror plot of query {i + 1}" src="{_data_uri("image/png", png)}">')
    except Exception as exc:  # a plot must not stop the report
        out.append(f'<p class="meta">Mirror plot failed: {_e(exc)}</p>')
    out.append("<table><tr><th>hit</th><th>match factor</th><th>score</th><th>class</th><th>control status</th></tr>")
    for h in hits:
        out.append(
            f"<tr><td>{_e(h['name'])}</td><td>{float(h['match_factor']):.0f}</td><td>{h['score']:.3f}</td>"
            f"<td>{_e(h.get('class'))}</td><td>{_e(h.get('control_status'))}</td></tr>"
        )
    if not hits:
        out.append('<tr><td colspan="5">no library hits</td></tr>')
    out.append("</table></div><div>")
    if top is not None:
        if row.get("identified"):
            out.append(f"<p><b>Identified as:</b> {_e(top['name'])}</p>")
        elif row.get("verdict") == "isomer":
            out.append(f"<p><b>Identified up to an isomer:</b> {_e(row.get('identity'))}</p>")
        else:
            out.append(f"<p><b>Best hit (a candidate, not an identity):</b> {_e(top['name'])}</p>")
        if row.get("identity_probability") is not None:
            out.append(f'<p class="meta">Probability that the best hit is this compound: '
                       f'{float(row["identity_probability"]):.3f}; that it is the compound or an isomer of it: '
                       f'{float(row.get("isomer_probability") or 0):.3f} (technique {_e(row.get("technique"))}).</p>')
        svg = structure_svg(top.get("smiles") or "")
        if svg:
            out.append(f'<img class="mol" alt="structure of {_e(top["name"])}" '
                       f'src="{_data_uri("image/svg+xml", svg.encode("utf-8"))}">')
        else:
            out.append('<p class="meta">No structure for this library entry.</p>')
    out.append("<h3>Class probabilities</h3>")
    out.append(_probability_html(detail.probabilities))
    if detail.evidence:
        out.append("<h3>Substructure evidence</h3><ul>" + "".join(f"<li>{_e(e)}</li>" for e in detail.evidence) + "</ul>")
    if not row.get("identified") and detail.nearest_controlled:
        out.append("<h3>Nearest controlled substances (by spectrum)</h3><ul>")
        for c in detail.nearest_controlled:
            out.append(f"<li>{_e(c['name'])} &mdash; <span class='controlled'>"
                       f"{_e(c.get('control_note') or c['control_status'])}</span> (spectral score {c['score']:.2f})</li>")
        out.append("</ul>")
    if row.get("control_status"):
        note = f" &mdash; {_e(row['control_note'])}" if row.get("control_note") else ""
        out.append(f"<p><b>Control status:</b> {_e(row['control_status'])}{note}</p>")
    if row.get("national_status"):
        out.append(f"<p><b>National list:</b> {_e(row['national_status'])}</p>")
    out.append("</div></div></section>")
    return "".join(out)


def render_report(table: Any, *, title: str = "nps_id classification report", library: Any = None,
                  max_details: int = 200) -> str:
    """Return the report as HTML text; see :func:`write_report`."""
    lib = _open_library(table, library)
    detailed = [i for i, d in enumerate(table.details) if d is not None][:max_details]
    n_more = sum(d is not None for d in table.details) - len(detailed)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>nps_id {_e(__version__)}, {_e(time.strftime('%Y-%m-%d %H:%M'))}. "
        "A library match is strong evidence, not proof: confirm an identity with a reference standard "
        "measured on the same instrument (and a second technique); a predicted class is a lead, not an identity.</p>",
        "<h2>Summary</h2>", _summary_html(table),
        "<h2>Results</h2>", _rows_html(table, set(detailed)),
        "<h2>Queries</h2>",
    ]
    if n_more > 0:
        parts.append(f'<div class="note">Details shown for the first {len(detailed)} queries; {n_more} more are '
                     "in the table above and the CSV/JSON output.</div>")
    runs = dict(getattr(table, "runs", None) or {})
    for i in detailed:
        run = runs.pop(table.rows[i]["source_file"], None)
        if run is not None:  # the run's chromatogram above its first component
            parts.append(_run_html(table.rows[i]["source_file"], *run))
        parts.append(_query_html(i, table.rows[i], table.details[i], lib))
    for source, run in runs.items():  # runs without a detailed component still show their chromatogram
        parts.append(_run_html(source, *run))
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(table: Any, path: str | os.PathLike, *, title: str = "nps_id classification report",
                 library: Any = None, max_details: int = 200) -> Path:
    """Write the self-contained HTML report of a :class:`~nps_id.classify.ResultTable`.

    Parameters
    ----------
    table : ResultTable
    path : path
        The ``.html`` file to write (replaced atomically).
    title : str
    library : path or SpectralLibrary, optional
        For the hits' peaks in the mirror plots (default: the library the table was made with).
    max_details : int, default 200
        Queries with a detail section (plots, structure); the table always lists every row.

    Returns
    -------
    Path
    """
    text = render_report(table, title=title, library=library, max_details=max_details)
    path = write_text_atomic(path, text)  # UTF-8, undecodable bytes of names as visible escapes
    logger.info("report written to %s", path)
    return path
