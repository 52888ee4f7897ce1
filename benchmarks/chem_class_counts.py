"""Class counts over the reference spectra in ../shared/data (spectra with a SMILES, by chem class).

Reads both MSP files, labels every spectrum with :func:`nps_id.chem.labels.label_smiles` (derivative
flags honoured) and prints, per file, how many spectra, distinct structures (distinct SMILES strings)
and compounds (distinct InChIKey connectivity of the parent structure, as the models count them) fall in
each class, plus the control-status counts. A class with fewer than 3 compounds cannot be learned.
Run: ``python benchmarks/chem_class_counts.py [--n-jobs 2]``.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter

from nps_id.chem.labels import label_smiles
from nps_id.chem.structure import inchikey, parent_structure
from nps_id.config import data_dir
from nps_id.spectra import load_spectra

FILES = ("swgdrug_nist_ei.msp.gz", "massbank_open.msp.gz")
log = logging.getLogger("chem_class_counts")


def _compound(smiles: str, derivative: object) -> str:
    """InChIKey connectivity of the parent structure ("" when it cannot be parsed)."""
    try:
        return inchikey(parent_structure(smiles, derivative=str(derivative).lower() in ("true", "1")))[:14]
    except Exception:  # unparsable SMILES are counted under "invalid" already
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in FILES:
        spectra = load_spectra(data_dir() / name)
        smiles = [s.metadata.get("smiles", "") for s in spectra]
        deriv = [s.metadata.get("is_derivative", "") for s in spectra]
        start = time.perf_counter()
        cols = label_smiles(smiles, derivative=deriv, n_jobs=args.n_jobs)
        elapsed = time.perf_counter() - start
        with_smiles = [i for i, s in enumerate(smiles) if s]
        spectra_per_class = Counter(cols["chem_class"][i] for i in with_smiles)
        structures_per_class = Counter(c for c, _ in {(cols["chem_class"][i], smiles[i]) for i in with_smiles})
        compounds_per_class = Counter(c for c, _ in {(cols["chem_class"][i], _compound(smiles[i], deriv[i]))
                                                     for i in with_smiles})
        lines = [f"\n{name}: {len(spectra)} spectra, {len(with_smiles)} with SMILES, "
                 f"{len(set(smiles[i] for i in with_smiles))} distinct SMILES; labelled in {elapsed:.1f} s",
                 f"{'class':<24}{'spectra':>9}{'structures':>12}{'compounds':>11}"]
        for cls, n in spectra_per_class.most_common():
            lines.append(f"{cls:<24}{n:>9}{structures_per_class[cls]:>12}{compounds_per_class[cls]:>11}")
        status = Counter(cols["control_status"][i] for i in with_smiles)
        lines.append("control status: " + ", ".join(f"{k or '(invalid)'} {v}" for k, v in status.most_common()))
        log.info("\n".join(lines))


if __name__ == "__main__":
    main()
