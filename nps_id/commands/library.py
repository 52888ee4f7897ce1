"""``python -m nps_id library build|info``: build a reference library file, or describe one."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``library`` command and its subcommands."""
    p = sub.add_parser("library", help="build or inspect an HDF5 spectral library")
    lsub = p.add_subparsers(dest="library_command", metavar="SUBCOMMAND")
    b = lsub.add_parser("build", help="build a library from spectrum files (MSP, MGF, mzML, JCAMP-DX, CSV)")
    b.add_argument("files", nargs="+", help="spectrum files or folders (.gz allowed)")
    b.add_argument("-o", "--output", required=True, help="library file to write (.h5)")
    b.add_argument(
        "--pipeline",
        help="processing applied to every spectrum: a preset name (e.g. ei_default) or a pipeline text file",
    )
    b.add_argument("--format", help="force the input format instead of telling it from the extension")
    b.add_argument(
        "--on-error", choices=("skip", "warn", "raise"), default="skip",
        help="bad records: skip and count them (default), also log each, or stop at the first",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=run_build)
    i = lsub.add_parser("info", help="describe a library file")
    i.add_argument("library", help="library file (.h5)")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.add_argument("--verify", action="store_true", help="recompute the checksum")
    i.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_build(args: argparse.Namespace) -> int:
    """Build the library and log a summary; exit code 1 if nothing could be read."""
    import logging

    from nps_id.spectra.library import SpectralLibrary

    log = logging.getLogger("nps_id.library")
    lib = SpectralLibrary.build(
        args.files,
        None,
        pipeline=args.pipeline,
        on_error=args.on_error,
        progress=False if args.no_progress else None,
        format=args.format,
    )
    report = lib.build_report
    if len(lib) == 0:
        log.error("no spectra could be read: %s", report.summary())
        return 1
    if "smiles" in lib.columns:  # labelled when built, so that identified hits have classes
        from nps_id.chem.labels import label_library

        classes = label_library(lib, save=False)
        log.info("labelled the structures: %s", ", ".join(f"{c or 'no structure'} {n}" for c, n in classes.items()))
    lib.save(args.output)
    log.info("read: %s", report.summary())
    for skipped in report.skipped[:10]:
        log.info("skipped %s record %s (%s): %s", skipped.path, skipped.record, skipped.record_id, skipped.reason)
    if report.n_skipped > 10:
        log.info("... and %d more skipped records", report.n_skipped - 10)
    info = lib.info()
    log.info("library %s: %d spectra, %d peaks", args.output, info["n_spectra"], info["n_peaks"])
    for technique, n in info.get("techniques", {}).items():
        log.info("  technique %-22s %d", technique, n)
    for ion, n in info.get("ionization", {}).items():
        log.info("  ionisation %-10s %d", ion, n)
    return 0


def run_info(args: argparse.Namespace) -> int:
    """Print a library's summary (text or JSON) to standard output."""
    import json
    import sys

    from nps_id.spectra.library import SpectralLibrary

    lib = SpectralLibrary.open(args.library)
    info = lib.info()
    if args.verify:
        info["checksum_ok"] = lib.verify()
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for key, value in info.items():
            if isinstance(value, dict):
                sys.stdout.write(f"{key}:\n")
                for k, v in value.items():
                    sys.stdout.write(f"  {k}: {v}\n")
            elif isinstance(value, list):
                sys.stdout.write(f"{key}: {', '.join(map(str, value))}\n")
            else:
                sys.stdout.write(f"{key}: {value}\n")
    return 0 if info.get("checksum_ok", True) else 1
