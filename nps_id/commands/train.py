"""``python -m nps_id train -l LIB.h5 -o MODEL``: train the EI and MS/MS classifiers and substructure models."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
    p = sub.add_parser(
        "train",
        help="train class and substructure models on a reference library",
        description=(
            "Train, for each spectrum type present (EI; MS/MS), a calibrated drug-class classifier with an "
            "open-set 'unknown' answer and a substructure-fingerprint model, on the library's spectra with "
            "structures (labels from nps_id.chem), and save them as a model folder (skops + safetensors + JSON "
            "manifest with the library checksum)."
        ),
    )
    p.add_argument("-l", "--library", required=True, help="training library (.h5, from `nps_id library build`)")
    p.add_argument("-o", "--output", required=True, help="model folder to write")
    p.add_argument("--kind", choices=("ei", "msms", "both"), default="both", help="which models to train (default both)")
    p.add_argument("--no-substructure", action="store_true", help="train the classifiers only")
    p.add_argument("--min-compounds", type=int, default=3, help="leave out classes with fewer compounds (default 3)")
    p.add_argument(
        "--max-other", type=int, default=20000,
        help="cap on 'other' spectra per model, whole compounds drawn at random (default 20000)",
    )
    p.add_argument("--epochs", type=int, default=60, help="epochs of the substructure model (default 60)")
    p.add_argument("--device", default="cpu", help="device of the substructure model: cpu, cuda, cuda:N, auto")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes for structure labelling")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train and save; exit code 1 if no model could be trained."""
    import logging
    import sys

    from tqdm import tqdm

    from nps_id.models.classifier import SpectrumClassifier
    from nps_id.models.data import prepare
    from nps_id.models.io import save_model
    from nps_id.models.substructure import SubstructurePredictor, resolve_device
    from nps_id.spectra.library import SpectralLibrary

    log = logging.getLogger("nps_id.train")
    resolve_device(args.device)  # fail early on a bad device
    lib = SpectralLibrary.open(args.library)
    kinds = ("ei", "msms") if args.kind == "both" else (args.kind,)
    steps = [(k, part) for k in kinds for part in (("classifier",) if args.no_substructure else ("classifier", "substructure"))]
    bar = tqdm(total=len(steps) + len(kinds), desc="training", unit="step", disable=args.no_progress or not sys.stderr.isatty())
    classifiers, substructure, reports = {}, {}, {}
    for kind in kinds:
        bar.set_postfix_str(f"{kind}: selecting and labelling")
        data = prepare(lib, kind, min_compounds=args.min_compounds, max_other_spectra=args.max_other,
                       random_state=args.seed, n_jobs=args.jobs)
        bar.update(1)
        reports[kind] = data.report
        if len(data.report["classes"]) < 2:
            log.warning("%s: fewer than 2 classes with enough compounds (%s); no %s model trained",
                        kind, data.report["classes"], kind)
            bar.update(len([s for s in steps if s[0] == kind]))
            continue
        bar.set_postfix_str(f"{kind}: classifier")
        max_mz = 500 if kind == "ei" else 700
        clf = SpectrumClassifier(mode=kind, max_mz=max_mz, random_state=args.seed)
        clf.fit(data.library, data.y, groups=data.groups)
        classifiers[kind] = clf
        log.info("%s classifier: %d classes, temperature %.2f, open-set similarity threshold %.3f",
                 kind, len(clf.classes_), clf.temperature_, clf.similarity_threshold_ or float("nan"))
        bar.update(1)
        if not args.no_substructure:
            bar.set_postfix_str(f"{kind}: substructure model")
            sub = SubstructurePredictor(mode=kind, max_mz=max_mz, epochs=args.epochs, device=args.device,
                                        random_state=args.seed)
            sub.fit(data.library)
            substructure[kind] = sub
            bar.update(1)
    bar.close()
    if not classifiers and not substructure:
        log.error("no model could be trained from %s", args.library)
        return 1
    save_model(args.output, classifiers, substructure, library_checksum=lib.checksum,
               extra={"library": str(args.library), "training_data": reports})
    log.info("model written to %s", args.output)
    return 0
