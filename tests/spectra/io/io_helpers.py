"""Helpers for the reader tests: spectrum comparison and hypothesis strategies (spectra MSP/MGF must carry exactly,
and junk lines for corrupting text)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from nps_id.spectra.metadata import harmonize_key
from nps_id.spectra.spectrum import Spectrum

_RESERVED = {"name", "precursor_mz", "precursor_mz_text", "num_peaks", "peak_annotations"}

# printable text on one line, no surrogates / control characters; stripped as the readers strip values
_char = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
one_line = st.text(_char, max_size=30).map(str.strip)
value = st.lists(one_line, min_size=1, max_size=3).map("\n".join)  # multi-line = repeated keys
key = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).map(harmonize_key).filter(lambda k: k not in _RESERVED)

mz_values = st.floats(min_value=1.0, max_value=5000.0, allow_nan=False, allow_infinity=False)
intensities = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def spectra(draw) -> Spectrum:
    n = draw(st.integers(1, 25))
    mz = np.sort(np.array(draw(st.lists(mz_values, min_size=n, max_size=n)), dtype=np.float64))
    inten = np.array(draw(st.lists(intensities, min_size=n, max_size=n)), dtype=np.float32)
    meta = draw(st.dictionaries(key, value, max_size=5))
    name = draw(st.one_of(st.none(), value.filter(bool)))
    if name is not None:
        meta["name"] = name
    precursor = draw(st.one_of(st.none(), mz_values))
    return Spectrum(mz, inten, precursor_mz=precursor, metadata=meta)


# junk that stays on one line and does not start/end a record
junk_line = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() and "IONS" not in s.upper())


def assert_same(a: list[Spectrum], b: list[Spectrum]) -> None:
    """Equal spectra, peak for peak and field for field, with a helpful message on the first difference."""
    assert len(a) == len(b)
    for i, (s, t) in enumerate(zip(a, b)):
        assert s.kind == t.kind, i
        assert s.precursor_mz == t.precursor_mz, (i, s.precursor_mz, t.precursor_mz)
        np.testing.assert_array_equal(s.x, t.x, err_msg=f"spectrum {i} m/z")
        np.testing.assert_array_equal(s.intensity, t.intensity, err_msg=f"spectrum {i} intensity")
        assert s.x.dtype == t.x.dtype == np.float64
        assert s.intensity.dtype == t.intensity.dtype == np.float32
        assert s.metadata == t.metadata, i
        assert s == t
