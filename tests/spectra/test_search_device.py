"""The GPU search path (both stages and the top-k in torch) run on CPU tensors against the numpy engine, and the
group-maxima stage 1 (the Triton kernels' algorithm, in plain torch) against exhaustive scoring.

The Triton kernels themselves need a CUDA device: ``benchmarks/bench_gpu.py`` checks them against the plain
torch algorithm tested here (figures in docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.spectra import Spectrum
from nps_id.spectra.search import SearchIndex
from nps_id.spectra.search import _triton
from nps_id.spectra.search import device as dv
from nps_id.spectra.search._peaks import as_peak_table
from nps_id.spectra.search.clean import clean_for_entropy, entropy_weights
from nps_id.spectra.search.exact import MetricParams, _seg_norms, _weights, is_unit_mass
from test_search import _perturbed  # same folder (pytest puts it on sys.path)


@pytest.fixture(scope="module")
def ei_index(swgdrug_spectra):
    return SearchIndex.build(swgdrug_spectra, metrics=("cosine",))


def _device_search_on_cpu(index, queries, metric, mode, k=10):
    params = MetricParams(metric, reverse=(mode == "reverse"))
    q = as_peak_table(queries)
    if metric == "entropy":
        q = entropy_weights(clean_for_entropy(q, min_diff=0.05, precursor_removal=1.6))
    n_cand = index.default_candidates(metric, mode)  # as search_prepared
    return index._device_search(dv.query_table(q, params, "cpu"), k, params, n_cand, 64, "cpu")


@pytest.mark.realdata
@pytest.mark.parametrize(
    "metric,mode", [("cosine", "similarity"), ("nist", "similarity"), ("entropy", "similarity"), ("cosine", "reverse"),
                    ("nist", "reverse")]
)
def test_device_path_returns_the_numpy_engines_hits(swgdrug_spectra, ei_index, metric, mode):
    queries = _perturbed(swgdrug_spectra, 300, seed=21)
    ref = ei_index.search(queries, k=10, metric=metric, mode=mode)
    got = _device_search_on_cpu(ei_index, queries, metric, mode)
    # entropy terms are float32 (log2 of numpy and torch may differ in the last bit); the rest is float64
    atol = 1e-6 if metric == "entropy" else 1e-12
    np.testing.assert_allclose(got.scores, ref.scores, atol=atol)
    same = (got.indices == ref.indices) | np.isclose(got.scores, ref.scores, rtol=0, atol=atol)  # ties may swap
    assert same.all()
    assert got.metric == metric and got.mode == mode


@pytest.mark.realdata
def test_large_candidate_lists_are_scored_in_parts(swgdrug_spectra, ei_index, monkeypatch):
    # exhaustive scoring (every library spectrum a candidate) with a small gather budget: same result
    queries = _perturbed(swgdrug_spectra, 6, seed=5)
    whole = _device_search_on_cpu(ei_index, queries, "nist", "similarity")
    monkeypatch.setattr(dv, "MAX_PEAKS", 20_000)  # about 150 candidates' peaks: splits by query, then candidates
    calls = []
    score = dv._score
    monkeypatch.setattr(dv, "_score", lambda q, s, lib, cand, *a: calls.append(cand.shape) or score(q, s, lib, cand, *a))
    params = MetricParams("nist")
    qd = dv.query_table(as_peak_table(queries), params, "cpu")
    parts = ei_index._device_search(qd, 10, params, len(swgdrug_spectra), 8192, "cpu")
    assert len(calls) > 6 and all(b == 1 and c < len(swgdrug_spectra) for b, c in calls)
    full = ei_index.search(queries, k=10, metric="nist", n_candidates=len(swgdrug_spectra))
    np.testing.assert_allclose(parts.scores, full.scores, atol=1e-12)
    np.testing.assert_allclose(whole.scores[:, 0], full.scores[:, 0], atol=1e-12)


def test_query_table_matches_the_numpy_weights(rng):
    spectra = []
    for _ in range(30):
        mz = np.unique(rng.integers(30, 400, 25)).astype(float)
        spectra.append(Spectrum(mz, (rng.random(mz.size) + 0.01).astype(np.float32)))
    t = as_peak_table(spectra)
    for metric in ("cosine", "nist"):
        p = MetricParams(metric)
        qd = dv.query_table(t, p, "cpu")
        w = _weights(t, *p.powers)
        np.testing.assert_allclose(qd.values.numpy(), w, rtol=1e-14)
        np.testing.assert_allclose(qd.norms.numpy(), _seg_norms(w, t.offsets), rtol=1e-14)
        np.testing.assert_array_equal(qd.bins.numpy(), np.rint(t.mz).astype(np.int64))
    assert dv.query_table(t, MetricParams("entropy"), "cpu").norms is None


def test_unit_mass_check_agrees_with_numpy():
    unit = as_peak_table([Spectrum([41.0, 43.02, 58.0], [1, 2, 3]), Spectrum([41.0, 77.0], [1, 1])])
    two_in_a_bin = as_peak_table([Spectrum([41.0, 41.04, 58.0], [1, 2, 3])])
    off_integer = as_peak_table([Spectrum([41.2, 58.0], [1, 2])])
    boundary = as_peak_table([Spectrum([41.0, 58.0], [1, 2]), Spectrum([58.0, 60.0], [1, 1])])  # 58 ends one, starts next
    for t, expected in ((unit, True), (two_in_a_bin, False), (off_integer, False), (boundary, True)):
        assert is_unit_mass(t, 0.1) is expected
        assert dv.is_unit_mass(dv.query_table(t, MetricParams("cosine"), "cpu"), 0.1) is expected


def test_top_k_breaks_ties_by_library_row_and_pads():
    import torch

    cand = torch.tensor([[9, 3, 5, 7], [4, 2, 8, 1]])
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.1], [0.2, 0.2, 0.2, 0.3]], dtype=torch.float64)
    idx, sc = dv.top_k(cand, scores, 3)
    assert idx.tolist() == [[3, 5, 9], [1, 2, 4]]
    assert sc.tolist() == [[0.9, 0.5, 0.5], [0.3, 0.2, 0.2]]
    idx, sc = dv.top_k(cand, scores, 6)
    assert idx[:, 4:].tolist() == [[-1, -1], [-1, -1]] and torch.isnan(sc[:, 4:]).all()


def test_coarse_rows_equal_bin_rows(swgdrug_spectra, ei_index):
    import torch

    from nps_id.spectra.search.binned import bin_rows

    t = as_peak_table(swgdrug_spectra[:200])
    for mp, ip in ((0.0, 1.0), (3.0, 0.6)):
        qd = dv.query_table(t, MetricParams("cosine"), "cpu")
        got = dv.coarse_rows(qd, dv.peak_weights(qd, mp, ip), 20, 180, ei_index.lo, ei_index.width,
                             torch.from_numpy(ei_index.colmap), torch.float32)
        ref = bin_rows(t, ei_index.lo, ei_index.width, mp, ip, False, slice(20, 180), ei_index.colmap)
        np.testing.assert_allclose(got.numpy(), ref, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- group-maxima stage 1 (the Triton kernels' algorithm)
@pytest.mark.parametrize("N,n", [(5003, 50), (100_000, 50), (37, 50), (700, 60)])
def test_grouped_topk_equals_exhaustive_scoring(rng, N, n):
    import torch

    lib = torch.from_numpy((rng.random((256, N)) ** 8).astype(np.float32)).bfloat16()
    q = torch.from_numpy((rng.random((40, 256)) ** 8).astype(np.float32)).bfloat16()
    v, i = _triton.grouped_topk(q, lib, n, fused=False, max_bytes=1 << 20)  # several query slices at 100k
    full = q.float() @ lib.float()
    ref_v, ref_i = torch.topk(full, min(n, N), dim=1)
    np.testing.assert_allclose(v.numpy(), ref_v.numpy(), rtol=1e-5)
    assert (np.diff(v.numpy(), axis=1) <= 0).all()
    got = torch.gather(full, 1, i)  # the returned columns hold the returned scores
    np.testing.assert_allclose(got.numpy(), v.numpy(), rtol=1e-5)
    assert all(len(set(r)) == min(n, N) for r in i.tolist())


def test_group_maxima_are_padded_for_the_two_step_topk(rng):
    import torch

    lib = torch.from_numpy(rng.random((64, 1000)).astype(np.float32))
    q = torch.from_numpy(rng.random((3, 64)).astype(np.float32))
    gm = _triton.group_maxima(q, lib, fused=False)
    G = -(-1000 // _triton.GROUP)
    assert gm.shape == (3, 64) and G == 63
    assert torch.isinf(gm[:, G:]).all() and (gm[:, G:] < 0).all()
    full = q @ lib
    np.testing.assert_allclose(gm[:, 0].numpy(), full[:, : _triton.GROUP].amax(1).numpy())
    np.testing.assert_allclose(gm[:, G - 1].numpy(), full[:, (G - 1) * _triton.GROUP :].amax(1).numpy())


def test_fused_path_only_for_cuda_bf16():
    import torch

    q = torch.zeros((4, 256), dtype=torch.bfloat16)
    lib = torch.zeros((256, 100), dtype=torch.bfloat16)
    assert not _triton.available(q, lib)  # CPU tensors: the plain torch stage 1
