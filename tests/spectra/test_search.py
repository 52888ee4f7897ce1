"""Library search: exact scores against matchms / ms_entropy, two-stage vs exhaustive, index, devices, CLI."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from nps_id.errors import DeviceError, LibraryError
from nps_id.spectra import Spectrum
from nps_id.spectra.search import SearchIndex, cosine_greedy, entropy_similarity, nist_match_factor, search
from nps_id.spectra.search._peaks import as_peak_table
from nps_id.spectra.search.exact import MetricParams, greedy_matches, score_pairs, score_pairs_unit


def _perturbed(spectra, n, seed=7):
    """Real spectra with jittered intensities and ~10 % of peaks dropped (queries that are not in the library)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.choice(len(spectra), n, replace=False):
        s = spectra[i]
        keep = rng.random(len(s)) > 0.1
        keep[np.argmax(s.intensity)] = True
        out.append(Spectrum(s.mz[keep], (s.intensity * rng.lognormal(0, 0.3, len(s)))[keep], precursor_mz=s.precursor_mz))
    return out


@pytest.fixture(scope="module")
def massbank_all_ms2(massbank_path):
    """Every MassBank MS2 spectrum with a precursor m/z (about 73,000)."""
    from nps_id.spectra import load_spectra

    return [s for s in load_spectra(massbank_path) if s.precursor_mz and s.metadata.get("ms_level") == "MS2"]


@pytest.fixture(scope="module")
def massbank_ms2(massbank_all_ms2):
    return massbank_all_ms2[:6000]


@pytest.fixture(scope="module")
def ei_index(swgdrug_spectra):
    return SearchIndex.build(swgdrug_spectra, metrics=("cosine",))


def _matchms(s):
    import matchms

    return matchms.Spectrum(mz=s.mz.astype(float), intensities=s.intensity.astype(float), metadata={"precursor_mz": 1.0})


# ---------------------------------------------------------------- exact scores vs the references
@pytest.mark.realdata
@pytest.mark.parametrize("tol,powers", [(0.1, (0.0, 1.0)), (0.1, (1.0, 0.5))])
def test_cosine_equals_matchms_on_real_ei(swgdrug_spectra, tol, powers):
    from matchms.similarity import CosineGreedy

    logging.getLogger("matchms").setLevel(logging.ERROR)
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, len(swgdrug_spectra), (200, 2))
    cg = CosineGreedy(tolerance=tol, mz_power=powers[0], intensity_power=powers[1])
    ref = np.array([float(cg.pair(_matchms(swgdrug_spectra[i]), _matchms(swgdrug_spectra[j]))["score"]) for i, j in pairs])
    t = as_peak_table(swgdrug_spectra)
    p = MetricParams("cosine", tolerance=tol, mz_power=powers[0], intensity_power=powers[1])
    np.testing.assert_allclose(score_pairs(t, t, pairs[:, 0], pairs[:, 1], p), ref, atol=1e-5)
    np.testing.assert_allclose(score_pairs_unit(t, t, pairs[:, 0], pairs[:, 1], p), ref, atol=1e-5)
    i, j = pairs[0]
    assert cosine_greedy(swgdrug_spectra[i], swgdrug_spectra[j], tol, *powers) == pytest.approx(ref[0], abs=1e-5)


@pytest.mark.realdata
def test_cosine_equals_matchms_on_real_msms(massbank_ms2):
    from matchms.similarity import CosineGreedy

    logging.getLogger("matchms").setLevel(logging.ERROR)
    rng = np.random.default_rng(1)
    # pairs with the same precursor (so that many peaks match), plus random ones
    prec = np.array([s.precursor_mz for s in massbank_ms2])
    order = np.argsort(prec)
    close = np.c_[order[:-1], order[1:]][:150]
    pairs = np.r_[close, rng.integers(0, len(massbank_ms2), (100, 2))]
    cg = CosineGreedy(tolerance=0.02)
    ref = np.array([float(cg.pair(_matchms(massbank_ms2[i]), _matchms(massbank_ms2[j]))["score"]) for i, j in pairs])
    t = as_peak_table(massbank_ms2)
    mine = score_pairs(t, t, pairs[:, 0], pairs[:, 1], MetricParams("cosine", tolerance=0.02))
    assert (ref > 0.1).sum() > 20
    np.testing.assert_allclose(mine, ref, atol=1e-5)


