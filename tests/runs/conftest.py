"""Fixtures for the run tests: the real Agilent run and damaged copies of it (in tmp_path, never in the repo)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNS = Path(os.environ.get("NPS_ID_RUNS", ROOT.parent / "shared" / "runs"))
YELLOW = RUNS / "agilent_yellow.D"


@pytest.fixture(scope="session")
def yellow_path() -> Path:
    """The real Agilent GC-MS run (../shared/runs/agilent_yellow.D); the tests that need it fail without it."""
    if not (YELLOW / "data.ms").exists():
        pytest.fail(f"real run not found at {YELLOW}; set NPS_ID_RUNS or put shared/ beside the project")
    return YELLOW


@pytest.fixture(scope="session")
def yellow_run(yellow_path: Path):
    from nps_id.runs import read_run

    return read_run(yellow_path)


@pytest.fixture()
def damaged_copy(yellow_path: Path, tmp_path: Path) -> Callable[[Callable[[Path], None]], Path]:
    """Copy the real run into tmp_path (writable) and let a function damage its data.ms; return the copy."""

    def make(damage: Callable[[Path], None], name: str = "damaged.D") -> Path:
        dst = tmp_path / name
        shutil.copytree(yellow_path, dst)
        for root, dirs, files in os.walk(dst):
            for entry in dirs + files:
                p = Path(root) / entry
                p.chmod(p.stat().st_mode | stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)
        dst.chmod(dst.stat().st_mode | stat.S_IWUSR)
        damage(dst / "data.ms")
        return dst

    return make
