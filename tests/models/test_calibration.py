"""Calibration of SpectrumClassifier: temperature, and the per-class offsets of balanced base models."""

from __future__ import annotations

import numpy as np

from nps_id.models.classifier import SpectrumClassifier, _fit_temperature, _fit_temperature_and_bias, _softmax


def _nll(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(p[np.arange(y.size), y]).mean())


def test_offsets_restore_the_class_frequencies_a_balanced_model_left_out():
    # a balanced model's log-probabilities: informative, but as if the classes were equally frequent
    rng = np.random.default_rng(0)
    n, prior = 20000, np.array([0.9, 0.07, 0.03])
    y = rng.choice(3, size=n, p=prior)
    logits = rng.normal(0.0, 1.0, size=(n, 3))
    logits[np.arange(n), y] += 2.0
    logp = np.log(_softmax(logits))
    t_only = _fit_temperature(logp, y)
    t, b = _fit_temperature_and_bias(logp, y)
    p_t = _softmax(logp / t_only)
    p_tb = _softmax(logp / t + b)
    assert _nll(p_tb, y) < _nll(p_t, y) - 0.05
    # the offsets favour the frequent class by about the log of the frequency ratios
    assert b[0] > b[1] > b[2]
    assert abs((b[0] - b[2]) - np.log(prior[0] / prior[2])) < 0.6
    assert abs(p_tb.mean(axis=0) - prior).max() < 0.01  # calibrated in the large
    assert abs(b.mean()) < 1e-9


def test_balanced_estimators_get_offsets_the_perceptron_none():
    rng = np.random.default_rng(1)
    y = np.repeat(["a", "b"], [180, 20])
    X = rng.normal(size=(200, 4)) + np.where(y == "a", 0.0, 1.0)[:, None]
    logistic = SpectrumClassifier(estimator="logistic").fit(X, y)
    assert logistic.class_bias_.shape == (2,) and logistic.class_bias_[0] > logistic.class_bias_[1]
    np.testing.assert_allclose(logistic.predict_proba(X).sum(axis=1), 1.0)
    mlp = SpectrumClassifier(estimator="mlp", max_iter=20).fit(X, y)
    assert (mlp.class_bias_ == 0).all()
    del mlp.class_bias_  # a model saved before the offsets existed still predicts
    assert mlp.predict_proba(X).shape == (200, 2)
