"""First use and everyday runs, as a user meets them: wall time and peak memory of the commands the docs quote.

Each command runs in its own process (``python -m nps_id ...``), timed from outside; peak memory is the child's
maximum resident set (``wait4`` rusage), the figure ``/usr/bin/time -v`` reports. The cold runs use an empty cache
folder, so the default library and models are built from ``../shared/data`` as on a fresh install.

Measured, in order:

1. ``demo`` with an empty cache (builds the default library, labels and models, then classifies the demo case);
2. ``demo`` again (everything cached);
3. ``classify`` of all 2,702 SWGDRUG/NIST spectra with the defaults cached (one process);
4. ``python -m nps_id --help`` against ``python -c pass`` (start-up);
5. ``library info`` of the default library in a fresh process (opening a library, checksums verified).

Usage: ``python benchmarks/bench_first_use.py [--cache DIR]`` (``--cache``: reuse a cache folder, which skips
the cold run if it is filled). Writes ``benchmarks/results/first_use.json`` and prints a markdown table; the
figures in README.md and docs/guide.md come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Wall seconds and peak resident memory (GiB) of one child process; raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {err.strip().splitlines()[-1:]}")
    return {"seconds": round(wall, 3), "peak_gib": round(usage.ru_maxrss / 2**20, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, help="cache folder to use (default: a new empty one)")
    ap.add_argument("--out", type=Path, default=RESULTS / "first_use.json")
    args = ap.parse_args(argv)
    py = [sys.executable, "-m", "nps_id"]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="nps_id_first_use_") as tmp_name:
        tmp = Path(tmp_name)
        cache = args.cache or tmp / "cache"
        env = {**os.environ, "NPS_ID_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
        cold = not any(cache.glob("defaults/*/model/manifest.json"))

        def run(what: str, cmd: list[str]) -> dict:
            r = {"what": what, "command": " ".join(cmd[2:] if cmd[:2] == py[:2] else cmd), **measure(cmd, env, tmp)}
            rows.append(r)
            print(f"{what}: {r['seconds']:.2f} s, {r['peak_gib']:.2f} GiB", file=sys.stderr)
            return r

        run("demo, empty cache (builds the defaults)" if cold else "demo (cache given, filled)",
            py + ["demo", "-o", str(tmp / "demo1")])
        run("demo, defaults cached", py + ["demo", "-o", str(tmp / "demo2")])
        run("classify 2,702 SWGDRUG spectra, defaults cached, one process",
            py + ["classify", str(DATA / "swgdrug_nist_ei.msp.gz"), "-o", str(tmp / "all.csv"), "--no-progress"])
        run("python -m nps_id --help", py + ["--help"])
        run("python -c pass (baseline of the line above)", [sys.executable, "-c", "pass"])
        lib = next(cache.glob("defaults/*/library.h5"))
        run("library info of the default library (fresh process)", py + ["library", "info", str(lib)])
    meta = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"conditions": meta, "rows": rows}, indent=1), encoding="utf-8")
    print("| what | seconds | peak GiB |\n|---|---:|---:|")
    for r in rows:
        print(f"| {r['what']} | {r['seconds']:.2f} | {r['peak_gib']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