@pytest.mark.realdata
@pytest.mark.parametrize("which", ["ei", "msms", "msms_close"])
def test_entropy_equals_ms_entropy(swgdrug_spectra, massbank_ms2, massbank_all_ms2, which):
    """``msms_close``: 300 pairs of spectra with peaks closer than 0.04 Da (centroided) and neighbouring
    precursors (so that many peaks match) from all of MassBank."""
    import ms_entropy

    spectra = swgdrug_spectra if which == "ei" else massbank_ms2
    rng = np.random.default_rng(2)
    pairs = rng.integers(0, len(spectra), (150, 2))
    if which == "msms_close":
        spectra = [s for s in massbank_all_ms2 if _has_close_peaks(s, 0.04)]
        order = np.argsort([s.precursor_mz for s in spectra])
        pairs = np.c_[order[:-1], order[1:]][rng.choice(len(spectra) - 1, 300, replace=False)]
    for i, j in pairs:
        a, b = spectra[i], spectra[j]
        ref = ms_entropy.calculate_entropy_similarity(np.c_[a.mz, a.intensity], np.c_[b.mz, b.intensity], ms2_tolerance_in_da=0.02)
        assert entropy_similarity(a, b, tolerance=0.02) == pytest.approx(ref, abs=1e-5)


def _has_close_peaks(s, min_diff: float) -> bool:
    """Whether ms_entropy would centroid `s`: two peaks closer than `min_diff` (float32)."""
    return bool((np.diff(np.sort(s.mz.astype(np.float32))) < np.float32(min_diff)).any())


def _cleaned_unlike_ms_entropy(spectra, min_diff: float, removal: float | None) -> list[int]:
    """The spectra that clean_for_entropy does not clean bit for bit as ms_entropy's ``clean_spectrum``."""
    from ms_entropy import clean_spectrum

    from nps_id.spectra.search.clean import clean_for_entropy

    t = clean_for_entropy(as_peak_table(spectra), min_diff=min_diff, precursor_removal=removal)
    bad = []
    for i, s in enumerate(spectra):
        peaks = np.c_[s.mz, s.intensity].astype(np.float32)
        ref = clean_spectrum(peaks, max_mz=s.precursor_mz - removal if removal else -1, min_ms2_difference_in_da=min_diff)
        a, b = t.offsets[i], t.offsets[i + 1]
        if not np.array_equal(np.c_[t.mz[a:b].astype(np.float32), t.intensity[a:b]], ref):
            bad.append(i)
    return bad


def _identity_vs_flash(lib, queries, k=3) -> int:
    """Identity search (precursor 0.01 Da, fragments 0.02 Da) by nps_id and FlashEntropySearch: the same top
    score and the same scores for every hit returned, to 1e-5, on every query Flash finds something for;
    returns the number of such queries."""
    from ms_entropy import FlashEntropySearch

    flash = FlashEntropySearch()
    ordered = flash.build_index([{"precursor_mz": s.precursor_mz, "peaks": np.c_[s.mz, s.intensity].astype(np.float32), "i": i} for i, s in enumerate(lib)])
    orig = np.array([d["i"] for d in ordered])
    res = SearchIndex(lib).search(queries, k=k, metric="entropy", mode="identity", precursor_tolerance=0.01)
    n_hits = 0
    for qi, q in enumerate(queries):
        peaks = flash.clean_spectrum_for_search(q.precursor_mz, np.c_[q.mz, q.intensity].astype(np.float32))
        sc = flash.identity_search(q.precursor_mz, peaks, ms1_tolerance_in_da=0.01, ms2_tolerance_in_da=0.02) if len(peaks) else np.zeros(1)
        if sc.max() <= 0:
            continue
        n_hits += 1
        ref = np.zeros(len(lib))
        ref[orig] = sc
        assert res.scores[qi, 0] == pytest.approx(sc.max(), abs=1e-5), f"query {qi} (precursor {q.precursor_mz})"
        got = res.indices[qi][res.indices[qi] >= 0]
        np.testing.assert_allclose(ref[got], res.scores[qi, : got.size], atol=1e-5, err_msg=f"query {qi}")
    return n_hits


