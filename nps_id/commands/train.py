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

    from nps_id.models.io import save_model
    from nps_id.models.training import train_bundle
    from nps_id.spectra.library import SpectralLibrary

    log = logging.getLogger("nps_id.train")
    lib = SpectralLibrary.open(args.library)
    kinds = ("ei", "msms") if args.kind == "both" else (args.kind,)
    bundle = train_bundle(
        lib, kinds, substructure=not args.no_substructure, min_compounds=args.min_compounds,
        max_other=args.max_other, epochs=args.epochs, device=args.device, seed=args.seed, n_jobs=args.jobs,
        progress=False if args.no_progress else None,
    )
    if not bundle.classifiers and not bundle.substructure and not bundle.identity:
        log.error("no model could be trained from %s", args.library)
        return 1
    save_model(args.output, bundle.classifiers, bundle.substructure, library_checksum=lib.checksum,
               extra={"library": str(args.library), **bundle.manifest["extra"]}, identity=bundle.identity)
    log.info("model written to %s", args.output)
    return 0
