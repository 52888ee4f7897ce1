"""Shared fixtures: where the real reference data is, and small synthetic spectra."""

from __future__ import annotations

import os
from pathlib import Path

# scikit-learn's estimator checks include an array-API check that only runs with this set (before scipy
# is imported); with it, every check runs instead of being skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NPS_ID_DATA", ROOT.parent / "shared" / "data"))
SWGDRUG = DATA / "swgdrug_nist_ei.msp.gz"
MASSBANK = DATA / "massbank_open.msp.gz"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder with the real reference spectra (../shared/data); the tests that need it fail without it."""
    if not SWGDRUG.exists():
        pytest.fail(f"reference data not found at {DATA}; set NPS_ID_DATA or put shared/ beside the project")
    return DATA


@pytest.fixture(scope="session")
def swgdrug_path(data_dir: Path) -> Path:
    return data_dir / SWGDRUG.name


@pytest.fixture(scope="session")
def massbank_path(data_dir: Path) -> Path:
    return data_dir / MASSBANK.name


@pytest.fixture(scope="session")
def swgdrug_spectra(swgdrug_path: Path) -> list:
    """All 2,702 real GC-EI spectra (read once per test session)."""
    from nps_id.spectra import load_spectra

    return load_spectra(swgdrug_path)


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh NPS_ID_CACHE for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("NPS_ID_CACHE", str(path))
    return path


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def identity_only(swgdrug_spectra):
    """A model bundle with only the GC-EI identity models, fitted on the real SWGDRUG spectra (a few seconds)."""
    from nps_id.models.io import ModelBundle
    from nps_id.models.training import train_identity_models
    from nps_id.spectra import SpectralLibrary

    identity, _ = train_identity_models(SpectralLibrary.from_spectra(swgdrug_spectra), ("ei",))
    return ModelBundle(identity=identity)
