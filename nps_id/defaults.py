"""The default reference library and class model, built once from the reference data into the cache.

On first use (``python -m nps_id classify`` / ``demo`` without ``-l``), nps_id reads every spectrum file in the
reference-data folder (``NPS_ID_DATA``, default ``../shared/data``, or ``--data``), labels the library's
structures with :mod:`nps_id.chem` (drug class, control status), trains the default class model, and stores
both under ``<cache>/defaults/<key>/``. Later runs reuse them.

The key is a hash of the data files' names, sizes and modification times plus the nps_id version and
:data:`DEFAULTS_VERSION`, so a changed data folder (or a new nps_id) triggers a rebuild. Builds are safe when
several processes start at once: one builds (under a file lock) into a temporary folder that is renamed into
place when complete; the others wait and reuse it. A half-built folder is never used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from nps_id import __version__

__all__ = ["DEFAULTS_VERSION", "Defaults", "reference_files", "defaults_key", "ensure_defaults", "find_defaults"]

logger = logging.getLogger(__name__)

#: Bump when the way defaults are built changes (forces a rebuild).
DEFAULTS_VERSION = 6  # 4-5: technique router, identity models; 6: library format 2 (per-chunk checksums)

LIBRARY_NAME = "library.h5"
MANIFEST_NAME = "manifest.json"
MODEL_NAME = "model"
#: training settings of the default model: smaller than ``nps_id train``'s (at most 5,000 "other" spectra per
#: model, 30 epochs of the substructure models) so that the first run stays around a minute on 2 cores
DEFAULT_TRAINING = {"max_other": 5000, "epochs": 30}


@dataclasses.dataclass(frozen=True)
class Defaults:
    """Where the default library and model are.

    Attributes
    ----------
    library_path : Path
    model_path : Path or None
        None when no model could be trained (then classify reports library identities only).
    folder : Path
    key : str
    built : bool
        True if this call built them (False: reused from the cache).
    """

    library_path: Path
    model_path: Path | None
    folder: Path
    key: str
    built: bool = False


def reference_files(data: str | os.PathLike | None = None) -> list[Path]:
    """The spectrum files of the reference-data folder (sorted).

    Raises
    ------
    FileNotFoundError
        If the folder holds no spectrum files; the message says how to name another.
    """
    from nps_id.config import data_dir
    from nps_id.spectra.io import find_spectrum_files

    folder = Path(data) if data is not None else data_dir()
    files = find_spectrum_files(folder)
    if not files:
        raise FileNotFoundError(
            f"no spectrum files (MSP, MGF, mzML, JCAMP-DX, CSV) in {folder}; "
            "set NPS_ID_DATA (or pass --data) to a folder of reference spectra"
        )
    return files


def defaults_key(files: list[Path]) -> str:
    """Hash of the files' names, sizes and mtimes, the nps_id version, :data:`DEFAULTS_VERSION` and the control lists
    (international, and the national one of ``NPS_ID_NATIONAL_LIST`` when set)."""
    from nps_id.chem.schedules import list_checksum

    h = hashlib.sha256(f"nps_id {__version__} defaults {DEFAULTS_VERSION}\n".encode())
    h.update(f"control list {list_checksum()}\n".encode())  # labels are redone when the list changes
    national = os.environ.get("NPS_ID_NATIONAL_LIST")
    if national and Path(national).is_file():
        h.update(hashlib.sha256(Path(national).read_bytes()).hexdigest().encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _root() -> Path:
    from nps_id.config import cache_dir

    root = cache_dir() / "defaults"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _complete(folder: Path) -> Defaults | None:
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        return None
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except ValueError:
        return None
    lib = folder / doc.get("library", LIBRARY_NAME)
    model = folder / doc["model"] if doc.get("model") else None
    if not lib.is_file() or (model is not None and not model.exists()):
        return None
    return Defaults(lib, model, folder, folder.name)


def find_defaults(data: str | os.PathLike | None = None) -> Defaults | None:
    """The built defaults for the current data folder, or None if they are not built yet."""
    key = defaults_key(reference_files(data))
    return _complete(_root() / key)


def ensure_defaults(
    data: str | os.PathLike | None = None, *, progress: bool | None = None, rebuild: bool = False
) -> Defaults:
    """Return the default library and model, building them first if the cache lacks them.

    Parameters
    ----------
    data : path, optional
        Reference-data folder (default: ``NPS_ID_DATA`` or ``../shared/data``).
    progress : bool, optional
        Show progress bars while building (default: when standard error is a terminal).
    rebuild : bool, default False
        Build again even if the cache holds them.
    """
    files = reference_files(data)
    key = defaults_key(files)
    root = _root()
    target = root / key
    found = _complete(target)
    if found is not None and not rebuild:
        return found
    from nps_id._filelock import file_lock

    with file_lock(root / ".build.lock", "building the default library"):
        found = _complete(target)  # built by another process while we waited
        if found is not None and not rebuild:
            return found
        tmp = root / f".{key}.partial-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            _build(files, tmp, progress)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for other in root.iterdir():  # defaults of an older data folder / nps_id
            if other.is_dir() and other.name != key and not other.name.startswith("."):
                shutil.rmtree(other, ignore_errors=True)
    found = _complete(target)
    if found is None:  # pragma: no cover - _build always writes the manifest
        raise RuntimeError(f"building the defaults in {target} left no manifest")
    return dataclasses.replace(found, built=True)


def _build(files: list[Path], folder: Path, progress: bool | None) -> None:
    from nps_id.spectra.library import SpectralLibrary

    t0 = time.monotonic()
    logger.info(
        "first use: building the default library and model from %d file(s) in %s into %s (once; reused later)",
        len(files), files[0].parent, folder.parent,
    )
    lib = SpectralLibrary.build(files, None, on_error="skip", progress=progress)
    report = lib.build_report
    logger.info("read %s", report.summary())
    if len(lib) == 0:
        from nps_id.errors import LibraryError

        raise LibraryError(f"no spectra could be read from {[str(f) for f in files]}: {report.summary()}")
    t1 = time.monotonic()
    if "smiles" in lib.columns:
        from nps_id.chem.labels import label_library

        logger.info("labelling the library's structures (class, control status)")
        label_library(lib, n_jobs=-1, save=False)
    else:
        logger.warning("the reference data have no SMILES: their spectra get no class labels")
    lib.save(folder / LIBRARY_NAME)
    t2 = time.monotonic()
    lib = SpectralLibrary.open(folder / LIBRARY_NAME)
    model_name = _train_default_model(lib, folder, progress)
    t3 = time.monotonic()
    manifest = {
        "library": LIBRARY_NAME,
        "model": model_name,
        "files": [{"path": str(f), "size": f.stat().st_size, "mtime_ns": f.stat().st_mtime_ns} for f in files],
        "n_spectra": len(lib),
        "skipped": report.n_skipped,
        "nps_id_version": __version__,
        "defaults_version": DEFAULTS_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": {"read": round(t1 - t0, 1), "label_and_save": round(t2 - t1, 1), "model": round(t3 - t2, 1)},
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    logger.info(
        "default library (%d spectra) and model built in %.0f s (read %.0f s, label %.0f s, model %.0f s)",
        len(lib), t3 - t0, t1 - t0, t2 - t1, t3 - t2,
    )


# ================================================================================================ adapters
def _train_default_model(lib: Any, folder: Path, progress: bool | None) -> str | None:
    """Train the default models (class, substructure and identity; EI and MS/MS) on the labelled library; write
    them into ``folder / MODEL_NAME``; return that name, or None when no model could be trained."""
    from nps_id.models.io import save_model
    from nps_id.models.training import train_bundle

    bundle = train_bundle(lib, ("ei", "msms"), progress=progress, **DEFAULT_TRAINING)
    if not bundle.classifiers and not bundle.identity:
        logger.warning("no model could be trained from the default library; classify reports candidates only")
        return None
    save_model(folder / MODEL_NAME, bundle.classifiers, bundle.substructure, library_checksum=lib.checksum,
               extra={"library": "default", **bundle.manifest["extra"]}, identity=bundle.identity)
    return MODEL_NAME