@pytest.mark.realdata
def test_identity_search_equals_flash(massbank_ms2):
    lib, queries = massbank_ms2[:5000], _perturbed(massbank_ms2[:5000], 150) + massbank_ms2[5000:5150]
    assert _identity_vs_flash(lib, queries) > 100


@pytest.mark.realdata
def test_identity_search_equals_flash_at_high_mass(massbank_all_ms2):
    """Every MassBank MS2 spectrum with a precursor above 850 Da (about 1,100: dense, often profile-like peak
    lists where centroiding decides the scores), a third of them as queries, against the other two thirds
    plus 1,500 lighter spectra; the top 20 hits of every query scored as Flash scores them."""
    heavy = [s for s in massbank_all_ms2 if s.precursor_mz > 850]
    rng = np.random.default_rng(4)
    light = [massbank_all_ms2[i] for i in rng.choice(len(massbank_all_ms2), 1500, replace=False)]
    queries = heavy[::3] + light[:100]
    lib = [s for i, s in enumerate(heavy) if i % 3] + light[100:]
    assert len(heavy) > 1000
    assert _identity_vs_flash(lib, queries, k=20) > 250


@pytest.mark.realdata
@pytest.mark.parametrize("min_diff,removal", [(0.05, 1.6), (0.04, None)])
def test_entropy_cleaning_equals_ms_entropy_bit_for_bit(massbank_all_ms2, min_diff, removal):
    """clean_for_entropy returns exactly ms_entropy's ``clean_spectrum`` (its C code: peaks visited in its
    quicksort's order, merged in place, sums in float64; the precursor cut at m/z >= precursor - 1.6; float32
    sums) on 4,000 real spectra, half of them with peaks closer than `min_diff`, with FlashEntropySearch's
    settings and with ``calculate_entropy_similarity``'s."""
    rng = np.random.default_rng(5)
    dense = [s for s in massbank_all_ms2 if _has_close_peaks(s, min_diff)]
    spectra = [dense[i] for i in rng.choice(len(dense), 2000, replace=False)]
    spectra += [massbank_all_ms2[i] for i in rng.choice(len(massbank_all_ms2), 2000, replace=False)]
    bad = _cleaned_unlike_ms_entropy(spectra, min_diff, removal)
    assert not bad, f"{len(bad)} spectra cleaned differently, e.g. {bad[:5]}"


def test_centroiding_follows_ms_entropy_order_of_equal_intensities(rng):
    """Peaks 0.01-0.04 Da apart with intensities from {1, 2, 3}: which of two equal peaks ms_entropy merges
    first follows its quicksort (neither the stable nor the reversed order), and that changes the result."""
    spectra = []
    for _ in range(300):
        mz = 100 + np.cumsum(rng.choice([0.01, 0.02, 0.03, 0.04, 0.3], rng.integers(2, 40)))
        spectra.append(Spectrum(mz, rng.choice([1.0, 2.0, 3.0], mz.size).astype(np.float32)))
    assert _cleaned_unlike_ms_entropy(spectra, 0.05, None) == []


def test_precursor_removal_includes_the_limit():
    """ms_entropy removes peaks at m/z >= precursor - 1.6 (in float32): 1465.4 goes for a precursor of 1467.0."""
    from nps_id.spectra.search.clean import clean_for_entropy

    s = Spectrum(np.array([100.0, 1465.3, 1465.4, 1466.1]), np.array([5, 1, 2, 3], np.float32), precursor_mz=1467.0)
    assert clean_for_entropy(as_peak_table([s])).mz.tolist() == pytest.approx([100.0, 1465.3])
    assert _cleaned_unlike_ms_entropy([s], 0.05, 1.6) == []


# ---------------------------------------------------------------- two-stage search
@pytest.mark.realdata
@pytest.mark.parametrize("metric,mode", [("cosine", "similarity"), ("nist", "similarity"), ("entropy", "similarity"), ("cosine", "reverse")])
def test_two_stage_top1_equals_exhaustive(swgdrug_spectra, ei_index, metric, mode):
    queries = _perturbed(swgdrug_spectra, 300)
    fast = ei_index.search(queries, k=5, metric=metric, mode=mode)
    full = ei_index.search(queries, k=5, metric=metric, mode=mode, n_candidates=len(swgdrug_spectra))
    np.testing.assert_array_equal(fast.indices[:, 0], full.indices[:, 0])
    np.testing.assert_allclose(fast.scores[:, 0], full.scores[:, 0], atol=1e-12)
    assert (np.diff(fast.scores, axis=1) <= 1e-12).all()  # sorted, best first


