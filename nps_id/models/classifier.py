"""``SpectrumClassifier``: spectrum -> drug class, with calibrated probabilities and an open-set "unknown".

Method
------
1. Features: :class:`~nps_id.models.features.SpectrumFeaturizer` (binned spectrum, neutral losses,
   learned characteristic ions/losses, library-search evidence with each training compound left out of its
   own search, so the model learns from evidence that looks like a new analogue's).
2. A base classifier on those features, standardised and clipped to ``[-clip, clip]``
   (:class:`~nps_id.models.scaling.ClippedStandardScaler`: rare spectral bins would otherwise dominate);
   ``estimator="auto"``, the default, picks by mode: a one-hidden-layer perceptron (``"mlp"``: 256 ReLU
   units, L2 penalty ``alpha``; the default for EI, where it is non-linear in the binned spectrum and the
   search evidence together and beat the logistic model in compound-grouped cross-validation), multinomial
   logistic regression (``"logistic"``: fast, the default for MS/MS) or histogram gradient boosting
   (``"hgb"``: the most accurate on EI but about ten times slower to train than the perceptron);
   "logistic" and "hgb" weight the classes to balance. With ``augment``
   (EI default: 1), the base classifier also trains on jittered copies of every training spectrum
   (:func:`~nps_id.models.features.augment_spectra`: log-normal intensity noise per peak, and one factor
   per spectrum on its high-mass region, where molecular-ion retention differs between instruments),
   featurized with their compound left out of the search block like the originals.
3. Calibration by temperature scaling: the base model's out-of-fold log-probabilities (compound-grouped
   ``calibration_cv``-fold split of the training data) are fitted with one temperature ``T`` minimising the
   negative log-likelihood; predictions are ``softmax(log p / T)``. A base model trained with balanced class
   weights ("logistic", "hgb") assumes equally frequent classes: its calibration also fits one offset per class,
   ``softmax(log p / T + b)``, which restores the classes' frequencies. (The featurizer is fitted once on all
   training data for this inner split; its search block is leave-compound-out already.)
4. Open set (the documented rule): a spectrum is reported as ``unknown_label`` ("unknown") when its best
   cosine score against the training spectra is below ``similarity_threshold_`` -- by default the
   ``similarity_quantile`` (1 %) quantile of the same score for training spectra searched with their own
   compound removed, i.e. lower than 99 % of *new* compounds of the known classes get -- or when its highest
   calibrated probability is below ``min_probability``. ``predict_proba`` always returns the calibrated
   probabilities over ``classes_``; only ``predict`` (and :meth:`SpectrumClassifier.predict_detailed`) apply
   the open-set rule.

Inputs are spectra (a list of :class:`~nps_id.spectra.Spectrum` or a
:class:`~nps_id.spectra.SpectralLibrary`), or, in numeric-array mode, a 2-D array of precomputed features
(no featurizer; the open-set similarity rule then does not apply, only ``min_probability``). The
numeric-array mode is what scikit-learn's ``estimator_checks`` exercise.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted

from nps_id.models.features import is_spectra

__all__ = ["SpectrumClassifier"]

logger = logging.getLogger(__name__)

_ESTIMATORS = ("auto", "mlp", "logistic", "hgb")
#: base classifiers trained with balanced class weights (their calibration also fits per-class offsets)
_BALANCED = ("logistic", "hgb")
#: what ``estimator="auto"`` means, per mode
AUTO_ESTIMATOR = {"ei": "mlp", "msms": "logistic"}
#: what ``augment="auto"`` means, per mode: jittered copies of every training spectrum
AUTO_AUGMENT = {"ei": 1, "msms": 0}


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fit_temperature_and_bias(logp: np.ndarray, y_idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Temperature and per-class offsets minimising the NLL of ``softmax(logp / T + b)`` (vector scaling without
    the per-class slopes: convex in ``1 / T`` and ``b``). For base models trained with balanced class weights,
    whose probabilities assume equal class frequencies: the offsets restore the classes' frequencies."""
    from scipy.optimize import minimize

    n, k = logp.shape
    rows = np.arange(n)
    onehot = np.zeros((n, k))
    onehot[rows, y_idx] = 1.0

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = logp * theta[0] + theta[1:]
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        p = np.exp(z - lse[:, None])
        g = (p - onehot) / n
        return float((lse - z[rows, y_idx]).mean()), np.concatenate([[(g * logp).sum()], g.sum(axis=0)])

    res = minimize(nll, np.concatenate([[1.0], np.zeros(k)]), jac=True, method="L-BFGS-B",
                   bounds=[(np.exp(-3.0), np.exp(3.0))] + [(-20.0, 20.0)] * k)
    b = res.x[1:] - res.x[1:].mean()
    return float(1.0 / res.x[0]), b


