"""Where nps_id keeps its cache and finds its reference data.

Environment variables
---------------------
NPS_ID_CACHE
    Folder for built libraries, indexes and trained models. Default: ``$XDG_CACHE_HOME/nps_id``
    (``~/.cache/nps_id``).
NPS_ID_DATA
    Folder holding the reference spectra to build the default library and models from.
    Default: the first of ``./../shared/data`` and ``<project root>/../shared/data`` that exists.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "data_dir"]


def cache_dir(create: bool = True) -> Path:
    """Return the cache folder (``NPS_ID_CACHE``), creating it unless ``create=False``."""
    env = os.environ.get("NPS_ID_CACHE")
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "nps_id"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Return the reference-data folder (``NPS_ID_DATA`` or ``../shared/data``).

    Raises
    ------
    FileNotFoundError
        If no folder is found; the message says how to name one.
    """
    env = os.environ.get("NPS_ID_DATA")
    candidates = [Path(env).expanduser()] if env else []
    candidates += [
        Path.cwd().parent / "shared" / "data",
        Path(__file__).resolve().parent.parent.parent / "shared" / "data",
    ]
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(
        "No reference data folder found; set NPS_ID_DATA to the folder holding your MSP/MGF files "
        f"(looked in: {', '.join(str(p) for p in candidates)})."
    )
