"""Search benchmark on generated libraries of distinct GC-EI-like spectra (part of ``bench_search.py``).

For each size: a library of distinct spectra and realistic queries (:mod:`generated`), one index (bf16 stage 1,
256 folded columns), and, timed in one run:

* nps_id cosine, NIST composite and entropy: queries per second over all queries (``index.search``: nominal mass,
  stage 1, exact stage; batches of 1,024), stage 1 and exact-stage seconds separately;
* per-batch seconds with batches of 250 queries where the first batch holds every query with decimal m/z or two
  peaks in one nominal bin (the case that used to move a batch off the unit-mass exact path), and the ratio of the
  slowest batch to the median batch;
* top-1 against exhaustive exact scoring on the first queries, each metric: every library spectrum either scored
  with the exact engine or ruled out by a proven upper bound of its exact score (:func:`bounded_top1`), and on
  libraries up to 100k also every pair scored exactly (:func:`exhaustive_top1`) for 50 queries, the two compared;
* Flash (``ms_entropy.FlashEntropySearch``) open search on the same nominal-mass queries: its rate, and its top-1
  (exact entropy over the whole library) against nps_id's entropy top-1;
* matchms ``CosineGreedy`` on a subset, its rate scaled to the library.
"""

from __future__ import annotations

import gc
import logging
import resource
import time

import numpy as np

from generated import generated_library, generated_queries