@pytest.mark.realdata
@pytest.mark.parametrize("metric", ["nist", "cosine"])
def test_two_stage_finds_high_mass_spectra(swgdrug_spectra, ei_index, metric):
    # derivatives (TMS, HFBA) with peaks above m/z 525: their m/z-weighted vectors live at high mass
    heavy = [s for s in swgdrug_spectra if s.mz.max() > 525]
    assert len(heavy) >= 10
    queries = _perturbed(heavy, len(heavy), seed=11)
    fast = ei_index.search(queries, k=1, metric=metric)
    full = ei_index.search(queries, k=1, metric=metric, n_candidates=len(swgdrug_spectra))
    np.testing.assert_allclose(fast.scores[:, 0], full.scores[:, 0], atol=1e-12)


@pytest.mark.realdata
def test_search_finds_the_source_spectrum(swgdrug_spectra, ei_index):
    res = ei_index.search(swgdrug_spectra[:200], k=1)
    assert res.scores[:, 0] == pytest.approx(1.0, abs=1e-9)
    # duplicates in the library may tie; the hit must be an identical-score spectrum
    t = as_peak_table(swgdrug_spectra)
    same = score_pairs_unit(t, t, np.arange(200), res.indices[:, 0], MetricParams("cosine"))
    np.testing.assert_allclose(same, 1.0, atol=1e-9)
    assert nist_match_factor(swgdrug_spectra[0], swgdrug_spectra[0]) == pytest.approx(1.0)


def _random_unit_spectra(rng, n, lo, hi, max_peaks):
    """`n` random unit-mass spectra with peaks at integer m/z in [lo, hi)."""
    out = []
    for _ in range(n):
        mz = np.unique(rng.integers(lo, hi, rng.integers(1, max_peaks))).astype(float)
        out.append(Spectrum(mz, rng.random(mz.size).astype(np.float32) + 0.01))
    return out


def test_unit_and_general_engines_agree(rng):
    t = as_peak_table(_random_unit_spectra(rng, 60, 20, 300, 40))
    pq, pl = rng.integers(0, 60, 400), rng.integers(0, 60, 400)
    for m, rev in (("cosine", False), ("cosine", True), ("nist", False), ("nist", True)):
        p = MetricParams(m, reverse=rev)
        np.testing.assert_allclose(score_pairs_unit(t, t, pq, pl, p), score_pairs(t, t, pq, pl, p), atol=1e-12)


def test_greedy_matches_equal_sequential_greedy(rng):
    for _ in range(30):
        n = rng.integers(1, 60)
        pair = np.sort(rng.integers(0, 3, n))
        qp, lp = rng.integers(0, 8, n), rng.integers(0, 8, n)
        key = np.unique(np.c_[pair, qp, lp], axis=0)
        pair, qp, lp = key.T
        w = rng.random(pair.size)
        got = set(greedy_matches(pair, qp, lp, w).tolist())
        used_q, used_l, want = set(), set(), set()
        for i in np.argsort(-w, kind="stable"):
            if (pair[i], qp[i]) not in used_q and (pair[i], lp[i]) not in used_l:
                want.add(int(i))
                used_q.add((pair[i], qp[i]))
                used_l.add((pair[i], lp[i]))
        assert got == want


def test_hybrid_search_finds_an_analogue():
    # library: a spectrum with precursor 300; query: an "analogue" +14 Da whose fragments that keep the
    # modification shift by 14 (neutral losses stay the same)
    base = Spectrum([91.05, 120.08, 188.14, 250.2], [300, 1000, 600, 200], precursor_mz=300.0)
    decoy = Spectrum([91.05, 105.07, 150.1], [1000, 400, 200], precursor_mz=314.0)
    query = Spectrum([91.05, 134.08, 202.14, 264.2], [300, 1000, 600, 200], precursor_mz=314.0)
    index = SearchIndex([base, decoy])
    open_ = index.search([query], k=2, mode="similarity", tolerance=0.02)
    hybrid = index.search([query], k=2, mode="hybrid", tolerance=0.02)
    assert hybrid.indices[0, 0] == 0
    assert hybrid.scores[0, 0] > 0.99
    assert open_.scores[0, list(open_.indices[0]).index(0)] < 0.2


