"""The logic-chain evidence table: what the Effect rows say about each link of the study's
logic chain (goal -> interventions -> outputs -> outcomes -> impact).

Every output, outcome and impact in study.yaml binds indicators (``survey:<scale>``,
``registry:<indicator>``, ``interviews:<theme>``). :func:`logic_chain_evidence` picks, for each
bound indicator, the one Effect row that is the **primary evidence**, compares it with the
**expected direction** and gives a **verdict**; :func:`element_verdicts` aggregates the verdicts
per element and per link of the chain.

Primary evidence per source (the other rows named are reported in ``note`` as checks)

=========== ============================================== =====================================
source      primary Effect row                             check (in ``note``)
=========== ============================================== =====================================
survey      network vs comparison DiD at the last          the same DiD reweighted to the
            follow-up wave against the baseline wave, as   baseline role mix. Without a DiD
            answered (two-step DiD on kommune × wave       row (no comparison kommuner): the
            means, t(K - 2)), contrast                     pooled pre/post change in the network
            ``<last> - <baseline>, network - comparison``  kommuner (a change, not an effect)
registry    TWFE DiD, network vs comparison kommuner       Callaway & Sant'Anna ATT (simple
            after joining; its CI is the wild cluster      aggregation, never-joined controls);
            bootstrap CI (test inversion) when the         ``registry_estimator=
            Effect's note has one, else the CR1 CI         "callaway_santanna"`` swaps the two
interviews  shift in the share of interviews mentioning    Fisher p and Holm-adjusted p across
            the theme, pooled over roles (group ``all``),  themes (the interview table's
                                                           family; the verdict's is below)
            last follow-up round - baseline round,
            Newcombe hybrid score CI
=========== ============================================== =====================================

Why TWFE with the wild bootstrap for the registry: in BENCHMARKS.md's simulation (20 kommuner,
5 or 9 in the network) it is unbiased with a constant effect and its bootstrap CI keeps its
coverage, while Callaway & Sant'Anna's normal CI over-rejects with few network kommuner. With
strongly heterogeneous effects over joining cohorts TWFE can be biased; then the check row and
its disagreement (see the rule below) show it.

Expected direction (column ``expected``)

1. ``expected:`` of the element in study.yaml: one direction for all its indicators, or a
   mapping ``{"registry:neet_15_29": decrease}`` per indicator;
2. else for a registry indicator ``higher_is_better`` (true -> increase, false -> decrease);
3. else increase (survey scales are reverse-coded so that a higher score is more of the
   construct; an interview theme is expected to be mentioned more). A registry indicator with
   neither ``expected`` nor ``higher_is_better`` is assumed to increase and the note says so.

Verdict of one indicator (``p`` = the primary row's p-value, adjusted for multiplicity
within its family -- see "Multiplicity" below; ``ci`` = the primary row's 95 % CI;
``k`` = the study's ``small_cell_threshold``), the first rule that applies:

===================== ==================================================================
verdict               rule
===================== ==================================================================
``insufficient_data`` no Effect row for the indicator; or the row is suppressed: fewer
                      than ``k`` **persons** in either group (``n_treated`` or
                      ``n_control`` when ``n_unit`` counts respondents, pairs or
                      interviews; for the survey network vs comparison model, fewer than
                      ``k`` scores), the row's numbers then blanked as in the published
                      tables (:func:`~evaluation_pipeline.publication.suppress_effects`); or
                      fewer than 2 kommuner in either group of a comparison across
                      kommuner (no cluster inference with one cluster); or the estimate or
                      a CI bound is missing
``supports``          adjusted ``p < alpha`` and the estimate on the expected side
``contrary``          adjusted ``p < alpha`` and the estimate on the other side
``no_clear_change``   adjusted ``p >= alpha`` (or an estimate of exactly 0)
``no_clear_change``   (downgrade) the primary supports but the check row is contrary, or
                      the primary is contrary but the check supports: the estimators
                      disagree, so neither verdict is safe (the check row is judged by its
                      own 95 % CI, unadjusted: it is a check, not a test of the family)
===================== ==================================================================

A primary row without a p-value (every estimator of the pipeline writes one; a
hand-made Effect may not) is judged by its 95 % CI as before: ``supports`` when the CI excludes 0
on the expected side, ``contrary`` on the other side, else ``no_clear_change``; it is not in
the family, and its note says so.

Multiplicity (study.yaml ``inference:``; :mod:`.multiplicity`)

* **The p a verdict uses** (column ``p_value``): survey -- the DiD's (or pre/post's) p;
  registry TWFE -- the **wild cluster bootstrap p** of the Effect's note when the bootstrap
  ran (the p that matches the bootstrap CI the table shows; the CR1 p is in the note), else
  the row's p; Callaway & Sant'Anna -- its p; interviews -- **Fisher's exact p** (not the
  Newcombe CI, which can exclude 0 while Fisher's p is above 0.05).
* **The family** (``inference.family``): ``logic_chain`` (default) -- every indicator of the
  chain with a usable test; ``element`` -- the indicators of one output/outcome/impact;
  ``source`` -- the chain's indicators of one source; ``none`` -- no adjustment. An indicator
  bound to two elements is one test (counted once). Rows with insufficient data are not in
  the family.
* **The method** (``inference.method``): ``holm`` (default), ``bonferroni``, ``fdr_bh``
  (false discovery rate), ``none``; at level ``inference.alpha`` (default 0.05). Column
  ``p_adjusted`` is the adjusted p (= ``p_value`` without adjustment), ``adjustment`` names
  the method and the family (``"holm, family: 7 indicators of the logic chain"``).
* **Simultaneous CI** (``sim_ci_low``, ``sim_ci_high``): Bonferroni intervals at level
  ``1 - alpha/m`` for ``holm`` and ``bonferroni`` (``m`` = tests in the family), ``1 - alpha``
  without adjustment, none for ``fdr_bh``. Survey and Callaway & Sant'Anna rows: the Wald
  interval rescaled (:func:`.multiplicity.wald_interval`); interviews: Newcombe's interval at
  that level; registry TWFE with the bootstrap: none (its test inversion runs at 95 % only;
  the verdict uses the adjusted bootstrap p). Holm may reject where the Bonferroni interval
  still covers 0 (Holm is the more powerful test); the note says so when it happens.
* The reason in ``note`` names it all, e.g. ``Fisher p = 0.0562; Holm-adjusted p = 0.0562 >=
  0.05 (family: 7 indicators of the logic chain)``.

A count of kommuner is never a privacy matter: a network of 2 or more kommuner gets an
estimate and a verdict with the few-cluster inference of its estimator (the TWFE DiD's wild
cluster bootstrap CI; the survey DiD's t(K - 2) on kommune × wave means). When the
primary row compares fewer than :data:`~.linear_model.FEW_TREATED_CLUSTERS` (10) network kommuner --
where the TWFE DiD adds the wild cluster bootstrap -- the column ``caveat`` says
``few_kommuner`` and the note gives the number: the report shows it next to the verdict
("få kommuner").

Aggregation (:func:`element_verdicts`)

============ ======================================================================
element      rule, first that applies
============ ======================================================================
             ``not_measured``: no indicator bound (the goal, the interventions, an
             element with an empty ``indicators`` list)
             ``contrary``: any indicator is contrary
             ``insufficient_data``: every indicator has insufficient data
             ``supports``: every indicator with data supports
             ``no_clear_change``: otherwise (a mix of supports and no clear change,
             or no clear change throughout)
link A -> B  links join every element of a level to every element of the next
             non-empty level. Both ends measured: ``contrary`` if either end is,
             else ``insufficient_data`` if either end is, else ``supports`` if both
             do, else ``no_clear_change``. One end not measured (goal,
             interventions): the measured end's verdict. Neither: ``not_measured``
============ ======================================================================

A supported link says the evidence at both ends moved as the chain predicts; it is consistent
with the chain, not a proof that one caused the other.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ..publication import suppress_effects
from .effects import INSUFFICIENT_DATA, PERSON_UNITS
from .linear_model import FEW_TREATED_CLUSTERS as FEW_KOMMUNER
from .multiplicity import adjusted_p, method_words, simultaneous_level, wald_interval

LEVELS = ("goal", "intervention", "output", "outcome", "impact")
VERDICTS = ("supports", "no_clear_change", "contrary", "insufficient_data")
#: element and link verdicts add this one: nothing bound to measure
NOT_MEASURED = "not_measured"
EVIDENCE_COLUMNS = [
    "level", "element", "indicator", "source", "estimate", "ci_low", "ci_high", "expected",
    "verdict", "caveat", "basis", "note",
    # multiplicity (see "Multiplicity" in the module docstring)
    "p_value", "p_adjusted", "sim_ci_low", "sim_ci_high", "adjustment",
]
#: the caveat of an evidence row whose primary Effect compares few network kommuner
FEW_KOMMUNER_CAVEAT = "few_kommuner"
#: a comparison across kommuner needs at least this many kommuner in each group
MIN_KOMMUNER = 2
ELEMENT_COLUMNS = [
    "kind", "level", "element", "from_level", "from_element", "to_level", "to_element",
    "verdict", "n_indicators", "n_supports", "n_no_clear_change", "n_contrary",
    "n_insufficient_data", "reason",
]

_NUM = r"[-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|inf|nan)"
_WCR = re.compile(
    rf"wild cluster bootstrap \([^)]*\): p=(?P<p>{_NUM}), (?P<level>{_NUM})% CI "
    rf"\[(?P<lo>{_NUM}), (?P<hi>{_NUM})\]"
)


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
    """The verdict of one estimate (rules in the module docstring) and the reason, in words.

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
        if n is not None and not _isnan(n) and n < least:
            if persons:
                return "insufficient_data", f"too few units: {name} = {int(n)} < {min_units}"
            side = "network" if name == "n_treated" else "comparison"
            return "insufficient_data", (f"too few kommuner: {int(n)} {side} kommune(r); a "
                                         f"comparison across kommuner needs at least "
                                         f"{MIN_KOMMUNER} in each group")
    if any(_isnan(v) for v in (estimate, ci_low, ci_high)):
        return "insufficient_data", "no estimate or no confidence interval"
    if p is not None and not _isnan(p):
        ctx = f" ({p_context})" if p_context else ""
        test = f"{p_label} = {_fmt(p, 3)}"
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


