"""``python -m nps_id chem classify``: class, EWA groups and control status of structures.

Examples
--------
``python -m nps_id chem classify "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"``
``python -m nps_id chem classify --input seized.csv -o labelled.csv``
``python -m nps_id chem classify --national-list my_country.csv "CNC(C)C(=O)c1ccc(C)cc1"``
"""

from __future__ import annotations

import argparse

from nps_id.commands._args import output_file

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
    classify.add_argument("-o", "--output", metavar="OUT.csv", type=output_file("csv"),
                          help="write the CSV here, atomically (default: standard output)")
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

    from nps_id.chem.labels import label_smiles
    from nps_id.errors import NpsIdError
    from nps_id.textio import csv_text, write_stdout, write_text_atomic

    log = logging.getLogger("nps_id.chem")
    if bool(args.smiles) == bool(args.input):
        raise NpsIdError("Give SMILES as arguments or a CSV with --input, not both and not neither.")
    if args.input:
        # bytes that are not UTF-8 are kept (surrogateescape) and written back as visible escapes (\xe9)
        with open(args.input, newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
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
    # cells beyond the header (csv.DictReader keeps them under None) are kept, in columns extra_1, extra_2, ...
    n_extra = max((len(r.get(None) or []) for r in rows), default=0)
    out_fields += [f"extra_{j + 1}" for j in range(n_extra)]
    if n_extra:
        log.warning("%s: %d rows have more cells than the header; the extra cells are in columns extra_1.."
                    "extra_%d", args.input, sum(1 for r in rows if r.get(None)), n_extra)
    out_rows = []
    for i, row in enumerate(rows):
        row = dict(row)
        row.update({f"extra_{j + 1}": v for j, v in enumerate(row.pop(None, None) or [])})
        for key, values in labels.items():
            value = values[i]
            if key == "controlled_similarity":
                value = "" if math.isnan(value) else f"{value:.3f}"
            row[names.get(key, key)] = value
        out_rows.append([row.get(f) for f in out_fields])
    text = csv_text(out_fields, out_rows)  # cells a spreadsheet would evaluate get a leading '
    if args.output:
        write_text_atomic(args.output, text)
    else:
        write_stdout(text)
    invalid = sum(1 for c in labels["chem_class"] if c == "invalid")
    if invalid:
        log.warning("%d of %d structures could not be parsed (class 'invalid', see the error column)",
                    invalid, len(rows))
    log.info("classified %d structures%s", len(rows), f" into {args.output}" if args.output else "")
    return 0
