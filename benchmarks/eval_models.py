"""Compound-grouped evaluation of what nps_id returns, on the real reference data (../shared/data).

By default (the product figures): the ``classify`` path end to end (:mod:`nps_id.end_to_end`), per technique
(GC-EI, MS/MS): per compound-grouped fold, library and models (class + identity) built from the other folds, the
held-out spectra classified with :func:`nps_id.classify.classify`, scored on the final ``class`` and ``verdict``
columns; identification rates and curve. Writes ``benchmarks/results/classify_<technique>.json`` and
``benchmarks/results/classify.md``.

With ``--estimator`` (a development aid, not a product figure), for the EI and the MS/MS models:

* K-fold compound-grouped cross-validation (no compound, by isotope-stripped InChIKey first block, on both
  sides of a split; deuterated standards and derivatives grouped with their parent) of
  :class:`nps_id.models.SpectrumClassifier`, with the nearest-library-hit baseline in the same folds:
  per class TPR at FPR 1 % and 0.5 %, ROC AUC, F1; macro-F1; ECE; confusion matrix; open-set rate.
* Suspect ranking: in the same folds, a :class:`nps_id.models.SubstructurePredictor` trained on the training
  fold ranks every held-out fentanyl-analogue spectrum's true structure among a suspect list (588 enumerated
  fentanyl-like structures plus every fentanyl analogue of the library, >= 600 in all).

Writes ``benchmarks/results/models_<kind>.json`` and ``benchmarks/results/models.md`` (figures only, no data).

Usage::

    python benchmarks/eval_models.py [--kinds ei msms] [--folds 5] [--max-queries 3000]
    python benchmarks/eval_models.py --estimator [--kinds ei msms] [--folds 5] [--max-other 15000] [--epochs 40]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from nps_id.config import cache_dir, data_dir
from nps_id.models.classifier import SpectrumClassifier
from nps_id.models.data import prepare
from nps_id.models.evaluation import _subset, compound_groups, cross_validate
from nps_id.models.features import as_batch
from nps_id.models.substructure import SubstructurePredictor
from nps_id.models.suspects import ANALOGUE_WEIGHT, enumerate_fentanyl_suspects, suspect_scores
from nps_id.spectra.library import SpectralLibrary

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = ("fentanyl_analogue", "fentanyl_precursor", "tramadol", "nitazene", "other_opioid", "synthetic_cathinone",
           "synthetic_cannabinoid", "phenethylamine", "tryptamine", "benzodiazepine")


def open_library() -> SpectralLibrary:
    """Both reference files in one cached library, labelled by nps_id.chem (built once)."""
    path = cache_dir() / "benchmark_models_library.h5"
    if path.exists():
        lib = SpectralLibrary.open(path)
    else:
        d = data_dir()
        lib = SpectralLibrary.build([d / "swgdrug_nist_ei.msp.gz", d / "massbank_open.msp.gz"], path, progress=False)
    return lib


def suspect_list(lib: SpectralLibrary, y_all: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Enumerated fentanyl-like suspects plus the library's fentanyl analogues, one per compound."""
    smiles = list(enumerate_fentanyl_suspects())
    lib_smiles = np.asarray(lib.column("smiles"))[y_all == "fentanyl_analogue"]
    smiles += sorted(set(str(s) for s in lib_smiles if s))
    keys = compound_groups(None, smiles=smiles, inchikeys=[""] * len(smiles))
    _, first = np.unique(keys, return_index=True)
    first = np.sort(first)
    return [smiles[i] for i in first], keys[first]


