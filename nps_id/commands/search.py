"""``python -m nps_id search QUERIES -l LIB.h5``: library search, top-k hits per query as CSV or JSON."""

from __future__ import annotations

import argparse

from nps_id.commands._args import output_file, positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``search`` command."""
    p = sub.add_parser("search", help="search query spectra against a library (top-k hits per query)")
    p.add_argument("queries", help="query spectrum file (MSP, MGF, mzML, JCAMP-DX, CSV; .gz allowed)")
    p.add_argument("-l", "--library", required=True, help="library file (.h5) built with 'nps_id library build'")
    p.add_argument("-k", type=positive_int, default=10, help="hits per query (default 10)")
    p.add_argument("--metric", choices=("cosine", "entropy", "nist"),
                   help="score (default: the technique's, NIST composite for GC-EI, entropy for MS/MS)")
    p.add_argument(
        "--mode", choices=("similarity", "identity", "hybrid", "reverse"), default="similarity",
        help="similarity (open search), identity (precursor window, MS/MS), hybrid (analogues: peaks match directly "
        "or shifted by a mass difference, the precursor difference for MS/MS, the best high-mass peak difference for "
        "GC-EI; the shift is a column), reverse (only library peaks count; mixtures)",
    )
    p.add_argument("--tolerance", type=positive_float, help="peak tolerance (Da; ppm with --ppm); metric default if omitted")
    p.add_argument("--ppm", action="store_true", help="--tolerance is in ppm")
    p.add_argument("--precursor-tolerance", type=positive_float, default=0.01, help="identity mode precursor window, Da")
    p.add_argument("--candidates", type=positive_int, help="stage-1 candidates per query (default 200; 400 for nist; 50 in hybrid mode)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--batch-size", type=positive_int, default=1024, help="queries per batch")
    p.add_argument("-o", "--output", type=output_file("csv", "json"),
                   help="output file (.csv or .json, written atomically); default: CSV on stdout")
    p.add_argument("--no-save-index", action="store_true", help="do not store a newly built index beside the library")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def check_options(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of options, in one line (None if nothing): checked before any work."""
    if args.mode == "reverse" and args.metric == "entropy":
        return ("--mode reverse is defined for --metric cosine or nist, not entropy; "
                "choose one of those (or leave --metric out)")
    return None


def check_queries(path: str) -> str | None:
    """Why the query file cannot be read (None if it can be tried): a folder, a FIFO or device, a missing file."""
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        return (f"{path} is a folder; search takes one query file (to search every file of a folder, "
                f"use `python -m nps_id classify {path} -l LIBRARY`)")
    if not p.exists():
        return f"no such query file: {path}"
    if not p.is_file():
        return f"{path} is not a regular file (a FIFO, socket or device); give a spectrum file"
    return None


def shift_text(shift: float) -> str:
    """A hybrid hit's shift in words: ``"reference + 14 Da"`` (the query is 14 Da heavier), ``"direct"`` for 0."""
    if shift != shift:  # NaN
        return ""
    if shift == 0:
        return "direct"
    return f"reference {'+' if shift > 0 else '-'} {abs(shift):.4g} Da"


def _shift_cells(record: dict, extra: list[str]) -> list[str]:
    if not extra:
        return []
    s = record.get("shift", float("nan"))
    return ["" if s != s else f"{s:.4f}", record.get("shift_text", "")]


def run(args: argparse.Namespace) -> int:
    """Run the search and write the hits; returns the exit code (2: options that do not fit, 1: nothing searched).

    Each query is searched against the library's references of its own technique (GC-EI on nominal mass, MS/MS),
    processed as the library was (:class:`~nps_id.spectra.search.routed.RoutedIndex`).
    """
    import logging
    import time
    from collections import Counter

    from nps_id.spectra.io import ReadReport, load_spectra
    from nps_id.spectra.library import SpectralLibrary
    from nps_id.spectra.search.result import SearchResult
    from nps_id.spectra.search.routed import RoutedIndex
    from nps_id.textio import csv_text, json_text, write_stdout, write_text_atomic

    log = logging.getLogger("nps_id.search")
    problem = check_options(args)
    if problem:
        log.error("%s", problem)
        return 2
    problem = check_queries(args.queries)
    if problem:
        log.error("%s", problem)
        return 2 if "folder" in problem else 1
    lib = SpectralLibrary.open(args.library)
    report = ReadReport()
    queries = load_spectra(args.queries, on_error="skip", report=report)
    if report.n_skipped:
        log.warning("queries: %s", report.summary())
    if not queries:
        log.error("no query spectra could be read from %s%s", args.queries,
                  f" ({report.n_skipped} records skipped, reasons above)" if report.n_skipped else "")
        return 1
    if args.mode == "identity":
        without = sum(1 for q in queries if q.precursor_mz is None)
        if without:
            log.error("--mode %s needs the precursor m/z of every query (MS/MS); %d of %d queries have none "
                      "(GC-EI spectra have none): use --mode similarity, hybrid or reverse for them",
                      args.mode, without, len(queries))
            return 2
    t0 = time.perf_counter()
    index = RoutedIndex(lib, store=not args.no_save_index)
    try:
        result = index.search(
            queries, args.k, metric=args.metric, persist=not args.no_save_index, mode=args.mode,
            tolerance=args.tolerance, ppm=args.ppm, precursor_tolerance=args.precursor_tolerance,
            n_candidates=args.candidates, device=args.device, batch_size=args.batch_size,
            progress=not args.no_progress and len(queries) > args.batch_size,
        )
    except ValueError as exc:  # a mode or metric that does not fit these queries
        log.error("%s", exc)
        return 2
    not_searched = Counter(note for note in result.notes if note)
    n_searched = len(queries) - sum(not_searched.values())
    for note, n in not_searched.most_common():
        log.warning("%d %s not searched: %s", n, "query" if n == 1 else "queries", note)
    n_not = sum(not_searched.values())
    log.info("searched %d of %d queries in %.2f s; %d not searched%s; %d unreadable records skipped%s",
             n_searched, len(queries), time.perf_counter() - t0, n_not, " (reasons above)" if n_not else "",
             report.n_skipped, " (reasons above)" if report.n_skipped else "")
    records = SearchResult(result.indices, result.scores, args.metric or "", args.mode,
                           shifts=result.shifts).to_records(lib)
    for r in records:
        r["query_name"] = queries[r["query"]].metadata.get("name", "")
        r["technique"] = str(result.techniques[r["query"]])
        if "shift" in r:
            r["shift_text"] = shift_text(r["shift"])
    fields = ["query", "query_name", "technique", "rank", "library_index", "score", "name", "inchikey"]
    if args.output and args.output.lower().endswith(".json"):
        text = json_text({"metric": args.metric or "per technique (gc_ei: nist, msms: entropy)", "mode": args.mode,
                          "hits": records}, default=str)
    else:
        extra = ["shift", "shift_text"] if args.mode == "hybrid" else []
        text = csv_text(fields + extra, ([*(r[f] for f in fields[:5]), f"{r['score']:.6f}", r.get("name", ""),
                                          r.get("inchikey", ""), *_shift_cells(r, extra)] for r in records))
    if args.output:
        write_text_atomic(args.output, text)
        log.info("hits written to %s", args.output)
    else:
        write_stdout(text)
    if n_searched == 0:
        log.error("none of the %d queries could be searched in %s (reasons above)", len(queries), args.library)
        return 1
    return 0