@pytest.mark.parametrize("metric", ["cosine", "nist", "entropy"])
def test_hybrid_score_without_a_shift_is_the_metric_itself(rng, metric):
    # equal precursors: no shifted match adds anything, so the hybrid score is the metric's own score
    from nps_id.spectra.search.clean import clean_for_entropy, entropy_weights
    from nps_id.spectra.search._pairs import _hybrid_scores

    spectra = _random_unit_spectra(rng, 40, 20, 300, 40)
    t = as_peak_table([Spectrum(s.mz + 0.003, s.intensity, precursor_mz=310.0) for s in spectra])
    if metric == "entropy":
        t = entropy_weights(clean_for_entropy(t, min_diff=0.05, precursor_removal=1.6))
    pq, pl = rng.integers(0, 40, 300), rng.integers(0, 40, 300)
    p = MetricParams(metric, tolerance=0.02)
    np.testing.assert_allclose(_hybrid_scores(t, t, pq, pl, p), score_pairs(t, t, pq, pl, p), atol=1e-12)


def test_identity_mode_needs_precursors(swgdrug_spectra, ei_index):
    with pytest.raises(ValueError, match="precursor"):
        ei_index.search(swgdrug_spectra[:2], mode="identity")
    with pytest.raises(ValueError, match="mode"):
        ei_index.search(swgdrug_spectra[:2], mode="fuzzy")
    with pytest.raises(ValueError, match="reverse"):
        ei_index.search(swgdrug_spectra[:2], mode="reverse", metric="entropy")


# ---------------------------------------------------------------- stage 1: folding and block top-k
@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_block_topk_equals_torch_topk(rng, dtype):
    import torch

    from nps_id.spectra.search.binned import _block_topk, torch_dtype

    n = 7
    S = torch.from_numpy(rng.random((9, 64 * 64)).astype(np.float32))
    S[:, ::3] = 0.0  # ties
    S[2] = 0.0  # a row of ties only
    S[4, 100:] = -float("inf")  # filtered columns
    S = S.to(torch_dtype(dtype))
    v, i = _block_topk(S, n)
    ref, _ = torch.topk(S.float(), n, dim=1)
    np.testing.assert_array_equal(np.sort(v.numpy(), 1), np.sort(ref.numpy(), 1))
    np.testing.assert_array_equal(torch.gather(S.float(), 1, i).numpy(), v.numpy())  # indices point at the values
    assert (i[4] < 100).all()
    assert len(set(i[2].tolist())) == n


def test_fold_columns_pairs_heavy_with_light(rng):
    from nps_id.spectra.search.binned import fold_columns

    mass = rng.random(16)
    col = fold_columns(mass, 8)
    assert sorted(np.bincount(col)) == [2] * 8
    order = np.argsort(-mass)
    assert col[order[0]] == col[order[-1]] and col[order[7]] == col[order[8]]
    assert (fold_columns(mass, 16) == np.argsort(np.argsort(-mass))).all()
    assert sorted(np.bincount(fold_columns(mass, 6))) == [2, 2, 3, 3, 3, 3]  # 16 bins: tiers of 6, 6 and 4
    for bad in (0, 17):
        with pytest.raises(ValueError, match="between"):
            fold_columns(mass, bad)


def test_folded_stage1_score_bounds_the_unfolded_one(rng):
    from nps_id.spectra.search.binned import bin_rows, fold_columns

    t = as_peak_table(_random_unit_spectra(rng, 40, 10, 265, 60))
    colmap = fold_columns(rng.random(256), 128)
    full = bin_rows(t, 10, 256, 0.0, 1.0)
    folded = bin_rows(t, 10, 256, 0.0, 1.0, colmap=colmap)
    assert folded.shape == (40, 128)
    np.testing.assert_allclose(folded.sum(1), full.sum(1), rtol=1e-5)  # nothing lost, only moved
    assert (folded @ folded.T >= full @ full.T - 1e-6).all()


