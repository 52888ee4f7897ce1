"""``python -m nps_id demo``: the whole pipeline on a handful of real spectra, ending in an HTML report.

The demo builds (first use) or reuses the default library and model, writes a small case folder of query
spectra taken from the reference data, classifies it and writes ``results.csv``, ``results.json`` and
``report.html``. The case folder holds

* *replicates*: spectra of compounds that are in the library (fentanyl, cocaine, the fentanyl precursor NPP,
  ketamine, caffeine, and an LC-MS/MS fentanyl spectrum), each perturbed the way a second measurement
  differs (intensity noise, small peaks lost, a few noise peaks) -- *identified* where the identity model is sure
  enough; those with close isomers in the library stay candidates with their class;
* *new compounds*: real spectra of compounds (a fentanyl analogue, a cathinone, a synthetic cannabinoid, a
  benzodiazepine) that
  the demo withholds from its copy of the library, playing the part of a substance no library has yet --
  these should be *classified* (or *unknown*), with the nearest controlled substances. The default class
  model was trained with these compounds, so its confidence on them is optimistic; the report says so;
* one damaged record (an empty spectrum), which keeps its row as *skipped* with the reason.
"""

from __future__ import annotations

import argparse

#: (name in the reference data, ionisation wanted, role)
DEMO_QUERIES: tuple[tuple[str, str, str], ...] = (
    ("Fentanyl", "EI", "replicate"),
    ("Cocaine", "EI", "replicate"),
    ("1-(2-Phenethyl)-4-piperidone", "EI", "replicate"),
    ("Ketamine", "EI", "replicate"),
    ("Caffeine", "EI", "replicate"),
    ("Fentanyl", "ESI", "replicate"),
    ("para-Methoxyfentanyl", "EI", "new"),
    ("4-Fluoropentedrone", "EI", "new"),
    ("FUB-144", "EI", "new"),
    ("Phenazepam", "EI", "new"),
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on a handful of real spectra and write an HTML report",
        description=(
            "Build (first use) or reuse the default library and model, classify a small demo case folder "
            "and write results.csv, results.json and report.html."
        ),
    )
    p.add_argument("-o", "--output", default="nps_id_demo", help="folder for the demo's inputs and results (default ./nps_id_demo)")
    p.add_argument("--data", help="reference-data folder (default: NPS_ID_DATA or ../shared/data)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="worker processes (-1: one per core)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _perturb(spectrum, rng):
    """A second 'measurement': +-15 % intensity noise, peaks under 1 % lost, three small noise peaks."""
    import numpy as np

    from nps_id.spectra.spectrum import Spectrum

    mz = np.asarray(spectrum.x, dtype=float)
    inten = np.asarray(spectrum.intensity, dtype=float)
    inten = inten * rng.uniform(0.85, 1.15, inten.size)
    keep = inten >= 0.01 * inten.max()
    mz, inten = mz[keep], inten[keep]
    lo, hi = max(float(mz.min()) - 10, 1.0), float(mz.max())
    noise_mz = np.round(rng.uniform(lo, hi, 3)) + (0.0 if spectrum.precursor_mz is None else 0.003)
    noise_i = rng.uniform(0.005, 0.02, 3) * inten.max()
    mz = np.concatenate([mz, noise_mz])
    inten = np.concatenate([inten, noise_i])
    return Spectrum(mz, inten, kind=spectrum.kind, precursor_mz=spectrum.precursor_mz,
                    metadata=dict(spectrum.metadata), sort=True)


def build_demo_case(library, folder, seed: int = 20240611):
    """Write the demo's query files into `folder`; return (paths, library indices to withhold).

    Parameters
    ----------
    library : SpectralLibrary
        The default library (the queries are taken from it).
    folder : Path
        Where ``case/`` files are written.
    """
    import logging

    import numpy as np

    from nps_id.spectra.io import save_spectra

    log = logging.getLogger("nps_id.demo")
    rng = np.random.default_rng(seed)
    names = np.asarray(library.column("name"), dtype=object)
    ion = np.asarray(library.column("ionization"), dtype=object) if "ionization" in library.columns else None
    keys = (np.asarray(library.column("inchikey"), dtype=object) if "inchikey" in library.columns
            else np.full(len(library), "", dtype=object))
    block = np.array([k[:14] for k in keys], dtype=object)
    case = folder / "case"
    case.mkdir(parents=True, exist_ok=True)
    for old in case.iterdir():
        if old.is_file():
            old.unlink()
    withhold: set[int] = set()
    replicates, new = [], []
    for name, ionisation, role in DEMO_QUERIES:
        hits = np.flatnonzero(names == name)
        if ion is not None:
            hits = hits[ion[hits] == ionisation]
        if hits.size == 0:
            log.warning("demo: %s (%s) is not in the reference data; left out", name, ionisation)
            continue
        with_structure = hits[keys[hits] != ""]
        hits = with_structure if with_structure.size else hits
        i = int(hits[np.argmax(library.n_peaks[hits])])  # the richest spectrum of the compound
        s = library[i]
        meta = {k: v for k, v in s.metadata.items() if k in ("name", "ionization", "precursor_type", "ion_mode")}
        if role == "replicate":
            meta["name"] = f"{name} (replicate, {ionisation})"
            q = _perturb(s.replace(metadata=meta), rng)
            replicates.append(q)
        else:
            meta["name"] = f"case item {len(new) + 1} ({ionisation})"
            new.append(s.replace(metadata=meta))
            same = np.flatnonzero(block == block[i]) if block[i] else np.flatnonzero(names == name)
            withhold.update(int(j) for j in same)
    paths = []
    if replicates:
        paths.append(case / "exhibit_A_known.msp")
        save_spectra(replicates, paths[-1])
    if new:
        paths.append(case / "exhibit_B_unknown.msp")
        save_spectra(new, paths[-1])
    damaged = case / "exhibit_C_damaged.msp"
    damaged.write_text("NAME: exhibit C, record 1\nNum Peaks: 0\n\n", encoding="utf-8")
    paths.append(damaged)
    return paths, sorted(withhold)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when the report was written."""
    import logging
    import os
    import time
    from pathlib import Path

    import numpy as np

    from nps_id.classify import classify
    from nps_id.config import cache_dir
    from nps_id.defaults import ensure_defaults
    from nps_id.spectra.library import SpectralLibrary

    log = logging.getLogger("nps_id.demo")
    t0 = time.monotonic()
    progress = False if args.no_progress else None
    d = ensure_defaults(data=args.data, progress=progress)
    log.info("default library: %s%s", d.library_path, " (built now)" if d.built else " (from the cache)")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    lib = SpectralLibrary.open(d.library_path)
    paths, withhold = build_demo_case(lib, out)
    # the demo's library: the default one without the 'new' compounds (cached next to the defaults)
    demo_lib_path = cache_dir() / "demo" / f"library-{d.key}-{len(withhold)}.h5"
    if not demo_lib_path.exists():
        keep = np.ones(len(lib), dtype=bool)
        keep[withhold] = False
        sub = lib.select(keep)
        tmp = demo_lib_path.with_name(f".{demo_lib_path.name}.{os.getpid()}")
        sub.save(tmp)
        os.replace(tmp, demo_lib_path)
    log.info("demo case folder: %s (%d files); %d library spectra withheld as 'new' compounds",
             out / "case", len(paths), len(withhold))
    table = classify([out / "case"], library=demo_lib_path, model=d.model_path, n_jobs=args.jobs, progress=progress)
    table.notes.append(
        "Demo: the 'case item' queries are real reference spectra whose compounds were withheld from the "
        "library searched here, to show what happens with a substance no library holds; the default class "
        "model was trained with them, so its confidence on them is optimistic. The 'replicate' queries are "
        "library spectra perturbed like a second measurement."
    )
    table.to_csv(out / "results.csv")
    table.to_json(out / "results.json")
    table.to_html(out / "report.html", title="nps_id demo report")
    for line in table.summary_text().splitlines():
        log.info("%s", line)
    log.info("results: %s, %s", out / "results.csv", out / "results.json")
    log.info("report: %s (open it in a browser)  [%.1f s]", (out / "report.html").resolve(), time.monotonic() - t0)
    return 0 if table.summary()["queries"] else 1
