"""Benchmark: deconvolution of co-eluting compounds in synthetic GC-MS runs made from real EI spectra, and speed.

(a) Accuracy. Each synthetic run (:func:`nps_id.runs.synthetic.make_run`) holds two or three compounds drawn at
random from the real SWGDRUG/NIST EI spectra (pairwise cosine below 0.9 within a run, so that they differ), with
Gaussian or exponentially modified Gaussian elution profiles (sigma 2-3 scans, tail tau 0.5-1.5 sigma in half of
the runs), consecutive apexes at a chromatographic resolution drawn from 0.3-1.5, abundance ratios up to 1:5,
a constant background on every ion, a 50 % drift, column-bleed ions, counting plus electronic noise and an
abundance threshold. :func:`nps_id.runs.find_components` runs with its defaults. Each true compound is paired
with an extracted component within half a peak width of its apex (an assignment maximising the match factor);
the extracted spectrum is compared with the compound's library spectrum (NIST-style composite match factor x 999
and plain cosine x 999), and searched against the whole EI library (nps_id's ``SearchIndex``, metric ``nist``):
is the true compound (same InChIKey skeleton, or same name) the top hit? The same is asked of the library
spectrum itself and of the compound alone in a run with the same noise (isolated, extracted the same way).

(b) Speed. A synthetic 30-minute run of about 3,000 scans (0.6 s a scan, m/z 35-550) with 80 compounds at
random retention times (some co-eluting) is processed by ``find_components``; the best of ``--repeat`` times.

Usage::

    python benchmarks/bench_runs.py            # 240 runs + the speed run (a few minutes)
    python benchmarks/bench_runs.py --quick    # 12 runs + the speed run (for CI, seconds)

Results go to ``benchmarks/results/runs.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger("bench_runs")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LIBRARY = ROOT.parent / "shared" / "data" / "swgdrug_nist_ei.msp.gz"
BANDS = ((0.3, 0.5), (0.5, 0.75), (0.75, 1.0), (1.0, 1.5))


def _identity(spec) -> str:
    key = str(spec.metadata.get("inchikey") or "").strip()
    if key:
        return key.split("-")[0]
    return str(spec.metadata.get("name") or "").strip().lower()


def _unit_vectors(spectra: list, width: int = 1024) -> np.ndarray:
    out = np.zeros((len(spectra), width), dtype=np.float32)
    for i, s in enumerate(spectra):
        cols = np.clip(np.rint(s.mz).astype(np.int64), 0, width - 1)
        np.add.at(out[i], cols, s.intensity)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norm, 1e-12)


def _pick(rng: np.random.Generator, vectors: np.ndarray, n: int, max_cosine: float = 0.9) -> list[int]:
    while True:
        idx = rng.choice(vectors.shape[0], size=n, replace=False)
        sims = vectors[idx] @ vectors[idx].T
        if (sims[np.triu_indices(n, 1)] < max_cosine).all():
            return [int(i) for i in idx]


def _scores(extracted, truth) -> tuple[float, float]:
    from nps_id.spectra.search import cosine_greedy, nist_match_factor

    return 999.0 * nist_match_factor(extracted, truth), 999.0 * cosine_greedy(extracted, truth)


def _match(table, truth, fwhm_scans: np.ndarray, scan_interval: float) -> list[tuple[int | None, float, float]]:
    """Pair true compounds with extracted components (within half a peak width of the apex), maximising the
    composite match factor; return per compound (component index or None, MF, cosine x 999)."""
    from scipy.optimize import linear_sum_assignment

    comps = list(table)
    k = len(truth.spectra)
    mf = np.zeros((k, len(comps)))
    cos = np.zeros((k, len(comps)))
    for i in range(k):
        tol = 0.5 * fwhm_scans[i] * scan_interval
        for j, c in enumerate(comps):
            if abs(c.rt - truth.apex_rt[i]) <= tol:
                mf[i, j], cos[i, j] = _scores(c.spectrum, truth.spectra[i])
    out: list[tuple[int | None, float, float]] = [(None, 0.0, 0.0)] * k
    if comps:
        rows, cols = linear_sum_assignment(-mf)
        for i, j in zip(rows, cols):
            if mf[i, j] > 0:
                out[i] = (int(j), float(mf[i, j]), float(cos[i, j]))
    return out


def _synthetic(rng, spectra, idx, resolution, noise, heights=(3e4, 3e5), min_ratio=0.2):
    from nps_id.runs.synthetic import make_run, profile_fwhm, spacing_for_resolution

    n = len(idx)
    sigma = rng.uniform(2.0, 3.0) * rng.uniform(0.9, 1.1, n)
    tau = sigma * rng.uniform(0.5, 1.5, n) if rng.random() < 0.5 else np.zeros(n)
    fwhm = np.array([profile_fwhm(s, t) for s, t in zip(sigma, tau)])
    apex = [60.0]
    for i in range(1, n):
        apex.append(apex[-1] + spacing_for_resolution(resolution, fwhm[i - 1], fwhm[i]))
    top = np.exp(rng.uniform(np.log(heights[0]), np.log(heights[1])))
    height = top * np.exp(rng.uniform(np.log(min_ratio), 0.0, n))
    n_scans = int(apex[-1] + 60 + 8 * tau.max())
    run, truth = make_run([spectra[i] for i in idx], apex, sigma, tau, height, n_scans=n_scans, rng=rng, **noise)
    return run, truth, fwhm


def accuracy(spectra: list, n_runs: int, seed: int, options: dict | None = None, heights=(3e4, 3e5),
             min_ratio: float = 0.2) -> dict:
    from nps_id.runs import find_components
    from nps_id.spectra.search import SearchIndex

    options = options or {}
    rng = np.random.default_rng(seed)
    vectors = _unit_vectors(spectra)
    ids = [_identity(s) for s in spectra]
    index = SearchIndex(spectra)
    noise = {"background": 200.0, "drift": 0.5, "bleed": 3000.0, "gain": 4.0, "electronic_noise": 40.0, "threshold": 100.0}
    rows = []
    queries, owners = [], []
    t0 = time.perf_counter()
    for r in range(n_runs):
        resolution = float(rng.uniform(0.3, 1.5))
        n = 2 if r % 2 == 0 else 3
        idx = _pick(rng, vectors, n)
        run, truth, fwhm = _synthetic(rng, spectra, idx, resolution, noise, heights, min_ratio)
        table = find_components(run, **options)
        matched = _match(table, truth, fwhm, run.scan_interval)
        # the same compounds alone (isolated peaks, same noise): what the search gives without co-elution
        for i, (j, mf, cos) in enumerate(matched):
            solo_run, solo_truth, solo_fwhm = _synthetic(rng, spectra, [idx[i]], 1.0, noise,
                                                         (truth.height[i], truth.height[i]), 1.0)
            solo_table = find_components(solo_run, **options)
            solo = _match(solo_table, solo_truth, solo_fwhm, solo_run.scan_interval)[0]
            rows.append(
                {
                    "run": r, "n_compounds": n, "resolution": resolution, "library_index": idx[i],
                    "height_ratio": float(truth.height[i] / truth.height.max()), "tailing": bool(truth.tau[i] > 0),
                    "found": j is not None, "mf": mf, "cosine": cos, "n_components": len(table),
                    "isolated_found": solo[0] is not None, "isolated_mf": solo[1],
                }
            )
            queries.append(table[j].spectrum if j is not None else None)
            owners.append(("extracted", len(rows) - 1))
            queries.append(solo_table[solo[0]].spectrum if solo[0] is not None else None)
            owners.append(("isolated", len(rows) - 1))
    elapsed = time.perf_counter() - t0
    # library search: extracted, isolated and the pure library spectra
    present = [q for q in queries if q is not None]
    hits = index.search(present, k=1, metric="nist").indices[:, 0] if present else np.empty(0, np.int64)
    it = iter(hits)
    for q, (what, row) in zip(queries, owners):
        rows[row][f"{what}_top1"] = bool(q is not None and ids[next(it)] == ids[rows[row]["library_index"]])
    pure_hits = index.search([spectra[row["library_index"]] for row in rows], k=1, metric="nist").indices[:, 0]
    for row, h in zip(rows, pure_hits):
        row["pure_top1"] = bool(ids[h] == ids[row["library_index"]])
    return {"rows": rows, "seconds": elapsed, "bands": _summarise(rows)}


def _summarise(rows: list[dict]) -> list[dict]:
    out = []
    groups = [(f"{lo}-{hi}", lambda r, lo=lo, hi=hi: lo <= r["resolution"] < hi or (hi == 1.5 and r["resolution"] == 1.5))
              for lo, hi in (*BANDS, (0.5, 1.5), (0.3, 1.5))]
    groups += [
        ("0.5-1.5, minor (<= 1:2)", lambda r: r["resolution"] >= 0.5 and r["height_ratio"] <= 0.5),
        ("0.5-1.5, tailing", lambda r: r["resolution"] >= 0.5 and r["tailing"]),
        ("0.5-1.5, 3 compounds", lambda r: r["resolution"] >= 0.5 and r["n_compounds"] == 3),
    ]
    for label, keep in groups:
        sel = [r for r in rows if keep(r)]
        if not sel:
            continue
        runs = {r["run"]: r["n_components"] - r["n_compounds"] for r in sel}
        mean = lambda key: float(np.mean([bool(r[key]) if isinstance(r[key], bool) else r[key] for r in sel]))  # noqa: E731
        out.append(
            {
                "resolution": label,
                "compounds": len(sel),
                "found": mean("found"),
                "mf_ge_800": float(np.mean([r["mf"] >= 800 for r in sel])),
                "cosine_ge_800": float(np.mean([r["cosine"] >= 800 for r in sel])),
                "median_mf": float(np.median([r["mf"] for r in sel])),
                "top1_extracted": mean("extracted_top1"),
                "top1_isolated": mean("isolated_top1"),
                "top1_pure": mean("pure_top1"),
                "isolated_mf_ge_800": float(np.mean([r["isolated_mf"] >= 800 for r in sel])),
                "components_minus_compounds": float(np.mean(list(runs.values()))),
            }
        )
    return out


def speed(spectra: list, seed: int, repeat: int, options: dict | None = None) -> dict:
    from nps_id.runs import find_components
    from nps_id.runs.synthetic import make_run

    rng = np.random.default_rng(seed)
    n_scans, n_compounds = 3000, 80
    idx = rng.choice(len(spectra), size=n_compounds, replace=False)
    apex = np.sort(rng.uniform(40, n_scans - 40, n_compounds))
    sigma = rng.uniform(2.0, 3.0, n_compounds) * (1 + apex / n_scans * 0.5)
    tau = sigma * rng.uniform(0.0, 1.0, n_compounds)
    height = np.exp(rng.uniform(np.log(1e4), np.log(5e5), n_compounds))
    run, _ = make_run([spectra[i] for i in idx], apex, sigma, tau, height, n_scans=n_scans, mz_range=(35, 550),
                      scan_interval=0.01, rt_start=3.0, bleed=5000.0, rng=rng)
    best, table = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        table = find_components(run, **(options or {}))
        best = min(best, time.perf_counter() - t0)
    return {"n_scans": run.n_scans, "n_mz": run.n_mz, "minutes": float(run.rt[-1] - run.rt[0]),
            "compounds": n_compounds, "components_found": len(table), "seconds": best}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=Path, default=DEFAULT_LIBRARY, help="EI library (MSP)")
    parser.add_argument("--quick", action="store_true", help="12 runs, one timing (for CI)")
    parser.add_argument("--runs", type=int, default=None, help="synthetic runs (default 240, 12 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timings of the speed run; the best is reported")
    parser.add_argument("--heights", type=float, nargs=2, default=(3e4, 3e5), metavar=("LO", "HI"),
                        help="range of the largest compound's base-peak apex abundance (default 3e4 3e5)")
    parser.add_argument("--min-ratio", type=float, default=0.2,
                        help="smallest abundance of a compound relative to the largest in its run (default 0.2)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a deconvolution option for find_components (repeatable), e.g. --set ion_snr=4")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default benchmarks/results/runs.json; runs_quick.json with --quick)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = ROOT / "benchmarks" / "results" / ("runs_quick.json" if args.quick else "runs.json")
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from nps_id.spectra import load_spectra

    options = {}
    for item in args.set:
        name, _, value = item.partition("=")
        options[name.strip()] = json.loads(value)
    spectra = [s for s in load_spectra(args.library) if s.n_peaks >= 5]
    n_runs = args.runs or (12 if args.quick else 240)
    acc = accuracy(spectra, n_runs, args.seed, options, tuple(args.heights), args.min_ratio)
    spd = speed(spectra, args.seed + 1, 1 if args.quick else args.repeat, options)

    print(f"{'resolution':>24s} {'cmpds':>6s} {'found':>6s} {'MF>=800':>8s} {'cos>=800':>8s} {'med MF':>7s} "
          f"{'top1 ext':>8s} {'top1 iso':>8s} {'top1 pure':>9s} {'comp-cmpd':>9s}")
    for b in acc["bands"]:
        print(f"{b['resolution']:>24s} {b['compounds']:6d} {b['found']:6.3f} {b['mf_ge_800']:8.3f} {b['cosine_ge_800']:8.3f} "
              f"{b['median_mf']:7.0f} {b['top1_extracted']:8.3f} {b['top1_isolated']:8.3f} {b['top1_pure']:9.3f} "
              f"{b['components_minus_compounds']:9.2f}")
    print(f"accuracy runs: {n_runs} in {acc['seconds']:.1f} s")
    print(f"speed: {spd['n_scans']} scans x {spd['n_mz']} m/z ({spd['minutes']:.0f} min), {spd['compounds']} compounds, "
          f"{spd['components_found']} components in {spd['seconds']:.2f} s")
    columns = list(acc["rows"][0]) if acc["rows"] else []
    result = {"quick": args.quick, "runs": n_runs, "seed": args.seed, "library": args.library.name, "options": options,
              "heights": list(args.heights), "min_ratio": args.min_ratio, "bands": acc["bands"],
              "accuracy_seconds": acc["seconds"], "speed": spd, "compound_columns": columns}
    rows = [json.dumps([round(v, 4) if isinstance(v, float) else v for v in (r[c] for c in columns)])
            for r in acc["rows"]]
    text = json.dumps(result, indent=1)[:-2] + ',\n "compounds": [\n  ' + ",\n  ".join(rows) + "\n ]\n}\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
