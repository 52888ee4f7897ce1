"""Hostile, damaged and unusual inputs, tried as a user would (issue 16): the probe table.

Every probe feeds one input through the Python API or ``python -m nps_id`` and is judged ``handled``,
``named error``, ``crash`` or ``silently wrong`` (:mod:`probes.common`). The groups follow the items of issue 16:
readers (:mod:`probes.readers`: real SWGDRUG records with one damaged, gzip cuts, BOM/CRLF/NUL, the real exports in
``../shared/reader-quirks``), files nps_id writes and reads back (:mod:`probes.files`: libraries, stored search
indexes and model folders, byte flips and edits, concurrent builds) and what users run (:mod:`probes.outputs`:
result files with odd text, formula-like names, big batches, command-line options, noise, locks, FIFOs).

Usage: ``python benchmarks/probe_inputs.py [--no-model] [--only ITEM ...]``. The model probes use the default
model (built into ``NPS_ID_CACHE`` on first use). Writes ``benchmarks/results/probes.md`` (the table) and
``probes.json`` (every probe's outcome and detail). Exit status 1 if any probe crashed or was silently wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from probes import files, outputs, readers  # noqa: E402
from probes.common import OUTCOMES, judge  # noqa: E402

RESULTS = HERE / "results"


def table(groups, outcomes) -> str:
    """The probe table in markdown: per issue item, how many probes gave each outcome."""
    lines = ["| item | what was tried | tried | " + " | ".join(OUTCOMES) + " |",
             "|---:|---|---:|" + "---:|" * len(OUTCOMES)]
    total: Counter = Counter()
    for g in sorted(groups, key=lambda g: g.item):
        c = Counter(o.outcome for o in outcomes if o.item == g.item and any(o.name == p.name for p in g.probes))
        total.update(c)
        lines.append(f"| {g.item} | {g.title} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in OUTCOMES) + " |")
    lines.append(f"| | **all** | **{sum(total.values())}** | " + " | ".join(f"**{total[k]}**" for k in OUTCOMES) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-model", action="store_true", help="skip the probes that need the default model")
    ap.add_argument("--only", type=int, nargs="*", help="only these issue items")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every probe's outcome")
    ap.add_argument("--out", type=Path, default=RESULTS / "probes.md")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    model = None
    if not args.no_model:
        from nps_id.defaults import ensure_defaults

        model = Path(ensure_defaults().model_path)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nps_id_probes_") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "r").mkdir()
        (tmp / "f").mkdir()
        (tmp / "o").mkdir()
        groups = readers.groups(tmp / "r") + files.groups(tmp / "f", model)
        groups += outputs.groups(tmp / "o", tmp / "f" / "good.h5", model)
        if args.only:
            groups = [g for g in groups if g.item in args.only]
        outcomes = []
        for g in groups:
            for p in g.probes:
                o = judge(p)
                outcomes.append(o)
                if o.outcome in ("crash", "silently wrong") or args.verbose:
                    print(f"item {o.item}: {o.name}: {o.outcome}: {o.detail}", file=sys.stderr)
    seconds = time.perf_counter() - t0
    md = table(groups, outcomes)
    bad = [o for o in outcomes if o.outcome in ("crash", "silently wrong")]
    text = (f"# Probe table (issue 16)\n\n`python benchmarks/probe_inputs.py`"
            f"{' --no-model' if args.no_model else ''}, {time.strftime('%Y-%m-%d')}, {seconds:.0f} s.\n\n{md}\n")
    if bad:
        text += "\nCrashes and silently wrong answers:\n\n" + "\n".join(
            f"- item {o.item}, {o.name}: {o.outcome}: {o.detail}" for o in bad) + "\n"
    print(md)
    if not args.only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps([o.__dict__ for o in outcomes], indent=1), encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
