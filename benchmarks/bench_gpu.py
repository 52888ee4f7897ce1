"""GPU library search benchmark: nps_id's search on CUDA against the same search on the same machine's CPU.

Libraries and queries are made from the real SWGDRUG/NIST EI spectra exactly as in ``bench_search.py``
(:func:`bench_search.scaled_library`: perturbed copies of random real spectra, seed 1 for libraries, 99 for
queries). For each library size and stage-1 precision it measures, in one run:

* batch search on the GPU (both stages and the top-k there, ``device=dev``), cosine and NIST composite:
  queries per second over ``--queries`` queries after a warm-up, and the stage split;
* the named baseline: the same search with ``device="cpu"`` on the same machine (all its cores), on fewer queries;
* agreement: the GPU's top-10 against the CPU's on the baseline's queries (same hits, largest score
  difference, whether the GPU's top-1 ever scores lower), and the GPU two-stage top-1 against exhaustive scoring
  of every library spectrum on the GPU (also with more stage-1 candidates, ``--extra-candidates``);
* on bf16 indexes, the same GPU search with the plain torch stage 1 (score blocks instead of the Triton
  kernels) and a check of the kernels against the same algorithm in plain torch;
* single-query latency on the GPU (median of many one-spectrum searches) and peak GPU memory.

Needs a CUDA device. Usage (the data folder holds ``swgdrug_nist_ei.msp.gz``; default ``../shared/data``)::

    python benchmarks/bench_gpu.py [--data DIR] [--sizes 100000 1000000] [--queries 65536] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_search import DATA, scaled_library  # noqa: E402

from nps_id.spectra.search._peaks import as_peak_table  # noqa: E402

logger = logging.getLogger("bench_gpu")


def _timed(fn, sync):
    sync()
    t = time.perf_counter()
    out = fn()
    sync()
    return time.perf_counter() - t, out


def agreement(a, b) -> dict:
    """Share of (query, rank) hits that are the same library spectrum, or an equal score (ties), and the largest
    score difference."""
    same = (a.indices == b.indices) | np.isclose(a.scores, b.scores, rtol=0, atol=1e-9)
    return {"same_hits": float(same.mean()), "same_top1": float(same[:, 0].mean()),
            "max_abs_score_diff": float(np.nanmax(np.abs(a.scores - b.scores))),
            "top1_not_lower": float((a.scores[:, 0] >= b.scores[:, 0] - 1e-12).mean()),
            "max_top1_lower_by": float(np.max(b.scores[:, 0] - a.scores[:, 0]))}


def kernel_check(index, queries, metric: str, dev: str, n_check: int = 1024) -> dict:
    """The Triton stage 1 against the same algorithm in plain torch (float32) on `n_check` queries: largest
    difference of the group maxima and of the top-50 scores, and the share of equal top-50 sets."""
    import torch

    from nps_id.spectra.search import _triton
    from nps_id.spectra.search.binned import bin_rows
    from nps_id.spectra.search.exact import MetricParams

    spec = index._coarse_spec(MetricParams(metric))
    _, mp, ip, _, _ = spec
    L = index._device_matrix(spec, dev)
    rows = bin_rows(queries, index.lo, index.width, mp, ip, False, slice(0, n_check), index.colmap)
    q = torch.from_numpy(rows).to(dev).bfloat16()
    with torch.inference_mode():
        g1, g0 = _triton.group_maxima(q, L, True), _triton.group_maxima(q, L, False)
        assert torch.equal(torch.isinf(g1), torch.isinf(g0))  # the same padding
        gm = (g1 - g0)[torch.isfinite(g0)].abs().max().item()
        v1, i1 = _triton.grouped_topk(q, L, 50, fused=True)
        v0, i0 = _triton.grouped_topk(q, L, 50, fused=False)
        same = (torch.sort(i1, 1).values == torch.sort(i0, 1).values).all(1).float().mean().item()
        dv = (v1 - v0).abs().max().item()
    out = {"queries": n_check, "group_max_abs_diff": gm, "top50_score_abs_diff": dv, "same_top50_sets": same}
    logger.info("kernel check %s", out)
    return out


def bench_size(real, size: int, queries, n_cpu: int, n_exhaustive: int, n_single: int, dtypes, batch_sizes,
               dev: str = "cuda", extra_candidates: tuple[int, ...] = ()) -> list[dict]:
    import torch

    from nps_id.spectra.search import SearchIndex

    cuda = dev.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    lib = real if size == len(real) else scaled_library(real, size, seed=1)
    rows = []
    for dtype in dtypes:
        t_build, index = _timed(lambda: SearchIndex.build(lib, metrics=("cosine", "nist"), coarse_dtype=dtype), sync)
        for metric in ("cosine", "nist"):
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            t_up, _ = _timed(lambda: index.search(queries.take(np.arange(256)), k=10, metric=metric, device=dev), sync)
            row = {"library": "real EI" if lib is real else f"scaled EI {size:,}", "n_library": size, "dtype": dtype, "metric": metric,
                   "build_s": t_build, "first_call_s": t_up, "n_queries": len(queries)}
            for bs in batch_sizes:
                index.search(queries.take(np.arange(bs)), k=10, metric=metric, device=dev, batch_size=bs)  # warm-up
                best = None
                for _ in range(3):
                    t, res = _timed(lambda: index.search(queries, k=10, metric=metric, device=dev, batch_size=bs), sync)
                    if best is None or t < best[0]:
                        best = (t, res)
                row[f"gpu_qps_batch{bs}"] = len(queries) / best[0]
                row[f"gpu_split_batch{bs}"] = best[1].timings
                logger.info("%s %s %s batch %d: %.0f q/s %s", size, dtype, metric, bs, len(queries) / best[0], best[1].timings)
            row["gpu_qps"] = max(row[f"gpu_qps_batch{bs}"] for bs in batch_sizes)
            if cuda and dtype == "bf16":  # the same search with the plain torch stage 1 (score blocks, no Triton)
                from nps_id.spectra.search import _triton

                bs = max(batch_sizes, key=lambda b: row[f"gpu_qps_batch{b}"])
                _triton.ENABLED = False
                try:
                    index.search(queries.take(np.arange(bs)), k=10, metric=metric, device=dev, batch_size=bs)
                    t, res = _timed(lambda: index.search(queries, k=10, metric=metric, device=dev, batch_size=bs), sync)
                finally:
                    _triton.ENABLED = True
                row["gpu_qps_plain_stage1"] = len(queries) / t
                row["gpu_split_plain_stage1"] = res.timings
                row["kernel_check"] = kernel_check(index, queries, metric, dev)
            row["gpu_peak_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
            # the named baseline: the CPU search of the same index on this machine, fewer queries
            qc = queries.take(np.arange(n_cpu))
            index.search(qc.take(np.arange(64)), k=10, metric=metric)
            t_cpu, cpu = _timed(lambda: index.search(qc, k=10, metric=metric), sync)
            gpu = index.search(qc, k=10, metric=metric, device=dev)
            row["cpu_qps"] = n_cpu / t_cpu
            row["cpu_split"] = cpu.timings
            row["gpu_vs_cpu"] = row["gpu_qps"] / row["cpu_qps"]
            row["gpu_vs_cpu_top10"] = agreement(gpu, cpu)
            # two-stage top-1 against exhaustive exact scoring (every library spectrum a candidate), on the GPU
            if n_exhaustive:
                qe = queries.take(np.arange(n_exhaustive))
                full = index.search(qe, k=1, metric=metric, device=dev, n_candidates=len(lib), batch_size=1)
                for n_cand in (index.n_candidates,) + tuple(extra_candidates if dtype == "bf16" else ()):
                    fast = index.search(qe, k=1, metric=metric, device=dev, n_candidates=n_cand)
                    a = agreement(fast, full)
                    key = "top1_vs_exhaustive" + ("" if n_cand == index.n_candidates else f"_cand{n_cand}")
                    row[key] = {"queries": n_exhaustive, "same_top1": a["same_top1"], "max_score_lost": a["max_top1_lower_by"]}
                    if n_cand != index.n_candidates:
                        t, _ = _timed(lambda: index.search(queries, k=10, metric=metric, device=dev, n_candidates=n_cand), sync)
                        row[key]["gpu_qps"] = len(queries) / t
            # one query at a time
            if metric == "cosine":
                times = []
                for i in range(n_single):
                    t, _ = _timed(lambda: index.search(queries.take([i]), k=10, metric=metric, device=dev), sync)
                    times.append(t)
                row["gpu_single_ms_median"] = 1000 * float(np.median(times[5:]))
            logger.info("%s", row)
            rows.append(row)
        del index
        if cuda:
            torch.cuda.empty_cache()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA), help="folder holding swgdrug_nist_ei.msp.gz")
    ap.add_argument("--sizes", type=int, nargs="*", default=[2702, 100_000, 1_000_000],
                    help="library sizes; the real library's own size (2,702) uses it unchanged")
    ap.add_argument("--queries", type=int, default=65_536)
    ap.add_argument("--cpu-queries", type=int, default=4096)
    ap.add_argument("--exhaustive", type=int, default=100, help="queries checked against exhaustive scoring")
    ap.add_argument("--extra-candidates", type=int, nargs="*", default=[200],
                    help="bf16: also time and check the search with these n_candidates")
    ap.add_argument("--single", type=int, default=105)
    ap.add_argument("--dtypes", nargs="*", default=["bf16", "fp32"])
    ap.add_argument("--batch-sizes", type=int, nargs="*", default=[4096, 8192, 16384])
    ap.add_argument("--out", default=str(ROOT / "results" / "search_gpu.json"))
    ap.add_argument("--device", default="cuda", help="'cpu' only to try the script itself on a machine without CUDA")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    from nps_id.spectra import load_spectra

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py needs a CUDA device")
    env = {"gpu": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "none (device=cpu)", "torch": torch.__version__, "cuda": torch.version.cuda,
           "cpu_threads": torch.get_num_threads(), "python": platform.python_version(), "numpy": np.__version__}
    logger.info("%s", env)
    real = as_peak_table(load_spectra(Path(args.data) / "swgdrug_nist_ei.msp.gz"))
    queries = scaled_library(real, args.queries, seed=99)
    rows = []
    for size in args.sizes:
        rows += bench_size(real, size, queries, args.cpu_queries, args.exhaustive, args.single, args.dtypes, args.batch_sizes,
                           args.device, tuple(args.extra_candidates))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"env": env, "rows": rows}, indent=1))
    print(f"GPU: {env['gpu']}, torch {env['torch']} (CUDA {env['cuda']}), {env['cpu_threads']} CPU threads")
    print(f"{'library':<20}{'dtype':<6}{'metric':<8}{'GPU q/s':>10}{'plain q/s':>10}{'CPU q/s':>9}{'x CPU':>7}"
          f"{'single ms':>10}{'GPU GiB':>9}{'top10=CPU':>10}{'top1=exh':>9}")
    for r in rows:
        ex = r.get("top1_vs_exhaustive", {})
        print(f"{r['library']:<20}{r['dtype']:<6}{r['metric']:<8}{r['gpu_qps']:>10.0f}{r.get('gpu_qps_plain_stage1', float('nan')):>10.0f}"
              f"{r['cpu_qps']:>9.0f}{r['gpu_vs_cpu']:>7.1f}{r.get('gpu_single_ms_median', float('nan')):>10.2f}"
              f"{r['gpu_peak_mem_gib']:>9.2f}{r['gpu_vs_cpu_top10']['same_hits']:>10.4f}{ex.get('same_top1', float('nan')):>9.3f}")
    for r in rows:
        for key, a in r.items():
            if key.startswith("top1_vs_exhaustive_cand"):
                print(f"  {r['library']} {r['dtype']} {r['metric']}, n_candidates {key.rsplit('cand', 1)[1]}: "
                      f"{a['gpu_qps']:.0f} q/s, top-1 = exhaustive {a['same_top1']:.3f} (largest loss {a['max_score_lost']:.4f})")
    for r in rows:
        if r.get("kernel_check"):
            print(f"  Triton vs torch stage 1, {r['library']} {r['metric']}: {r['kernel_check']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
