"""The multiplicity adjustment applied to the evidence rows: which rows are in a family, their
adjusted p (:mod:`..multiplicity`) and the simultaneous CI of a primary estimate."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..multiplicity import adjusted_p, simultaneous_level, wald_interval
from .common import hidden, isnan, unit_of
from .selection import Selection
from .verdict import indicator_verdict


@dataclass
class FamilyTest:
    """The multiplicity-adjusted test of one evidence row."""

    p: float
    p_adjusted: float
    m: int  # the number of tests in its family
    family: str  # the family in words
    level: float | None  # the level of its simultaneous CI (None: no simultaneous CI)


def resolve_inference(study, inference):
    if inference is not None:
        return inference
    inf = getattr(study, "inference", None)
    if inf is None:
        from ...study import Inference

        inf = Inference()
    return inf


def _usable(sel: Selection, k: int) -> bool:
    """Whether the row gets a verdict other than insufficient data (so its test counts in the
    family)."""
    p = sel.primary
    if p is None:
        return False
    lo, hi = sel.ci if sel.ci is not None else (p["ci_low"], p["ci_high"])
    v, _ = indicator_verdict(p["estimate"], lo, hi, "increase", n_treated=p["n_treated"],
                             n_control=p["n_control"], min_units=k, suppressed=hidden(p),
                             unit=unit_of(p))
    return v != "insufficient_data"


def family_tests(picked: list, inf, k: int) -> dict[int, FamilyTest]:
    """The adjusted p of every row with a usable primary test, within the declared family.
    One indicator bound to two elements is one test (counted once in its family)."""
    families: dict[object, dict[str, float]] = {}
    member: dict[int, tuple[object, str]] = {}
    for i, (level, name, ident, source, _e, _n, sel) in enumerate(picked):
        if not _usable(sel, k) or isnan(sel.p):
            continue
        fam = {"logic_chain": "chain", "element": (level, name), "source": source,
               "none": i}[inf.family]
        key = f"{source}:{ident}"
        families.setdefault(fam, {})[key] = float(sel.p)
        member[i] = (fam, key)
    method = inf.method if inf.family != "none" else "none"
    adjusted: dict[object, dict[str, float]] = {}
    for fam, tests in families.items():
        adj = adjusted_p(list(tests.values()), method)
        adjusted[fam] = dict(zip(tests, adj, strict=True))
    out = {}
    for i, (fam, key) in member.items():
        m = len(families[fam])
        level, name, _ident, source = picked[i][:4]
        if method == "none":
            words = "unadjusted"
        elif inf.family == "logic_chain":
            words = f"family: {m} indicator{'s' if m != 1 else ''} of the logic chain"
        elif inf.family == "element":
            words = f"family: {m} indicator{'s' if m != 1 else ''} of {name!r}"
        else:
            words = f"family: {m} {source} indicator{'s' if m != 1 else ''} of the logic chain"
        out[i] = FamilyTest(families[fam][key], float(adjusted[fam][key]), m, words,
                       simultaneous_level(m, method, inf.alpha))
    return out


_SHARES = re.compile(r"share (\d+)/(\d+) = \S+ at [^,]+, (\d+)/(\d+) = ")


def simultaneous_ci(sel: Selection, level: float | None) -> tuple[float, float]:
    """The primary estimate's CI at the simultaneous ``level`` (package docstring,
    "Multiplicity"); NaN bounds where there is none."""
    p = sel.primary
    if level is None or p is None:
        return math.nan, math.nan
    if sel.ci is not None and str(p["estimator"]).startswith("TWFE"):
        return math.nan, math.nan  # the bootstrap CI is inverted at 95 % only
    if p["source"] == "network":
        return math.nan, math.nan  # the randomization CI is inverted at 95 % only
    if p["source"] == "interviews":
        m = _SHARES.search(str(p.get("note") or ""))
        if not m:
            return math.nan, math.nan
        from ..interviews import newcombe_diff_ci

        x0, n0, x1, n1 = (int(g) for g in m.groups())
        _, lo, hi = newcombe_diff_ci(x1, n1, x0, n0, 1 - level)
        return lo, hi
    ci = wald_interval(p["estimate"], p.get("se"), p["ci_low"], p["ci_high"], level)
    return ci if ci is not None else (math.nan, math.nan)
