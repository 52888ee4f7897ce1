"""Analogue evidence for suspects (nps_id.models.analogue): the pure neighbour rule, and the shifted score."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.models.analogue import analogue_evidence, neighbour_shifts, structure_bits
from nps_id.spectra import Spectrum
from nps_id.spectra.library import SpectralLibrary

FENTANYL = "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"  # C22H28N2O, 336
METHYLFENTANYL = "CCC(=O)N(c1ccc(C)cc1)C1CCN(CCc2ccccc2)CC1"  # + CH2: 350
ETHYLFENTANYL = "CCC(=O)N(c1ccc(CC)cc1)C1CCN(CCc2ccccc2)CC1"  # + C2H4: 364
CAFFEINE = "Cn1cnc2c1c(=O)n(C)c(=O)n2C"  # 194


def test_neighbour_shifts_orders_by_similarity_and_gives_nominal_or_exact_shifts():
    s_bits = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.uint8)
    r_bits = np.array([[1, 0, 0, 0], [1, 1, 0, 1], [0, 0, 1, 1]], dtype=np.uint8)
    s_mass = np.array([350.2358, 194.0804])
    r_mass = np.array([300.0, 336.2202, 180.0634])
    nb, shift = neighbour_shifts(s_bits, s_mass, r_bits, r_mass, n_neighbours=2, nominal=True)
    # suspect 0: ref 1 (2/3) before ref 0 (1/2); suspect 1: ref 2 (identical bits) first
    assert nb.tolist() == [[1, 0], [2, 1]]
    assert shift[0].tolist() == [14.0, 50.0] and shift[1, 0] == 14.0
    _, exact = neighbour_shifts(s_bits, s_mass, r_bits, r_mass, n_neighbours=1, nominal=False)
    assert exact[0, 0] == pytest.approx(350.2358 - 336.2202)


def test_neighbour_shifts_puts_references_without_a_mass_last_and_caps_the_count():
    bits = np.array([[1, 1]], dtype=np.uint8)
    nb, shift = neighbour_shifts(bits, np.array([100.0]), np.array([[1, 1], [1, 0]], dtype=np.uint8),
                                 np.array([np.nan, 90.0]), n_neighbours=5)
    assert nb.tolist() == [[1, 0]]  # the identical structure has no mass: it is never preferred
    assert shift[0, 0] == 10.0 and np.isnan(shift[0, 1])
    nb, shift = neighbour_shifts(bits, np.array([100.0]), np.zeros((0, 2), np.uint8), np.zeros(0))
    assert nb.shape == (1, 0) and shift.shape == (1, 0)


def test_structure_bits_marks_unparsable_structures():
    bits, mass = structure_bits([FENTANYL, "not a smiles", ""])
    assert bits[0].sum() > 10 and bits[1:].sum() == 0
    assert mass[0] == pytest.approx(336.2202, abs=1e-3) and np.isnan(mass[1:]).all()


def _spectrum(mz, inten, smiles=""):
    return Spectrum(np.asarray(mz, float), np.asarray(inten, float), metadata={"smiles": smiles, "name": smiles})


def test_the_suspect_whose_shift_lets_an_analogue_explain_the_unknown_scores_highest():
    # fentanyl-like reference: low-mass fragments kept, high-mass fragments (with the substituted ring) at M, M-57
    ref = _spectrum([105, 146, 189, 245, 279, 336], [30, 40, 100, 80, 20, 15], FENTANYL)
    other = _spectrum([55, 67, 82, 109, 194], [20, 30, 40, 60, 100], CAFFEINE)
    library = SpectralLibrary.from_spectra([ref, other])
    # the unknown: the same compound with one more CH2 on the anilide ring: the ring-bearing ions move by +14
    query = _spectrum([105, 146, 189, 259, 293, 350], [30, 40, 100, 80, 20, 15])
    ev = analogue_evidence([query], library, [METHYLFENTANYL, ETHYLFENTANYL, FENTANYL, "nonsense"], n_neighbours=2)
    assert ev.shape == (1, 4)
    assert ev[0, 0] > 0.9  # +14: every peak explained, directly or shifted
    assert ev[0, 0] > ev[0, 1] + 0.3 and ev[0, 0] > ev[0, 2] + 0.3  # +28 and 0 explain only the low-mass half
    assert ev[0, 3] == 0.0
    assert ((ev >= 0) & (ev <= 1 + 1e-9)).all()


def test_no_structures_in_the_library_gives_no_evidence():
    library = SpectralLibrary.from_spectra([_spectrum([50, 60], [1, 2])])
    ev = analogue_evidence([_spectrum([50, 60], [1, 2])], library, [FENTANYL])
    assert ev.tolist() == [[0.0]]