METRICS = ("cosine", "nist", "entropy")


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def exhaustive_top1(index, queries, metric: str, per_call: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 library spectrum and score of each query (prepared) by the exact engine over the whole library."""
    from nps_id.spectra.search._pairs import _in_pieces
    from nps_id.spectra.search.clean import clean_for_entropy, entropy_weights
    from nps_id.spectra.search.exact import MetricParams, score_pairs_unit

    params = MetricParams(metric)
    lib = index.entropy_table() if metric == "entropy" else index.table
    q = entropy_weights(clean_for_entropy(queries, min_diff=0.05, precursor_removal=1.6)) if metric == "entropy" else queries
    lw = index._lib_weights(params)
    N = len(lib)
    best_i = np.full(len(q), -1, dtype=np.int64)
    best_s = np.full(len(q), np.nan)
    for s in range(0, len(q), per_call):
        e = min(len(q), s + per_call)
        pq = np.repeat(np.arange(s, e, dtype=np.int64), N)
        pl = np.tile(np.arange(N, dtype=np.int64), e - s)
        sc = _in_pieces(lambda a, b: score_pairs_unit(q, lib, a, b, params, *lw), pq, pl, piece=1 << 18).reshape(e - s, N)
        best_i[s:e] = np.argmax(sc, axis=1)
        best_s[s:e] = sc[np.arange(e - s), best_i[s:e]]
    return best_i, best_s


def _dense(table, values: np.ndarray, width: int, rows: slice) -> np.ndarray:
    """Dense float32 [spectra, width] rows of per-peak `values` at nominal m/z (each m/z an integer bin)."""
    a, b = table.offsets[rows.start], table.offsets[rows.stop]
    seg = np.repeat(np.arange(rows.stop - rows.start), np.diff(table.offsets[rows.start : rows.stop + 1]))
    out = np.zeros((rows.stop - rows.start, width), dtype=np.float32)
    out[seg, np.rint(table.mz[a:b]).astype(np.int64)] = values[a:b]
    return out


def bounded_top1(index, queries, metric: str, margin: float = 1e-4, first: int = 64,
                 chunk: int = 65536) -> tuple[np.ndarray, np.ndarray, int]:
    """Exhaustive top-1 for nominal-mass data, each library spectrum either scored exactly or ruled out by an
    upper bound of its exact score computed for the whole library (dense float32 products on 1-Da bins):

    * cosine: the cosine of the binned vectors (on nominal mass one peak per bin: the exact score itself);
    * nist: ``(n_q F_D + n_c) / (n_q + n_c)`` with the exact ``F_D`` and shared-peak count ``n_c`` (the ratio
      term ``F_R <= 1`` replaced by 1; the composite grows with it);
    * entropy: ``sum sqrt(a_i b_i)`` over shared bins (each term ``(a+b) H(a/(a+b)) <= 2 sqrt(a/2 b/2)``,
      ``H`` the binary entropy, Topsoe's bound ``H(p) <= 2 sqrt(p(1-p))``).

    The spectra with the `first` highest bounds are scored exactly; every spectrum whose bound is within `margin`
    of the best exact score is then scored too. Returns (top-1, its score, pairs scored exactly).
    """
    import torch

    from nps_id.spectra.search.clean import clean_for_entropy, entropy_weights
    from nps_id.spectra.search.exact import MetricParams, score_pairs_unit

    params = MetricParams(metric)
    lib = index.entropy_table() if metric == "entropy" else index.table
    q = entropy_weights(clean_for_entropy(queries, min_diff=0.05, precursor_removal=1.6)) if metric == "entropy" else queries
    width = int(max(lib.mz.max(), q.mz.max())) + 2

    def values(t):
        w = np.asarray(t.intensity, dtype=np.float64)
        if metric == "entropy":
            return np.sqrt(w)
        if metric == "nist":
            w = w**0.6 * t.mz**3
        seg = np.repeat(np.arange(len(t)), np.diff(t.offsets))
        return w / np.sqrt(np.bincount(seg, weights=w * w, minlength=len(t)))[seg]

    vq, vl = values(q), values(lib)
    Qd = torch.from_numpy(_dense(q, vq, width, slice(0, len(q))))
    Qi = (Qd > 0).float()
    n_q = torch.from_numpy(np.diff(q.offsets).astype(np.float32))[:, None]
    bound = torch.empty((len(q), len(lib)), dtype=torch.float32)
    for s in range(0, len(lib), chunk):
        e = min(len(lib), s + chunk)
        L = torch.from_numpy(_dense(lib, vl, width, slice(s, e)))
        d = Qd @ L.T
        if metric == "nist":
            n_c = Qi @ (L > 0).float().T
            d = (n_q * d * d + n_c) / (n_q + n_c).clamp_min(1)
        bound[:, s:e] = d
    lw = index._lib_weights(params)
    _, top = torch.topk(bound, first, dim=1)
    pq = np.repeat(np.arange(len(q)), first)
    pl = top.numpy().reshape(-1)
    sc = score_pairs_unit(q, lib, pq, pl, params, *lw).reshape(len(q), first)
    best = sc.max(1)
    # every spectrum whose bound reaches the best exact score (less the margin) is scored exactly
    need = (bound >= torch.from_numpy(best - margin).float()[:, None]).nonzero().numpy()
    sc_all = score_pairs_unit(q, lib, need[:, 0], need[:, 1], params, *lw)
    best_i = np.full(len(q), -1, dtype=np.int64)
    best_s = np.full(len(q), -np.inf)
    order = np.lexsort((need[:, 1], -sc_all, need[:, 0]))
    firsts = order[np.r_[True, need[order[1:], 0] != need[order[:-1], 0]]] if order.size else order
    best_i[need[firsts, 0]], best_s[need[firsts, 0]] = need[firsts, 1], sc_all[firsts]
    return best_i, best_s, int(need.shape[0] + pq.size)


def _flash(lib, prepared, n_q: int, label: str, rows: list, ent_top1: tuple) -> dict:
    from ms_entropy import FlashEntropySearch

    spectra = [{"precursor_mz": 0.0, "peaks": np.c_[lib.mz[a:b], lib.intensity[a:b]].astype(np.float32), "i": i}
               for i, (a, b) in enumerate(zip(lib.offsets[:-1], lib.offsets[1:]))]
    flash = FlashEntropySearch()
    t_b, ordered = _timed(lambda: flash.build_index(spectra, precursor_ions_removal_da=None))
    orig = np.array([d["i"] for d in ordered])
    spectra = ordered = None  # freed before the queries run
    qp = [flash.clean_spectrum_for_search(0.0, np.c_[prepared.mz[a:b], prepared.intensity[a:b]].astype(np.float32),
                                          precursor_ions_removal_da=None)
          for a, b in zip(prepared.offsets[:-1][:n_q], prepared.offsets[1:][:n_q])]
    t_s, res = _timed(lambda: [flash.open_search(peaks=p, ms2_tolerance_in_da=0.02) for p in qp])
    idx, sc = ent_top1
    same, diffs = 0, []
    for i, r in enumerate(res):
        j = int(np.argmax(r))
        diffs.append(abs(float(r[j]) - sc[i]))
        same += int(orig[j] == idx[i] or abs(float(r[j]) - sc[i]) < 1e-6)
    rows.append({"library": label, "n_library": len(lib), "engine": "Flash open (entropy)", "batch_qps": n_q / t_s,
                 "single_ms": 1000 * t_s / n_q, "build_s": t_b, "peak_rss_gib": _rss_gib(), "note": f"{n_q} queries"})
    logging.info("%s", rows[-1])
    flash = None
    gc.collect()
    return {"queries": n_q, "same_top1": same, "max_abs_score_diff": max(diffs) if diffs else 0.0}


def _matchms(lib, prepared, n_q: int, n_l: int, label: str, rows: list) -> None:
    import matchms
    from matchms.similarity import CosineGreedy

    def mk(t, i):
        a, b = t.offsets[i], t.offsets[i + 1]
        return matchms.Spectrum(mz=t.mz[a:b].astype(float), intensities=t.intensity[a:b].astype(float),
                                metadata={"precursor_mz": 1.0})

    refs = [mk(lib, i) for i in range(min(n_l, len(lib)))]
    qs = [mk(prepared, i) for i in range(n_q)]
    cg = CosineGreedy(tolerance=0.1)
    cg.matrix(refs[:2], qs[:1])  # numba warm-up
    t, _ = _timed(lambda: cg.matrix(refs, qs))
    per_s = n_q * len(refs) / t
    rows.append({"library": label, "n_library": len(lib), "engine": "matchms CosineGreedy", "batch_qps": per_s / len(lib),
                 "single_ms": 1000 * len(lib) / per_s, "build_s": 0.0, "peak_rss_gib": _rss_gib(),
                 "note": f"timed on {n_q} queries x {len(refs)} library spectra, scaled to {len(lib):,}"})


def batch_times(index, queries, odd: np.ndarray, metric: str, size: int = 250) -> list[float]:
    """Seconds per batch of `size` queries, every odd query (`odd`: bool per query) in the first batch."""
    order = np.concatenate([np.flatnonzero(odd), np.flatnonzero(~odd)])
    out = []
    for s in range(0, order.size - size + 1, size):
        t, _ = _timed(lambda: index.search(queries.take(order[s : s + size]), k=10, metric=metric, batch_size=size))
        out.append(t)
    return out


def bench_generated(sizes: list[int], n_queries: int, n_exhaustive: int, flash: dict, mm_sub: tuple[int, int],
                    rows: list, plain_up_to: int = 100_000, plain_queries: int = 50) -> dict:
    """Run the generated-library benchmark (see the module docstring); rows go to `rows`, extras are returned.

    `flash` maps a library size to the number of Flash queries (sizes not in it: no Flash). Top-1 against
    exhaustive exact scoring: :func:`bounded_top1` at every size, checked against scoring every pair
    (:func:`exhaustive_top1`) for the first `plain_queries` queries on libraries of up to `plain_up_to` spectra.
    """
    import torch

    from nps_id.spectra.search import SearchIndex
    from nps_id.spectra.search.exact import unit_rows

    torch.set_num_threads(2)
    extra: dict = {}
    for size in sizes:
        label = f"generated EI {size:,}"
        t_gen, lib = _timed(lambda: generated_library(size, seed=1))
        queries, _ = generated_queries(lib, n_queries, seed=99)
        odd = ~unit_rows(queries, 0.1)
        t_build, index = _timed(lambda: SearchIndex.build(lib, metrics=METRICS, coarse_dtype="bf16"))
        info = {"generate_s": t_gen, "index_build_s": t_build, "n_queries": n_queries, "odd_queries": int(odd.sum()),
                "mean_peaks": float(np.diff(lib.offsets).mean())}
        prepared, _ = index.prepare(queries)
        for metric in METRICS:
            index.search(queries.take(np.arange(64)), k=10, metric=metric)  # warm-up
            t, res = _timed(lambda: index.search(queries, k=10, metric=metric, batch_size=1024))
            bt = batch_times(index, queries, odd, metric)
            row = {"library": label, "n_library": size, "engine": f"nps_id {metric} (bf16)", "batch_qps": n_queries / t,
                   "single_ms": float("nan"), "build_s": t_build, "coarse_s": res.timings["coarse"],
                   "exact_s": res.timings["exact"], "batch_s": bt, "batch_max_over_median": max(bt) / float(np.median(bt)),
                   "peak_rss_gib": _rss_gib()}
            rows.append(row)
            logging.info("%s", row)
            if metric == "entropy":
                ent = (res.indices[:, 0], res.scores[:, 0])
        top1 = {"queries": n_exhaustive}
        q_ex = prepared.take(np.arange(n_exhaustive))
        for metric in METRICS:
            t_ex, (bi, bs, n_pairs) = _timed(lambda: bounded_top1(index, q_ex, metric))
            fast = index.search_prepared(q_ex, k=1, metric=metric)
            same = (fast.indices[:, 0] == bi) | np.isclose(fast.scores[:, 0], bs, rtol=0, atol=1e-9)
            top1[metric] = float(same.mean())
            top1[f"{metric}_max_score_lost"] = float(np.max(bs - fast.scores[:, 0]))
            top1[f"{metric}_exhaustive_s"] = t_ex
            top1[f"{metric}_pairs_scored_exactly"] = n_pairs
            if size <= plain_up_to:  # the bound method against scoring every pair exactly, on the first queries
                n_pl = min(plain_queries, len(q_ex))
                t_pl, (pi, ps) = _timed(lambda: exhaustive_top1(index, q_ex.take(np.arange(n_pl)), metric))
                agree = (pi == bi[:n_pl]) | np.isclose(ps, bs[:n_pl], rtol=0, atol=1e-9)
                top1[f"{metric}_bounded_equals_every_pair"] = f"{int(agree.sum())}/{n_pl}"
                top1[f"{metric}_every_pair_s"] = t_pl
            logging.info("top-1 vs exhaustive %s %s: %s", label, metric, top1)
        info["top1_vs_exhaustive"] = top1
        index = None
        gc.collect()
        if size in flash:
            info["flash_top1"] = _flash(lib, prepared, flash[size], label, rows, (ent[0], ent[1]))
        if mm_sub[0]:
            _matchms(lib, prepared, mm_sub[0], mm_sub[1], label, rows)
        extra[label] = info
        lib = queries = prepared = None
        gc.collect()
    return extra
