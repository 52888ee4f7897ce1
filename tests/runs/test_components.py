"""Components of the real run and of synthetic runs: table, spectra metadata, retention index, filters."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.runs import AlkaneLadder, extract_components, find_components
from nps_id.runs.synthetic import make_run
from nps_id.spectra import Spectrum


@pytest.fixture(scope="module")
def yellow_table(yellow_run):
    return find_components(yellow_run)


def test_real_run_components(yellow_table, yellow_run) -> None:
    table = yellow_table
    assert 5 <= len(table) <= 40
    rts = np.array([c.rt for c in table])
    assert np.all(np.diff(rts) >= 0)
    # the three main TIC peaks of the run are components
    for main in (2.68, 2.79, 5.02):
        assert np.min(np.abs(rts - main)) < 0.01
    assert sum(c.area_share for c in table) == pytest.approx(1.0)
    big = max(table, key=lambda c: c.area_share)
    assert big.area_share > 0.1 and big.spectrum.n_peaks >= 20
    for c in table:
        s = c.spectrum
        assert isinstance(s, Spectrum) and s.kind == "ms" and s.precursor_mz is None
        assert s.mz.min() >= 100 and s.mz.max() <= 300 and np.all(s.mz == np.round(s.mz))
        assert np.all(s.intensity > 0)
        m = s.metadata
        assert m["name"] == f"RT {c.rt:.2f} min"
        assert m["retention_time"] == pytest.approx(c.rt * 60) and m["retention_time_min"] == c.rt
        assert m["area_share"] == c.area_share and m["area"] == c.area and m["component"] == c.number
        assert m["ionization"] == "EI" and m["ms_level"] == "MS1" and m["source_file"] == yellow_run.source
        assert "retention_index" not in m and np.isnan(c.ri)
        assert c.rt_start <= c.rt <= c.rt_end and c.fwhm > 0
        assert c.profile.max() == pytest.approx(1.0) and c.profile.size == c.profile_rt.size
    rows = table.records()
    assert rows[0].keys() >= {"component", "rt", "ri", "area_share", "n_ions", "base_peak", "name"}
    assert len(table.spectra) == len(table) and "components" in repr(table)


def test_ladder_rt_range_min_share(yellow_run, yellow_table) -> None:
    ladder = AlkaneLadder([10, 11, 12, 13], [1.0, 3.0, 5.0, 8.0])
    table = find_components(yellow_run, ladder=ladder)
    comp = min(table, key=lambda c: abs(c.rt - 5.02))
    assert comp.ri == pytest.approx(1200 + 100 * (comp.rt - 5.0) / 3.0)
    assert comp.spectrum.metadata["retention_index"] == comp.ri
    assert comp.spectrum.metadata["name"] == f"RT {comp.rt:.2f} min, RI {comp.ri:.0f}"
    later = find_components(yellow_run, rt_range=(2.5, None))
    assert all(c.rt >= 2.5 for c in later)
    big = find_components(yellow_run, min_area_share=0.05)
    assert 0 < len(big) < len(yellow_table)
    assert all(c.area_share >= 0.05 for c in big)


def test_extract_components(rng) -> None:
    spec = Spectrum([41.0, 91.0, 120.0], [300.0, 999.0, 200.0])
    run, truth = make_run([spec], [60.0], 2.5, n_scans=150, mz_range=(40, 150), rng=rng)
    spectra = extract_components(run, ladder={8: 0.0, 9: 1.0})
    assert len(spectra) == 1
    s = spectra[0]
    assert {41.0, 91.0, 120.0} <= set(s.mz.tolist())
    assert s.metadata["retention_index"] == pytest.approx(800 + 100 * truth.apex_rt[0], abs=1.0)
    assert s.metadata["area_share"] == pytest.approx(1.0)
    assert s.metadata["model_ions"]
