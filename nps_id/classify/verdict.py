"""The verdict on one query: a pure function of its hits, its identity probabilities and the class model's view.

Decided once, here; ``classify`` and the evaluation call :func:`decide` and nothing else decides.

Identity
    ``identified`` when the calibrated probability that the best hit *is* the query's compound
    (:class:`~nps_id.models.identity.IdentityModel`) reaches ``min_identity_probability``;
    ``isomer`` when it does not, but the probability that the best hit is the compound *or one of its isomers*
    (same molecular formula) reaches ``min_isomer_probability``: the answer is then "X, or an isomer of it", as a
    spectrum cannot tell positional isomers apart; otherwise the best hit is only a candidate.
Class
    ``identified``: the matched compound's class, from its structure; a reference without a structure never
    overrides the model (the model's class if confident, else "unclassified compound").
    ``isomer``: the matched compound's class where it has a structure (positional isomers share the class
    rules), else the model's.
    Not identified: the model's class when its probability reaches ``min_probability`` and the open-set rule
    accepts the spectrum (``classified``), else ``unknown``. A priority class (the fentanyl analogues) is
    reported from its own threshold on (``class_thresholds``, set by the class model at a fixed out-of-fold
    false-positive rate), even when another class is more probable: a missed fentanyl analogue costs most.
Control status
    Only a structure decides it: an identified compound carries its own status; an isomer verdict carries none
    (the exact structure decides), with a note naming the matched compound's status; a predicted class flags a
    possibility (:func:`class_control_status`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["CONTROLLED_STATUSES", "VerdictSettings", "decide", "model_class", "class_control_status", "is_controlled"]

#: control statuses (:data:`nps_id.chem.control.CONTROL_STATUSES`) that put a substance under control: listed in the
#: 1961/1971 Conventions, listed precursors (1988 Convention), and substances a class-wide definition of
#: fentanyl-related substances covers (national laws, not the Conventions; the status note says which)
CONTROLLED_STATUSES = frozenset({"controlled", "listed_precursor", "fentanyl_related"})


@dataclass(frozen=True)
class VerdictSettings:
    """The thresholds of :func:`decide`.

    Parameters
    ----------
    min_identity_probability : float
        Calibrated probability that the best hit is the query's compound, from which the verdict is
        ``identified``.
    min_isomer_probability : float
        Probability that the best hit is the compound or an isomer of it, from which the verdict is ``isomer``.
    min_probability : float
        Class-model probability from which the verdict is ``classified``.
    """

    min_identity_probability: float
    min_isomer_probability: float
    min_probability: float

    def __post_init__(self) -> None:
        for name in ("min_identity_probability", "min_isomer_probability", "min_probability"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise ValueError(f"{name} is a probability in [0, 1], got {v!r}")


def is_controlled(status: str | None) -> bool:
    """Whether a control status puts the substance under control (internationally listed, a listed precursor, or
    covered by a class-wide fentanyl definition of national law: see the status note)."""
    return bool(status) and status in CONTROLLED_STATUSES


def class_control_status(cls: str) -> tuple[str | None, str | None]:
    """What a *predicted* class says about control (status code, note); (None, None) when it says nothing.

    Only a structure decides control status; a class predicted from a spectrum flags a possibility.
    """
    if cls == "fentanyl_analogue":
        return ("possibly_fentanyl_related",
                "predicted fentanyl analogue: may be listed, or fall under a national class-wide definition of "
                "fentanyl-related substances; confirm the structure")
    if cls in ("fentanyl_precursor", "ats_precursor"):
        return ("possibly_precursor",
                "predicted precursor class: may be a listed precursor or a close analogue; confirm the structure")
    return None, None


def model_class(class_probs: dict[str, float], min_probability: float,
                class_thresholds: dict[str, float] | None = None) -> tuple[str, float, bool]:
    """The class model's answer: (class, probability, confident).

    The arg-max class, confident when its probability reaches `min_probability`; a priority class whose
    probability reaches its threshold wins (confident) unless the open-set rule rejected the spectrum
    (``"unknown"`` first in `class_probs`).
    """
    if not class_probs:
        return "", float("nan"), False
    best_class, best_p = max(class_probs.items(), key=lambda kv: kv[1])
    if best_class == "unknown":
        return best_class, best_p, False
    over = [(class_probs[c], c) for c, t in (class_thresholds or {}).items() if class_probs.get(c, -1.0) >= t]
    if over:
        p, c = max(over)
        return c, p, True
    return best_class, best_p, best_p >= min_probability


def _ok(p: float | None) -> bool:
    return p is not None and not (isinstance(p, float) and math.isnan(p))


def decide(
    hits: list[dict[str, Any]],
    p_identity: float | None,
    p_isomer: float | None,
    class_probs: dict[str, float],
    settings: VerdictSettings,
    class_thresholds: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The verdict fields of one query's result row.

    Parameters
    ----------
    hits : list of dict
        Best first; each with ``name``, ``class`` ("" without a structure), ``control_status``,
        ``control_note``, ``formula`` (formula key, "" if unknown) and ``compound`` (compound key).
    p_identity, p_isomer : float or None
        Identity probabilities of the best hit (None: no identity model for this query's technique).
    class_probs : dict
        Class -> probability from the class model (empty without one); ``"unknown": 1.0`` first when the
        open-set rule rejects the spectrum.
    settings : VerdictSettings
    class_thresholds : dict, optional
        Priority class -> probability from which it is the class (``SpectrumClassifier.class_thresholds_``).

    Returns
    -------
    dict
        ``verdict``, ``identified``, ``identity``, ``identity_probability``, ``isomer_probability``, ``class``,
        ``predicted_class``, ``probability``, ``control_status``, ``control_note``.

    Examples
    --------
    >>> s = VerdictSettings(0.5, 0.5, 0.5)
    >>> hit = {"name": "Fentanyl", "class": "fentanyl_analogue", "control_status": "controlled",
    ...        "control_note": "controlled (1961 Convention, Schedule I)", "formula": "C22H28N2O", "compound": "IK:PJMPHNIQZUBGLI"}
    >>> decide([hit], 0.97, 0.99, {}, s)["verdict"], decide([hit], 0.2, 0.9, {}, s)["identity"]
    ('identified', 'Fentanyl, or an isomer of it')
    """
    best_class, best_p, confident = model_class(class_probs, settings.min_probability, class_thresholds)
    row: dict[str, Any] = {
        "identity_probability": p_identity if _ok(p_identity) else None,
        "isomer_probability": p_isomer if _ok(p_isomer) else None,
        "predicted_class": best_class or None,
        "probability": best_p,
        "identity": None,
        "control_status": None,
        "control_note": None,
    }
    top = hits[0] if hits else None
    exact = top is not None and _ok(p_identity) and p_identity >= settings.min_identity_probability
    isomer = (top is not None and not exact and _ok(p_isomer) and p_isomer >= settings.min_isomer_probability)
    row["identified"] = bool(exact)
    if exact or isomer:
        row["verdict"] = "identified" if exact else "isomer"
        if exact:
            row["identity"] = top["name"]
        else:
            others = [h["name"] for h in hits[1:] if top.get("formula") and h.get("formula") == top["formula"]
                      and h.get("compound") != top.get("compound")]
            named = ", ".join(dict.fromkeys(others[:3]))
            row["identity"] = f"{top['name']}, or an isomer of it" + (f" (such as {named})" if named else "")
        if top["class"]:
            row["class"] = top["class"]
        elif confident:
            row["class"] = best_class
        else:
            row["class"] = "unclassified compound"
        if exact and top["class"]:
            row["control_status"] = top["control_status"] or None
            row["control_note"] = top["control_note"] or None
        elif not top["class"] and confident:
            row["control_status"], row["control_note"] = class_control_status(best_class)
        elif isomer and is_controlled(top["control_status"]):
            row["control_note"] = (f"an isomer of {top['name']} ({top['control_status']}); whether it is controlled "
                                   "depends on the exact structure: confirm it")
        if row["class"] in class_probs:  # the model's view of the class given
            row["predicted_class"], row["probability"] = row["class"], class_probs[row["class"]]
    elif confident:
        row["verdict"] = "classified"
        row["class"] = best_class
        row["control_status"], row["control_note"] = class_control_status(best_class)
    else:
        row["verdict"] = "unknown"
        row["class"] = "unknown"
    return row