def rank_eval(data, splits, suspects, suspect_keys, epochs: int, kind: str, max_mz: int) -> dict:
    """Rank of the true structure of every held-out fentanyl analogue spectrum among the suspects: by the
    substructure model (fingerprint and mass; fingerprint only), and with the analogue evidence of the training
    fold's library (``rank_suspects(..., library=...)``, :mod:`nps_id.models.analogue`)."""
    batch = as_batch(data.library)
    ranks: dict[str, list[int]] = {"fingerprint_and_mass": [], "fingerprint_only": [], "with_library_analogues": []}
    for fold, (tr, te) in enumerate(splits):
        te_f = te[data.y[te] == "fentanyl_analogue"]
        if te_f.size == 0:
            continue
        model = SubstructurePredictor(mode=kind, max_mz=max_mz, epochs=epochs, random_state=fold)
        model.fit(_subset(batch, tr))
        test = _subset(batch, te_f)
        parts = suspect_scores(model, test, suspects, data.library.select(tr))
        scores = {"fingerprint_and_mass": parts["fingerprint"] + model.mass_weight * parts["mass"],
                  "fingerprint_only": parts["fingerprint"], "with_library_analogues": parts["total"]}
        for row, g in enumerate(data.groups[te_f]):
            hit = np.flatnonzero(suspect_keys == g)
            if hit.size == 0:
                continue
            for name, sc in scores.items():
                ranks[name].append(int((sc[row] > sc[row, hit[0]]).sum()) + 1)
        logging.info("ranking fold %d: %d fentanyl spectra", fold + 1, te_f.size)

    def summary(r: list[int]) -> dict:
        a = np.asarray(r)
        if not a.size:
            return {"n": 0}
        return {"n": int(a.size), "median_rank": float(np.median(a)), "mean_rank": float(a.mean()),
                "top1": float((a == 1).mean()), "top5": float((a <= 5).mean()), "top10": float((a <= 10).mean())}

    return {"n_suspects": len(suspects), "analogue_weight": ANALOGUE_WEIGHT,
            **{name: summary(r) for name, r in ranks.items()}}


def fmt_metrics(title: str, m: dict) -> list[str]:
    out = [f"**{title}**: accuracy {m['accuracy']:.3f}; macro-F1 over the target classes {m['macro_f1_targets']:.3f}; "
           f"macro-F1 over all classes {m['macro_f1_all']:.3f}" + (f"; ECE {m['ece']:.3f}" if "ece" in m else "")
           + f"; answered 'unknown' {m['unknown_rate']:.3f}", "",
           "| class | spectra | ROC AUC | TPR @ FPR 1% | TPR @ FPR 0.5% | F1 |", "|---|---:|---:|---:|---:|---:|"]
    for c, e in m["per_class"].items():
        out.append(f"| {c} | {e['n_spectra']} | {e.get('auc', float('nan')):.4f} | {e.get('tpr_at_fpr_0.01', float('nan')):.3f} | "
                   f"{e.get('tpr_at_fpr_0.005', float('nan')):.3f} | {e['f1']:.3f} |")
    return out + [""]


