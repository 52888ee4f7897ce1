"""Hybrid (analogue) search against plain similarity search on the real GC-EI library (SWGDRUG + NIST fentanyls).

Protocol (issue 14, item 1): every labelled spectrum of the library is a query with its whole compound held out
(every spectrum with the same identity key, :func:`nps_id.models.identity.identity_keys`: same InChIKey
connectivity); the library is the labelled spectra (class from :mod:`nps_id.chem.labels`). Reported, for plain
similarity (NIST composite, nominal mass, the default GC-EI search) and hybrid search in the same run:

- for held-out fentanyl analogues: the fraction whose best hit is a fentanyl analogue (and, for hybrid, how many of
  those best hits matched through a shift);
- for every class: top-1 class agreement (the best hit's class is the query's), overall and per class;
- cost: queries per second of hybrid and of plain similarity on the same queries, same library, same process
  (no hold-out; k=10, default candidates), and their ratio.

Holding a compound out is done by searching the whole library with ``k`` and stage-1 candidates widened by the
largest number of spectra of one compound, then dropping the query compound's hits: the remaining candidates are a
superset of those of a search without the compound, so the best remaining hit is at least as good as that search's
(identical where the exact stage would have ranked the same).

Writes ``benchmarks/results/hybrid.json`` and ``benchmarks/results/hybrid.md``.

Usage::

    nice python benchmarks/bench_hybrid.py [--candidates 50] [--timing-queries 500]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

import numpy as np

from nps_id.config import cache_dir, data_dir
from nps_id.spectra.library import SpectralLibrary

RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench_hybrid")


def open_library() -> SpectralLibrary:
    """The SWGDRUG/NIST EI library, labelled, built once into the cache (never into the project)."""
    from nps_id.chem.labels import label_library

    path = cache_dir() / "bench_hybrid_swgdrug.h5"
    if path.exists():
        lib = SpectralLibrary.open(path)
        if "chem_class" in lib.columns:
            return lib
    else:
        lib = SpectralLibrary.build([data_dir() / "swgdrug_nist_ei.msp.gz"], path, progress=False)
    label_library(lib, n_jobs=2)
    return lib


def held_out_top1(index, queries: np.ndarray, keys: np.ndarray, mode: str, n_cand: int, extra: int) -> tuple:
    """Best hit of each query (rows of the index's library) with its own compound's spectra dropped."""
    k = extra + 1
    res = index.search_prepared(index.table.take(queries), k, metric="nist", mode=mode, n_candidates=n_cand + extra)
    idx = res.indices
    other = (idx >= 0) & (keys[np.maximum(idx, 0)] != keys[queries][:, None])
    first = np.argmax(other, axis=1)
    has = other[np.arange(idx.shape[0]), first]
    best = np.where(has, idx[np.arange(idx.shape[0]), first], -1)
    score = np.where(has, res.scores[np.arange(idx.shape[0]), first], np.nan)
    shift = None
    if res.shifts is not None:
        shift = np.where(has, res.shifts[np.arange(idx.shape[0]), first], np.nan)
    return best, score, shift


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", type=int, default=50, help="stage-1 candidates per query (default 50)")
    ap.add_argument("--timing-queries", type=int, default=500, help="queries for the speed comparison")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from nps_id.models.identity import identity_keys
    from nps_id.spectra.search.index import SearchIndex

    t_start = time.time()
    full = open_library()
    cls_all = np.asarray(full.column("chem_class")).astype(str)
    labelled = np.flatnonzero(~np.isin(cls_all, ["", "invalid"]))
    lib = full.select(labelled)
    cls = cls_all[labelled]
    keys, _ = identity_keys(lib)
    _, inv, counts = np.unique(keys, return_inverse=True, return_counts=True)
    extra = int(counts.max())
    log.info("%d labelled spectra, %d compounds, up to %d spectra per compound", len(lib), counts.size, extra)
    index = SearchIndex(lib, nominal=True)
    queries = np.arange(len(lib))

    out: dict = {"library": "swgdrug_nist_ei.msp.gz (labelled spectra)", "n_spectra": len(lib),
                 "n_compounds": int(counts.size), "candidates": args.candidates, "metric": "nist", "nominal": True,
                 "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"}
    from nps_id.spectra.search.hybrid import HybridParams

    variants = {  # name: (mode, hybrid settings, stage-1 candidates)
        "similarity": ("similarity", None, args.candidates),
        "hybrid": ("hybrid", HybridParams(), args.candidates),
        # sensitivity and controls (same protocol)
        "similarity, 200 candidates": ("similarity", None, 200),
        "hybrid, metric's candidates only": ("hybrid", HybridParams(coarse_intensity_power=None), args.candidates),
        "hybrid, no explained-fraction weight": ("hybrid", HybridParams(explained_power=0.0), args.candidates),
        "hybrid, explained fraction ^ 0.25": ("hybrid", HybridParams(explained_power=0.25), args.candidates),
        "hybrid, 3 shifted matches needed": ("hybrid", HybridParams(min_shifted=3), args.candidates),
    }
    tops = {}
    for name, (mode, hp, n_cand) in variants.items():
        index.hybrid_params = hp
        t0 = time.perf_counter()
        tops[name] = held_out_top1(index, queries, keys, mode, n_cand, extra)
        log.info("%s: held-out search of %d queries in %.1f s", name, queries.size, time.perf_counter() - t0)
    index.hybrid_params = None

    fent = cls == "fentanyl_analogue"
    rows = {}
    for mode, (best, score, shift) in tops.items():
        hit_cls = np.where(best >= 0, cls[np.maximum(best, 0)], "")
        agree = hit_cls == cls
        r = {
            "fentanyl_queries": int(fent.sum()),
            "fentanyl_compounds": int(np.unique(keys[fent]).size),
            "fentanyl_top1_is_fentanyl": float(np.mean(hit_cls[fent] == "fentanyl_analogue")),
            "non_fentanyl_top1_is_fentanyl": float(np.mean(hit_cls[~fent] == "fentanyl_analogue")),
            "top1_class_agreement_all": float(agree.mean()),
            "top1_class_agreement_macro": float(np.mean([agree[cls == c].mean() for c in np.unique(cls)])),
            "per_class": {str(c): {"n": int((cls == c).sum()), "agreement": float(agree[cls == c].mean())}
                          for c in np.unique(cls)},
            "fentanyl_median_top1_score": float(np.nanmedian(score[fent])),
        }
        r["settings"] = {"mode": variants[mode][0], "candidates": variants[mode][2],
                         "hybrid": None if variants[mode][1] is None else vars(variants[mode][1])}
        if shift is not None:
            shifted = np.isfinite(shift) & (shift != 0)
            r["fentanyl_top1_shifted"] = float(np.mean(shifted[fent]))
            r["fentanyl_top1_shifted_and_fentanyl"] = float(np.mean(shifted[fent] & (hit_cls[fent] == "fentanyl_analogue")))
            r["all_top1_shifted"] = float(np.mean(shifted))
            vals, n = np.unique(np.abs(shift[fent & shifted]), return_counts=True)
            r["fentanyl_common_shifts"] = {f"{v:g}": int(c) for v, c in sorted(zip(vals, n), key=lambda t: -t[1])[:8]}
        rows[mode] = r
    # queries whose top-1 class changed
    s_hit = cls[np.maximum(tops["similarity"][0], 0)]
    h_hit = cls[np.maximum(tops["hybrid"][0], 0)]
    out["changed"] = {
        "fentanyl_gained": int(np.sum(fent & (h_hit == "fentanyl_analogue") & (s_hit != "fentanyl_analogue"))),
        "fentanyl_lost": int(np.sum(fent & (h_hit != "fentanyl_analogue") & (s_hit == "fentanyl_analogue"))),
        "non_fentanyl_now_fentanyl_hit": int(np.sum(~fent & (h_hit == "fentanyl_analogue") & (s_hit != "fentanyl_analogue"))),
        "all_gained": int(np.sum((h_hit == cls) & (s_hit != cls))),
        "all_lost": int(np.sum((h_hit != cls) & (s_hit == cls))),
    }
    out["results"] = rows

    # cost: same queries, same library, same process, default k and candidates
    rng = np.random.default_rng(args.seed)
    tq = np.sort(rng.choice(len(lib), min(args.timing_queries, len(lib)), replace=False))
    qt = index.table.take(tq)
    timing: dict[str, list[float]] = {"similarity": [], "hybrid": []}
    for mode in ("similarity", "hybrid", "similarity", "hybrid"):  # interleaved, each twice
        t0 = time.perf_counter()
        index.search_prepared(qt, 10, metric="nist", mode=mode, n_candidates=args.candidates)
        timing[mode].append(tq.size / (time.perf_counter() - t0))
    timing = {m: float(np.mean(v)) for m, v in timing.items()}
    out["timing"] = {"queries": int(tq.size), "k": 10, "q_per_s_similarity": timing["similarity"],
                     "q_per_s_hybrid": timing["hybrid"], "hybrid_cost_ratio": timing["similarity"] / timing["hybrid"],
                     "load_average_1min": os.getloadavg()[0]}
    out["seconds_total"] = time.time() - t_start
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hybrid.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "hybrid.md").write_text(markdown(out) + "\n")
    print(markdown(out))
    return 0


def markdown(out: dict) -> str:
    s, h = out["results"]["similarity"], out["results"]["hybrid"]
    t = out["timing"]
    lines = [
        "# Hybrid (analogue) search vs plain similarity, GC-EI (benchmarks/bench_hybrid.py)",
        "",
        f"Library: {out['library']}, {out['n_spectra']} spectra of {out['n_compounds']} compounds; every spectrum a "
        f"query with its whole compound held out; NIST composite on nominal mass, {out['candidates']} stage-1 "
        f"candidates. Machine: {out['machine']}.",
        "",
        "| | similarity | hybrid |",
        "|---|---|---|",
        f"| held-out fentanyl analogues ({s['fentanyl_queries']} spectra, {s['fentanyl_compounds']} compounds): "
        f"best hit is a fentanyl analogue | {s['fentanyl_top1_is_fentanyl']:.3f} | {h['fentanyl_top1_is_fentanyl']:.3f} |",
        f"| all classes: top-1 class agreement | {s['top1_class_agreement_all']:.3f} | "
        f"{h['top1_class_agreement_all']:.3f} |",
        f"| all classes: mean per-class agreement | {s['top1_class_agreement_macro']:.3f} | "
        f"{h['top1_class_agreement_macro']:.3f} |",
        f"| queries/s ({t['queries']} queries, k=10, same run) | {t['q_per_s_similarity']:.0f} | "
        f"{t['q_per_s_hybrid']:.0f} |",
        "",
        f"Hybrid costs {t['hybrid_cost_ratio']:.1f}x the time of plain similarity (1-min load average at the end of "
        f"the timing: {t.get('load_average_1min', float('nan')):.1f}). Fentanyl best hits matched through "
        f"a shift: {h['fentanyl_top1_shifted']:.3f} (of which fentanyl analogues: "
        f"{h['fentanyl_top1_shifted_and_fentanyl']:.3f}); most common shifts {h['fentanyl_common_shifts']}. "
        f"Changes against similarity: {out['changed']}.",
        "",
        "| class | n | similarity | hybrid |",
        "|---|---|---|---|",
    ]
    for c, v in s["per_class"].items():
        lines.append(f"| {c} | {v['n']} | {v['agreement']:.3f} | {h['per_class'][c]['agreement']:.3f} |")
    lines += ["", "Sensitivity and controls (same protocol; the first two rows are the table above):", "",
              "| variant | fentanyl -> fentanyl | other -> fentanyl | top-1 class agreement | top-1 hits through a shift |",
              "|---|---|---|---|---|"]
    for name, r in out["results"].items():
        lines.append(f"| {name} | {r['fentanyl_top1_is_fentanyl']:.3f} | {r['non_fentanyl_top1_is_fentanyl']:.3f} | "
                     f"{r['top1_class_agreement_all']:.3f} | "
                     f"{r.get('all_top1_shifted', 0.0):.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
