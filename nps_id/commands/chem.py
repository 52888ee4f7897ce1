"""``python -m nps_id chem classify``: class, EWA groups and control status of structures.

Examples
--------
``python -m nps_id chem classify "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"``
``python -m nps_id chem classify --input seized.csv -o labelled.csv``
``python -m nps_id chem classify --national-list my_country.csv "CNC(C)C(=O)c1ccc(C)cc1"``
"""

from __future__ import annotations

import argparse

#: columns written after the input's own columns
OUTPUT_COLUMNS = ("class", "ewa_group", "effect_group", "control_status", "control_note", "nearest_controlled",
                  "similarity", "fentanyl_related", "national_status", "rule", "error")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``chem`` command and its ``classify`` subcommand."""
    parser = subparsers.add_parser("chem", help="chemistry: classify structures, control status",
                                   description="Chemistry tools on structures (SMILES).")
    sub = parser.add_subparsers(dest="chem_command", metavar="SUBCOMMAND", required=True)
    classify = sub.add_parser(
        "classify", help="class, EWA groups and control status of SMILES",
        description="Classify structures: drug class, UNODC EWA substance and effect group, control status, "
                    "nearest listed substance. Give SMILES as arguments or a CSV with --input.")
    classify.add_argument("smiles", nargs="*", help="SMILES to classify")
    classify.add_argument("--input", "-i", metavar="FILE.csv",
                          help="CSV with a SMILES column (and optionally is_derivative); rows are kept in order")
    classify.add_argument("--smiles-column", default="smiles", help="name of the SMILES column (default: smiles)")
    classify.add_argument("-o", "--output", metavar="OUT.csv", help="write the CSV here (default: standard output)")
    classify.add_argument("--n-jobs", type=int, default=None, help="worker processes (-1: all cores)")
    classify.add_argument("--national-list", metavar="LIST.csv", default=None,
                          help="a national control list (same columns as the international list) for the "
                               "national_status column (default: $NPS_ID_NATIONAL_LIST)")
    classify.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``chem classify``; returns the exit code."""
    import csv
    import logging
    import math
    import sys

    from nps_id.chem.labels import label_smiles
    from nps_id.errors import NpsIdError

    log = logging.getLogger("nps_id.chem")
    if bool(args.smiles) == bool(args.input):
        raise NpsIdError("Give SMILES as arguments or a CSV with --input, not both and not neither.")
    if args.input:
        with open(args.input, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
        if args.smiles_column not in fields:
            raise NpsIdError(f"{args.input}: no column {args.smiles_column!r} (columns: {', '.join(fields)}); "
                             "name the SMILES column with --smiles-column.")
        smiles = [r[args.smiles_column] or "" for r in rows]
        derivative = [r.get("is_derivative", "") for r in rows] if "is_derivative" in fields else None
    else:
        fields, rows = ["smiles"], [{"smiles": s} for s in args.smiles]
        smiles, derivative = list(args.smiles), None

    labels = label_smiles(smiles, derivative=derivative, n_jobs=args.n_jobs, national_list=args.national_list)
    names = {"chem_class": "class", "chem_rule": "rule", "controlled_similarity": "similarity",
             "chem_error": "error"}
    out_fields = fields + [c for c in OUTPUT_COLUMNS if c not in fields]
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = csv.DictWriter(out, fieldnames=out_fields, lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(rows):
            row = dict(row)
            for key, values in labels.items():
                value = values[i]
                if key == "controlled_similarity":
                    value = "" if math.isnan(value) else f"{value:.3f}"
                row[names.get(key, key)] = value
            writer.writerow(row)
    finally:
        if args.output:
            out.close()
    invalid = sum(1 for c in labels["chem_class"] if c == "invalid")
    if invalid:
        log.warning("%d of %d structures could not be parsed (class 'invalid', see the error column)",
                    invalid, len(rows))
    log.info("classified %d structures%s", len(rows), f" into {args.output}" if args.output else "")
    return 0