def _fit_temperature(logp: np.ndarray, y_idx: np.ndarray) -> float:
    """Temperature minimising the NLL of ``softmax(logp / T)`` (searched on log T in [-3, 3])."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(y_idx.size)

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[rows, y_idx] - np.log(np.exp(z).sum(axis=1))).mean())

    res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(res.x))


class SpectrumClassifier(ClassifierMixin, BaseEstimator):
    """Classify mass spectra into drug classes; calibrated, with an open-set "unknown" answer.

    Parameters
    ----------
    mode : {"ei", "msms"}, default "ei"
        GC-EI spectra or MS/MS spectra (precursor m/z used).
    max_mz : int, default 500
        Binning range (1-Da bins).
    blocks : tuple of str, default all
        Feature blocks (see :class:`~nps_id.models.features.SpectrumFeaturizer`).
    estimator : {"auto", "mlp", "logistic", "hgb"}, default "auto"
        Base classifier; "auto" is "mlp" for EI and "logistic" for MS/MS (:data:`AUTO_ESTIMATOR`).
    C : float, default 0.5
        Inverse regularisation strength of the logistic regression.
    clip : float or None, default 3.0
        Standardised features are clipped to ``[-clip, clip]`` before "mlp" and "logistic" (None: not clipped).
    augment : int or "auto", default "auto"
        Jittered copies of every training spectrum added to the base classifier's training data (spectra
        input only; :func:`~nps_id.models.features.augment_spectra`); "auto" is 1 for EI and 0 for MS/MS
        (:data:`AUTO_AUGMENT`). The copies never enter the open-set threshold or the calibration targets.
    hidden_units : int, default 256
        Hidden-layer width of "mlp".
    alpha : float, default 0.1
        L2 penalty of "mlp".
    max_iter : int, optional
        Iterations of the logistic regression, epochs of "mlp", boosting rounds of "hgb" (default: 300, 50, 300).
    calibration : {"temperature", "none"}, default "temperature"
    calibration_cv : int, default 3
        Folds of the compound-grouped inner split whose out-of-fold predictions fit the temperature.
    open_set : bool, default True
        Apply the open-set rule in :meth:`predict`.
    similarity_quantile : float, default 0.01
        Quantile of the leave-compound-out best-hit cosine of the training spectra used as the similarity
        threshold; a float in (0, 1).
    min_probability : float, default 0.0
        Also answer "unknown" when the highest calibrated probability is below this.
    priority_classes : tuple of str, default ("fentanyl_analogue",)
        Classes whose miss costs most: for each, :attr:`class_thresholds_` holds the lowest probability at which
        the out-of-fold (calibration) predictions of the other classes' spectra reach it at most `priority_fpr`
        of the time. ``classify`` reports such a class from that probability on, even when another class is more
        probable (:func:`nps_id.classify.verdict.decide`); :meth:`predict` stays the arg-max.
    priority_fpr : float, default 0.005
        The false-positive rate the priority thresholds are set at (out-of-fold, on the training compounds).
    unknown_label : str, default "unknown"
    random_state : int or None, default 0

    Attributes
    ----------
    classes_ : ndarray
    featurizer_ : SpectrumFeaturizer or None
        None in numeric-array mode.
    estimator_ : sklearn estimator
        Fitted base classifier (a Pipeline for "logistic").
    temperature_ : float
    class_bias_ : ndarray of shape (n_classes,)
        Per-class offsets added to the tempered log-probabilities (zeros unless the base classifier is balanced:
        "logistic", "hgb"; they restore the training classes' frequencies).
    similarity_threshold_ : float or None
    class_thresholds_ : dict of str -> float
        Decision thresholds of the priority classes (empty without calibration).
    n_features_in_ : int
        Only in numeric-array mode (scikit-learn convention).
    n_iter_ : int
        Iterations the base classifier ran.
    n_augmented_ : int
        Jittered spectrum copies the base classifier was trained on besides the originals.
    input_mode_ : {"spectra", "array"}

    Examples
    --------
    >>> clf = SpectrumClassifier(mode="ei").fit(train_spectra, train_labels)  # doctest: +SKIP
    >>> clf.predict(unknown_spectra)  # doctest: +SKIP
    array(['fentanyl_analogue', 'unknown', ...], dtype=object)
    """

    def __init__(
        self,
        mode: str = "ei",
        max_mz: int = 500,
        blocks: tuple[str, ...] = ("binned", "losses", "characteristic", "search", "precursor"),
        estimator: str = "auto",
        C: float = 0.5,
        clip: float | None = 3.0,
        augment: int | str = "auto",
        hidden_units: int = 256,
        alpha: float = 0.1,
        max_iter: int | None = None,
        calibration: str = "temperature",
        calibration_cv: int = 3,
        open_set: bool = True,
        similarity_quantile: float = 0.01,
        min_probability: float = 0.0,
        priority_classes: tuple[str, ...] = ("fentanyl_analogue",),
        priority_fpr: float = 0.005,
        unknown_label: str = "unknown",
        random_state: int | None = 0,
    ) -> None:
        self.mode = mode
        self.max_mz = max_mz
        self.blocks = blocks
        self.estimator = estimator
        self.C = C
        self.clip = clip
        self.augment = augment
        self.hidden_units = hidden_units
        self.alpha = alpha
        self.max_iter = max_iter
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.open_set = open_set
        self.similarity_quantile = similarity_quantile
        self.min_probability = min_probability
        self.priority_classes = priority_classes
        self.priority_fpr = priority_fpr
        self.unknown_label = unknown_label
        self.random_state = random_state

    # ------------------------------------------------------------------ helpers
    def _resolved_estimator(self) -> str:
        return AUTO_ESTIMATOR.get(self.mode, "logistic") if self.estimator == "auto" else self.estimator

    def _resolved_augment(self) -> int:
        if self.augment == "auto":
            return AUTO_AUGMENT.get(self.mode, 0) if self.input_mode_ == "spectra" else 0
        return int(self.augment)

    def _make_estimator(self) -> Any:
        kind = self._resolved_estimator()
        if kind == "hgb":
            from sklearn.ensemble import HistGradientBoostingClassifier

            return HistGradientBoostingClassifier(
                max_iter=int(self.max_iter or 300), learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0,
                class_weight="balanced", early_stopping=False, random_state=self.random_state,
            )
        if kind == "mlp":
            from sklearn.neural_network import MLPClassifier

            base = MLPClassifier(hidden_layer_sizes=(int(self.hidden_units),), alpha=float(self.alpha),
                                 max_iter=int(self.max_iter or 50), random_state=self.random_state)
        elif kind == "logistic":
            from sklearn.linear_model import LogisticRegression

            base = LogisticRegression(C=float(self.C), max_iter=int(self.max_iter or 300), class_weight="balanced",
                                      solver="newton-cg", random_state=self.random_state)
        else:
            raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {self.estimator!r}")
        from sklearn.pipeline import make_pipeline

        from nps_id.models.scaling import ClippedStandardScaler

        return make_pipeline(ClippedStandardScaler(clip=self.clip), base)

    def _check_params(self) -> None:
        if self.estimator not in _ESTIMATORS:
            raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {self.estimator!r}")
        if self.calibration not in ("temperature", "none"):
            raise ValueError(f"calibration must be 'temperature' or 'none', got {self.calibration!r}")
        if not 0.0 < float(self.similarity_quantile) < 1.0:
            raise ValueError(f"similarity_quantile must be in (0, 1), got {self.similarity_quantile!r}")
        if not 0.0 <= float(self.min_probability) <= 1.0:
            raise ValueError(f"min_probability must be in [0, 1], got {self.min_probability!r}")
        if self.clip is not None and not float(self.clip) > 0.0:
            raise ValueError(f"clip must be a positive number or None, got {self.clip!r}")
        if self.augment != "auto" and (isinstance(self.augment, (bool, str)) or int(self.augment) != self.augment
                                       or int(self.augment) < 0):
            raise ValueError(f"augment must be 'auto' or an integer >= 0, got {self.augment!r}")

    def _features(self, X: Any, fitting: bool = False) -> np.ndarray:
        if self.input_mode_ == "spectra":
            if not is_spectra(X):
                raise ValueError(
                    "this classifier was fitted on spectra; pass a list of Spectrum objects or a SpectralLibrary"
                )
            return self.featurizer_.transform(X)
        if is_spectra(X):
            raise ValueError("this classifier was fitted on a numeric feature array; pass the same kind of array")
        return self._check_numeric(X)

    def _check_numeric(self, X: Any) -> np.ndarray:
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but SpectrumClassifier is expecting {self.n_features_in_} features as input"
            )
        return X

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, groups: Any = None) -> "SpectrumClassifier":
        """Fit on labelled spectra (or a numeric feature array).

        Parameters
        ----------
        X : list of Spectrum, SpectralLibrary, or array-like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Class labels (e.g. from :mod:`nps_id.chem`).
        groups : array_like, optional
            Compound id of every spectrum for the leave-compound-out search evidence and the calibration
            split; default: from the spectra's metadata
            (:func:`~nps_id.models.evaluation.compound_groups`), each sample its own group for arrays.

        Returns
        -------
        self
        """
        self._check_params()
        for attr in ("n_features_in_", "featurizer_"):
            self.__dict__.pop(attr, None)
        if is_spectra(X):
            from nps_id.models.features import SpectrumFeaturizer, as_batch

            batch = as_batch(X)
            y = np.asarray(y)
            if y.ndim != 1 or y.shape[0] != len(batch):
                raise ValueError(f"y must hold one label per spectrum ({len(batch)}), got shape {y.shape}")
            check_classification_targets(y)
            if groups is None:
                from nps_id.models.evaluation import compound_groups

                groups = compound_groups(batch)
            groups = np.asarray(groups)
            self.input_mode_ = "spectra"
            self.featurizer_ = SpectrumFeaturizer(mode=self.mode, max_mz=self.max_mz, blocks=self.blocks)
            F = self.featurizer_.fit_transform(batch, y, groups=groups)
        else:
            batch = None
            F, y = self._validate_array_xy(X, y)
            groups = np.arange(y.shape[0]) if groups is None else np.asarray(groups)
            self.input_mode_ = "array"
            self.featurizer_ = None
            self.n_features_in_ = F.shape[1]
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(
                f"need at least 2 classes to fit a classifier; y holds 1 class: {self.classes_.tolist()!r}"
            )
        F_aug, src = self._augmented(batch, groups)
        self.n_augmented_ = int(src.size)
        self.estimator_ = self._make_estimator()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            self._fit_estimator(self.estimator_, np.vstack([F, F_aug]), np.concatenate([y_idx, y_idx[src]]))
        final = self.estimator_.steps[-1][1] if hasattr(self.estimator_, "steps") else self.estimator_
        n_iter = getattr(final, "n_iter_", None)
        self.n_iter_ = int(np.max(n_iter)) if n_iter is not None else 1
        self.temperature_ = 1.0
        self.class_bias_ = np.zeros(self.classes_.size)
        self.class_thresholds_: dict[str, float] = {}
        if self.calibration == "temperature":
            logp = self._out_of_fold_log_proba(F, y_idx, groups, F_aug, src)
            if logp is not None:
                if self._resolved_estimator() in _BALANCED:  # restore the class frequencies
                    self.temperature_, self.class_bias_ = _fit_temperature_and_bias(logp, y_idx)
                else:
                    self.temperature_ = _fit_temperature(logp, y_idx)
                self.class_thresholds_ = self._priority_thresholds(self._calibrated(logp), y_idx)
        self.similarity_threshold_ = None
        if self.input_mode_ == "spectra" and "search_top1" in set(self.featurizer_.feature_names_):
            col = int(np.flatnonzero(self.featurizer_.feature_names_ == "search_top1")[0])
            self.similarity_threshold_ = float(np.quantile(F[:, col], float(self.similarity_quantile)))
        return self

    def _validate_array_xy(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.utils.validation import check_X_y

        X, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        return X, y

    def _augmented(self, batch: Any, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features of jittered copies of the training spectra, and the training index each was made from."""
        n_copies = self._resolved_augment()
        n_feat = self.featurizer_.n_features_out_ if self.featurizer_ is not None else self.n_features_in_
        if batch is None or n_copies == 0:
            return np.zeros((0, n_feat), dtype=np.float32), np.zeros(0, dtype=np.int64)
        from nps_id.models.features import augment_spectra, group_index

        copies, src = augment_spectra(batch, n_copies, random_state=self.random_state)
        return self.featurizer_.transform_left_out(copies, group_index(groups)[src]), src

    def _fit_estimator(self, est: Any, F: np.ndarray, y_idx: np.ndarray) -> None:
        if np.unique(y_idx).size == 1:  # inner fold with a single class: a constant model
            est.constant_ = int(y_idx[0])
            return
        est.fit(F, y_idx)

    def _log_proba(self, est: Any, F: np.ndarray) -> np.ndarray:
        n_cls = self.classes_.size
        out = np.full((F.shape[0], n_cls), np.log(1e-6))
        if hasattr(est, "constant_") and not hasattr(est, "classes_"):
            out[:, est.constant_] = 0.0
            return out
        p = est.predict_proba(F)
        cls = est.classes_ if not hasattr(est, "steps") else est.steps[-1][1].classes_
        out[:, np.asarray(cls, dtype=np.int64)] = np.log(np.clip(p, 1e-6, 1.0))
        return out

    def _priority_thresholds(self, oof: np.ndarray, y_idx: np.ndarray) -> dict[str, float]:
        """Per priority class, the lowest probability reached by at most `priority_fpr` of the other spectra."""
        out: dict[str, float] = {}
        for c in self.priority_classes:
            hit = np.flatnonzero(self.classes_ == c)
            neg = y_idx != (hit[0] if hit.size else -1)
            if not hit.size or not neg.any() or neg.all():
                continue
            scores = np.sort(oof[neg, hit[0]])[::-1]
            allowed = int(np.floor(float(self.priority_fpr) * scores.size))  # negatives allowed at or above it
            t = float(np.nextafter(scores[allowed], 1.0)) if allowed < scores.size else 0.0
            out[str(c)] = min(t, 0.5)
        return out

    def _out_of_fold_log_proba(
        self, F: np.ndarray, y_idx: np.ndarray, groups: np.ndarray, F_aug: np.ndarray, src: np.ndarray
    ) -> np.ndarray | None:
        """Log-probabilities of every training spectrum from a model that did not see its compound (None if < 2 groups)."""
        from sklearn.model_selection import GroupKFold

        n_groups = np.unique(groups).size
        k = min(int(self.calibration_cv), n_groups)
        if k < 2:
            return None
        cv = GroupKFold(n_splits=k)
        logp = np.zeros((F.shape[0], self.classes_.size))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            for tr, te in cv.split(F, y_idx, groups):
                est = self._make_estimator()
                extra = np.isin(src, tr)  # copies of this inner fold's training spectra only
                self._fit_estimator(est, np.vstack([F[tr], F_aug[extra]]), np.concatenate([y_idx[tr], y_idx[src[extra]]]))
                logp[te] = self._log_proba(est, F[te])
        return logp

    # ------------------------------------------------------------------ predict
    def _calibrated(self, logp: np.ndarray) -> np.ndarray:
        bias = getattr(self, "class_bias_", None)  # models saved before the offsets: none
        return _softmax(logp / self.temperature_ + (0.0 if bias is None else bias))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "estimator_")
        F = self._features(X)
        return self._calibrated(self._log_proba(self.estimator_, F))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`."""
        return np.log(np.clip(self.predict_proba(X), 1e-300, None))

    def similarity(self, X: Any) -> np.ndarray | None:
        """Best cosine score of each spectrum against the training spectra (None in numeric-array mode)."""
        check_is_fitted(self, "estimator_")
        if self.input_mode_ != "spectra" or self.similarity_threshold_ is None:
            return None
        _, score = self.featurizer_.search_scores(X)
        return score[:, 0]

    def predict_detailed(self, X: Any) -> dict[str, np.ndarray]:
        """Labels with the open-set rule applied, and the evidence behind them.

        Returns
        -------
        dict
            ``label`` (open-set label), ``class`` (best class regardless of the rule), ``probability``
            (its calibrated probability), ``proba`` (all calibrated class probabilities, columns in
            ``classes_`` order), ``similarity`` (best library cosine; NaN in array mode) and ``unknown`` (bool).
        """
        check_is_fitted(self, "estimator_")
        F = self._features(X)
        proba = self._calibrated(self._log_proba(self.estimator_, F))
        best = proba.argmax(axis=1)
        cls = self.classes_[best]
        pmax = proba[np.arange(best.size), best]
        unknown = np.zeros(best.size, dtype=bool)
        sim = np.full(best.size, np.nan)
        if self.open_set:
            unknown |= pmax < float(self.min_probability)
            if self.similarity_threshold_ is not None:
                col = int(np.flatnonzero(self.featurizer_.feature_names_ == "search_top1")[0])
                sim = F[:, col].astype(float)
                unknown |= sim < self.similarity_threshold_
        label = cls.astype(object)
        label[unknown] = self.unknown_label
        return {"label": label, "class": cls, "probability": pmax, "proba": proba, "similarity": sim, "unknown": unknown}

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class of every sample; ``unknown_label`` where the open-set rule says so (``open_set=True``)."""
        det = self.predict_detailed(X)
        if not self.open_set or not det["unknown"].any():
            return np.asarray(det["class"])
        return det["label"]