def fmt_confusion(m: dict) -> list[str]:
    labels = m["confusion_labels"]
    short = [lab[:10] for lab in labels]
    out = ["| true \\ predicted | " + " | ".join(short) + " |", "|---" * (len(labels) + 1) + "|"]
    for lab, row in zip(labels, m["confusion_matrix"]):
        out.append(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    return out + [""]


def end_to_end(lib: SpectralLibrary, args: argparse.Namespace) -> int:
    """The classify path per technique; JSON per technique and a Markdown summary with the curve."""
    from nps_id.end_to_end import evaluate_classify, format_report

    md = ["# nps_id classify, end to end (compound-grouped)", "",
          f"Library checksum {lib.checksum[:16]}... (both reference files); {args.folds} folds by parent compound; "
          "per fold the library is the other folds' spectra and the class and identity models are trained on it "
          "with the default model's settings; the held-out spectra are classified with `nps_id.classify.classify` "
          f"(at most {args.max_queries} per fold). Command: `python benchmarks/eval_models.py`.", ""]
    for kind in args.kinds:
        technique = {"ei": "gc_ei", "msms": "msms"}[kind]
        t0 = time.time()
        res = evaluate_classify(lib, technique, n_splits=args.folds, seed=args.seed, max_queries=args.max_queries,
                                progress=True)
        res["seconds"] = round(time.time() - t0, 1)
        res.pop("rows")  # per-query outcomes: figures only go into the results
        (RESULTS / f"classify_{technique}.json").write_text(json.dumps(res, indent=1, default=float))
        md += [f"## {technique} ({res['seconds']:.0f} s)", "", "```", format_report(res), "```", "",
               "Identification curve (threshold on the identity probability):", "",
               "| threshold | true identifications (replicates) | wrong identifications (replicates) | "
               "false identifications (absent compounds) |", "|---:|---:|---:|---:|"]
        for row in res["identification"]["curve"]:
            md.append(f"| {row['threshold']:.2f} | {row['true_identification_rate']:.3f} | "
                      f"{row['wrong_identification_rate_replicates']:.3f} | {row['false_identification_rate_absent']:.4f} |")
        md.append("")
        print("\n".join(md[-40:]))
        sys.stdout.flush()
    (RESULTS / "classify.md").write_text("\n".join(md) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", nargs="+", default=["ei", "msms"], choices=["ei", "msms"])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--max-other", type=int, default=15000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--no-ranking", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--estimator", action="store_true", help="cross-validate the class models alone (development aid)")
    ap.add_argument("--max-queries", type=int, default=3000,
                    help="end to end: at most this many held-out queries per fold (MS/MS folds hold ~15,000)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("nps_id.spectra.search.index", "nps_id.models.identity_data", "nps_id.chem.labels",
                 "nps_id.models.data", "nps_id.models.training", "nps_id.classify"):
        logging.getLogger(name).setLevel(logging.WARNING)
    RESULTS.mkdir(parents=True, exist_ok=True)
    lib = open_library()
    if not args.estimator:
        return end_to_end(lib, args)
    md = ["# nps_id models: compound-grouped evaluation", "",
          f"Library checksum {lib.checksum[:16]}...; {args.folds}-fold StratifiedGroupKFold by compound "
          "(isotope-stripped InChIKey first block; deuterated standards and derivatives with their parent). "
          "Baseline: class of the nearest training spectrum (cosine, 1-Da bins, square-root intensities), "
          "scored per class by the best cosine to that class, in the same folds.", ""]
    for kind in args.kinds:
        t0 = time.time()
        data = prepare(lib, kind, max_other_spectra=args.max_other if kind == "msms" else None, random_state=args.seed,
                       n_jobs=2)
        max_mz = 500 if kind == "ei" else 700
        targets = [c for c in TARGETS if c in data.report["classes"]]
        splits_holder: dict = {}

        def keep_split(fold, tr, te, model):
            splits_holder[fold] = (tr, te)

        res = cross_validate(lambda: SpectrumClassifier(mode=kind, max_mz=max_mz, random_state=args.seed),
                             data.library, data.y, data.groups, n_splits=args.folds, random_state=args.seed,
                             target_classes=targets, max_mz=max_mz, progress=True, on_fold=keep_split)
        res.pop("oof")
        res["data"] = data.report
        res["seconds_cv"] = time.time() - t0
        if not args.no_ranking and "fentanyl_analogue" in data.report["classes"]:
            t1 = time.time()
            y_all = np.asarray(lib.column("chem_class")).astype(str)
            suspects, keys = suspect_list(lib, y_all)
            splits = [splits_holder[f] for f in sorted(splits_holder)]
            res["suspect_ranking"] = rank_eval(data, splits, suspects, keys, args.epochs, kind, max_mz)
            res["seconds_ranking"] = time.time() - t1
        (RESULTS / f"models_{kind}.json").write_text(json.dumps(res, indent=2, default=float))
        name = {"ei": "EI (GC-MS)", "msms": "MS/MS"}[kind]
        md += [f"## {name}", "",
               f"{data.report['n_spectra']} spectra of {data.report['n_compounds']} compounds; left out: "
               f"{data.report['left_out_no_structure']} without a structure, rare classes "
               f"{data.report['left_out_rare_classes'] or 'none'}"
               + (f", {data.report.get('left_out_other_capped', 0)} 'other' spectra beyond the cap" if kind == "msms" else "")
               + ".", ""]
        md += fmt_metrics("SpectrumClassifier", res["model"])
        md += fmt_metrics("Baseline: nearest library hit", res["baseline"])
        md += ["Confusion matrix (SpectrumClassifier, rows true, columns predicted):", ""] + fmt_confusion(res["model"])
        if "suspect_ranking" in res:
            sr = res["suspect_ranking"]
            md += [f"Suspect ranking: held-out fentanyl-analogue spectra, true structure among {sr['n_suspects']} suspects:", ""]
            for k in ("with_library_analogues", "fingerprint_and_mass", "fingerprint_only"):
                s = sr[k]
                if s.get("n"):
                    md.append(f"- {k.replace('_', ' ')}: n={s['n']}, median rank {s['median_rank']:.1f}, mean {s['mean_rank']:.1f}, "
                              f"top-1 {s['top1']:.3f}, top-5 {s['top5']:.3f}, top-10 {s['top10']:.3f}")
            md.append("")
        print("\n".join(md[-60:]))
        sys.stdout.flush()
    (RESULTS / "models.md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
