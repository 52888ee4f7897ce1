"""What classification needs, loaded once per process: the library (labelled), its routed search index, the models.

Workers (``classify -j``, Dask) receive a small :class:`ResourceSpec` (paths) and call :func:`get_resources`, which
loads the library and model on first use and keeps them for the rest of the run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Resources", "ResourceSpec", "get_resources", "load_count"]

logger = logging.getLogger(__name__)


class Resources:
    """The library, its labels, identity keys and routed search index, and the model.

    Parameters
    ----------
    library : SpectralLibrary
        A library with structures but no label columns is labelled here, in memory (:func:`nps_id.chem.labels.label_library`).
    model : object or None
        A :class:`~nps_id.models.io.ModelBundle` (class, substructure and identity models), any fitted object with
        ``predict_proba(spectra)`` and ``classes_``, or None (search only: no class verdicts, no identifications).
    """

    def __init__(self, library: Any, model: Any = None) -> None:
        from nps_id.models.identity import identity_keys
        from nps_id.spectra.search.routed import RoutedIndex

        self.library = library
        self.model = model
        n = len(library)
        cols = set(library.columns)
        if "smiles" in cols and "chem_class" not in cols and n:
            from nps_id.chem.labels import label_library

            logger.info("the library has structures but no class labels: labelling its %d spectra (in memory)", n)
            label_library(library, save=False)
            cols = set(library.columns)

        def text(name: str) -> np.ndarray:
            if name in cols:
                return np.asarray(library.column(name), dtype=object)
            return np.full(n, "", dtype=object)

        self.names = text("name")
        self.smiles = text("smiles")
        self.inchikeys = text("inchikey")
        self.classes = text("chem_class")
        self.control_status = text("control_status")
        self.control_note = text("control_note")
        self.compounds, self.formulas = identity_keys(library)
        self.index = RoutedIndex(library)
        from nps_id.classify.domain import entropy_bounds

        self.entropy_bounds = entropy_bounds(library, self.index.techniques) if n else {}
        self.identity: dict[str, Any] = dict(getattr(model, "identity", None) or {})
        check = getattr(model, "check_library", None)  # a model trained on another library: said once
        if check is not None:
            check(library)


@dataclasses.dataclass(frozen=True)
class ResourceSpec:
    """How a worker gets its :class:`Resources`: library and model as file paths (or in-memory objects)."""

    library: Any
    model: Any = None

    def key(self) -> tuple[str, str]:
        return (_spec_key(self.library), _spec_key(self.model))


def _spec_key(obj: Any) -> str:
    if obj is None:
        return "none"
    if isinstance(obj, (str, os.PathLike)):
        p = Path(obj)
        try:
            st = p.stat()
            return f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            return str(p)
    return f"object:{id(obj)}"


_CACHE: dict[tuple[str, str], Resources] = {}
_CACHE_LOCK = threading.Lock()
#: how many times this process loaded resources (tests check "once per worker")
LOAD_COUNT = 0


def get_resources(spec: ResourceSpec) -> Resources:
    """Return this process's :class:`Resources` for `spec`, loading them on first use (thread-safe)."""
    global LOAD_COUNT
    key = spec.key()
    with _CACHE_LOCK:
        res = _CACHE.get(key)
        if res is None:
            from nps_id.spectra.library import SpectralLibrary

            lib = spec.library
            if isinstance(lib, (str, os.PathLike)):
                lib = SpectralLibrary.open(lib)
            model = spec.model
            if isinstance(model, (str, os.PathLike)):
                from nps_id.models.io import load_model

                model = load_model(model)
            res = Resources(lib, model)
            _CACHE.clear()  # one library per process at a time
            _CACHE[key] = res
            LOAD_COUNT += 1
            logger.debug("loaded resources %s (load %d in pid %d)", key, LOAD_COUNT, os.getpid())
        return res


def load_count() -> int:
    """How many times this process has loaded a library/model (for checking 'once per worker')."""
    return LOAD_COUNT