def logic_chain_evidence(
    study,
    effects: pd.DataFrame,
    *,
    registry_estimator: Literal["twfe", "callaway_santanna"] = "twfe",
    inference=None,
    sensitivity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per logic-chain element × bound indicator with the primary Effect row, the
    expected direction and the verdict (see the module docstring for every rule).

    ``sensitivity``: the registry breakdown rows (:func:`~.registry_sensitivity.
    registry_sensitivity`' second frame); a registry row with a verdict then ends its note
    with the breakdown M̄ and the pre-trend Wald test (the verdict itself is unchanged).

    ``effects`` is a frame of Effect rows (:func:`~.effects.effects_frame`), e.g. the
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
    inf = _inference(study, inference)
    k = int(study.small_cell_threshold)
    eff = suppress_effects(effects.reset_index(drop=True), k)
    if "p_value" not in eff.columns:
        eff["p_value"] = math.nan
    picked = []
    for level, attr in (("output", "outputs"), ("outcome", "outcomes"), ("impact", "impact")):
        for el in getattr(chain, attr):
            for ref in el.indicators:
                source, _, ident = ref.partition(":")
                expected, exp_note = _expected(study, el, ref, source, ident)
                sel = _select(study, eff, source, ident, registry_estimator)
                picked.append((level, el.name, ident, source, expected, exp_note, sel))
    tests = _family_tests(picked, inf, k)
    rows = [_evidence_row(level, name, ident, source, expected, exp_note, sel, k,
                          tests.get(i), inf)
            for i, (level, name, ident, source, expected, exp_note, sel) in enumerate(picked)]
    out = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    if sensitivity is not None:
        from .registry_sensitivity import with_sensitivity_notes
        out = with_sensitivity_notes(out, sensitivity)
    return out


def element_verdicts(evidence: pd.DataFrame, study=None) -> pd.DataFrame:
    """One verdict per chain element and per link between consecutive levels (rules in the
    module docstring). With ``study`` the goal, the interventions and elements without
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


# ---------------------------------------------------------------------------------------------
# helpers


@dataclass
class _Selection:
    primary: pd.Series | None
    check: pd.Series | None
    basis: str
    note: str
    ci: tuple[float, float] | None = None  # CI to judge by, when not the row's own
    p: float = math.nan  # the p-value the verdict uses (its test matches ``ci``)
    p_name: str = "p"  # what that p is, in words


def _isnan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _expected(study, el, ref: str, source: str, ident: str) -> tuple[str, str]:
    if isinstance(el.expected, str):
        return el.expected, ""
    if isinstance(el.expected, dict) and ref in el.expected:
        return el.expected[ref], ""
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


def _select(study, eff, source: str, ident: str, registry_estimator: str) -> _Selection:
    rows = _rows(eff, source, ident)
    if source == "survey":
        return _select_survey(study, rows, ident)
    if source == "registry":
        return _select_registry(rows, ident, registry_estimator)
    return _select_interviews(study, rows, ident)


def _select_survey(study, rows: pd.DataFrame, scale: str) -> _Selection:
    base = study.baseline_wave if study.survey else None
    follow = study.followup_waves if study.survey else []
    if not follow:
        return _Selection(None, None, "", f"no follow-up survey wave for scale {scale!r}")
    last = follow[-1]
    did = rows[rows["contrast"] == f"{last} - {base}, network - comparison"]
    reweighted = did["estimator"].str.contains("reweighted", regex=False)
    primary, check = _first(did[~reweighted]), _first(did[reweighted])
    if primary is not None:
        basis = (f"survey, network vs comparison DiD, {last} - {base}: {primary['estimator']} "
                 f"({_n(primary['n_treated'])} network, {_n(primary['n_control'])} comparison "
                 "kommuner)")
        return _Selection(primary, check, basis, "", p=_pval(primary))
    pp = _first(rows[(rows["contrast"] == f"{last} - {base}") & (rows["group"] == "network")])
    if pp is not None:
        counts = ("" if _hidden(pp) else
                  f" (n = {_n(pp['n_treated'])} and {_n(pp['n_control'])})")
        basis = (f"survey, pre/post in the network kommuner only, {last} - {base}: "
                 f"{pp['estimator']}{counts}")
        return _Selection(pp, None, basis, "no network vs comparison estimate: a change in the "
                          "network kommuner, not an effect of the network", p=_pval(pp))
    return _Selection(None, None, "", f"no survey Effect for scale {scale!r}, {last} - {base}")


def _bootstrap_ci(note: str) -> tuple[float, float] | None:
    m = _WCR.search(note or "")
    if not m:
        return None
    lo, hi = float(m["lo"]), float(m["hi"])
    return None if math.isnan(lo) or math.isnan(hi) else (lo, hi)


def _bootstrap_p(note: str) -> float:
    """The wild cluster bootstrap p of an Effect's note (NaN without one)."""
    m = _WCR.search(note or "")
    return float(m["p"]) if m else math.nan


def _pval(row: pd.Series) -> float:
    p = row.get("p_value")
    return math.nan if _isnan(p) else float(p)


def _select_registry(rows: pd.DataFrame, ind: str, registry_estimator: str) -> _Selection:
    rows = rows[rows["group"] == "all"]
    twfe = _first(rows[rows["estimator"].str.startswith("TWFE DiD")])
    cs = _first(rows[rows["estimator"].str.startswith("Callaway-Sant'Anna")
                     & rows["estimator"].str.contains("simple", regex=False)])
    primary, check = (twfe, cs) if registry_estimator == "twfe" else (cs, twfe)
    if primary is None:
        primary, check = check, None
    if primary is None:
        return _Selection(None, None, "", f"no registry DiD Effect for indicator {ind!r}")
    units = (f"({_n(primary['n_treated'])} network, {_n(primary['n_control'])} comparison "
             "kommuner)")
    ci = _bootstrap_ci(primary["note"]) if primary["estimator"].startswith("TWFE") else None
    if ci is not None and not _isnan(primary["estimate"]):
        basis = (f"registry, network vs comparison kommuner after joining: {primary['estimator']}"
                 f" {units}; CI: wild cluster bootstrap (test inversion)")
        note = (f"CR1 CI {_fmt(primary['ci_low'])} to {_fmt(primary['ci_high'])}, CR1 p = "
                f"{_fmt(primary.get('p_value'), 3)}")
        return _Selection(primary, check, basis, note, ci, p=_bootstrap_p(primary["note"]),
                          p_name="wild cluster bootstrap p")
    basis = (f"registry, network vs comparison kommuner after joining: {primary['estimator']}"
             f" {units}")
    return _Selection(primary, check, basis, "", ci, p=_pval(primary))


def _select_interviews(study, rows: pd.DataFrame, theme: str) -> _Selection:
    rows = rows[rows["group"] == "all"]
    rounds = study.interviews.rounds if study.interviews else []
    base = [r.id for r in rounds if r.role == "baseline"]
    follow = [r.id for r in rounds if r.role == "followup"]
    if base and follow:
        rows = rows[rows["contrast"] == f"{follow[-1]} - {base[0]}"]
    row = _first(rows)
    if row is None:
        return _Selection(None, None, "", f"no interview theme shift for {theme!r} (shifts are "
                          "computed per top-level theme, pooled over roles)")
    counts = ("" if _hidden(row) else
              f" ({_n(row['n_control'])} and {_n(row['n_treated'])} interviews)")
    basis = (f"interviews, share of interviews mentioning the theme, {row['contrast']}"
             f"{counts}, Newcombe CI")
    note = (f"in the interview tables: Fisher p = {_fmt(row.get('p_value'), 3)}, "
            f"Holm-adjusted across themes p = {_fmt(row.get('p_adjusted'), 3)}")
    return _Selection(row, None, basis, note, p=_pval(row), p_name="Fisher p")


@dataclass
class _Test:
    """The multiplicity-adjusted test of one evidence row."""

    p: float
    p_adjusted: float
    m: int  # the number of tests in its family
    family: str  # the family in words
    level: float | None  # the level of its simultaneous CI (None: no simultaneous CI)


def _inference(study, inference):
    if inference is not None:
        return inference
    inf = getattr(study, "inference", None)
    if inf is None:
        from ..study import Inference

        inf = Inference()
    return inf


def _usable(sel: _Selection, k: int) -> bool:
    """Whether the row gets a verdict other than insufficient data (so its test counts in the
    family)."""
    p = sel.primary
    if p is None:
        return False
    lo, hi = sel.ci if sel.ci is not None else (p["ci_low"], p["ci_high"])
    v, _ = indicator_verdict(p["estimate"], lo, hi, "increase", n_treated=p["n_treated"],
                             n_control=p["n_control"], min_units=k, suppressed=_hidden(p),
                             unit=_unit(p))
    return v != "insufficient_data"


def _family_tests(picked: list, inf, k: int) -> dict[int, _Test]:
    """The adjusted p of every row with a usable primary test, within the declared family.
    One indicator bound to two elements is one test (counted once in its family)."""
    families: dict[object, dict[str, float]] = {}
    member: dict[int, tuple[object, str]] = {}
    for i, (level, name, ident, source, _e, _n, sel) in enumerate(picked):
        if not _usable(sel, k) or _isnan(sel.p):
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
        out[i] = _Test(families[fam][key], float(adjusted[fam][key]), m, words,
                       simultaneous_level(m, method, inf.alpha))
    return out


_SHARES = re.compile(r"share (\d+)/(\d+) = \S+ at [^,]+, (\d+)/(\d+) = ")


def _simultaneous_ci(sel: _Selection, level: float | None) -> tuple[float, float]:
    """The primary estimate's CI at the simultaneous ``level`` (module docstring,
    "Multiplicity"); NaN bounds where there is none."""
    p = sel.primary
    if level is None or p is None:
        return math.nan, math.nan
    if sel.ci is not None and str(p["estimator"]).startswith("TWFE"):
        return math.nan, math.nan  # the bootstrap CI is inverted at 95 % only
    if p["source"] == "interviews":
        m = _SHARES.search(str(p.get("note") or ""))
        if not m:
            return math.nan, math.nan
        from .interviews import newcombe_diff_ci

        x0, n0, x1, n1 = (int(g) for g in m.groups())
        _, lo, hi = newcombe_diff_ci(x1, n1, x0, n0, 1 - level)
        return lo, hi
    ci = wald_interval(p["estimate"], p.get("se"), p["ci_low"], p["ci_high"], level)
    return ci if ci is not None else (math.nan, math.nan)


def _hidden(row: pd.Series) -> bool:
    return bool(row.get("suppressed", False))


def _unit(row: pd.Series) -> str:
    unit = row.get("n_unit")
    return str(unit) if isinstance(unit, str) else ""


def _caveat(p: pd.Series) -> tuple[str, str]:
    """(caveat, its note) of a primary row: few network kommuner in a comparison across
    kommuner (counts of kommuner are never suppressed, so they can be named)."""
    if _unit(p) != "kommuner" or _isnan(p["n_treated"]) or p["n_treated"] >= FEW_KOMMUNER:
        return "", ""
    n = int(p["n_treated"])
    return FEW_KOMMUNER_CAVEAT, (
        f"few kommuner: {n} network kommune{'' if n == 1 else 'r'} (fewer than "
        f"{FEW_KOMMUNER}); few-cluster inference: {_few_cluster_method(p)}")


def _few_cluster_method(p: pd.Series) -> str:
    note, est = str(p.get("note") or ""), str(p.get("estimator") or "")
    if _WCR.search(note):
        return "wild cluster bootstrap CI (test inversion)"
    if est.startswith("two-step"):
        return "t(K - 2) on the kommuner's changes in kommune × wave means"
    if est.startswith("OLS"):
        return "kommune-clustered CR1 SE with t(G - 1) inference"
    return "cluster-robust SE; read the CI with care"


def _evidence_row(level, element, ident, source, expected, exp_note, sel: _Selection,
                  k: int, test: _Test | None = None, inf=None) -> dict:
    inf = _inference(None, inf)
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
        min_units=k, suppressed=_hidden(p), unit=_unit(p), **kw,
    )
    if test is not None and adjusted:
        reason = f"{sel.p_name} = {_fmt(test.p, 3)}; {reason}"
    why = str(p.get("note") or "")
    if why.startswith(INSUFFICIENT_DATA) and _isnan(p["estimate"]):
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
        sim_lo, sim_hi = _simultaneous_ci(sel, test.level)
        adjustment = (f"{inf.method}, {test.family}" if adjusted else "none")
        if test.level is not None and not (_isnan(sim_lo) or _isnan(sim_hi)):
            lvl = f"{100 * test.level:.4g} %"
            covers = sim_lo <= 0 <= sim_hi
            rejects = v in ("supports", "contrary")
            notes.append(f"{'simultaneous ' if adjusted else ''}{lvl} CI {_fmt(sim_lo)} to "
                         f"{_fmt(sim_hi)}")
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
                                  min_units=k, suppressed=_hidden(c), unit=_unit(c))
        if _hidden(c):  # a suppressed check row shows none of its numbers
            notes.append(f"check: {c['estimator']}: suppressed")
        else:
            notes.append(f"check: {c['estimator']} {_fmt(c['estimate'])} (95 % CI "
                         f"{_fmt(c['ci_low'])} to {_fmt(c['ci_high'])}): "
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


def _n(x) -> str:
    return "?" if _isnan(x) else str(int(x))


def _fmt(x, digits: int = 4) -> str:
    return "NA" if _isnan(x) else f"{float(x):.{digits}g}"
