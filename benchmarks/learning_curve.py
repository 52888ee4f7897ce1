"""Learning curve of the EI class model: held-out-compound accuracy against the number of training compounds.

Answers "would more reference spectra help, and how much?" on the real data. In the compound-grouped folds
of ``eval_models.py`` (same seed, same splits), the default EI :class:`nps_id.models.SpectrumClassifier` and
the nearest-hit baseline are trained on a fraction of each training fold's compounds (drawn per class, at
least one compound of every class, all spectra of a drawn compound), and always tested on the whole held-out
fold. Reported per fraction: macro-F1 over the target classes, per-class F1, fentanyl-analogue TPR at FPR
1 % and 0.5 %, for the model and the baseline.

Writes ``benchmarks/results/learning_curve_ei_seed<seed>.json`` and prints a table.

Usage::

    python benchmarks/learning_curve.py [--fractions 0.25 0.5 0.75 1] [--folds 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_models import RESULTS, TARGETS, open_library  # noqa: E402

from nps_id.models.classifier import SpectrumClassifier  # noqa: E402
from nps_id.models.data import prepare  # noqa: E402
from nps_id.models.evaluation import _subset, classification_metrics, grouped_splits, nearest_hit_baseline  # noqa: E402
from nps_id.models.features import as_batch  # noqa: E402


def draw_compounds(y: np.ndarray, groups: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of the spectra of a per-class random `fraction` of the compounds (>= 1 compound per class)."""
    keep = np.zeros(y.size, dtype=bool)
    for c in np.unique(y):
        comps = np.unique(groups[y == c])
        k = max(1, int(round(fraction * comps.size)))
        chosen = rng.choice(comps, size=k, replace=False)
        keep |= (y == c) & np.isin(groups, chosen)
    return np.flatnonzero(keep)


def summarise(m: dict, targets: list[str]) -> dict:
    fa = m["per_class"].get("fentanyl_analogue", {})
    return {
        "macro_f1_targets": m["macro_f1_targets"],
        "macro_f1_all": m["macro_f1_all"],
        "accuracy": m["accuracy"],
        "fentanyl_tpr_at_fpr_0.01": fa.get("tpr_at_fpr_0.01"),
        "fentanyl_tpr_at_fpr_0.005": fa.get("tpr_at_fpr_0.005"),
        "f1": {c: m["per_class"][c]["f1"] for c in targets},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    t0 = time.time()
    lib = open_library()
    data = prepare(lib, "ei", random_state=args.seed, n_jobs=2)
    y, groups = data.y, data.groups
    classes = np.unique(y)
    targets = [c for c in TARGETS if c in classes]
    batch = as_batch(data.library)
    splits = grouped_splits(y, groups, args.folds, args.seed)
    rows = []
    for fraction in args.fractions:
        rng = np.random.default_rng(args.seed)
        proba = np.zeros((y.size, classes.size))
        pred = np.empty(y.size, dtype=object)
        base_pred = np.empty(y.size, dtype=object)
        base_scores = np.zeros((y.size, classes.size))
        n_comp = []
        for fold, (tr, te) in enumerate(splits):
            sub = tr[draw_compounds(y[tr], groups[tr], fraction, rng)]
            n_comp.append(np.unique(groups[sub]).size)
            train, test = _subset(batch, sub), _subset(batch, te)
            model = SpectrumClassifier(mode="ei", max_mz=500, random_state=args.seed)
            model.fit(train, y[sub], groups=groups[sub])
            cols = [int(np.flatnonzero(classes == c)[0]) for c in model.classes_]
            proba[np.ix_(te, cols)] = model.predict_proba(test)
            pred[te] = model.predict(test)
            base_pred[te], base_scores[te] = nearest_hit_baseline(train, y[sub], test, classes, max_mz=500)
            logging.info("fraction %.2f fold %d/%d: %d training spectra of %d compounds", fraction, fold + 1,
                         len(splits), sub.size, n_comp[-1])
        model_m = classification_metrics(y, pred, proba, classes, targets, proba=proba)
        base_m = classification_metrics(y, base_pred, base_scores, classes, targets)
        rows.append({"fraction": fraction, "training_compounds_mean": float(np.mean(n_comp)),
                     "model": summarise(model_m, targets), "baseline": summarise(base_m, targets)})
        r = rows[-1]
        print(f"fraction {fraction:.2f} ({r['training_compounds_mean']:.0f} training compounds): model macro-F1 "
              f"{r['model']['macro_f1_targets']:.3f}, fentanyl TPR {r['model']['fentanyl_tpr_at_fpr_0.01']:.3f} / "
              f"{r['model']['fentanyl_tpr_at_fpr_0.005']:.3f}; baseline macro-F1 {r['baseline']['macro_f1_targets']:.3f}",
              flush=True)
    out = {"kind": "ei", "folds": len(splits), "seed": args.seed, "library_checksum": lib.checksum,
           "n_spectra": int(y.size), "n_compounds": int(np.unique(groups).size), "targets": targets,
           "rows": rows, "seconds": time.time() - t0}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"learning_curve_ei_seed{args.seed}.json").write_text(json.dumps(out, indent=2, default=float))
    head = "| fraction | training compounds | model macro-F1 | baseline macro-F1 | fentanyl TPR 1 % / 0.5 % | " + \
        " | ".join(t.replace("_", " ") for t in targets) + " |"
    print("\n" + head + "\n" + "|---" * (5 + len(targets)) + "|")
    for r in rows:
        m = r["model"]
        print(f"| {r['fraction']:.2f} | {r['training_compounds_mean']:.0f} | {m['macro_f1_targets']:.3f} | "
              f"{r['baseline']['macro_f1_targets']:.3f} | {m['fentanyl_tpr_at_fpr_0.01']:.3f} / "
              f"{m['fentanyl_tpr_at_fpr_0.005']:.3f} | " + " | ".join(f"{m['f1'][t]:.3f}" for t in targets) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
