"""scikit-learn's estimator checks on SpectrumClassifier in numeric-array mode.

Spectra (lists of Spectrum, SpectralLibrary) are not array-likes, so the checks run on the classifier's
numeric-array mode (precomputed features): same fit/predict/calibration code, no featurizer, and the open-set
similarity rule (which needs spectra) off.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from nps_id.models.classifier import SpectrumClassifier


@parametrize_with_checks([SpectrumClassifier(open_set=False, calibration_cv=2)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
