"""Benchmark: the HDF5 library against re-reading the text, and the command line's start-up time.

Measured in one run, each against a named baseline:

- building the library from the reference MSP files (baseline: reading them with ``load_spectra``);
- opening the built library, and opening it plus fetching 1,000 random spectra (baseline: reading the
  same spectra from the MSP text again);
- ``python -m nps_id --help`` wall time (baseline: ``python -c pass``, the interpreter's own start-up);
- the cost of the read-time integrity checks: opening the library and reading all its peaks and columns, stored
  with per-chunk fletcher32 checksums (what :meth:`SpectralLibrary.save` writes) against the same data stored
  without them (baseline), reported as a ratio.

Usage::

    python benchmarks/bench_library.py            # both reference files (83,055 spectra)
    python benchmarks/bench_library.py --quick    # the SWGDRUG file only (2,702 spectra)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="SWGDRUG file only")
    ap.add_argument("--data", type=Path, default=DATA, help="folder with the reference MSP files")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from nps_id.spectra import load_spectra
    from nps_id.spectra.library import SpectralLibrary

    files = [args.data / "swgdrug_nist_ei.msp.gz"]
    if not args.quick:
        files.append(args.data / "massbank_open.msp.gz")
    rows: list[tuple[str, float, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lib.h5"
        t_parse = _best(lambda: [load_spectra(f) for f in files], 1)
        t_build = _best(lambda: SpectralLibrary.build(files, path, progress=False), 1)
        rows.append(("build library (read + write HDF5)", t_build, "read MSP text", t_parse))
        n = len(SpectralLibrary.open(path))
        idx = np.random.default_rng(0).integers(0, n, 1000)

        def open_only() -> None:
            SpectralLibrary.open(path)

        def open_fetch() -> None:
            lib = SpectralLibrary.open(path)
            for i in idx:
                lib[int(i)]

        def fetch_warm() -> None:
            for i in idx:
                warm[int(i)]

        warm = SpectralLibrary.open(path)
        warm[0]  # columns loaded
        rows.append(("open library", _best(open_only, args.repeat), "read MSP text", t_parse))
        rows.append(("open + fetch 1,000 random spectra", _best(open_fetch, args.repeat), "read MSP text", t_parse))
        rows.append(("fetch 1,000 random spectra (open library)", _best(fetch_warm, args.repeat), "read MSP text", t_parse))

        plain = Path(tmp) / "lib_no_fletcher32.h5"
        warm.save(plain, fletcher32=False)

        def read_all(p: Path):
            def fn() -> None:
                lib = SpectralLibrary.open(p)
                float(lib.mz.sum()) + float(lib.intensity.sum())  # every peak read (memory-mapped without checksums)
                for c in lib.columns:
                    lib.column(c)
            return fn

        read_all(path)(), read_all(plain)()  # page cache warm for both
        t_f32 = _best(read_all(path), args.repeat + 2)
        t_plain = _best(read_all(plain), args.repeat + 2)
        rows.append(("open + read all, fletcher32 checksums", t_f32, "same data, no checksums", t_plain))
        integrity = (t_f32, t_plain, path.stat().st_size, plain.stat().st_size)

    def run(cmd: list[str]) -> None:
        subprocess.run(cmd, check=True, capture_output=True)

    t_help = _best(lambda: run([sys.executable, "-m", "nps_id", "--help"]), args.repeat + 2)
    t_py = _best(lambda: run([sys.executable, "-c", "pass"]), args.repeat + 2)
    rows.append(("python -m nps_id --help", t_help, "python -c pass", t_py))

    print(f"library: {n} spectra from {', '.join(f.name for f in files)}")
    print(f"{'what':45s} {'seconds':>10s}   {'baseline':22s} {'seconds':>9s} {'base/this':>9s}")
    for what, t, base, tb in rows:
        print(f"{what:45s} {t:10.4f}   {base:22s} {tb:9.3f} {tb / t:8.1f}x")
    t_f32, t_plain, size_f32, size_plain = integrity
    print(
        f"read-time integrity checks (fletcher32): open + read all {t_f32 * 1000:.1f} ms vs {t_plain * 1000:.1f} ms "
        f"without, ratio {t_f32 / t_plain:.2f}; file {size_f32 / 1e6:.1f} MB vs {size_plain / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
