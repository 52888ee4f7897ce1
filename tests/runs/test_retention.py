"""Retention indices from an n-alkane ladder (van den Dool & Kratz, Kovats) and ladder files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nps_id.errors import ProcessingError
from nps_id.runs import AlkaneLadder, read_ladder, retention_index


def test_linear_index() -> None:
    ladder = AlkaneLadder([10, 11, 12, 14], [5.0, 6.0, 7.5, 9.0])
    ri = ladder.index([5.0, 5.5, 6.75, 7.5, 8.25, 9.0, 4.9, 9.1])
    np.testing.assert_allclose(ri[:6], [1000, 1050, 1150, 1200, 1300, 1400])
    assert np.isnan(ri[6:]).all()  # outside the ladder: no extrapolation
    assert retention_index(6.0, {10: 5.0, 11: 6.0}) == pytest.approx(1100)
    assert "C10-C14" in repr(ladder)


def test_kovats_index() -> None:
    ladder = AlkaneLadder([8, 9], [4.0, 8.0])
    t = np.sqrt(4.0 * 8.0)  # geometric mean: halfway in log time
    assert ladder.index(t, method="kovats") == pytest.approx(850)
    assert ladder.index(t + 0.5, method="kovats", dead_time=0.5) == pytest.approx(
        100 * (8 + np.log(t / 3.5) / np.log(7.5 / 3.5)))
    with pytest.raises(ProcessingError, match="unknown retention index method"):
        ladder.index(5.0, method="log")


@pytest.mark.parametrize(
    "carbons, rt, match",
    [([10], [5.0], "at least two"), ([10, 10], [5.0, 6.0], "twice"), ([10, 11], [6.0, 5.0], "increase"),
     ([10.5, 11], [5.0, 6.0], "integers")],
)
def test_bad_ladders(carbons, rt, match) -> None:
    with pytest.raises(ProcessingError, match=match):
        AlkaneLadder(carbons, rt)


def test_read_ladder(tmp_path: Path) -> None:
    path = tmp_path / "alkanes.csv"
    path.write_text("carbons,rt\nC10,5.0\nC11,6.0\n12,7.5\n")
    ladder = read_ladder(path)
    assert ladder.carbons.tolist() == [10, 11, 12]
    tsv = tmp_path / "alkanes.tsv"
    tsv.write_text("10\t5.0\n11\t6.0\n")
    assert read_ladder(tsv).rt.tolist() == [5.0, 6.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("10,5.0\n11,six\n")
    with pytest.raises(ProcessingError, match="line 2"):
        read_ladder(bad)
