"""The verdict: a pure function of hits, identity probabilities and the class model's view."""

from __future__ import annotations

import math

import pytest

from nps_id.classify.verdict import VerdictSettings, decide, model_class

S = VerdictSettings(min_identity_probability=0.6, min_isomer_probability=0.8, min_probability=0.5)


def _hit(name="Fentanyl", cls="fentanyl_analogue", status="controlled", formula="C22H28N2O", compound=None):
    return {"name": name, "class": cls, "control_status": status, "control_note": f"{name} note",
            "formula": formula, "compound": compound or f"IK:{name}"}


def test_identified_takes_the_class_and_control_of_the_matched_structure():
    row = decide([_hit()], 0.9, 0.95, {"other": 0.7, "fentanyl_analogue": 0.3}, S)
    assert row["verdict"] == "identified" and row["identified"] is True and row["identity"] == "Fentanyl"
    assert row["class"] == "fentanyl_analogue" and row["control_status"] == "controlled"
    assert row["predicted_class"] == "fentanyl_analogue" and row["probability"] == 0.3
    assert row["identity_probability"] == 0.9


def test_a_hit_without_a_structure_never_overrides_a_confident_model():
    hit = _hit(cls="", status="")
    row = decide([hit], 0.9, 0.95, {"synthetic_cathinone": 0.8, "other": 0.2}, S)
    assert row["verdict"] == "identified" and row["class"] == "synthetic_cathinone"
    assert row["control_status"] is None  # a predicted class is no structure
    row = decide([hit], 0.9, 0.95, {"synthetic_cathinone": 0.4, "other": 0.35}, S)
    assert row["class"] == "unclassified compound"


def test_isomer_verdict_names_the_isomers_and_carries_no_control_status():
    hits = [_hit("meta-Methylfentanyl", formula="C23H30N2O"), _hit("ortho-Methylfentanyl", formula="C23H30N2O"),
            _hit("Fentanyl")]
    row = decide(hits, 0.3, 0.9, {}, S)
    assert row["verdict"] == "isomer" and row["identified"] is False
    assert row["identity"] == "meta-Methylfentanyl, or an isomer of it (such as ortho-Methylfentanyl)"
    assert row["class"] == "fentanyl_analogue" and row["control_status"] is None
    assert "isomer of meta-Methylfentanyl" in row["control_note"]


def test_not_identified_falls_back_to_the_model_or_unknown():
    row = decide([_hit()], 0.1, 0.2, {"fentanyl_analogue": 0.7, "other": 0.3}, S)
    assert row["verdict"] == "classified" and row["class"] == "fentanyl_analogue"
    assert row["control_status"] == "possibly_fentanyl_related" and row["identity"] is None
    assert decide([_hit()], 0.1, 0.2, {"fentanyl_analogue": 0.45, "other": 0.4}, S)["verdict"] == "unknown"
    rejected = {"unknown": 1.0, "fentanyl_analogue": 0.9}  # the open-set rule said no
    assert decide([_hit()], 0.1, 0.2, rejected, S)["class"] == "unknown"
    row = decide([], None, None, {}, S)
    assert row["verdict"] == "unknown" and row["identity_probability"] is None


def test_no_identity_model_means_no_identification():
    row = decide([_hit()], None, None, {}, S)
    assert row["verdict"] == "unknown" and row["identified"] is False
    assert decide([_hit()], float("nan"), None, {}, S)["identity_probability"] is None


def test_priority_class_threshold_wins_over_the_arg_max():
    probs = {"other": 0.6, "fentanyl_analogue": 0.3}
    assert model_class(probs, 0.5) == ("other", 0.6, True)
    assert model_class(probs, 0.5, {"fentanyl_analogue": 0.25}) == ("fentanyl_analogue", 0.3, True)
    assert model_class(probs, 0.5, {"fentanyl_analogue": 0.35}) == ("other", 0.6, True)
    assert model_class({"unknown": 1.0, **probs}, 0.5, {"fentanyl_analogue": 0.1})[2] is False
    cls, p, ok = model_class({}, 0.5)
    assert cls == "" and math.isnan(p) and not ok
    row = decide([_hit()], 0.1, 0.1, probs, S, {"fentanyl_analogue": 0.25})
    assert row["verdict"] == "classified" and row["class"] == "fentanyl_analogue"


def test_settings_are_checked():
    with pytest.raises(ValueError, match="probability"):
        VerdictSettings(1.5, 0.5, 0.5)
