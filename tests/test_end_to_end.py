"""The end-to-end evaluation: the classify path on compounds held out of library and models together."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nps_id.end_to_end import class_metrics, identification_curve

pytestmark = pytest.mark.realdata


def test_class_metrics_and_curve_arithmetic():
    truth = np.array(["a", "a", "b", "c", "c"])
    pred = np.array(["a", "b", "b", "unknown", "c"])
    m = class_metrics(truth, pred, ["a", "b"])
    assert m["per_class"]["a"]["tpr"] == 0.5 and m["per_class"]["b"]["fpr"] == 0.25
    assert m["macro_f1_targets"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert m["unknown_rate"] == pytest.approx(0.2)
    curve = identification_curve(np.array([0.9, 0.6, 0.2]), np.array([True, False, True]), np.array([0.7, 0.1]),
                                 thresholds=np.array([0.5, 0.8]))
    assert curve[0] == {"threshold": 0.5, "true_identification_rate": pytest.approx(1 / 3),
                        "wrong_identification_rate_replicates": pytest.approx(1 / 3),
                        "false_identification_rate_absent": 0.5}
    assert curve[1]["false_identification_rate_absent"] == 0.0


def test_evaluate_command_runs_classify_on_held_out_compounds(tmp_path, swgdrug_spectra):
    """`evaluate` end to end on a small real GC-EI library: every held-out spectrum with a structure is scored."""
    from nps_id.cli import main
    from nps_id.spectra import SpectralLibrary

    keep = [s for i, s in enumerate(swgdrug_spectra) if i % 3 == 0 or "fentanyl" in s.name.lower()]
    lib = SpectralLibrary.from_spectra(keep)
    lib.save(tmp_path / "lib.h5")
    with_structure = int((np.asarray(lib.column("smiles")) != "").sum())
    out = tmp_path / "e2e.json"
    assert main(["evaluate", "-l", str(tmp_path / "lib.h5"), "--kind", "ei", "--folds", "2", "--json", str(out),
                 "--no-progress"]) == 0
    res = json.loads(out.read_text())["gc_ei"]
    assert res["classes"]["n"] == with_structure  # every held-out spectrum with a structure has its row
    ident = res["identification"]
    assert ident["absent_queries"] == with_structure and ident["replicate_queries"] > 0
    assert 0 <= ident["false_identification_rate_absent"] <= 0.05
    rates = [row["false_identification_rate_absent"] for row in ident["curve"]]
    assert rates == sorted(rates, reverse=True)  # a higher threshold never identifies more
    assert res["classes"]["per_class"]["fentanyl_analogue"]["tpr"] > 0.5
    assert len(res["folds"]) == 2 and all(f["identity_data"]["thresholds"] for f in res["folds"])