def test_coarse_topk_in_chunks_equals_full_scoring(rng):
    import torch

    from nps_id.spectra.search.binned import coarse_topk

    lib = torch.from_numpy(rng.random((32, 64 * 200)).astype(np.float32))
    q = torch.from_numpy(rng.random((5, 32)).astype(np.float32))
    v, i = coarse_topk(q, lib, 6, chunk=64 * 80)  # chunks of 5,120 columns and a remainder of 2,560
    full = (q @ lib).numpy()
    ref = np.argsort(-full, axis=1)[:, :6]
    np.testing.assert_array_equal(i.numpy(), ref)
    np.testing.assert_allclose(v.numpy(), np.take_along_axis(full, ref, 1), rtol=1e-6)


@pytest.mark.realdata
def test_ei_index_folds_every_bin_into_256_columns(swgdrug_spectra, ei_index):
    t = as_peak_table(swgdrug_spectra)
    assert ei_index.columns == 256 and ei_index.colmap.size == ei_index.width
    assert ei_index.lo <= t.mz.min() and t.mz.max() < ei_index.lo + ei_index.width  # no peak outside stage 1
    assert SearchIndex(swgdrug_spectra, coarse_columns=None).colmap is None


# ---------------------------------------------------------------- devices, index files, CLI
def test_cuda_absent_is_a_clear_error(swgdrug_spectra, ei_index, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="device='cpu'"):
        ei_index.search(swgdrug_spectra[:2], device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        ei_index.search(swgdrug_spectra[:2], device="tpu")


def test_fp32_and_bf16_give_the_same_hits(swgdrug_spectra, ei_index):
    queries = _perturbed(swgdrug_spectra, 100, seed=3)
    a = ei_index.search(queries, k=3)
    b = SearchIndex(swgdrug_spectra, coarse_dtype="fp32").search(queries, k=3)
    np.testing.assert_array_equal(a.indices[:, 0], b.indices[:, 0])
    np.testing.assert_allclose(a.scores[:, 0], b.scores[:, 0])


@pytest.mark.realdata
def test_index_is_stored_and_checked(tmp_path, swgdrug_spectra):
    from nps_id.spectra.library import SpectralLibrary

    lib = SpectralLibrary.from_spectra(swgdrug_spectra[:300])
    lib.save(tmp_path / "lib.h5")
    lib = SpectralLibrary.open(tmp_path / "lib.h5")
    with pytest.raises(LibraryError, match="no usable search index"):
        SearchIndex.open(lib, build=False)
    built = SearchIndex.build(lib)
    path = built.save()
    assert path == tmp_path / "lib.search"
    again = SearchIndex.open(lib, build=False)
    assert again._matrices
    r1, r2 = built.search(swgdrug_spectra[:20], k=2), search(swgdrug_spectra[:20], again, k=2)
    np.testing.assert_array_equal(r1.indices, r2.indices)
    other = SpectralLibrary.from_spectra(swgdrug_spectra[:299])
    with pytest.raises(LibraryError, match="stale"):
        SearchIndex.open(other, path, build=False)


@pytest.mark.realdata
def test_cli_writes_csv_and_json(tmp_path, swgdrug_spectra):
    from nps_id.cli import main
    from nps_id.spectra import save_spectra
    from nps_id.spectra.library import SpectralLibrary

    SpectralLibrary.from_spectra(swgdrug_spectra[:500]).save(tmp_path / "lib.h5")
    save_spectra(swgdrug_spectra[:3], tmp_path / "q.msp")
    assert main(["search", str(tmp_path / "q.msp"), "-l", str(tmp_path / "lib.h5"), "-k", "2", "-o", str(tmp_path / "hits.csv")]) == 0
    lines = (tmp_path / "hits.csv").read_text().splitlines()
    assert lines[0].startswith("query,query_name,technique,rank,library_index,score")
    assert len(lines) == 7 and lines[1].split(",")[4] == "0" and lines[1].split(",")[2] == "gc_ei"
    assert main(["search", str(tmp_path / "q.msp"), "-l", str(tmp_path / "lib.h5"), "--metric", "nist", "-o", str(tmp_path / "hits.json")]) == 0
    data = json.loads((tmp_path / "hits.json").read_text())
    assert data["metric"] == "nist" and data["hits"][0]["score"] == pytest.approx(1.0)
    assert (tmp_path / "lib.search" / "gc_ei" / "meta.json").exists()
    assert main(["search", str(tmp_path / "q.msp"), "-l", str(tmp_path / "lib.h5"), "--device", "cuda"]) == 1
