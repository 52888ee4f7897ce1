"""``python -m nps_id classify INPUTS...``: what each case spectrum is, how sure, and why."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``classify`` command."""
    p = sub.add_parser(
        "classify",
        help="classify case spectra: library hits, identity verdict, else predicted class with evidence",
        description=(
            "Classify every spectrum in the given files/folders against a reference library and class model. "
            "One result row per query spectrum (and per unreadable file or record, with the reason), in input order. "
            "Without -l/-m, the default library and model are built from the reference data on first use "
            "and reused afterwards."
        ),
    )
    p.add_argument("inputs", nargs="+", help="spectrum files or folders (MSP, MGF, mzML, JCAMP-DX, CSV; .gz allowed)")
    p.add_argument("-l", "--library", help="reference library (.h5, from `library build`); default: built-in default")
    p.add_argument("-m", "--model", help="class model file (from `train`); default: the default model")
    p.add_argument("--no-model", action="store_true", help="library search only (no class prediction)")
    p.add_argument("-o", "--output", help="results file, .csv or .json (default: CSV to standard output)")
    p.add_argument("--report", help="also write the HTML report to this file")
    p.add_argument("-k", "--top-k", type=int, default=5, help="library hits reported per query (default 5)")
    p.add_argument(
        "--identity-threshold", type=float, default=800.0,
        help="minimum match factor (0-999) of the best hit to call an identity (default 800)",
    )
    p.add_argument(
        "--min-probability", type=float, default=0.5,
        help="minimum model probability for a class verdict, else 'unknown' (default 0.5)",
    )
    p.add_argument("-j", "--jobs", type=int, default=1, help="worker processes on this machine (-1: one per core)")
    p.add_argument("--dask", metavar="ADDRESS", help="Dask scheduler address (tcp://host:8786): classify on that cluster")
    p.add_argument("--data", help="reference-data folder for building the defaults (default: NPS_ID_DATA or ../shared/data)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Classify, write the results (and report), log the summary; 1 if no spectrum could be read."""
    import logging
    import sys

    from nps_id.classify import classify

    log = logging.getLogger("nps_id.classify")
    table = classify(
        args.inputs,
        library=args.library,
        model=False if args.no_model else args.model,
        top_k=args.top_k,
        identity_threshold=args.identity_threshold,
        min_probability=args.min_probability,
        n_jobs=args.jobs,
        dask=args.dask,
        progress=False if args.no_progress else None,
        data=args.data,
    )
    if args.output:
        table.save(args.output)
        log.info("results written to %s", args.output)
    else:
        sys.stdout.write(table.to_csv() or "")
        sys.stdout.flush()
    if args.report:
        table.to_html(args.report)
        log.info("report written to %s", args.report)
    for line in table.summary_text().splitlines():
        log.info("%s", line)
    for note in table.notes:
        log.warning("%s", note)
    summary = table.summary()
    if summary["queries"] == 0:
        log.error(
            "no spectrum could be read from %s (%d skipped, reasons above); check the files' format "
            "(MSP, MGF, mzML, JCAMP-DX, CSV) or give the right folder",
            ", ".join(args.inputs), summary["skipped"],
        )
        return 1
    return 0
