"""The evidence per source: the expected direction of a bound indicator and the primary
Effect row (with its check row, basis, CI and p) for survey, registry, interviews and the
collaboration network."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .common import WCR, fmt_count, fmt_num, hidden, isnan

#: network measures whose natural expectation is a decrease: services seeing their
#: collaboration alike (asymmetry), fewer services without a regular tie (isolated)
NETWORK_DECREASE = ("asymmetry", "isolated")


@dataclass
class Selection:
    primary: pd.Series | None
    check: pd.Series | None
    basis: str
    note: str
    ci: tuple[float, float] | None = None  # CI to judge by, when not the row's own
    p: float = math.nan  # the p-value the verdict uses (its test matches ``ci``)
    p_name: str = "p"  # what that p is, in words


def expected_direction(study, el, ref: str, source: str, ident: str) -> tuple[str, str]:
    if isinstance(el.expected, str):
        return el.expected, ""
    if isinstance(el.expected, dict) and ref in el.expected:
        return el.expected[ref], ""
    if source == "network" and ident in NETWORK_DECREASE:
        return "decrease", (f"expected direction: decrease (default for network:{ident}; "
                            "set expected: in the logic chain to change it)")
    if source == "registry" and study.registry and ident in study.registry.indicators:
        hib = study.registry.indicators[ident].higher_is_better
        if hib is not None:
            return ("increase" if hib else "decrease"), ""
        return "increase", ("expected direction assumed: increase (no expected: in the logic "
                            "chain and no higher_is_better for the indicator)")
    return "increase", ""


def _rows(eff: pd.DataFrame, source: str, outcome: str) -> pd.DataFrame:
    return eff[(eff["source"] == source) & (eff["outcome"] == outcome)]


def _first(df: pd.DataFrame) -> pd.Series | None:
    return df.iloc[-1] if len(df) else None


def select_evidence(study, eff, source: str, ident: str, registry_estimator: str) -> Selection:
    rows = _rows(eff, source, ident)
    if source == "survey":
        return _select_survey(study, rows, ident)
    if source == "registry":
        return _select_registry(rows, ident, registry_estimator)
    if source == "network":
        return _select_network(study, rows, ident)
    return _select_interviews(study, rows, ident)


def _select_survey(study, rows: pd.DataFrame, scale: str) -> Selection:
    base = study.baseline_wave if study.survey else None
    follow = study.followup_waves if study.survey else []
    if not follow:
        return Selection(None, None, "", f"no follow-up survey wave for scale {scale!r}")
    last = follow[-1]
    did = rows[rows["contrast"] == f"{last} - {base}, network - comparison"]
    reweighted = did["estimator"].str.contains("reweighted", regex=False)
    primary, check = _first(did[~reweighted]), _first(did[reweighted])
    if primary is not None:
        basis = (f"survey, network vs comparison DiD, {last} - {base}: {primary['estimator']} "
                 f"({fmt_count(primary['n_treated'])} network, "
                 f"{fmt_count(primary['n_control'])} comparison kommuner)")
        return Selection(primary, check, basis, "", p=_pval(primary))
    pp = _first(rows[(rows["contrast"] == f"{last} - {base}") & (rows["group"] == "network")])
    if pp is not None:
        counts = ("" if hidden(pp) else
                  f" (n = {fmt_count(pp['n_treated'])} and {fmt_count(pp['n_control'])})")
        basis = (f"survey, pre/post in the network kommuner only, {last} - {base}: "
                 f"{pp['estimator']}{counts}")
        return Selection(pp, None, basis, "no network vs comparison estimate: a change in the "
                          "network kommuner, not an effect of the network", p=_pval(pp))
    return Selection(None, None, "", f"no survey Effect for scale {scale!r}, {last} - {base}")


def _bootstrap_ci(note: str) -> tuple[float, float] | None:
    m = WCR.search(note or "")
    if not m:
        return None
    lo, hi = float(m["lo"]), float(m["hi"])
    return None if math.isnan(lo) or math.isnan(hi) else (lo, hi)


def _bootstrap_p(note: str) -> float:
    """The wild cluster bootstrap p of an Effect's note (NaN without one)."""
    m = WCR.search(note or "")
    return float(m["p"]) if m else math.nan


def _pval(row: pd.Series) -> float:
    p = row.get("p_value")
    return math.nan if isnan(p) else float(p)


