"""Nominal-mass queries and the technique-routed search."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.spectra import Spectrum, SpectralLibrary
from nps_id.spectra.search._peaks import PeakTable, as_peak_table
from nps_id.spectra.search.nominal import is_nominal, to_nominal


def test_to_nominal_rounds_and_sums_within_one_bin():
    t = PeakTable(np.array([41.2, 56.6, 57.04, 57.4, 91.1, 12.0, 12.3]),
                  np.array([5, 10, 20, 30, 100, 1, 2], np.float32), np.array([0, 5, 7]), np.array([np.nan, np.nan]))
    n = to_nominal(t)
    assert n.mz.tolist() == [41.0, 57.0, 91.0, 12.0]
    assert n.intensity.tolist() == [5.0, 60.0, 100.0, 3.0]
    assert n.offsets.tolist() == [0, 3, 4]
    assert is_nominal(n) and not is_nominal(t)
    assert to_nominal(n) is n  # nothing to do: no copy


def test_to_nominal_keeps_empty_spectra_and_spectrum_boundaries():
    t = PeakTable(np.array([57.0, 57.0, 58.2]), np.array([1, 2, 3], np.float32), np.array([0, 1, 1, 3]),
                  np.full(3, np.nan))
    assert is_nominal(PeakTable(np.array([57.0, 57.0]), np.ones(2, np.float32), np.array([0, 1, 2]), np.full(2, np.nan)))
    n = to_nominal(t)
    assert n.offsets.tolist() == [0, 1, 1, 3] and n.mz.tolist() == [57.0, 57.0, 58.0]


def test_index_applies_the_library_pipeline_to_queries():
    from nps_id.spectra.search import SearchIndex

    lib = SpectralLibrary.from_spectra(
        [Spectrum([41.0, 57.0, 91.0], [1.0, 500.0, 999.0]), Spectrum([43.0, 58.0, 105.0], [999.0, 10.0, 300.0])],
        pipeline="min_relative_intensity threshold=0.05")
    index = SearchIndex(lib)
    assert index.pipeline
    noisy = Spectrum([41.0, 57.0, 91.0], [40.0, 500.0, 999.0])  # 41 is under the library's 5 % cut
    table, kept = index.prepare([noisy, Spectrum([41.0], [1.0])])
    assert table.mz.tolist() == [57.0, 91.0, 41.0] and table.offsets.tolist() == [0, 2, 3]
    assert kept.tolist() == [0, 1]
    res = index.search([noisy], k=1, metric="cosine")
    assert res.indices[0, 0] == 0 and res.scores[0, 0] == pytest.approx(1.0)


@pytest.mark.realdata
def test_decimal_exports_give_the_same_top_hit_as_nominal(swgdrug_spectra):
    """Real library spectra with m/z + random offsets in [-0.3, 0.3] (decimal exports) find the same top hit."""
    from nps_id.spectra.search.routed import RoutedIndex

    lib = SpectralLibrary.from_spectra(swgdrug_spectra)
    index = RoutedIndex(lib, store=False)
    rng = np.random.default_rng(7)
    queries = [swgdrug_spectra[i] for i in rng.choice(len(swgdrug_spectra), 300, replace=False)]
    decimal = [Spectrum(np.round(q.x + rng.uniform(-0.3, 0.3, q.x.size), 1), q.intensity) for q in queries]
    # a few exports split one nominal ion over two centroids
    split = [Spectrum(np.sort(np.concatenate([q.x, q.x[:2] + 0.2])), np.concatenate([q.intensity, q.intensity[:2]])[
        np.argsort(np.concatenate([q.x, q.x[:2] + 0.2]), kind="stable")]) for q in queries[:20]]
    nominal = index.search(queries, 3, persist=False)
    dec = index.search(decimal, 3, persist=False)
    assert all(str(t) == "gc_ei (inferred)" for t in dec.techniques)
    assert (dec.indices[:, 0] == nominal.indices[:, 0]).all()
    assert np.allclose(dec.scores[:, 0], nominal.scores[:, 0])
    spl = index.search(split, 1, persist=False)
    names = np.asarray(lib.column("name"))
    assert (names[spl.indices[:, 0]] == names[nominal.indices[:20, 0]]).mean() >= 0.9


@pytest.mark.realdata
def test_no_gc_ei_query_gets_a_hit_of_another_technique(swgdrug_path, massbank_path, swgdrug_spectra):
    """The default library's content (every reference file): GC-EI queries only ever hit GC-EI references."""
    from nps_id.spectra.io import load_spectra
    from nps_id.spectra.search.routed import RoutedIndex
    from nps_id.spectra.technique import route_columns

    lib = SpectralLibrary.build([swgdrug_path, massbank_path], None, on_error="skip", progress=False)
    techniques, _ = route_columns(lib)
    index = RoutedIndex(lib, store=False)
    mb = load_spectra(massbank_path)
    mb_ei = [s for s in mb if s.metadata.get("ionization") == "EI" and s.metadata.get("ms_level") != "MS2"]
    # full-scan ESI spectra exported bare (no metadata) are what the old rule put into the EI search
    bare = [Spectrum(s.x, s.intensity) for s in mb if s.metadata.get("ionization") == "ESI"
            and s.metadata.get("ms_level") == "MS"][:300]
    queries = swgdrug_spectra[::5] + mb_ei[::3] + bare
    res = index.search(queries, 10, persist=False)
    hits = res.indices[res.indices >= 0]
    assert hits.size > 10 * len(queries) * 0.9
    assert set(techniques[hits]) == {"gc_ei"}
    flagged = [s for s in mb if s.metadata.get("ionization") == "ESI" and s.metadata.get("ms_level") == "MS"][:50]
    res = index.search(flagged, 5, persist=False)
    assert (res.indices == -1).all() and all("full-scan" in n for n in res.notes)


def test_batches_are_bounded_by_peaks_as_well_as_by_queries():
    """A batch of spectra with thousands of peaks is cut smaller (search memory grows with a batch's peaks)."""
    from nps_id.spectra.search._queries import _batch_bounds

    peaks = np.array([100] * 10 + [60_000, 60_000, 60_000] + [100] * 5)
    bounds = _batch_bounds(peaks, batch_size=8, progress=False, peak_budget=1 << 17)
    assert bounds[0] == (0, 8)  # the query count bounds the first batch
    covered = [i for s, e in bounds for i in range(s, e)]
    assert covered == list(range(peaks.size))  # every query once, in order
    for s, e in bounds:
        assert e - s == 1 or peaks[s:e].sum() <= 1 << 17
    assert _batch_bounds(np.array([1 << 20]), 8, False, peak_budget=1 << 17) == [(0, 1)]  # one huge query alone
    assert _batch_bounds(np.zeros(0, dtype=np.int64), 8, False) == []


def test_hits_do_not_depend_on_how_queries_are_batched():
    from nps_id.spectra.search import SearchIndex

    rng = np.random.default_rng(3)
    spectra = [Spectrum(np.sort(rng.choice(np.arange(40.0, 400.0), 60, replace=False)),
                        rng.random(60).astype(np.float32) + 0.01) for _ in range(40)]
    index = SearchIndex(SpectralLibrary.from_spectra(spectra))
    whole = index.search(spectra[:12], k=3, metric="nist")
    split = index.search_prepared(as_peak_table(spectra[:12]), 3, metric="nist", batch_size=2)
    assert (split.indices == whole.indices).all() and np.allclose(split.scores, whole.scores)
    assert (whole.indices[:, 0] == np.arange(12)).all()
