"""``python -m nps_id classify INPUTS...``: what each case spectrum is, how sure, and why."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nps_id.commands._args import fraction, jobs, not_a_folder, output_file, positive_int, probability

if TYPE_CHECKING:
    from nps_id.runs import AlkaneLadder


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``classify`` command."""
    p = sub.add_parser(
        "classify",
        help="classify case spectra: library hits, identity verdict, else predicted class with evidence",
        description=(
            "Classify every spectrum in the given files/folders against a reference library and class model. "
            "One result row per query spectrum (and per unreadable file or record, with the reason), in input order. "
            "A GC-MS run (Agilent .D folder, ANDI .cdf, mzML acquisition) is deconvolved into its components: "
            "one row per component, with retention time, retention index and area share. "
            "Without -l/-m, the default library and model are built from the reference data on first use "
            "and reused afterwards."
        ),
    )
    p.add_argument("inputs", nargs="+", help="spectrum files, GC-MS runs or folders (MSP, MGF, mzML, JCAMP-DX, CSV; "
                   ".gz allowed; runs: Agilent .D folders, ANDI .cdf/.nc, mzML acquisitions)")
    p.add_argument("-l", "--library", help="reference library (.h5, from `library build`); default: built-in default")
    p.add_argument("-m", "--model", help="model folder (from `train`: class, substructure and identity models); "
                   "default: the default model")
    p.add_argument("--no-model", action="store_true",
                   help="library search only: best hits as candidates, no identification or class prediction")
    p.add_argument("-o", "--output", type=output_file("csv", "json"),
                   help="results file, .csv or .json (default: CSV to standard output)")
    p.add_argument("--report", type=not_a_folder, help="also write the HTML report to this file")
    p.add_argument("-k", "--top-k", type=positive_int, default=5, help="library hits reported per query (default 5)")
    p.add_argument(
        "--min-identity-probability", type=probability, metavar="P",
        help="calibrated probability that the best hit is the query's compound, from which it is 'identified' "
        "(default: the identity model's own, chosen from its cross-fitted curve; see docs/models.md)",
    )
    p.add_argument(
        "--min-isomer-probability", type=probability, metavar="P",
        help="probability that the best hit is the compound or an isomer of it, from which the verdict is "
        "'isomer' (default: the isomer model's own)",
    )
    p.add_argument(
        "--min-probability", type=probability, default=0.5, metavar="P",
        help="minimum model probability for a class verdict, else 'unknown' (default 0.5)",
    )
    p.add_argument("--ladder", type=_ladder, metavar="CSV",
                   help="runs: n-alkane ladder on the same column and method (CSV: carbon number, minutes), for "
                   "the components' retention indices")
    p.add_argument("--min-area-share", type=fraction, default=0.0, metavar="F",
                   help="runs: leave out components below this fraction of the run's component area "
                   "(0-1, e.g. 0.01 for 1 %%; default 0: all)")
    p.add_argument("-j", "--jobs", type=jobs, default=1, help="worker processes on this machine (-1: one per core)")
    p.add_argument("--dask", metavar="ADDRESS", help="Dask scheduler address (tcp://host:8786): classify on that cluster")
    p.add_argument("--data", help="reference-data folder for building the defaults (default: NPS_ID_DATA or ../shared/data)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _ladder(text: str) -> AlkaneLadder:
    """argparse type: an alkane ladder CSV, read now (so that a bad one stops the command before any work)."""
    from nps_id.errors import NpsIdError
    from nps_id.runs import read_ladder

    try:
        return read_ladder(text)
    except (OSError, NpsIdError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read the alkane ladder {text}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Classify, write the results (and report), log the summary; 1 if no spectrum could be read."""
    import logging

    from nps_id.classify import classify
    from nps_id.textio import write_stdout

    log = logging.getLogger("nps_id.classify")
    table = classify(
        args.inputs,
        library=args.library,
        model=False if args.no_model else args.model,
        top_k=args.top_k,
        min_identity_probability=args.min_identity_probability,
        min_isomer_probability=args.min_isomer_probability,
        min_probability=args.min_probability,
        n_jobs=args.jobs,
        dask=args.dask,
        progress=False if args.no_progress else None,
        data=args.data,
        ladder=args.ladder,
        min_area_share=args.min_area_share,
    )
    if args.output:
        table.save(args.output)
        log.info("results written to %s", args.output)
    else:
        write_stdout(table.to_csv() or "")
    if args.report:
        table.to_html(args.report)
        log.info("report written to %s", args.report)
    for line in table.summary_text().splitlines():
        log.info("%s", line)
    for note in table.notes:
        log.warning("%s", note)
    summary = table.summary()
    read = [r for r in table if r["status"] == "ok" or r["technique"]]  # spectra read, searched or not
    if summary["queries"] == 0 and read:
        log.error(
            "%d spectra were read, but none could be searched (reasons above): the library %s has no references "
            "for their technique (%s); give a library that has (-l)",
            len(read), args.library or "(the default library)",
            ", ".join(sorted({str(r["technique"]) for r in read if r["technique"]})) or "unknown",
        )
        return 1
    if summary["queries"] == 0:
        log.error(
            "no spectrum could be read from %s (%d skipped, reasons above); check the files' format "
            "(MSP, MGF, mzML, JCAMP-DX, CSV) or give the right folder",
            ", ".join(args.inputs), summary["skipped"],
        )
        return 1
    return 0
