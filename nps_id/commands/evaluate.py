"""``python -m nps_id evaluate``: what ``classify`` returns on compounds held out of library and models together
(:mod:`nps_id.end_to_end`); ``--estimator``: the class models' own cross-validation (a development aid)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command."""
    p = sub.add_parser(
        "evaluate",
        help="evaluate what classify returns on compounds held out of library and model (end to end)",
        description=(
            "By default: per compound-grouped fold, the library is built from the other folds, the class and "
            "identity models are trained on it, and the fold's spectra are classified through the same code as "
            "`classify`; scored on the final verdict and class columns (class TPR/FPR/F1, macro-F1, false "
            "identifications of absent compounds, true identifications of replicate spectra, the identification "
            "curve). --estimator: the class models' own compound-grouped cross-validation with the nearest-hit "
            "baseline (a development aid). With -m MODEL and --estimator: a saved model on LIB's labelled spectra."
        ),
    )
    p.add_argument("-l", "--library", required=True, help="library with structures (.h5)")
    p.add_argument("-m", "--model", help="saved model folder to evaluate instead of cross-validating")
    p.add_argument("--kind", choices=("ei", "msms", "both"), default="both")
    p.add_argument("--estimator", action="store_true",
                   help="cross-validate the class models alone instead of the classify path (development aid)")
    p.add_argument("--max-queries", type=int, default=None,
                   help="end to end: at most this many held-out queries per fold (default all)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--min-compounds", type=int, default=3)
    p.add_argument("--max-other", type=int, default=20000, help="--estimator: cap on 'other' spectra (default 20000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None, help="worker processes for structure labelling")
    p.add_argument("--json", dest="json_out", help="also write the figures as JSON to this file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


TARGET_CLASSES = (
    "fentanyl_analogue", "fentanyl_precursor", "tramadol", "nitazene", "other_opioid", "synthetic_cathinone",
    "synthetic_cannabinoid", "phenethylamine", "tryptamine", "benzodiazepine",
)


def _table(name: str, metrics: dict, out: list[str]) -> None:
    out.append(f"{name}: accuracy {metrics['accuracy']:.3f}, macro-F1 (target classes) {metrics['macro_f1_targets']:.3f}, "
               f"macro-F1 (all) {metrics['macro_f1_all']:.3f}" + (f", ECE {metrics['ece']:.3f}" if "ece" in metrics else ""))
    out.append(f"  {'class':24s} {'n':>5s} {'AUC':>7s} {'TPR@1%':>7s} {'TPR@.5%':>7s} {'F1':>6s}")
    for c, e in metrics["per_class"].items():
        out.append(
            f"  {c:24s} {e['n_spectra']:5d} {e.get('auc', float('nan')):7.4f} {e.get('tpr_at_fpr_0.01', float('nan')):7.3f} "
            f"{e.get('tpr_at_fpr_0.005', float('nan')):7.3f} {e['f1']:6.3f}"
        )


def _end_to_end(args: argparse.Namespace, lib, kinds: tuple[str, ...], log) -> int:
    """The classify path, end to end (:func:`nps_id.end_to_end.evaluate_classify`), per technique."""
    import json
    import sys

    from nps_id.defaults import DEFAULT_TRAINING
    from nps_id.end_to_end import evaluate_classify, format_report

    results = {}
    training = {**DEFAULT_TRAINING, "min_compounds": args.min_compounds}  # the default model's settings
    for kind, technique in (("ei", "gc_ei"), ("msms", "msms")):
        if kind not in kinds:
            continue
        try:
            results[technique] = evaluate_classify(
                lib, technique, n_splits=args.folds, seed=args.seed, max_queries=args.max_queries, training=training,
                progress=not args.no_progress and sys.stderr.isatty())
        except ValueError as exc:
            log.warning("%s: not evaluated (%s)", technique, exc)
    if not results:
        log.error("nothing could be evaluated in %s", args.library)
        return 1
    sys.stdout.write("\n".join(format_report(r) for r in results.values()) + "\n")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(results, fh, indent=1, default=float)
        log.info("figures written to %s", args.json_out)
    return 0


def run(args: argparse.Namespace) -> int:
    """Evaluate and print per-class figures; exit code 1 if nothing could be evaluated."""
    import json
    import logging
    import sys

    import numpy as np

    from nps_id.models.classifier import SpectrumClassifier
    from nps_id.models.data import prepare
    from nps_id.models.evaluation import classification_metrics, cross_validate
    from nps_id.spectra.library import SpectralLibrary

    log = logging.getLogger("nps_id.evaluate")
    lib = SpectralLibrary.open(args.library)
    kinds = ("ei", "msms") if args.kind == "both" else (args.kind,)
    if not args.estimator:
        return _end_to_end(args, lib, kinds, log)
    bundle = None
    if args.model:
        from nps_id.models.io import load_model

        bundle = load_model(args.model)
        if bundle.library_checksum == lib.checksum:
            log.warning("the model was trained on this very library: these figures are not on unseen compounds")
    results: dict = {}
    lines: list[str] = []
    for kind in kinds:
        data = prepare(lib, kind, min_compounds=args.min_compounds, max_other_spectra=args.max_other,
                       random_state=args.seed, n_jobs=args.jobs)
        if len(data.report["classes"]) < 2:
            log.warning("%s: fewer than 2 classes to evaluate; skipped", kind)
            continue
        targets = [c for c in TARGET_CLASSES if c in data.report["classes"]]
        if bundle is not None:
            clf = bundle.classifiers.get(kind)
            if clf is None:
                log.warning("the model has no %s classifier; skipped", kind)
                continue
            proba = clf.predict_proba(data.library)
            pred = clf.predict(data.library)
            classes = [str(c) for c in clf.classes_]
            seen = np.isin(data.y, classes)
            metrics = classification_metrics(data.y[seen], pred[seen], proba[seen], classes, targets, proba=proba[seen])
            results[kind] = {"model": metrics, "data": data.report}
            _table(f"{kind} (saved model)", metrics, lines)
        else:
            max_mz = 500 if kind == "ei" else 700
            res = cross_validate(
                lambda: SpectrumClassifier(mode=kind, max_mz=max_mz, random_state=args.seed),
                data.library, data.y, data.groups, n_splits=args.folds, random_state=args.seed,
                target_classes=targets, max_mz=max_mz, progress=not args.no_progress and sys.stderr.isatty(),
            )
            res.pop("oof")
            res["data"] = data.report
            results[kind] = res
            _table(f"{kind} model ({res['folds']}-fold compound-grouped CV, {res['n_compounds']} compounds)", res["model"], lines)
            _table(f"{kind} baseline (nearest library hit)", res["baseline"], lines)
    if not results:
        log.error("nothing could be evaluated in %s", args.library)
        return 1
    sys.stdout.write("\n".join(lines) + "\n")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(results, fh, indent=2, default=float)
        log.info("figures written to %s", args.json_out)
    return 0
