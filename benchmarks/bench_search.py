"""Library search benchmark: nps_id against ms_entropy (FlashEntropySearch) and matchms (CosineGreedy).

Everything is timed in one run on the same libraries and queries:

* EI: the real SWGDRUG/NIST library (2,702 spectra) and scaled-up libraries made from it (see
  :func:`scaled_library`: a random real spectrum per row, every intensity multiplied by a log-normal factor
  (sigma 0.25), each peak dropped with probability 0.08, no m/z changed; vectorised numpy, seed 0).
  Queries: real spectra perturbed the same way. nps_id: cosine, two-stage (bf16 coarse + exact top-50).
  Recall of the two stages: on each EI library, the top-1 of the first queries (1,000 on the real library, 200
  at 100k, 20 at 1M; 50 in quick mode) is compared with exhaustive exact scoring (cosine and NIST composite).
  Flash: open search (no precursor for EI) with its default entropy similarity. matchms: CosineGreedy
  (tolerance 0.1) on a subset of the library (stated in the table), rate scaled to the full library.
* MS/MS: MassBank ESI MS2 spectra with a precursor; identity search (precursor window 0.01 Da, fragment
  tolerance 0.02 Da, entropy similarity) by nps_id and Flash, scores compared.

Usage: ``python benchmarks/bench_search.py [--quick] [--sizes 100000 1000000]``. ``--quick`` (CI) uses small
sizes and finishes in well under two minutes. Figures go to stdout (a table) and to
``benchmarks/results/search.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generated import bench_generated  # noqa: E402
from nps_id.spectra.search._peaks import PeakTable, as_peak_table  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def rss_gib() -> float:
    """Peak resident memory of this process so far (GiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def scaled_library(real: PeakTable, n: int, seed: int = 0, sigma: float = 0.25, p_drop: float = 0.08) -> PeakTable:
    """`n` perturbed copies of random real spectra (intensity jitter, dropped peaks, m/z unchanged)."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, len(real), n)
    t = real.take(src)
    jitter = rng.lognormal(0.0, sigma, t.intensity.size).astype(np.float32)
    keep = rng.random(t.mz.size) >= p_drop
    seg = np.repeat(np.arange(n), np.diff(t.offsets))
    # never drop a spectrum's base peak, so no spectrum becomes empty
    base = np.zeros(n, np.float32)
    np.maximum.at(base, seg, t.intensity) if n <= 200_000 else _segmax(t, base)
    keep |= t.intensity == base[seg]
    counts = np.bincount(seg[keep], minlength=n)
    off = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    return PeakTable(t.mz[keep], (t.intensity * jitter)[keep], off, t.precursor_mz)


def _segmax(t: PeakTable, out: np.ndarray) -> None:
    nz = np.diff(t.offsets) > 0
    out[nz] = np.maximum.reduceat(t.intensity, t.offsets[:-1][nz])


def timed(fn, repeat: int = 1):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def top1_agreement(index, queries: PeakTable, n: int) -> dict:
    """Two-stage top-1 against exhaustive exact scoring (every library spectrum re-scored) on the first `n`
    queries, for cosine and the NIST composite: the share of queries whose top-1 is the same spectrum or an
    equal score (ties), and the largest score the two-stage top-1 loses to the exhaustive one."""
    q = queries.take(np.arange(n))
    out = {"queries": n}
    for metric in ("cosine", "nist"):
        fast = index.search(q, k=1, metric=metric)
        full = index.search(q, k=1, metric=metric, n_candidates=len(index.table), batch_size=4)
        same = (fast.indices[:, 0] == full.indices[:, 0]) | np.isclose(fast.scores[:, 0], full.scores[:, 0], rtol=0, atol=1e-12)
        out[metric] = float(same.mean())
        out[f"{metric}_max_score_lost"] = float(np.max(full.scores[:, 0] - fast.scores[:, 0]))
    logging.info("top-1 vs exhaustive on %d queries, library %d: %s", n, len(index.table), out)
    return out


def bench_ei(real: PeakTable, sizes: list[int], n_queries: int, n_single: int, flash_queries: int, mm_sub: tuple[int, int], rows: list,
             n_exhaustive=None):
    import torch

    from nps_id.spectra.search import SearchIndex

    torch.set_num_threads(2)
    queries = scaled_library(real, n_queries, seed=99)
    for size in sizes:
        lib = real if size == len(real) else scaled_library(real, size, seed=1)
        label = "real EI" if lib is real else f"scaled EI {size:,}"
        gc.collect()
        for dtype in ("bf16", "fp32"):
            t_build, index = timed(lambda: SearchIndex.build(lib, metrics=("cosine",), coarse_dtype=dtype))
            index.search(queries.take(np.arange(min(64, n_queries))), k=10)  # warm-up
            t_batch, res = timed(lambda: index.search(queries, k=10, batch_size=1024), repeat=2)
            single = [queries.take([i]) for i in range(n_single)]
            t_single, _ = timed(lambda: [index.search(q, k=10) for q in single])
            rows.append(
                {
                    "library": label, "n_library": len(lib), "engine": f"nps_id cosine ({dtype})",
                    "batch_qps": n_queries / t_batch, "single_ms": 1000 * t_single / n_single,
                    "build_s": t_build, "peak_rss_gib": rss_gib(),
                    "coarse_s": res.timings["coarse"], "exact_s": res.timings["exact"],
                }
            )
            if dtype == "bf16" and n_exhaustive:
                rows[-1]["top1_vs_exhaustive"] = top1_agreement(index, queries, n_exhaustive(len(lib)))
            logging.info("%s", rows[-1])
            index = None  # freed before the next build
            gc.collect()
        # Flash entropy search, open search (EI has no precursor)
        if flash_queries:
            from ms_entropy import FlashEntropySearch

            spectra = [
                {"precursor_mz": 0.0, "peaks": np.c_[lib.mz[a:b], lib.intensity[a:b]].astype(np.float32)}
                for a, b in zip(lib.offsets[:-1], lib.offsets[1:])
            ]
            flash = FlashEntropySearch()
            t_fb, _ = timed(lambda: flash.build_index(spectra, precursor_ions_removal_da=None))
            del spectra
            qpeaks = [
                flash.clean_spectrum_for_search(0.0, np.c_[queries.mz[a:b], queries.intensity[a:b]], precursor_ions_removal_da=None)
                for a, b in zip(queries.offsets[:-1][:flash_queries], queries.offsets[1:][:flash_queries])
            ]
            t_fs, _ = timed(lambda: [flash.open_search(peaks=p, ms2_tolerance_in_da=0.02) for p in qpeaks])
            rows.append(
                {"library": label, "n_library": len(lib), "engine": "Flash open (entropy)", "batch_qps": flash_queries / t_fs,
                 "single_ms": 1000 * t_fs / flash_queries, "build_s": t_fb, "peak_rss_gib": rss_gib(),
                 "note": f"{flash_queries} queries"}
            )
            logging.info("%s", rows[-1])
            del flash
            gc.collect()
        # matchms CosineGreedy on a subset, rate scaled to the full library
        if mm_sub[0]:
            import matchms
            from matchms.similarity import CosineGreedy

            nq, nl = mm_sub[0], min(mm_sub[1], len(lib))

            def mk(t, i):
                a, b = t.offsets[i], t.offsets[i + 1]
                return matchms.Spectrum(mz=t.mz[a:b].astype(float), intensities=t.intensity[a:b].astype(float), metadata={"precursor_mz": 1.0})

            refs = [mk(lib, i) for i in range(nl)]
            qs = [mk(queries, i) for i in range(nq)]
            cg = CosineGreedy(tolerance=0.1)
            cg.matrix(refs[:2], qs[:1])  # numba warm-up
            t_mm, _ = timed(lambda: cg.matrix(refs, qs))
            pairs_per_s = nq * nl / t_mm
            rows.append(
                {"library": label, "n_library": len(lib), "engine": "matchms CosineGreedy", "batch_qps": pairs_per_s / len(lib),
                 "single_ms": 1000 * len(lib) / pairs_per_s, "build_s": 0.0, "peak_rss_gib": rss_gib(),
                 "note": f"timed on {nq} queries x {nl} library spectra, scaled to {len(lib):,}"}
            )
            logging.info("%s", rows[-1])
        if lib is not real:
            del lib
        gc.collect()


def bench_msms(n_lib: int, n_queries: int, rows: list) -> dict:
    from ms_entropy import FlashEntropySearch

    from nps_id.spectra import load_spectra
    from nps_id.spectra.search import SearchIndex

    logging.getLogger("nps_id").setLevel(logging.WARNING)
    spectra = [s for s in load_spectra(DATA / "massbank_open.msp.gz") if s.precursor_mz and s.metadata.get("ms_level") == "MS2"]
    rng = np.random.default_rng(5)
    pick = rng.permutation(len(spectra))
    lib_sp = [spectra[i] for i in pick[:n_lib]]
    q_sp = [spectra[i] for i in pick[n_lib : n_lib + n_queries]]
    lib = as_peak_table(lib_sp)
    qt = as_peak_table(q_sp)
    t_b, index = timed(lambda: SearchIndex(lib))
    t_b2, _ = timed(lambda: index.entropy_table())
    t_n, res = timed(lambda: index.search(qt, k=5, metric="entropy", mode="identity", precursor_tolerance=0.01, tolerance=0.02))
    flash = FlashEntropySearch()
    fl_spec = [{"precursor_mz": s.precursor_mz, "peaks": np.c_[s.mz, s.intensity].astype(np.float32), "i": i} for i, s in enumerate(lib_sp)]
    t_fb, sorted_list = timed(lambda: flash.build_index(fl_spec))
    orig = np.array([d["i"] for d in sorted_list])
    qpeaks = [flash.clean_spectrum_for_search(s.precursor_mz, np.c_[s.mz, s.intensity].astype(np.float32)) for s in q_sp]

    def run_flash():
        out = []
        for s, p in zip(q_sp, qpeaks):
            out.append(flash.identity_search(s.precursor_mz, p, ms1_tolerance_in_da=0.01, ms2_tolerance_in_da=0.02) if len(p) else None)
        return out

    t_fs, fres = timed(run_flash)
    # compare the top-1 hits and scores
    diffs, same = [], 0
    n_cmp = 0
    for qi, sc in enumerate(fres):
        if sc is None or sc.max() <= 0:
            continue
        n_cmp += 1
        j = int(np.argmax(sc))
        mine = res.scores[qi, 0]
        diffs.append(abs(float(sc[j]) - mine))
        same += int(orig[j] == res.indices[qi, 0]) or bool(abs(float(sc[j]) - mine) < 1e-6)
    rows.append({"library": f"MassBank MS2 {n_lib:,}", "n_library": n_lib, "engine": "nps_id identity (entropy)",
                 "batch_qps": n_queries / t_n, "single_ms": 1000 * t_n / n_queries, "build_s": t_b + t_b2, "peak_rss_gib": rss_gib()})
    rows.append({"library": f"MassBank MS2 {n_lib:,}", "n_library": n_lib, "engine": "Flash identity (entropy)",
                 "batch_qps": n_queries / t_fs, "single_ms": 1000 * t_fs / n_queries, "build_s": t_fb, "peak_rss_gib": rss_gib()})
    return {"compared": n_cmp, "same_top1": same, "max_abs_score_diff": max(diffs) if diffs else 0.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for CI (< 2 min)")
    ap.add_argument("--sizes", type=int, nargs="*", help="scaled EI library sizes (default 100000 1000000)")
    ap.add_argument("--no-msms", action="store_true")
    ap.add_argument("--generated-sizes", type=int, nargs="*", help="generated EI library sizes (default 100000 1000000)")
    ap.add_argument("--generated-only", action="store_true", help="only the generated-library benchmark")
    ap.add_argument("--out", help="JSON file for the figures (default benchmarks/results/search[_quick].json)")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = str(ROOT / "benchmarks" / "results" / ("search_quick.json" if args.quick else "search.json"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from nps_id.spectra import load_spectra

    real = as_peak_table(load_spectra(DATA / "swgdrug_nist_ei.msp.gz"))
    rows: list[dict] = []
    gen_sizes = args.generated_sizes or ([20_000] if args.quick else [100_000, 1_000_000])
    if args.quick:
        generated = bench_generated(gen_sizes, n_queries=500, n_exhaustive=50, flash={gen_sizes[0]: 20}, mm_sub=(5, 500),
                                    rows=rows)
    else:  # Flash at 1M only here (its index takes minutes to build)
        generated = bench_generated(gen_sizes, n_queries=2000, n_exhaustive=200, flash={n: 50 if n <= 100_000 else 20 for n in gen_sizes},
                                    mm_sub=(10, 2702), rows=rows)
    msms = None
    if args.generated_only:
        pass
    elif args.quick:
        bench_ei(real, [len(real), 20_000], n_queries=1024, n_single=20, flash_queries=20, mm_sub=(5, 500), rows=rows,
                 n_exhaustive=lambda n: 50)
        msms = None if args.no_msms else bench_msms(20_000, 500, rows)
    else:
        sizes = args.sizes or [100_000, 1_000_000]
        bench_ei(real, [len(real)] + sizes, n_queries=4096, n_single=50, flash_queries=20, mm_sub=(10, 2702), rows=rows,
                 n_exhaustive=lambda n: max(20, min(1000, 20_000_000 // n)))
        msms = None if args.no_msms else bench_msms(60_000, 2000, rows)
    # ratios against the anchors on the same library
    for r in rows:
        same = [x for x in rows if x["library"] == r["library"]]
        for anchor, key in (("Flash", "vs_flash"), ("matchms", "vs_matchms")):
            a = [x for x in same if x["engine"].startswith(anchor)]
            if a and r["engine"].startswith("nps_id"):
                r[key] = r["batch_qps"] / a[0]["batch_qps"]
    print(f"{'library':<22}{'engine':<28}{'batch q/s':>11}{'single ms':>11}{'build s':>9}{'peak GiB':>10}{'x Flash':>9}{'x matchms':>11}")
    for r in rows:
        print(
            f"{r['library']:<22}{r['engine']:<28}{r['batch_qps']:>11.1f}{r['single_ms']:>11.2f}{r['build_s']:>9.1f}"
            f"{r['peak_rss_gib']:>10.2f}{r.get('vs_flash', float('nan')):>9.1f}{r.get('vs_matchms', float('nan')):>11.1f}"
        )
    for label, g in generated.items():
        for r in rows:
            if r["library"] == label and r.get("batch_s"):
                print(f"  {label} / {r['engine']}: stage 1 {r['coarse_s']:.2f} s, exact {r['exact_s']:.2f} s; batches of 250 "
                      f"(odd queries all in the first): slowest / median = {r['batch_max_over_median']:.2f}")
        a = g["top1_vs_exhaustive"]
        print(f"  two-stage top-1 = exhaustive exact: {label}, {a['queries']} queries: "
              + ", ".join(f"{m} {a[m]:.1%} (largest score lost {a[m + '_max_score_lost']:.2g})" for m in ("cosine", "nist", "entropy")))
        if "cosine_bounded_equals_every_pair" in a:
            print("    exhaustive by bound = every pair scored: "
                  + ", ".join(f"{m} {a[m + '_bounded_equals_every_pair']}" for m in ("cosine", "nist", "entropy")))
        if g.get("flash_top1"):
            f = g["flash_top1"]
            print(f"  {label}: nps_id entropy top-1 = Flash's on {f['same_top1']} of {f['queries']} queries "
                  f"(max |score difference| {f['max_abs_score_diff']:.1e}); {g['odd_queries']} of {g['n_queries']} queries "
                  f"had decimal m/z or two peaks in one bin; library generated in {g['generate_s']:.0f} s, "
                  f"{g['mean_peaks']:.0f} peaks per spectrum")
    for r in rows:
        if r.get("top1_vs_exhaustive"):
            a = r["top1_vs_exhaustive"]
            print(f"  two-stage top-1 = exhaustive exact: {r['library']}, {a['queries']} queries: cosine {a['cosine']:.1%}, "
                  f"NIST composite {a['nist']:.1%} (largest score lost {max(a['cosine_max_score_lost'], a['nist_max_score_lost']):.4f})")
    for r in rows:
        if r.get("note"):
            print(f"  note: {r['library']} / {r['engine']}: {r['note']}")
    if msms:
        print(f"MS/MS identity vs Flash: top-1 compared on {msms['compared']} queries, same hit {msms['same_top1']}, "
              f"max |score difference| {msms['max_abs_score_diff']:.2e}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out = {"rows": rows, "msms": msms, "generated": generated, "quick": args.quick}
    if args.generated_only and Path(args.out).exists():  # keep the other libraries' figures of an earlier run
        old = json.loads(Path(args.out).read_text())
        out["rows"] = [r for r in old.get("rows", []) if not r["library"].startswith("generated")] + rows
        out["msms"] = old.get("msms")
    out["generated_run"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
