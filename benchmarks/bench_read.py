"""Benchmark: read the MassBank MSP library with nps_id and with matchms, in one run.

matchms' ``load_from_msp`` cannot read gzip, so the file is decompressed once to a temporary file before
any timing; nps_id is timed on both the ``.gz`` file (how it is used) and the same plain file (the fair
comparison). matchms' per-spectrum log messages are silenced. Each reader is run ``--repeat`` times and
the best time is reported.

Usage::

    python benchmarks/bench_read.py            # the whole file (80,353 spectra)
    python benchmarks/bench_read.py --quick    # the first 5,000 spectra only (for CI)
"""

from __future__ import annotations

import argparse
import gzip
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

logger = logging.getLogger("bench_read")

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "massbank_open.msp.gz"


def _decompress(src: Path, dst: Path, limit: int | None) -> int:
    """Write the (first `limit`) records of `src` to `dst` as plain text; return the number of records."""
    n = 0
    with gzip.open(src, "rt", encoding="utf-8", newline="") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        if limit is None:
            shutil.copyfileobj(fin, fout, 1 << 20)
            return -1
        for line in fin:
            if line.startswith("NAME:"):
                if n == limit:
                    break
                n += 1
            fout.write(line)
    return n


def _best(fn, repeat: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - t0)
    return best, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT, help="an MSP(.gz) file (default: MassBank)")
    parser.add_argument("--quick", action="store_true", help="only the first --n spectra (for CI)")
    parser.add_argument("--n", type=int, default=5000, help="spectra read in --quick mode (default 5000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per reader; the best is reported")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("matchms").setLevel(logging.ERROR)

    from nps_id.spectra.io import load_spectra

    try:
        from matchms.importing import load_from_msp
        from matchms.logging_functions import set_matchms_logger_level
    except ImportError:
        logger.error("matchms is not installed: pip install 'nps_id[test]'")
        return 2
    set_matchms_logger_level("ERROR")

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "bench.msp"
        gz = Path(tmp) / "bench.msp.gz"
        limit = args.n if args.quick else None
        if str(args.path).endswith(".gz"):
            _decompress(args.path, plain, limit)
            logger.info("decompressed %s to a temporary plain file for matchms (not timed)", args.path.name)
        else:
            shutil.copyfile(args.path, plain)
        if limit is not None or not str(args.path).endswith(".gz"):
            with open(plain, "rb") as fin, gzip.open(gz, "wb", compresslevel=6) as fout:
                shutil.copyfileobj(fin, fout)
        else:
            shutil.copyfile(args.path, gz)

        rows = []
        t, n_gz = _best(lambda: len(load_spectra(gz)), args.repeat)
        rows.append(("nps_id load_spectra (.msp.gz)", n_gz, t))
        t, n_plain = _best(lambda: len(load_spectra(plain)), args.repeat)
        rows.append(("nps_id load_spectra (.msp)", n_plain, t))
        t, n_mm = _best(lambda: sum(1 for _ in load_from_msp(str(plain))), args.repeat)
        rows.append(("matchms load_from_msp (.msp)", n_mm, t))

    print(f"{'reader':34s} {'spectra':>8s} {'seconds':>8s} {'spectra/s':>10s}")
    for name, n, t in rows:
        print(f"{name:34s} {n:8d} {t:8.2f} {n / t:10.0f}")
    rate = {name: n / t for name, n, t in rows}
    print(
        f"ratio nps_id/matchms (plain .msp, spectra/s): "
        f"{rate['nps_id load_spectra (.msp)'] / rate['matchms load_from_msp (.msp)']:.1f}x"
    )
    if n_mm != n_plain:
        logger.warning("the readers disagree on the number of spectra: nps_id %d, matchms %d", n_plain, n_mm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
