"""Entries of the international control list per Convention and schedule, as a Markdown table for docs/chem.md.

Run: ``python benchmarks/control_list_counts.py [--list LIST.csv]``. Counts come from the shipped list
(``nps_id/chem/data/international.csv``) through :func:`nps_id.chem.schedules.schedule_counts`; an entry
in two schedules (1961 Convention, Schedules I and IV) counts in each. Also printed: how many entries
carry a decision year, a CND decision number and a date of effect, and the latest decision year, and how
many listed entries were checked against a stored source (their remarks carry "source: ...") and how many
were not (the others; "unverified" or "year from memory: verify" in their remarks where a year is in doubt).
"""

from __future__ import annotations

import argparse
import logging

from nps_id.chem.schedules import INSTRUMENTS, control_list, schedule_counts

log = logging.getLogger("control_list_counts")


def table(path: str | None = None) -> str:
    """The Markdown table and summary lines."""
    entries = control_list(path).entries
    counts = schedule_counts(path)
    lines = ["| instrument | schedule | entries | with year | latest year |", "|---|---|---|---|---|"]
    for (instrument, schedule), n in counts.items():
        inside = [e for e in entries if e.instrument == instrument and (schedule in e.schedules or not schedule)]
        years = [e.year for e in inside if e.year]
        word = "Table" if instrument == "1988" else "Schedule"
        where = f"{word} {schedule}" if schedule else "reference only"
        name = INSTRUMENTS.get(instrument, "not internationally controlled")
        lines.append(f"| {name} | {where} | {n} | {len(years)} | {max(years) if years else '-'} |")
    listed = [e for e in entries if e.kind != "reference"]
    years = [e.year for e in listed if e.year]
    verified = [e for e in listed if "source:" in e.remarks]
    flagged = [e for e in listed if e not in verified and ("unverified" in e.remarks or "verify" in e.remarks)]
    lines += ["",
              f"{len(listed)} listed substances ({len(entries) - len(listed)} reference entries); "
              f"{len(years)} with the year of their decision, {sum(1 for e in listed if e.decision)} with a CND "
              f"decision number, {sum(1 for e in listed if e.effective)} with a date of effect; latest decision "
              f"year covered: {max(years)}.",
              "",
              f"Checked against a stored source (remarks with \"source:\"): {len(verified)} of {len(listed)} listed "
              f"entries; not verified: {len(listed) - len(verified)} ({len(flagged)} of them flagged \"unverified\" "
              f"or \"verify\" in remarks)."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", default=None, help="a control list CSV (default: the shipped international list)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("%s", table(args.list))


if __name__ == "__main__":
    main()
