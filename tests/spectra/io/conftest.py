"""Fixtures for the reader tests (the data paths come from tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nps_id.spectra.io import load_spectra
from nps_id.spectra.spectrum import Spectrum


@pytest.fixture(scope="session")
def massbank_spectra(massbank_path: Path) -> list[Spectrum]:
    """All 80,353 real MassBank spectra (read once per test session)."""
    return load_spectra(massbank_path, on_error="raise")
