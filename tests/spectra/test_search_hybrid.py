"""Hybrid (analogue) search: shifts from precursors (MS/MS) or high-mass peaks (GC-EI), weighed scores, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.spectra import Spectrum
from nps_id.spectra.search import SearchIndex
from nps_id.spectra.search._peaks import as_peak_table
from nps_id.spectra.search.exact import MetricParams, score_pairs
from nps_id.spectra.search.hybrid import (
    best_shift,
    candidate_shifts,
    high_mass_peaks,
    hit_values,
    hybrid_matches,
    hybrid_scores,
    shifted_scores,
)

# a fentanyl-like EI spectrum and its +14 analogue (a methyl on the part that stays in 146/245/336: those shift)
PARENT = ([42, 56, 77, 91, 105, 146, 189, 245, 336], [80, 120, 150, 300, 400, 250, 800, 999, 60])
ANALOGUE = ([42, 56, 77, 91, 105, 160, 189, 259, 350], [80, 120, 150, 300, 400, 250, 800, 999, 60])
UNRELATED = ([43, 58, 72, 86, 100, 128, 143], [200, 999, 300, 100, 50, 20, 10])


def _ei(peaks) -> Spectrum:
    return Spectrum(np.asarray(peaks[0], float), np.asarray(peaks[1], float))


def test_high_mass_peaks_are_the_highest_mz_above_the_relative_cut():
    t = as_peak_table([Spectrum([50.0, 100.0, 200.0, 300.0, 301.0], [1000, 50, 400, 30, 5]),
                       Spectrum([60.0], [10.0])])
    h = high_mass_peaks(t, n=3, min_relative=0.02)
    assert h[0].tolist() == [300.0, 200.0, 100.0]  # 301 is under 2 % of the base peak
    assert h[1, 0] == 60.0 and np.isnan(h[1, 1:]).all()


def test_candidate_shifts_are_distinct_bounded_differences():
    qh = np.array([[350.0, 259.0, 160.0]])
    lh = np.array([[336.0, 245.0, np.nan]])
    pair, shift = candidate_shifts(qh, lh, np.array([0, 0]), np.array([0, 0]), max_shift=100)
    # 350-336 = 259-245 = 14 (once), 259-336 = -77, 160-245 = -85; 350-245 = 105 and 160-336 = -176 too far
    assert pair.tolist() == [0, 0, 0, 1, 1, 1]
    assert shift.tolist() == [-85.0, -77.0, 14.0] * 2


def test_ei_analogue_shifted_by_14_finds_its_parent_with_shift_14():
    index = SearchIndex([_ei(UNRELATED), _ei(PARENT)], nominal=True)
    plain = index.search([_ei(ANALOGUE)], k=2, metric="nist", mode="similarity")
    hybrid = index.search([_ei(ANALOGUE)], k=2, metric="nist", mode="hybrid")
    assert hybrid.indices[0, 0] == 1
    assert hybrid.shifts[0, 0] == 14.0
    assert hybrid.scores[0, 0] > 0.9 > plain.scores[0, 0] + 0.3
    rec = hybrid.to_records()[0]
    assert rec["library_index"] == 1 and rec["shift"] == 14.0
    # the other way round: the parent finds the analogue at -14
    back = SearchIndex([_ei(UNRELATED), _ei(ANALOGUE)], nominal=True).search([_ei(PARENT)], k=1, mode="hybrid",
                                                                              metric="nist")
    assert back.indices[0, 0] == 1 and back.shifts[0, 0] == -14.0


def test_identical_spectrum_keeps_its_plain_score_and_shift_zero():
    index = SearchIndex([_ei(ANALOGUE), _ei(PARENT)], nominal=True)
    res = index.search([_ei(PARENT)], k=2, metric="nist", mode="hybrid")
    plain = index.search([_ei(PARENT)], k=2, metric="nist", mode="similarity")
    assert res.indices[0, 0] == 1 and res.shifts[0, 0] == 0.0
    assert res.scores[0, 0] == pytest.approx(plain.scores[0, 0])


@pytest.mark.parametrize("metric", ["cosine", "nist"])
def test_unrelated_spectrum_with_one_shifted_fragment_does_not_score_high(metric):
    # the lidocaine case: the query's base peak matches the reference's only peak shifted by the precursor
    # difference (plus an isotope); nothing else of the query is explained
    query = Spectrum([105.07, 132.08, 134.10, 146.10, 188.14, 189.15, 216.14, 337.23],
                     [300, 200, 120, 55, 1000, 110, 70, 500], precursor_mz=337.2274)
    ref = Spectrum([86.096, 87.1, 235.18], [1000, 60, 200], precursor_mz=235.1805)
    t_q, t_r = as_peak_table([query]), as_peak_table([ref])
    p = MetricParams(metric, tolerance=0.02)
    z = np.zeros(1, dtype=np.int64)
    # without the rules: the shifted base peak alone gives a near-perfect metric score
    raw = score_pairs(t_q, t_r, z, z, p, shift=np.array([337.2274 - 235.1805]))
    assert raw[0] > 0.5
    sc, shift = hybrid_scores(t_q, t_r, z, z, p)[0]
    assert sc < 0.3 and shift == 0.0


def test_shifted_score_is_weighed_by_the_explained_fraction():
    # two shifted fragments (a shift that counts), but half of each spectrum unexplained
    q = as_peak_table([Spectrum([100.0, 150.0, 300.0, 320.0], [1000, 1000, 1000, 1000])])
    r = as_peak_table([Spectrum([86.0, 136.0, 200.0, 220.0], [1000, 1000, 1000, 1000])])
    z = np.zeros(1, dtype=np.int64)
    p = MetricParams("cosine", tolerance=0.1)
    full = score_pairs(q, r, z, z, p, shift=np.array([14.0]))[0]
    got = shifted_scores(q, r, z, z, np.array([14.0]), p)[0]
    assert full == pytest.approx(0.5)
    assert got == pytest.approx(0.5 * 0.5)  # metric x sqrt(E_q * E_r), E = 1/2 each
    # one shifted fragment (and its isotope) is not a shift
    q1 = as_peak_table([Spectrum([100.0, 101.0, 300.0], [1000, 100, 10])])
    r1 = as_peak_table([Spectrum([86.0, 87.0], [1000, 100])])
    assert shifted_scores(q1, r1, z, z, np.array([14.0]), p)[0] == 0.0


def test_best_shift_keeps_the_direct_score_unless_a_shift_beats_it():
    pair = np.array([0, 0, 1, 1])
    shift = np.array([14.0, 28.0, 14.0, -2.0])
    score = np.array([0.3, 0.8, 0.2, 0.1])
    sc, sh = best_shift(pair, shift, score, np.array([0.5, 0.6]))
    assert sc.tolist() == [0.8, 0.6] and sh.tolist() == [28.0, 0.0]


def test_msms_hybrid_without_a_shift_is_the_metric(rng):
    spectra = [Spectrum(np.sort(rng.choice(np.arange(50, 300), 20, replace=False)) + 0.003, rng.random(20) + 0.1,
                        precursor_mz=310.0) for _ in range(20)]
    t = as_peak_table(spectra)
    pq, pl = rng.integers(0, 20, 100), rng.integers(0, 20, 100)
    p = MetricParams("cosine", tolerance=0.02)
    got = hybrid_scores(t, t, pq, pl, p)
    np.testing.assert_allclose(got[:, 0], score_pairs(t, t, pq, pl, p), atol=1e-12)
    assert (got[:, 1] == 0).all()


def test_msms_query_against_an_ei_only_library_does_not_crash(swgdrug_spectra):
    index = SearchIndex(swgdrug_spectra[:300], nominal=True)
    q = Spectrum([105.07, 188.14, 337.23], [300, 999, 100], precursor_mz=337.2274)
    for metric in ("entropy", "cosine", "nist"):
        res = index.search([q], k=3, metric=metric, mode="hybrid")
        assert res.indices.shape == (1, 3) and res.shifts.shape == (1, 3)
        ok = res.indices[0] >= 0
        assert np.isfinite(res.scores[0, ok]).all() and (res.scores[0, ok] <= 1 + 1e-9).all()
        assert (res.shifts[0, ok] == 0).all()  # a precursor on one side only: direct matches only


def test_real_ei_hybrid_scores_are_bounded_and_top_hit_is_itself(swgdrug_spectra):
    lib = swgdrug_spectra[:400]
    index = SearchIndex(lib, nominal=True)
    res = index.search(lib[:40], k=5, metric="nist", mode="hybrid")
    plain = index.search(lib[:40], k=5, metric="nist", mode="similarity")
    assert (res.scores[:, 0] >= plain.scores[:, 0] - 1e-9).all()  # a shift only ever adds
    assert np.nanmax(res.scores) <= 1 + 1e-9
    same = res.indices[:, 0] == np.arange(40)
    assert same.mean() > 0.9 and (res.shifts[same, 0] == 0).all()


def test_hit_values_finds_each_kept_hits_value():
    pq = np.array([0, 0, 1, 1, 1])
    pl = np.array([5, 7, 5, 2, 9])
    vals = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    hits = np.array([[7, 5, -1], [9, 2, 5]])
    got = hit_values(pq, pl, vals, hits)
    assert got[0, :2].tolist() == [2.0, 1.0] and np.isnan(got[0, 2])
    assert got[1].tolist() == [5.0, 4.0, 3.0]


def test_hybrid_matches_and_mirror_plot_mark_the_shifted_peaks():
    from nps_id.report import hybrid_mirror_plot

    q, r = as_peak_table([_ei(ANALOGUE)]), as_peak_table([_ei(PARENT)])
    m = hybrid_matches(q, r, 14.0, MetricParams("cosine", tolerance=0.1))
    assert q.mz[m["shifted"][:, 0]].tolist() == [160.0, 259.0, 350.0]
    assert r.mz[m["shifted"][:, 1]].tolist() == [146.0, 245.0, 336.0]
    assert m["direct"].shape[0] == 6
    ax = hybrid_mirror_plot(ANALOGUE, PARENT, 14.0, query_label="analogue", reference_label="parent")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "shifted match (reference + 14 Da)" in labels


def test_search_command_hybrid_on_ei_reports_the_shift(tmp_path):
    import csv

    from nps_id.cli import main
    from nps_id.spectra import SpectralLibrary

    lib_path = tmp_path / "lib.h5"
    SpectralLibrary.from_spectra([_ei(UNRELATED), _ei(PARENT)]).save(lib_path)
    q = tmp_path / "q.msp"
    q.write_text("NAME: analogue\nIONIZATION: EI\nNum Peaks: 9\n"
                 + "".join(f"{m} {i}\n" for m, i in zip(*ANALOGUE)) + "\n")
    out = tmp_path / "hits.csv"
    assert main(["search", str(q), "-l", str(lib_path), "--mode", "hybrid", "-k", "1", "-o", str(out),
                 "--no-save-index"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["library_index"] == "1"
    assert float(rows[0]["shift"]) == 14.0 and rows[0]["shift_text"] == "reference + 14 Da"


@pytest.mark.parametrize("metric", ["cosine", "nist"])
def test_unit_mass_matching_gives_the_greedy_matches(rng, metric):
    from nps_id.spectra.search._hybrid_unit import unit_matches
    from nps_id.spectra.search.hybrid import PRECURSOR_WINDOW, _shifted_matches

    spectra = [Spectrum(np.sort(rng.choice(np.arange(40, 260), 30, replace=False)).astype(float),
                        rng.random(30) + 0.01, precursor_mz=None if i % 3 else 262.0) for i in range(30)]
    t = as_peak_table(spectra)
    pq, pl = rng.integers(0, 30, 400), rng.integers(0, 30, 400)
    shift = rng.integers(-40, 41, 400).astype(float)
    p = MetricParams(metric, tolerance=0.1)
    want = _shifted_matches(t, t, pq, pl, shift, p)
    got = unit_matches(t, t, pq, pl, shift, PRECURSOR_WINDOW)
    as_set = lambda m: set(zip(*(a.tolist() for a in m)))  # noqa: E731
    assert as_set(got) == as_set(want)
    np.testing.assert_allclose(shifted_scores(t, t, pq, pl, shift, p, unit=True),
                               shifted_scores(t, t, pq, pl, shift, p), atol=1e-12)


def test_preselected_shift_scores_like_all_shifts_on_real_spectra(swgdrug_spectra):
    # the 1-Da-bin path scores one preselected shift per pair; scoring every candidate shift exactly can only be
    # higher, and is the same for nearly every pair
    from nps_id.spectra.search.nominal import to_nominal

    t = to_nominal(as_peak_table(swgdrug_spectra[:400]))
    rng = np.random.default_rng(0)
    pq, pl = np.repeat(np.arange(0, 400, 10), 25), rng.integers(0, 400, 1000)
    p = MetricParams("nist")
    fast = hybrid_scores(t, t, pq, pl, p, unit=True)
    full = hybrid_scores(t, t, pq, pl, p)
    assert (fast[:, 0] <= full[:, 0] + 1e-9).all()
    assert np.mean(np.abs(fast[:, 0] - full[:, 0]) < 1e-9) > 0.9
    assert (fast[:, 1] != 0).sum() > 20  # shifts do win on real spectra
