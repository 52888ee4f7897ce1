"""Features from mass spectra, shared by every model of :mod:`nps_id.models`.

One transformer, :class:`SpectrumFeaturizer`, turns a batch of spectra (a list of
:class:`~nps_id.spectra.Spectrum` or a :class:`~nps_id.spectra.SpectralLibrary`) into one dense
``float32`` matrix made of these blocks (each can be switched off):

``binned``
    The spectrum on a 1-Da grid (nominal mass, ``round(0.9995 * mz)``), each spectrum scaled to a base
    peak of 1 and raised to ``intensity_power`` (0.5: square root, which lifts the small, structure-rich
    peaks of EI spectra).
``losses``
    Neutral losses: differences between the ``n_loss_peaks`` most intense peaks (EI: the losses between
    fragments; MS/MS: also precursor minus fragment), as a 1-Da histogram weighted by the geometric mean
    of the two scaled intensities, scaled to a maximum of 1 per spectrum.
``characteristic``
    Ions and losses learned from the training labels: per class, the m/z and loss bins found far more
    often in that class's compounds than in the others (frequencies are averaged per compound first, so a
    compound with many replicate spectra does not dominate). One feature per class: the fraction of that
    class's characteristic ions and losses present in the spectrum.
``search``
    Library-search evidence against the training spectra: per class the best cosine score among that
    class's reference spectra, the top hit's score, and the similarity-weighted mean of the substructure
    keys (:func:`nps_id.models.substructure.substructure_keys`, RDKit) of the top ``search_top_k`` hit
    structures. On the training data itself (:meth:`SpectrumFeaturizer.fit_transform`), every spectrum is
    searched with its own compound (its group) removed from the references, so the evidence the classifier
    learns from looks like that of a compound no library holds, and cross-validation does not leak.
``precursor``
    MS/MS only: precursor m/z / 1000.

Everything is computed on the CSR peak arrays of the whole batch at once (``numpy`` fancy indexing,
``bincount``, sparse products); there is no Python loop over spectra in the hot path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from nps_id.errors import ModelError
from nps_id.spectra.spectrum import pack_peaks

__all__ = [
    "SpectrumFeaturizer", "SpectraBatch", "as_batch", "augment_spectra", "binned_matrix", "group_index", "is_spectra",
]

logger = logging.getLogger(__name__)

_MODES = ("ei", "msms")
_BLOCKS = ("binned", "losses", "characteristic", "search", "precursor")


@dataclass(frozen=True)
class SpectraBatch:
    """Many mass spectra as CSR arrays: spectrum ``i`` holds peaks ``offsets[i]:offsets[i + 1]``.

    Attributes
    ----------
    mz : ndarray of float64
    intensity : ndarray of float32
    offsets : ndarray of int64, shape (n + 1,)
    precursor_mz : ndarray of float64, shape (n,), NaN where none
    metadata : callable or None
        ``metadata(key) -> ndarray of str`` ("" where missing); None if the batch carries none.
    """

    mz: np.ndarray
    intensity: np.ndarray
    offsets: np.ndarray
    precursor_mz: np.ndarray
    metadata_source: Any = None

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def metadata(self, key: str) -> np.ndarray:
        """Return metadata ``key`` for every spectrum (object array of str, "" where missing)."""
        src = self.metadata_source
        n = len(self)
        if src is None:
            return np.full(n, "", dtype=object)
        if hasattr(src, "column"):  # SpectralLibrary
            try:
                col = src.column(key)
            except KeyError:
                return np.full(n, "", dtype=object)
            return np.asarray(col, dtype=object)
        out = np.empty(n, dtype=object)
        out[:] = [str(m.get(key, "") or "") for m in src]
        return out


def is_spectra(X: Any) -> bool:
    """True if `X` is a SpectralLibrary, a SpectraBatch, a Spectrum or a sequence of Spectrum objects."""
    from nps_id.spectra.library import SpectralLibrary
    from nps_id.spectra.spectrum import Spectrum

    if isinstance(X, (SpectralLibrary, SpectraBatch, Spectrum)):
        return True
    if isinstance(X, np.ndarray):
        return X.dtype == object and X.ndim == 1 and X.size > 0 and all(isinstance(s, Spectrum) for s in X)
    if isinstance(X, Sequence) and not isinstance(X, (str, bytes)):
        return len(X) > 0 and all(isinstance(s, Spectrum) for s in X)
    return False


def as_batch(X: Any) -> SpectraBatch:
    """Turn a SpectralLibrary, a Spectrum, or a sequence of Spectrum into a :class:`SpectraBatch`.

    Raises
    ------
    ModelError
        If `X` holds something else (the message says what is accepted), or a non-MS spectrum.
    """
    from nps_id.spectra.library import SpectralLibrary
    from nps_id.spectra.spectrum import Spectrum

    if isinstance(X, SpectraBatch):
        return X
    if isinstance(X, SpectralLibrary):
        if len(X) and (np.asarray(X.kinds) != "ms").any():
            raise ModelError("nps_id.models works on mass spectra; the library holds IR/Raman spectra too: select kind 'ms'")
        return SpectraBatch(np.asarray(X.mz), np.asarray(X.intensity), X.offsets, X.precursor_mz, X)
    if isinstance(X, Spectrum):
        X = [X]
    if isinstance(X, np.ndarray) and X.dtype == object:
        X = list(X)
    if not isinstance(X, Sequence) or isinstance(X, (str, bytes)):
        raise ModelError(
            f"expected a list of Spectrum objects or a SpectralLibrary, got {type(X).__name__}; "
            "load spectra with nps_id.spectra.load_spectra or SpectralLibrary.open"
        )
    spectra = list(X)
    bad = [i for i, s in enumerate(spectra) if not isinstance(s, Spectrum)]
    if bad:
        raise ModelError(
            f"item {bad[0]} is a {type(spectra[bad[0]]).__name__}, not a Spectrum; "
            "pass Spectrum objects, a SpectralLibrary, or a 2-D numeric feature array"
        )
    if any(s.kind != "ms" for s in spectra):
        raise ModelError("nps_id.models works on mass spectra (kind 'ms'); got an IR/Raman spectrum")
    mz, inten, offsets, prec = pack_peaks(spectra)
    return SpectraBatch(mz, inten, offsets, prec, [s.metadata for s in spectra])


def _scaled_peaks(batch: SpectraBatch, power: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (spectrum index of every peak, intensity / base peak, raised to `power`)."""
    n = len(batch)
    counts = np.diff(batch.offsets)
    row = np.repeat(np.arange(n, dtype=np.int64), counts)
    inten = np.asarray(batch.intensity, dtype=np.float32)
    base = np.zeros(n, dtype=np.float32)
    if inten.size:
        np.maximum.at(base, row, inten)
    scale = np.divide(1.0, base, out=np.zeros_like(base), where=base > 0)
    scaled = inten * scale[row]
    if power != 1.0:
        scaled = np.power(scaled, power, dtype=np.float32)
    return row, scaled


