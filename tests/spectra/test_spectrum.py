import numpy as np
import pytest

from nps_id.errors import InvalidSpectrumError, NpsIdError
from nps_id.spectra import Spectrum


def test_arrays_are_typed_and_read_only():
    s = Spectrum([41, 57.5, 91], [10, 999, 45], metadata={"name": "x"})
    assert s.x.dtype == np.float64 and s.intensity.dtype == np.float32
    assert s.n_peaks == len(s) == 3
    with pytest.raises(ValueError):
        s.x[0] = 1.0
    assert s.x is s.x  # no copy on access


def test_input_arrays_are_copied_not_frozen():
    x = np.array([1.0, 2.0])
    s = Spectrum(x, [1, 2])
    x[0] = 5.0
    assert s.x[0] == 1.0 and x.flags.writeable


@pytest.mark.parametrize(
    "x, y, kwargs, match",
    [
        ([1, 2], [1], {}, "has 2 values"),
        ([[1, 2]], [[1, 2]], {}, "1-D"),
        ([2, 1], [1, 1], {}, "not sorted"),
        ([1, np.nan], [1, 1], {}, "NaN"),
        ([1, 2], [1, np.inf], {}, "NaN or infinite"),
        ([1, 2], [1, -1], {}, ">= 0"),
        ([1, 2], [1, 1], {"kind": "uv"}, "kind"),
        ([1, 2], [1, 1], {"precursor_mz": -5}, "positive"),
        ([1, 2], [1, 1], {"precursor_mz": "abc"}, "number"),
        ([1, 2], [1, 1], {"kind": "ir", "precursor_mz": 100.0}, "mass spectra only"),
        (["a", "b"], [1, 1], {}, "not numeric"),
    ],
)
def test_invalid_spectra_are_rejected_with_a_reason(x, y, kwargs, match):
    with pytest.raises(InvalidSpectrumError, match=match) as info:
        Spectrum(x, y, **kwargs)
    assert isinstance(info.value, NpsIdError) and isinstance(info.value, ValueError)


def test_sort_option_sorts_peaks_together():
    s = Spectrum([91, 41, 57], [1, 2, 3], sort=True)
    assert s.x.tolist() == [41, 57, 91]
    assert s.intensity.tolist() == [2, 3, 1]


def test_vibrational_spectra_may_be_negative():
    s = Spectrum([400.0, 401.0], [-0.1, 0.2], kind="raman")
    assert s.kind == "raman" and s.intensity[0] < 0


def test_equality_replace_and_repr():
    a = Spectrum([1, 2], [3, 4], precursor_mz=100.0, metadata={"name": "a"})
    b = Spectrum([1, 2], [3, 4], precursor_mz=100.0, metadata={"name": "a"})
    assert a == b
    c = a.replace(intensity=[3, 5])
    assert c != a and c.metadata == a.metadata and c.precursor_mz == 100.0
    assert "n_peaks=2" in repr(a) and "'a'" in repr(a)
    with pytest.raises(TypeError):
        a.replace(colour="red")
