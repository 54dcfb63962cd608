"""The evidence table: :func:`logic_chain_evidence` binds each chain element's indicators to
their primary Effect rows, applies the family's adjustment and writes one row per element ×
indicator with its verdict, caveat and note."""

from __future__ import annotations

import math
from typing import Literal

import pandas as pd

from ...publication import suppress_effects
from ..effects import INSUFFICIENT_DATA
from ..linear_model import FEW_TREATED_CLUSTERS as FEW_KOMMUNER
from ..multiplicity import method_words
from .common import (
    EVIDENCE_COLUMNS,
    FEW_KOMMUNER_CAVEAT,
    WCR,
    fmt_num,
    hidden,
    isnan,
    unit_of,
)
from .family import FamilyTest, family_tests, resolve_inference, simultaneous_ci
from .selection import Selection, expected_direction, select_evidence
from .verdict import indicator_verdict


def logic_chain_evidence(
    study,
    effects: pd.DataFrame,
    *,
    registry_estimator: Literal["twfe", "callaway_santanna"] = "twfe",
    inference=None,
    sensitivity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per logic-chain element × bound indicator with the primary Effect row, the
    expected direction and the verdict (see the package docstring for every rule).

    ``sensitivity``: the registry breakdown rows (:func:`~..registry_sensitivity.
    registry_sensitivity`' second frame); a registry row with a verdict then ends its note
    with the breakdown M̄ and the pre-trend Wald test (the verdict itself is unchanged).

    ``effects`` is a frame of Effect rows (:func:`~..effects.effects_frame`), e.g. the
    ``effects`` asset. Rows with fewer than ``study.small_cell_threshold`` persons are blanked
    (:func:`~evaluation_pipeline.publication.suppress_effects`) before anything is read; counts
    of kommuner are not suppressed.

    ``inference``: the multiplicity adjustment (:class:`~evaluation_pipeline.study.Inference`:
    family, method, alpha); default the study's ``inference:`` (Holm across every indicator
    of the logic chain at alpha 0.05).
    """
    if registry_estimator not in ("twfe", "callaway_santanna"):
        raise ValueError(
            f"registry_estimator must be 'twfe' or 'callaway_santanna', got {registry_estimator!r}"
        )
    chain = study.logic_chain
    if chain is None:
        return pd.DataFrame(columns=EVIDENCE_COLUMNS)
    missing = [c for c in ("source", "outcome", "contrast", "group", "estimator", "estimate",
                           "ci_low", "ci_high", "n_treated", "n_control", "note")
               if c not in effects.columns]
    if missing:
        raise ValueError(f"logic_chain_evidence: effects lacks the Effect column(s) {missing}")
    inf = resolve_inference(study, inference)
    k = int(study.small_cell_threshold)
    eff = suppress_effects(effects.reset_index(drop=True), k)
    if "p_value" not in eff.columns:
        eff["p_value"] = math.nan
    picked = []
    for level, attr in (("output", "outputs"), ("outcome", "outcomes"), ("impact", "impact")):
        for el in getattr(chain, attr):
            for ref in el.indicators:
                source, _, ident = ref.partition(":")
                expected, exp_note = expected_direction(study, el, ref, source, ident)
                sel = select_evidence(study, eff, source, ident, registry_estimator)
                picked.append((level, el.name, ident, source, expected, exp_note, sel))
    tests = family_tests(picked, inf, k)
    rows = [_evidence_row(level, name, ident, source, expected, exp_note, sel, k,
                          tests.get(i), inf)
            for i, (level, name, ident, source, expected, exp_note, sel) in enumerate(picked)]
    out = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    if sensitivity is not None:
        from ..registry_sensitivity import with_sensitivity_notes
        out = with_sensitivity_notes(out, sensitivity)
    return out


def _caveat(p: pd.Series) -> tuple[str, str]:
    """(caveat, its note) of a primary row: few network kommuner in a comparison across
    kommuner (counts of kommuner are never suppressed, so they can be named)."""
    if unit_of(p) != "kommuner" or isnan(p["n_treated"]) or p["n_treated"] >= FEW_KOMMUNER:
        return "", ""
    n = int(p["n_treated"])
    return FEW_KOMMUNER_CAVEAT, (
        f"few kommuner: {n} network kommune{'' if n == 1 else 'r'} (fewer than "
        f"{FEW_KOMMUNER}); few-cluster inference: {_few_cluster_method(p)}")


def _few_cluster_method(p: pd.Series) -> str:
    note, est = str(p.get("note") or ""), str(p.get("estimator") or "")
    if est.startswith("randomization inference"):
        return "randomization inference over kommune labels, CI by test inversion"
    if WCR.search(note):
        return "wild cluster bootstrap CI (test inversion)"
    if est.startswith("two-step"):
        return "t(K - 2) on the kommuner's changes in kommune × wave means"
    if est.startswith("OLS"):
        return "kommune-clustered CR1 SE with t(G - 1) inference"
    return "cluster-robust SE; read the CI with care"


def _evidence_row(level, element, ident, source, expected, exp_note, sel: Selection,
                  k: int, test: FamilyTest | None = None, inf=None) -> dict:
    inf = resolve_inference(None, inf)
    notes = [n for n in (exp_note,) if n]
    none = {"p_value": math.nan, "p_adjusted": math.nan, "sim_ci_low": math.nan,
            "sim_ci_high": math.nan, "adjustment": ""}
    if sel.primary is None:
        return {"level": level, "element": element, "indicator": ident, "source": source,
                "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "expected": expected, "verdict": "insufficient_data", "caveat": "",
                "basis": "", "note": "; ".join([*notes, sel.note]), **none}
    p = sel.primary
    lo, hi = sel.ci if sel.ci is not None else (p["ci_low"], p["ci_high"])
    adjusted = test is not None and inf.adjusted
    kw = {}
    if test is not None:
        kw = {"p": test.p_adjusted, "alpha": inf.alpha,
              "p_label": (f"{method_words(inf.method)} p" if adjusted else sel.p_name),
              "p_context": test.family}
    v, reason = indicator_verdict(
        p["estimate"], lo, hi, expected, n_treated=p["n_treated"], n_control=p["n_control"],
        min_units=k, suppressed=hidden(p), unit=unit_of(p), **kw,
    )
    if test is not None and adjusted:
        reason = f"{sel.p_name} = {fmt_num(test.p, 3)}; {reason}"
    why = str(p.get("note") or "")
    if why.startswith(INSUFFICIENT_DATA) and isnan(p["estimate"]):
        # the analysis could not estimate it: its reason (indicator, file, what is missing)
        v, reason = "insufficient_data", why
    notes.append(reason)
    if v == "insufficient_data":  # nothing of a blanked row leaks through the note
        return {"level": level, "element": element, "indicator": ident, "source": source,
                "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "expected": expected, "verdict": v, "caveat": "", "basis": sel.basis,
                "note": "; ".join(notes), **none}
    if test is None:
        notes.append("no p-value: judged by its 95 % CI, outside the multiplicity family")
        sim_lo, sim_hi, adjustment = math.nan, math.nan, "none (no p-value)"
    else:
        sim_lo, sim_hi = simultaneous_ci(sel, test.level)
        adjustment = (f"{inf.method}, {test.family}" if adjusted else "none")
        if test.level is not None and not (isnan(sim_lo) or isnan(sim_hi)):
            lvl = f"{100 * test.level:.4g} %"
            covers = sim_lo <= 0 <= sim_hi
            rejects = v in ("supports", "contrary")
            notes.append(f"{'simultaneous ' if adjusted else ''}{lvl} CI {fmt_num(sim_lo)} to "
                         f"{fmt_num(sim_hi)}")
            if covers and rejects:
                notes.append(f"the {lvl} CI includes 0 although the test rejects: "
                             + ("Holm's step-down rejects more than Bonferroni intervals show"
                                if inf.method == "holm" and adjusted else
                                "the interval and the test are different methods"))
            elif not covers and not rejects:
                notes.append(f"the {lvl} CI excludes 0 although the test does not reject: "
                             "the interval and the test are different methods")
        elif test.level is None:
            notes.append("no simultaneous CI: Benjamini-Hochberg controls the false discovery "
                         "rate, not the family-wise error")
        elif adjusted and sel.ci is not None:
            notes.append("no simultaneous CI: the wild cluster bootstrap CI is inverted at "
                         "95 % only (the verdict uses its adjusted p)")
        elif adjusted:
            notes.append("no simultaneous CI: the printed CI is not one the pipeline can "
                         "recompute at another level")
    caveat, caveat_note = _caveat(p)
    if caveat_note:
        notes.append(caveat_note)
    if sel.note:
        notes.append(sel.note)
    est = float(p["estimate"])
    if sel.check is not None:
        c = sel.check
        cv, _ = indicator_verdict(c["estimate"], c["ci_low"], c["ci_high"], expected,
                                  n_treated=c["n_treated"], n_control=c["n_control"],
                                  min_units=k, suppressed=hidden(c), unit=unit_of(c))
        if hidden(c):  # a suppressed check row shows none of its numbers
            notes.append(f"check: {c['estimator']}: suppressed")
        else:
            notes.append(f"check: {c['estimator']} {fmt_num(c['estimate'])} (95 % CI "
                         f"{fmt_num(c['ci_low'])} to {fmt_num(c['ci_high'])}): "
                         f"{cv.replace('_', ' ')}")
        if {v, cv} == {"supports", "contrary"}:
            notes.append(f"primary {v} but the check is {cv}: the estimators disagree, "
                         "verdict downgraded to no clear change")
            v = "no_clear_change"
    return {"level": level, "element": element, "indicator": ident, "source": source,
            "estimate": est, "ci_low": float(lo), "ci_high": float(hi), "expected": expected,
            "verdict": v, "caveat": caveat, "basis": sel.basis, "note": "; ".join(notes),
            "p_value": test.p if test else math.nan,
            "p_adjusted": test.p_adjusted if test else math.nan,
            "sim_ci_low": float(sim_lo), "sim_ci_high": float(sim_hi),
            "adjustment": adjustment}
