"""Which exact engine scores which query (no query can move its batch off the unit-mass path), and the running
stage-1 top-k."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.spectra.search._peaks import PeakTable
from nps_id.spectra.search.exact import unit_rows


def _unit_library(rng, n=60, peaks=25):
    """Random unit-mass spectra (integer m/z, distinct within each spectrum)."""
    mz = np.concatenate([np.sort(rng.choice(np.arange(40, 300), peaks, replace=False)) for _ in range(n)])
    inten = (rng.pareto(1.5, mz.size) + 0.05).astype(np.float32)
    return PeakTable(mz.astype(np.float64), inten, np.arange(n + 1) * peaks, np.full(n, np.nan))


def _with_split_and_decimal(t: PeakTable, split: int, decimal: int) -> PeakTable:
    """Query `split` gets a second centroid 0.4 Da above its first peak (two peaks in one 1-Da bin); query
    `decimal` has every m/z shifted by +0.08 Da (a decimal export)."""
    mz, inten = t.mz.copy(), t.intensity.copy()
    a, b = t.offsets[decimal], t.offsets[decimal + 1]
    mz[a:b] += 0.08
    s = t.offsets[split]
    mz = np.insert(mz, s + 1, mz[s] + 0.4)
    inten = np.insert(inten, s + 1, np.float32(inten[s] * 0.5))
    inten[s] *= 0.5
    off = t.offsets.copy()
    off[split + 1:] += 1
    return PeakTable(mz, inten, off, t.precursor_mz.copy())


def test_unit_rows_flags_only_the_queries_that_are_not_unit_mass():
    t = PeakTable(np.array([41.0, 57.0, 57.0, 57.4, 91.1, 91.0, 91.0]), np.ones(7, np.float32),
                  np.array([0, 2, 4, 5, 6, 6, 7]), np.full(6, np.nan))
    # two peaks in one bin; decimal m/z; the same bin at a spectrum boundary is fine; empty spectra are unit mass
    assert unit_rows(t, 0.1).tolist() == [True, False, False, True, True, True]
    assert unit_rows(t, 0.3).tolist() == [True, False, True, True, True, True]


@pytest.mark.parametrize("metric", ["cosine", "nist", "entropy"])
def test_a_split_query_does_not_move_its_batch_off_the_unit_mass_path(rng, monkeypatch, metric):
    """Nominal index: a batch with a query with two peaks in one bin and one with decimal m/z is scored on the
    unit-mass engine only (the old per-batch decision sent the whole batch to tolerance matching), and every
    query gets the hits it gets alone and on nominal mass."""
    import nps_id.spectra.search._exact_stage as stage
    from nps_id.spectra.search import SearchIndex
    from nps_id.spectra.search.nominal import to_nominal

    lib = _unit_library(rng)
    index = SearchIndex(lib)
    assert index.nominal
    queries = _with_split_and_decimal(lib.take(np.arange(12)), split=3, decimal=7)
    clean = [i for i in range(12) if i not in (3, 7)]
    alone = index.search_prepared(queries.take(clean), 3, metric=metric)
    nominal = index.search_prepared(to_nominal(queries), 3, metric=metric)

    def general_path(*args, **kwargs):
        raise AssertionError("a unit-mass library's query was scored with tolerance matching")

    monkeypatch.setattr(stage, "score_pairs", general_path)
    res = index.search_prepared(queries, 3, metric=metric, batch_size=12)
    np.testing.assert_array_equal(res.indices[clean], alone.indices)
    np.testing.assert_allclose(res.scores[clean], alone.scores, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(res.indices, nominal.indices)
    assert res.indices[3, 0] == 3 and res.indices[7, 0] == 7


def test_without_nominal_mass_only_the_odd_query_takes_the_general_path(rng, monkeypatch):
    """An index that keeps decimal m/z (``nominal=False``): the engine is chosen per query."""
    import nps_id.spectra.search._exact_stage as stage
    from nps_id.spectra.search import SearchIndex

    lib = _unit_library(rng)
    index = SearchIndex(lib, nominal=False)
    assert not index.nominal and index.unit_mass
    queries = _with_split_and_decimal(lib.take(np.arange(12)), split=3, decimal=7)
    clean = [i for i in range(12) if i not in (3, 7)]
    alone = index.search_prepared(queries.take(clean), 3, metric="cosine")
    seen = []
    general = stage.score_pairs

    def recording(q, lib_, pq, pl, params, *args, **kwargs):
        seen.append(np.unique(pq))
        return general(q, lib_, pq, pl, params, *args, **kwargs)

    monkeypatch.setattr(stage, "score_pairs", recording)
    res = index.search_prepared(queries, 3, metric="cosine", batch_size=12)
    assert sorted(set(np.concatenate(seen).tolist())) == [3, 7]
    np.testing.assert_array_equal(res.indices[clean], alone.indices)
    np.testing.assert_allclose(res.scores[clean], alone.scores, rtol=0, atol=1e-12)
    assert res.indices[3, 0] == 3


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_running_topk_equals_topk_of_the_whole_score_matrix(rng, dtype):
    import torch

    from nps_id.spectra.search._topk import RunningTopK
    from nps_id.spectra.search.binned import torch_dtype

    S = torch.from_numpy(rng.random((9, 64 * 40 + 21)).astype(np.float32))
    S[:, ::5] = 0.5  # ties
    S[2] = 0.0  # a row of ties only
    S[4, 300:] = -float("inf")  # filtered columns
    S = S.to(torch_dtype(dtype))
    top = RunningTopK(9, 7)
    for s in range(0, S.shape[1], 64 * 8):  # blocks of 512 columns and a remainder of 21
        top.add(S[:, s : s + 64 * 8].contiguous(), s)
    v, i = top.result()
    ref, _ = torch.topk(S.float(), 7, dim=1)
    np.testing.assert_array_equal(v.numpy(), ref.numpy())
    np.testing.assert_array_equal(torch.gather(S.float(), 1, i).numpy(), v.numpy())
    assert (i[4] < 300).all() and len(set(i[2].tolist())) == 7


@pytest.mark.parametrize("metric", ["cosine", "entropy"])
def test_candidates_skipped_by_the_stage1_bound_never_change_the_top_k(rng, monkeypatch, metric):
    """Cosine and entropy score the first candidates and then only those whose stage-1 score (an upper bound of
    the exact one) can reach the k-th best: the same hits and scores as scoring every candidate."""
    import nps_id.spectra.search._exact_stage as stage
    from nps_id.spectra.search import SearchIndex

    lib = _unit_library(rng, n=300, peaks=20)
    queries = _with_split_and_decimal(lib.take(np.arange(40)), split=3, decimal=7)
    index = SearchIndex(lib, n_candidates=120)
    monkeypatch.setattr(stage, "FIRST_EXACT", 10**6)
    every = index.search_prepared(queries, 5, metric=metric)
    calls = []
    exact = stage.exact_scores

    def counting(q, lib_, pq, pl, *args):
        calls.append(pq.size)
        return exact(q, lib_, pq, pl, *args)

    monkeypatch.setattr(stage, "FIRST_EXACT", 8)
    monkeypatch.setattr(stage, "exact_scores", counting)
    bounded = index.search_prepared(queries, 5, metric=metric)
    np.testing.assert_array_equal(bounded.indices, every.indices)
    np.testing.assert_allclose(bounded.scores, every.scores, rtol=0, atol=1e-12)
    assert sum(calls) < 40 * 120  # some candidates were ruled out