def nominal_mass(mz: np.ndarray) -> np.ndarray:
    """Nominal (integer) mass of m/z values: ``round(0.9995 * mz)`` (absorbs the mass defect of organic ions)."""
    return np.rint(np.asarray(mz) * 0.9995).astype(np.int64)


def binned_matrix(batch: SpectraBatch, max_mz: int, power: float = 0.5, sparse_out: bool = False) -> Any:
    """Bin a batch on a 1-Da grid ``0..max_mz-1``, keeping the highest scaled peak of each bin.

    Returns a dense float32 array of shape (n, max_mz), or a CSR matrix with ``sparse_out=True``.
    """
    n = len(batch)
    row, scaled = _scaled_peaks(batch, power)
    col = nominal_mass(batch.mz)
    keep = (col >= 0) & (col < max_mz) & (scaled > 0)
    row, col, scaled = row[keep], col[keep], scaled[keep]
    if sparse_out:
        # highest peak per (row, col): sort by value, keep the last of each duplicate key
        key = row * max_mz + col
        order = np.lexsort((scaled, key))
        key, scaled = key[order], scaled[order]
        last = np.ones(key.size, dtype=bool)
        last[:-1] = key[1:] != key[:-1]
        key, scaled = key[last], scaled[last]
        return sparse.csr_matrix((scaled, (key // max_mz, key % max_mz)), shape=(n, max_mz), dtype=np.float32)
    out = np.zeros(n * max_mz, dtype=np.float32)
    np.maximum.at(out, row * max_mz + col, scaled)
    return out.reshape(n, max_mz)


def _top_peaks(batch: SpectraBatch, k: int, power: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `k` most intense peaks of every spectrum as padded (n, k) arrays: nominal m/z, scaled intensity, valid."""
    n = len(batch)
    row, scaled = _scaled_peaks(batch, power)
    nominal = nominal_mass(batch.mz)
    order = np.lexsort((-scaled, row))  # by spectrum, then intensity descending
    rank = np.arange(order.size) - np.repeat(batch.offsets[:-1], np.diff(batch.offsets))
    sel = order[rank < k]
    r = row[sel]
    pos = (rank[rank < k]).astype(np.int64)
    mzs = np.zeros((n, k), dtype=np.int64)
    ints = np.zeros((n, k), dtype=np.float32)
    mzs[r, pos] = nominal[sel]
    ints[r, pos] = scaled[sel]
    return mzs, ints, ints > 0


def loss_matrix(batch: SpectraBatch, max_loss: int, n_peaks: int = 30, power: float = 0.5, precursor: bool = False) -> np.ndarray:
    """Neutral-loss histogram (n, max_loss): pairwise differences of the top `n_peaks` peaks (and precursor losses).

    Each difference ``d = m_i - m_j`` (``1 <= d < max_loss``) adds ``sqrt(I_i * I_j)``; with ``precursor=True``
    each peak also adds its scaled intensity at ``round(precursor - m)``. Rows are scaled to a maximum of 1.
    """
    n = len(batch)
    mzs, ints, valid = _top_peaks(batch, n_peaks, power)
    out = np.zeros(n * max_loss, dtype=np.float32)
    if n:
        diff = mzs[:, :, None] - mzs[:, None, :]
        w = np.sqrt(ints[:, :, None] * ints[:, None, :])
        ok = valid[:, :, None] & valid[:, None, :] & (diff >= 1) & (diff < max_loss)
        rows = np.broadcast_to(np.arange(n)[:, None, None], diff.shape)
        np.add.at(out, rows[ok] * max_loss + diff[ok], w[ok])
        if precursor:
            prec = np.where(np.isfinite(batch.precursor_mz), batch.precursor_mz, 0.0)
            pnom = nominal_mass(prec)
            loss = pnom[:, None] - mzs
            okp = valid & (loss >= 1) & (loss < max_loss) & (prec[:, None] > 0)
            rows2 = np.broadcast_to(np.arange(n)[:, None], loss.shape)
            np.add.at(out, rows2[okp] * max_loss + loss[okp], ints[okp])
    out = out.reshape(n, max_loss)
    top = out.max(axis=1, keepdims=True) if n else np.ones((0, 1), np.float32)
    np.divide(out, top, out=out, where=top > 0)
    return out


def group_index(groups: Any) -> np.ndarray:
    """Integer compound ids (positions among the sorted distinct labels), as :class:`SpectrumFeaturizer` stores them."""
    return np.unique(np.asarray(groups).astype(str), return_inverse=True)[1].astype(np.int64)


def augment_spectra(
    batch: SpectraBatch,
    n_copies: int = 1,
    random_state: int | np.random.Generator | None = None,
    intensity_sigma: float = 0.2,
    high_mass_sigma: float = 0.7,
    high_mass_fraction: float = 0.8,
) -> tuple[SpectraBatch, np.ndarray]:
    """Jittered copies of spectra, to train classifiers that tolerate instrument-to-instrument differences.

    Every peak's intensity is multiplied by a log-normal factor ``exp(N(0, intensity_sigma))`` (relative
    abundances of EI spectra of one compound differ by tens of per cent between instruments and tunings),
    and all peaks of a spectrum's high-mass region (m/z at or above ``high_mass_fraction`` times its
    highest m/z: the molecular ion and its first losses, whose survival depends most on source
    temperature and tuning) by one more factor ``exp(N(0, high_mass_sigma))`` per spectrum. m/z values
    are kept; the scaling to a base peak is left to the featurizer.

    Parameters
    ----------
    batch : SpectraBatch
    n_copies : int, default 1
        Copies per spectrum.
    random_state : int, Generator or None
    intensity_sigma, high_mass_sigma : float
        Standard deviations of the log factors (0 switches a part off).
    high_mass_fraction : float, default 0.8

    Returns
    -------
    copies : SpectraBatch
        ``n_copies * len(batch)`` spectra (copy ``k`` of spectrum ``i`` at ``k * len(batch) + i``), no metadata.
    source : ndarray of int64
        Index in `batch` of the spectrum each copy was made from.
    """
    rng = np.random.default_rng(random_state)
    n = len(batch)
    n_copies = int(n_copies)
    counts = np.diff(batch.offsets)
    row = np.repeat(np.arange(n, dtype=np.int64), counts)
    mz = np.asarray(batch.mz, dtype=np.float64)
    top = np.zeros(n)
    if mz.size:
        np.maximum.at(top, row, mz)
    high = mz >= float(high_mass_fraction) * top[row]
    log_f = rng.normal(0.0, float(intensity_sigma), (n_copies, mz.size))
    log_f += np.where(high, rng.normal(0.0, float(high_mass_sigma), (n_copies, n))[:, row], 0.0)
    inten = (np.asarray(batch.intensity, dtype=np.float64)[None, :] * np.exp(log_f)).astype(np.float32)
    offsets = np.zeros(n * n_copies + 1, dtype=np.int64)
    np.cumsum(np.tile(counts, n_copies), out=offsets[1:])
    prec = np.tile(np.asarray(batch.precursor_mz), n_copies)
    copies = SpectraBatch(np.tile(mz, n_copies), inten.ravel(), offsets, prec)
    return copies, np.tile(np.arange(n, dtype=np.int64), n_copies)


def _l2_rows(m: Any) -> Any:
    """Scale the rows of a dense or CSR matrix to unit L2 norm (zero rows stay zero)."""
    if sparse.issparse(m):
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sparse.diags(inv.astype(np.float32)) @ m
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


class SpectrumFeaturizer(TransformerMixin, BaseEstimator):
    """Turn mass spectra into a feature matrix (see the module docstring for the blocks).

    Parameters
    ----------
    mode : {"ei", "msms"}, default "ei"
        ``"ei"``: GC-EI spectra (no precursor); ``"msms"``: MS/MS spectra (adds precursor losses and
        the precursor m/z as features).
    max_mz : int, default 500
        Upper end of the 1-Da binning grid (m/z above are ignored by the binned block).
    intensity_power : float, default 0.5
        Exponent applied to base-peak-scaled intensities.
    n_loss_peaks : int, default 30
        Number of most intense peaks whose pairwise differences make the loss block.
    max_loss : int, default 250
        Largest neutral loss (Da) kept.
    n_characteristic : int, default 12
        Characteristic ions and the same number of losses learned per class (needs labels in fit).
    min_class_frequency : float, default 0.3
        A characteristic ion must be present in at least this fraction of the class's compounds.
    presence_threshold : float, default 0.1
        A peak counts as present above this scaled intensity (0.1 with ``intensity_power=0.5`` is 1% of
        the base peak).
    search_top_k : int, default 5
        Top hits whose structures' substructure keys are averaged into the search block.
    blocks : tuple of str, default all
        Which blocks to build: any of "binned", "losses", "characteristic", "search", "precursor".

    Attributes
    ----------
    classes_ : ndarray
        Class labels seen in fit (only when labels were given).
    char_ions_, char_losses_ : list of ndarray
        Per class, the learned characteristic ion / loss bins.
    ref_ : scipy.sparse.csr_matrix
        The training spectra (L2-normalised binned vectors) searched by the search block.
    ref_labels_ : ndarray of int
        Class index of every reference spectrum.
    ref_keys_ : ndarray of float32
        Substructure keys of every reference spectrum's structure (zeros where it has none).
    n_features_out_ : int
    feature_names_ : ndarray of str

    Examples
    --------
    >>> from nps_id.models import SpectrumFeaturizer
    >>> feat = SpectrumFeaturizer(blocks=("binned", "losses"))
    >>> X = feat.fit_transform(spectra)  # doctest: +SKIP
    """

    def __init__(
        self,
        mode: str = "ei",
        max_mz: int = 500,
        intensity_power: float = 0.5,
        n_loss_peaks: int = 30,
        max_loss: int = 250,
        n_characteristic: int = 12,
        min_class_frequency: float = 0.3,
        presence_threshold: float = 0.1,
        search_top_k: int = 5,
        blocks: tuple[str, ...] = ("binned", "losses", "characteristic", "search", "precursor"),
    ) -> None:
        self.mode = mode
        self.max_mz = max_mz
        self.intensity_power = intensity_power
        self.n_loss_peaks = n_loss_peaks
        self.max_loss = max_loss
        self.n_characteristic = n_characteristic
        self.min_class_frequency = min_class_frequency
        self.presence_threshold = presence_threshold
        self.search_top_k = search_top_k
        self.blocks = blocks

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {self.mode!r}")
        unknown = set(self.blocks) - set(_BLOCKS)
        if unknown:
            raise ValueError(f"unknown feature block(s) {sorted(unknown)}; choose from {_BLOCKS}")
        if int(self.max_mz) < 10 or int(self.max_loss) < 2 or int(self.n_loss_peaks) < 2:
            raise ValueError("max_mz must be >= 10, max_loss >= 2 and n_loss_peaks >= 2")

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> "SpectrumFeaturizer":
        """Learn characteristic ions/losses and store the search references.

        Parameters
        ----------
        X : list of Spectrum or SpectralLibrary
        y : array_like, optional
            Class label per spectrum; without it the "characteristic" and "search" blocks are left out.
        groups : array_like, optional
            Compound of every spectrum (e.g. InChIKey first block); default: from the spectra's
            metadata via :func:`nps_id.models.evaluation.compound_groups`.
        """
        self._fit(X, y, groups)
        return self

    def fit_transform(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit, then transform the training spectra with their own compound left out of the search block."""
        batch, groups_arr = self._fit(X, y, groups)
        return self._transform(batch, exclude_groups=groups_arr)

    def _fit(self, X: Any, y: Any, groups: Any) -> tuple[SpectraBatch, np.ndarray | None]:
        self._check_params()
        batch = as_batch(X)
        n = len(batch)
        if n == 0:
            raise ValueError("cannot fit on 0 spectra")
        self.labelled_ = y is not None
        groups_arr = None
        if y is not None:
            y = np.asarray(y)
            if y.shape != (n,):
                raise ValueError(f"y has shape {y.shape}; expected one label per spectrum ({n})")
            self.classes_, y_idx = np.unique(y, return_inverse=True)
            if groups is None:
                from nps_id.models.evaluation import compound_groups

                groups = compound_groups(batch)
            groups_arr = np.asarray(groups)
            if groups_arr.shape != (n,):
                raise ValueError(f"groups has shape {groups_arr.shape}; expected ({n},)")
            groups_arr = group_index(groups_arr)
        self.blocks_ = tuple(
            b for b in _BLOCKS if b in self.blocks and (y is not None or b not in ("characteristic", "search"))
            and (b != "precursor" or self.mode == "msms")
        )
        binned = losses = None
        if "characteristic" in self.blocks_:
            binned = binned_matrix(batch, int(self.max_mz), self.intensity_power)
            losses = self._losses(batch)
            self._learn_characteristic(binned, losses, y_idx, groups_arr)
        if "search" in self.blocks_:
            ref = binned if binned is not None else binned_matrix(batch, int(self.max_mz), self.intensity_power)
            self.ref_ = _l2_rows(sparse.csr_matrix(ref, dtype=np.float32))
            self.ref_labels_ = y_idx.astype(np.int64)
            self.ref_groups_ = groups_arr.astype(np.int64)
            from nps_id.models.substructure import substructure_keys

            smiles = batch.metadata("smiles")
            self.ref_keys_ = substructure_keys(smiles).astype(np.float32)
            self.n_keys_ = self.ref_keys_.shape[1]
        self.feature_names_ = self._names()
        self.n_features_out_ = int(self.feature_names_.size)
        return batch, groups_arr

    def _losses(self, batch: SpectraBatch) -> np.ndarray:
        return loss_matrix(
            batch, int(self.max_loss), int(self.n_loss_peaks), self.intensity_power, precursor=self.mode == "msms"
        )

    def _learn_characteristic(self, binned: np.ndarray, losses: np.ndarray, y: np.ndarray, groups: np.ndarray) -> None:
        """Pick, per class, ion and loss bins far more frequent in the class's compounds than elsewhere."""
        thr = float(self.presence_threshold)
        n_groups = int(groups.max()) + 1
        # compound-level presence frequency: average over the compound's spectra
        gcount = np.bincount(groups, minlength=n_groups).astype(np.float64)
        glabel = np.zeros(n_groups, dtype=np.int64)
        glabel[groups] = y  # a compound's label (the last seen; compounds have one structure -> one class)
        self.char_ions_, self.char_losses_ = [], []
        for mat, store in ((binned, self.char_ions_), (losses, self.char_losses_)):
            present = (mat > thr).astype(np.float64)
            gfreq = np.zeros((n_groups, mat.shape[1]))
            np.add.at(gfreq, groups, present)
            gfreq /= gcount[:, None]
            for c in range(len(self.classes_)):
                inside = glabel == c
                if not inside.any() or inside.all():
                    store.append(np.empty(0, dtype=np.int64))
                    continue
                f_in = gfreq[inside].mean(axis=0)
                f_out = gfreq[~inside].mean(axis=0)
                score = np.log((f_in + 0.01) / (f_out + 0.01))
                score[f_in < float(self.min_class_frequency)] = -np.inf
                order = np.argsort(-score)[: int(self.n_characteristic)]
                store.append(np.sort(order[np.isfinite(score[order]) & (score[order] > np.log(2.0))]).astype(np.int64))

    def _names(self) -> np.ndarray:
        names: list[str] = []
        if "binned" in self.blocks_:
            names += [f"mz_{i}" for i in range(int(self.max_mz))]
        if "losses" in self.blocks_:
            names += [f"loss_{i}" for i in range(int(self.max_loss))]
        if "characteristic" in self.blocks_:
            names += [f"char_{c}" for c in self.classes_]
        if "search" in self.blocks_:
            names += ["search_top1"] + [f"search_max_{c}" for c in self.classes_]
            names += [f"search_key_{i}" for i in range(self.n_keys_)]
        if "precursor" in self.blocks_:
            names += ["precursor_mz_k"]
        return np.asarray(names, dtype=object)

    # ------------------------------------------------------------------ transforming
    def transform(self, X: Any) -> np.ndarray:
        """Return the feature matrix (n_spectra, n_features_out_) as float32."""
        check_is_fitted(self, "blocks_")
        return self._transform(as_batch(X), exclude_groups=None)

    def transform_left_out(self, X: Any, group_ids: Any) -> np.ndarray:
        """Transform spectra of training compounds with their own compound left out of the search block.

        Used for jittered copies of the training spectra (:func:`augment_spectra`), so their search evidence
        looks like that of a new compound, as in :meth:`fit_transform`.

        Parameters
        ----------
        X : list of Spectrum, SpectralLibrary or SpectraBatch
        group_ids : array_like of int, shape (n_spectra,)
            Each spectrum's compound as an integer id of the training groups (:func:`group_index` of the
            ``groups`` given to fit).
        """
        check_is_fitted(self, "blocks_")
        batch = as_batch(X)
        group_ids = np.asarray(group_ids, dtype=np.int64)
        if group_ids.shape != (len(batch),):
            raise ValueError(f"group_ids has shape {group_ids.shape}; expected ({len(batch)},)")
        return self._transform(batch, exclude_groups=group_ids)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output features (``mz_57``, ``loss_28``, ``char_<class>``, ``search_max_<class>``, ...)."""
        check_is_fitted(self, "blocks_")
        return self.feature_names_.copy()

    def _transform(self, batch: SpectraBatch, exclude_groups: np.ndarray | None) -> np.ndarray:
        parts: list[np.ndarray] = []
        need_binned = any(b in self.blocks_ for b in ("binned", "characteristic", "search"))
        binned = binned_matrix(batch, int(self.max_mz), self.intensity_power) if need_binned else None
        losses = self._losses(batch) if any(b in self.blocks_ for b in ("losses", "characteristic")) else None
        if "binned" in self.blocks_:
            parts.append(binned)
        if "losses" in self.blocks_:
            parts.append(losses)
        if "characteristic" in self.blocks_:
            parts.append(self._characteristic(binned, losses))
        if "search" in self.blocks_:
            parts.append(self._search(binned, exclude_groups))
        if "precursor" in self.blocks_:
            prec = np.where(np.isfinite(batch.precursor_mz), batch.precursor_mz, 0.0) / 1000.0
            parts.append(prec.astype(np.float32)[:, None])
        if not parts:
            return np.zeros((len(batch), 0), dtype=np.float32)
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float32)

    def _characteristic(self, binned: np.ndarray, losses: np.ndarray) -> np.ndarray:
        thr = float(self.presence_threshold)
        pi = binned > thr
        pl = losses > thr
        out = np.zeros((binned.shape[0], len(self.classes_)), dtype=np.float32)
        for c, (ions, ls) in enumerate(zip(self.char_ions_, self.char_losses_)):
            total = ions.size + ls.size
            if total:
                out[:, c] = (pi[:, ions].sum(axis=1) + pl[:, ls].sum(axis=1)) / total
        return out

    def search_scores(self, X: Any, exclude_groups: np.ndarray | None = None, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """Cosine search of spectra against the training references.

        Returns
        -------
        top_idx : ndarray of int64, shape (n, search_top_k)
            Reference indices of the best hits (best first).
        top_score : ndarray of float32, shape (n, search_top_k)
        """
        check_is_fitted(self, "ref_")
        batch = X if isinstance(X, np.ndarray) else binned_matrix(as_batch(X), int(self.max_mz), self.intensity_power)
        _, idx, score = self._search_core(batch, exclude_groups, chunk, want_class_max=False)
        return idx, score

    def _search_core(
        self, binned: np.ndarray, exclude_groups: np.ndarray | None, chunk: int = 2048, want_class_max: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        q = _l2_rows(binned.astype(np.float32, copy=False))
        n = q.shape[0]
        k = max(1, min(int(self.search_top_k), self.ref_.shape[0]))
        n_cls = len(self.classes_)
        cls_max = np.zeros((n, n_cls), dtype=np.float32) if want_class_max else None
        top_idx = np.zeros((n, k), dtype=np.int64)
        top_score = np.zeros((n, k), dtype=np.float32)
        ref_t = self.ref_.T.tocsc()
        onehot = None
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            sims = np.asarray((sparse.csr_matrix(q[start:stop]) @ ref_t).toarray(), dtype=np.float32)
            if exclude_groups is not None:
                same = exclude_groups[start:stop, None] == self.ref_groups_[None, :]
                sims[same] = -1.0
            if want_class_max:
                # per-class max: scatter with maximum over the reference label
                for c in range(n_cls):
                    cols = self._class_cols(c)
                    if cols.size:
                        cls_max[start:stop, c] = np.maximum(sims[:, cols].max(axis=1), 0.0)
            part = np.argpartition(-sims, k - 1, axis=1)[:, :k] if sims.shape[1] > k else np.tile(np.arange(sims.shape[1]), (stop - start, 1))
            ps = np.take_along_axis(sims, part, axis=1)
            order = np.argsort(-ps, axis=1)
            top_idx[start:stop] = np.take_along_axis(part, order, axis=1)
            top_score[start:stop] = np.maximum(np.take_along_axis(ps, order, axis=1), 0.0)
        del onehot
        return cls_max, top_idx, top_score

    def _class_cols(self, c: int) -> np.ndarray:
        cache = self.__dict__.setdefault("_class_cols_cache", {})
        if c not in cache:
            cache[c] = np.flatnonzero(self.ref_labels_ == c)
        return cache[c]

    def _search(self, binned: np.ndarray, exclude_groups: np.ndarray | None) -> np.ndarray:
        cls_max, top_idx, top_score = self._search_core(binned, exclude_groups)
        w = top_score / np.maximum(top_score.sum(axis=1, keepdims=True), 1e-6)
        keys = np.einsum("nk,nkb->nb", w, self.ref_keys_[top_idx]).astype(np.float32)
        return np.hstack([top_score[:, :1], cls_max, keys])

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_class_cols_cache", None)
        return state
