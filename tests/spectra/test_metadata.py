import pytest

from nps_id.spectra.metadata import MGF_KEYS, MSP_KEYS, SYNONYMS, harmonize_key


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("NAME", "name"), ("Name", "name"), ("name", "name"), ("TITLE", "name"),
        ("PRECURSORMZ", "precursor_mz"), ("PrecursorMZ", "precursor_mz"), ("PEPMASS", "precursor_mz"),
        ("Precursor_MZ", "precursor_mz"), ("INCHIKEY", "inchikey"), ("InChIKey", "inchikey"),
        ("Ion_mode", "ion_mode"), ("IONMODE", "ion_mode"), ("Collision Energy", "collision_energy"),
        ("DB#", "spectrum_id"), ("Licence", "license"),
    ],
)
def test_synonyms_map_to_one_key(raw, canonical):
    assert harmonize_key(raw) == canonical


def test_unknown_keys_are_kept_normalised():
    assert harmonize_key("  My Own-Field ") == "my_own_field"


def test_writer_keys_read_back_to_the_same_canonical_key():
    for canonical, written in list(MSP_KEYS.items()) + list(MGF_KEYS.items()):
        assert harmonize_key(written) == canonical, written
    assert set(SYNONYMS.values()) >= set(MSP_KEYS)
