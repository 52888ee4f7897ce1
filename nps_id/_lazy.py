"""Lazy public names for packages, so that importing one stays cheap (``python -m nps_id --help`` is instant)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, table: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for `package` that import ``table[name]`` on first use of `name`.

    Examples
    --------
    >>> __getattr__, __dir__ = lazy_names(__name__, {"Spectrum": "nps_id.spectra.spectrum"})  # doctest: +SKIP
    """

    def getattr_(name: str) -> Any:
        if name in table:
            return getattr(importlib.import_module(table[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted(table)

    return getattr_, dir_
