"""``python -m nps_id search QUERIES -l LIB.h5``: library search, top-k hits per query as CSV or JSON."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``search`` command."""
    p = sub.add_parser("search", help="search query spectra against a library (top-k hits per query)")
    p.add_argument("queries", help="query spectrum file (MSP, MGF, mzML, JCAMP-DX, CSV; .gz allowed)")
    p.add_argument("-l", "--library", required=True, help="library file (.h5) built with 'nps_id library build'")
    p.add_argument("-k", type=int, default=10, help="hits per query (default 10)")
    p.add_argument("--metric", choices=("cosine", "entropy", "nist"),
                   help="score (default: the technique's, NIST composite for GC-EI, entropy for MS/MS)")
    p.add_argument(
        "--mode", choices=("similarity", "identity", "hybrid", "reverse"), default="similarity",
        help="similarity (open search), identity (precursor window, MS/MS), hybrid (analogues, MS/MS), "
        "reverse (only library peaks count; mixtures)",
    )
    p.add_argument("--tolerance", type=float, help="peak tolerance (Da; ppm with --ppm); metric default if omitted")
    p.add_argument("--ppm", action="store_true", help="--tolerance is in ppm")
    p.add_argument("--precursor-tolerance", type=float, default=0.01, help="identity mode precursor window, Da")
    p.add_argument("--candidates", type=int, help="stage-1 candidates per query (default 50)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--batch-size", type=int, default=1024, help="queries per batch")
    p.add_argument("-o", "--output", help="output file (.csv or .json); default: CSV on stdout")
    p.add_argument("--no-save-index", action="store_true", help="do not store a newly built index beside the library")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the search and write the hits; returns the exit code.

    Each query is searched against the library's references of its own technique (GC-EI on nominal mass, MS/MS),
    processed as the library was (:class:`~nps_id.spectra.search.routed.RoutedIndex`).
    """
    import csv
    import json
    import logging
    import sys
    import time

    from nps_id.spectra.io import ReadReport, load_spectra
    from nps_id.spectra.library import SpectralLibrary
    from nps_id.spectra.search.routed import RoutedIndex

    log = logging.getLogger("nps_id.search")
    lib = SpectralLibrary.open(args.library)
    report = ReadReport()
    queries = load_spectra(args.queries, on_error="skip", report=report)
    if report.n_skipped:
        log.warning("queries: %s", report.summary())
    if not queries:
        log.error("no query spectra could be read from %s", args.queries)
        return 1
    t0 = time.perf_counter()
    index = RoutedIndex(lib, store=not args.no_save_index)
    try:
        result = index.search(
            queries, args.k, metric=args.metric, persist=not args.no_save_index, mode=args.mode,
            tolerance=args.tolerance, ppm=args.ppm, precursor_tolerance=args.precursor_tolerance,
            n_candidates=args.candidates, device=args.device, batch_size=args.batch_size,
            progress=not args.no_progress and len(queries) > 4 * args.batch_size,
        )
    except ValueError as exc:  # a mode or metric that does not fit these queries
        log.error("%s", exc)
        return 2
    log.info("searched %d queries in %.2f s", len(queries), time.perf_counter() - t0)
    for i, note in enumerate(result.notes):
        if note:
            log.warning("query %d (%s) not searched: %s", i, queries[i].metadata.get("name", ""), note)
    names = lib.column("name") if "name" in lib.columns else None
    iks = lib.column("inchikey") if "inchikey" in lib.columns else None
    records = []
    for qi in range(len(queries)):
        for rank in range(result.indices.shape[1]):
            li = int(result.indices[qi, rank])
            if li < 0:
                break
            records.append({"query": qi, "query_name": queries[qi].metadata.get("name", ""),
                            "technique": str(result.techniques[qi]), "rank": rank + 1, "library_index": li,
                            "score": float(result.scores[qi, rank]),
                            "name": names[li] if names is not None else "", "inchikey": iks[li] if iks is not None else ""})
    fields = ["query", "query_name", "technique", "rank", "library_index", "score", "name", "inchikey"]
    if args.output and args.output.lower().endswith(".json"):
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump({"metric": args.metric or "per technique (gc_ei: nist, msms: entropy)", "mode": args.mode,
                       "hits": records}, fh, indent=1, default=str)
        return 0
    fh = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow({**r, "score": f"{r['score']:.6f}"})
    finally:
        if fh is not sys.stdout:
            fh.close()
    return 0
