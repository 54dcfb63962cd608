"""The verdict rules: :func:`indicator_verdict` (one estimate against its expected direction)
and :func:`element_verdicts` (the aggregation per chain element and per link)."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from ..effects import PERSON_UNITS
from .common import ELEMENT_COLUMNS, LEVELS, MIN_KOMMUNER, NOT_MEASURED, VERDICTS, fmt_num, isnan


def indicator_verdict(
    estimate: float,
    ci_low: float,
    ci_high: float,
    expected: Literal["increase", "decrease"],
    *,
    n_treated: float | None = None,
    n_control: float | None = None,
    min_units: int = 5,
    suppressed: bool = False,
    unit: str = "",
    p: float | None = None,
    alpha: float = 0.05,
    p_label: str = "p",
    p_context: str = "",
) -> tuple[str, str]:
    """The verdict of one estimate (rules in the package docstring) and the reason, in words.

    With ``p`` (the p-value the verdict uses, adjusted for multiplicity or not; ``p_label``
    names it in the reason, e.g. ``"Holm-adjusted p"``) the test decides: ``p < alpha`` and
    the sign of ``estimate`` give the side; without it (or a NaN ``p``) the 95 % CI does.

    ``unit``: what ``n_treated`` / ``n_control`` count (``n_unit`` of the Effect). Counts of
    persons (respondents, pairs, interviews; also an empty, unknown unit) below
    ``min_units`` give insufficient data; counts of ``kommuner`` only below
    :data:`MIN_KOMMUNER` (one kommune is one cluster: no inference across kommuner)."""
    if expected not in ("increase", "decrease"):
        raise ValueError(f"expected must be 'increase' or 'decrease', got {expected!r}")
    if suppressed:
        return "insufficient_data", f"suppressed (fewer than {min_units} persons)"
    persons = unit in PERSON_UNITS
    least = min_units if persons else MIN_KOMMUNER
    for name, n in (("n_treated", n_treated), ("n_control", n_control)):
        if n is not None and not isnan(n) and n < least:
            if persons:
                return "insufficient_data", f"too few units: {name} = {int(n)} < {min_units}"
            side = "network" if name == "n_treated" else "comparison"
            return "insufficient_data", (f"too few kommuner: {int(n)} {side} kommune(r); a "
                                         f"comparison across kommuner needs at least "
                                         f"{MIN_KOMMUNER} in each group")
    if any(isnan(v) for v in (estimate, ci_low, ci_high)):
        return "insufficient_data", "no estimate or no confidence interval"
    if p is not None and not isnan(p):
        ctx = f" ({p_context})" if p_context else ""
        test = f"{p_label} = {fmt_num(p, 3)}"
        if not p < alpha or estimate == 0:
            return "no_clear_change", f"{test} ≥ {alpha:g}{ctx}"
        side = "increase" if estimate > 0 else "decrease"
        if side == expected:
            return "supports", f"{test} < {alpha:g}{ctx}: {side}, as expected"
        return "contrary", f"{test} < {alpha:g}{ctx}: {side}, expected {expected}"
    if ci_low > 0:
        side = "increase"
    elif ci_high < 0:
        side = "decrease"
    else:
        return "no_clear_change", "95 % CI includes 0"
    if side == expected:
        return "supports", f"95 % CI excludes 0: {side}, as expected"
    return "contrary", f"95 % CI excludes 0: {side}, expected {expected}"


def element_verdicts(evidence: pd.DataFrame, study=None) -> pd.DataFrame:
    """One verdict per chain element and per link between consecutive levels (rules in the
    package docstring). With ``study`` the goal, the interventions and elements without
    indicators are included (``not_measured``) and the chain's order is kept; without it only
    the elements in ``evidence`` appear, in their order there."""
    elements: list[tuple[str, str]] = []
    if study is not None and study.logic_chain is not None:
        ch = study.logic_chain
        elements += [("goal", ch.goal)] + [("intervention", i) for i in ch.interventions]
        for level, attr in (("output", "outputs"), ("outcome", "outcomes"),
                            ("impact", "impact")):
            elements += [(level, e.name) for e in getattr(ch, attr)]
    for key in zip(evidence["level"], evidence["element"], strict=True):
        if key not in elements:
            elements.append(key)
    elements.sort(key=lambda e: LEVELS.index(e[0]))  # stable: keeps the order within a level

    verdict: dict[tuple[str, str], str] = {}
    rows = []
    for level, name in elements:
        ev = evidence[(evidence["level"] == level) & (evidence["element"] == name)]
        counts = {v: int((ev["verdict"] == v).sum()) for v in VERDICTS}
        v, reason = _aggregate(counts)
        verdict[(level, name)] = v
        rows.append({"kind": "element", "level": level, "element": name, "from_level": "",
                     "from_element": "", "to_level": "", "to_element": "", "verdict": v,
                     "n_indicators": len(ev), **{f"n_{k}": n for k, n in counts.items()},
                     "reason": reason})

    levels = [lv for lv in LEVELS if any(e[0] == lv for e in elements)]
    for a, b in zip(levels, levels[1:], strict=False):
        for ea in (e for e in elements if e[0] == a):
            for eb in (e for e in elements if e[0] == b):
                v, reason = _link(verdict[ea], verdict[eb])
                rows.append({"kind": "link", "level": b, "element": f"{ea[1]} → {eb[1]}",
                             "from_level": a, "from_element": ea[1], "to_level": b,
                             "to_element": eb[1], "verdict": v, "n_indicators": 0,
                             **{f"n_{k}": 0 for k in VERDICTS}, "reason": reason})
    return pd.DataFrame(rows, columns=ELEMENT_COLUMNS)


def _aggregate(counts: dict[str, int]) -> tuple[str, str]:
    n = sum(counts.values())
    if n == 0:
        return NOT_MEASURED, "no indicator bound"
    if counts["contrary"]:
        return "contrary", f"{counts['contrary']} of {n} indicator(s) contrary"
    with_data = n - counts["insufficient_data"]
    if with_data == 0:
        return "insufficient_data", f"no indicator of {n} has sufficient data"
    if counts["supports"] == with_data:
        return "supports", f"all {with_data} indicator(s) with data support"
    return "no_clear_change", f"{counts['supports']} of {with_data} indicator(s) with data support"


def _link(a: str, b: str) -> tuple[str, str]:
    ends = [v for v in (a, b) if v != NOT_MEASURED]
    if not ends:
        return NOT_MEASURED, "neither end measured"
    if len(ends) == 1:
        return ends[0], "one end not measured: the measured end's verdict"
    for v in ("contrary", "insufficient_data"):
        if v in ends:
            return v, f"an end is {v.replace('_', ' ')}"
    if ends == ["supports", "supports"]:
        return "supports", "both ends support"
    return "no_clear_change", "not both ends support"