def _select_registry(rows: pd.DataFrame, ind: str, registry_estimator: str) -> Selection:
    rows = rows[rows["group"] == "all"]
    twfe = _first(rows[rows["estimator"].str.startswith("TWFE DiD")])
    cs = _first(rows[rows["estimator"].str.startswith("Callaway-Sant'Anna")
                     & rows["estimator"].str.contains("simple", regex=False)])
    primary, check = (twfe, cs) if registry_estimator == "twfe" else (cs, twfe)
    if primary is None:
        primary, check = check, None
    if primary is None:
        return Selection(None, None, "", f"no registry DiD Effect for indicator {ind!r}")
    units = (f"({fmt_count(primary['n_treated'])} network, "
             f"{fmt_count(primary['n_control'])} comparison kommuner)")
    ci = _bootstrap_ci(primary["note"]) if primary["estimator"].startswith("TWFE") else None
    if ci is not None and not isnan(primary["estimate"]):
        basis = (f"registry, network vs comparison kommuner after joining: {primary['estimator']}"
                 f" {units}; CI: wild cluster bootstrap (test inversion)")
        note = (f"CR1 CI {fmt_num(primary['ci_low'])} to {fmt_num(primary['ci_high'])}, CR1 p = "
                f"{fmt_num(primary.get('p_value'), 3)}")
        return Selection(primary, check, basis, note, ci, p=_bootstrap_p(primary["note"]),
                          p_name="wild cluster bootstrap p")
    basis = (f"registry, network vs comparison kommuner after joining: {primary['estimator']}"
             f" {units}")
    return Selection(primary, check, basis, "", ci, p=_pval(primary))


def _select_interviews(study, rows: pd.DataFrame, theme: str) -> Selection:
    rows = rows[rows["group"] == "all"]
    rounds = study.interviews.rounds if study.interviews else []
    base = [r.id for r in rounds if r.role == "baseline"]
    follow = [r.id for r in rounds if r.role == "followup"]
    if base and follow:
        rows = rows[rows["contrast"] == f"{follow[-1]} - {base[0]}"]
    row = _first(rows)
    if row is None:
        return Selection(None, None, "", f"no interview theme shift for {theme!r} (shifts are "
                          "computed per top-level theme, pooled over roles)")
    counts = ("" if hidden(row) else
              f" ({fmt_count(row['n_control'])} and {fmt_count(row['n_treated'])} interviews)")
    basis = (f"interviews, share of interviews mentioning the theme, {row['contrast']}"
             f"{counts}, Newcombe CI")
    note = (f"in the interview tables: Fisher p = {fmt_num(row.get('p_value'), 3)}, "
            f"Holm-adjusted across themes p = {fmt_num(row.get('p_adjusted'), 3)}")
    return Selection(row, None, basis, note, p=_pval(row), p_name="Fisher p")


def _select_network(study, rows: pd.DataFrame, outcome: str) -> Selection:
    """The collaboration network's DiD at the last follow-up (randomization inference over
    kommune labels); its wild cluster bootstrap check (in the Effect's note) is the check row.
    Without a DiD row: the pooled change in the network kommuner (a change, not an effect)."""
    base = study.baseline_wave if study.survey else None
    follow = study.followup_waves if study.survey else []
    if not follow:
        return Selection(None, None, "", f"no follow-up survey wave for network:{outcome}")
    last = follow[-1]
    primary = _first(rows[(rows["contrast"] == f"{last} - {base}, network - comparison")
                          & (rows["group"] == "all")])
    if primary is not None:
        basis = (f"network, network vs comparison DiD of the kommuner's changes, {last} - "
                 f"{base}: {primary['estimator']} ({fmt_count(primary['n_treated'])} network, "
                 f"{fmt_count(primary['n_control'])} comparison kommuner)")
        return Selection(primary, _wcr_check(primary), basis, "", p=_pval(primary),
                         p_name="randomization p")
    pp = _first(rows[(rows["contrast"] == f"{last} - {base}") & (rows["group"] == "network")])
    if pp is not None:
        counts = ("" if hidden(pp) else
                  f" (n = {fmt_count(pp['n_treated'])} and {fmt_count(pp['n_control'])})")
        basis = (f"network, pre/post in the network kommuner pooled, {last} - {base}: "
                 f"{pp['estimator']}{counts}")
        return Selection(pp, None, basis, "no network vs comparison estimate: a change in the "
                          "network kommuner, not an effect of the network", p=_pval(pp))
    return Selection(None, None, "", f"no network Effect for {outcome!r}, {last} - {base} "
                     "(network:<measure> or network:tie:<A>-<B>; survey.collaboration)")


def _wcr_check(primary: pd.Series) -> pd.Series | None:
    """The wild cluster bootstrap check of a network DiD's note as a check row (same
    estimate, the bootstrap's CI), or None when the note has none."""
    m = WCR.search(str(primary.get("note") or ""))
    if not m:
        return None
    check = primary.copy()
    check["estimator"] = "wild cluster bootstrap (WCR) on the kommune × wave values"
    check["ci_low"], check["ci_high"] = float(m["lo"]), float(m["hi"])
    return check
