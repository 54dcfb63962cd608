"""The rules of what a published table hides: small-cell suppression of each kind of table
the pipeline publishes.

Every rule uses the study's ``small_cell_threshold`` ``k``: a count of persons in ``(0, k)`` is
hidden with the numbers computed from it. Rows are blanked by :func:`suppress_small_cells`;
where a table has additive margins a hidden cell could be recovered from (groups adding up to
a wave's n, answer categories to an item's n, kommuner to a round's respondents, roles to a
theme's interviews), the cells within each margin go through primary and secondary suppression
(:func:`evaluation_pipeline.publication.cells.suppress`). Effect rows are hidden by the number
of persons behind them (:func:`suppress_effects`), and the logic chain's evidence hides an
estimate its Effect row hides (:func:`suppress_logic_chain`). The kommune profiles' rules are
here too: their registry rates (:func:`suppress_rates`) and their survey n per kommune × wave
(:func:`survey_n_published`). The collaboration network's tie tables are protected by
:func:`suppress_ties` (in :mod:`.ties`, re-exported here).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .cells import suppress

__all__ = [
    "EFFECT_VALUE_COLUMNS",
    "publishable_tables",
    "suppress_effects",
    "suppress_item_distributions",
    "suppress_logic_chain",
    "suppress_rates",
    "suppress_response",
    "suppress_retention",
    "suppress_scale_means",
    "suppress_small_cells",
    "suppress_theme_role",
    "survey_n_published",
    "suppress_ties",
]


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def suppress_small_cells(
    table: pd.DataFrame,
    count_columns: list[str],
    threshold: int,
    value_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Blank every row whose count in any of ``count_columns`` is below ``threshold`` (but > 0 is
    not required: a zero count is not sensitive and is kept).

    The counts and the ``value_columns`` of such a row become NaN and the column ``suppressed``
    says True. Secondary suppression (stopping a hidden cell from being recovered from totals)
    is the job of the table builder, which knows the margins.
    """
    out = table.copy()
    counts = out[count_columns].apply(pd.to_numeric, errors="coerce")
    small = ((counts > 0) & (counts < threshold)).any(axis=1)
    cols = list(count_columns) + list(value_columns or [])
    for c in cols:
        out[c] = out[c].astype("float64") if pd.api.types.is_numeric_dtype(out[c]) else out[c]
        out.loc[small, c] = np.nan
    out["suppressed"] = small.to_numpy()
    return out


#: the numbers of an Effect row that a suppression hides (with its note)
EFFECT_VALUE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "p_value", "p_adjusted",
                        "effect_size", "n_obs")
_PAIRS = re.compile(r"\s*\(\d+ pairs?\)")


def suppress_effects(effects: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Small-cell suppression of Effect rows by the number of **persons** behind them.

    A row is hidden when a count of persons is in (0, ``threshold``): ``n_treated`` or
    ``n_control`` when they count respondents, pairs or interviews (``n_unit``, see
    :func:`evaluation_pipeline.analysis.effects.count_units`), or for a survey row that counts
    kommuner (the network vs comparison model) the scores behind it (``n_obs``). A count of
    **kommuner** never hides a row: a DiD across four network kommuner publishes no person's
    data (its registry numerators are suppressed where they are published per kommune, in the
    profiles and the group-rate table).

    A hidden row keeps its labels (source, outcome, contrast, group, ``n_unit``) and loses
    every number: the estimate, SE, CI, p-values, effect size and its person counts become
    NaN, the note -- which can hold a bootstrap CI and p-value, the Wilcoxon p or a count --
    is replaced by the reason, and a count in the estimator's name (``paired t-test (3
    pairs)``) is dropped. ``suppressed`` says True (rows already suppressed stay so).
    """
    from ..analysis.effects import PERSON_UNITS, count_units

    out = effects.copy()
    units = count_units(out)
    out["n_unit"] = units.to_numpy()
    persons = units.isin(PERSON_UNITS)

    def small(col: str) -> pd.Series:
        if col not in out:
            return pd.Series(False, index=out.index)
        n = pd.to_numeric(out[col], errors="coerce")
        return (n > 0) & (n < threshold)

    hide = (persons & (small("n_treated") | small("n_control"))) | (
        ~persons & (out["source"].astype(str) == "survey") & small("n_obs"))
    if "suppressed" in out:
        hide = hide | out["suppressed"].fillna(False).astype(bool)
    numbers = [c for c in EFFECT_VALUE_COLUMNS if c in out]
    for c in numbers + [c for c in ("n_treated", "n_control") if c in out]:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out.loc[hide, numbers] = np.nan
    # the person counts of a hidden row go; a kommune count is not sensitive and stays
    for c in ("n_treated", "n_control"):
        if c in out:
            out.loc[hide & persons, c] = np.nan
    if "note" in out:
        out["note"] = out["note"].astype(object)
        out.loc[hide, "note"] = f"suppressed: fewer than {int(threshold)} persons"
    if "estimator" in out:
        out["estimator"] = out["estimator"].astype(object)
        out.loc[hide, "estimator"] = [_PAIRS.sub("", str(e))
                                      for e in out.loc[hide, "estimator"]]
    out["suppressed"] = hide.to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# Tables with margins
# --------------------------------------------------------------------------------------------


def suppress_scale_means(summary: pd.DataFrame, k: int) -> pd.DataFrame:
    """Mean scores by scale × wave × group: within each scale and wave the group counts and
    their total (the wave's n, published as ``n_wave``) go through primary and secondary
    suppression, so a hidden group cannot be recovered as total minus the other groups."""
    out = summary.copy()
    out["suppressed"] = False
    out["n_wave"] = np.nan
    for (_, _), idx in out.groupby(["scale", "wave"], sort=False).groups.items():
        cells = out.loc[idx, ["group", "n"]].astype({"n": "int64"})
        res = suppress(cells, "n", "group", None, threshold=k, totals=True)
        body = res[res["group"] != "Total"].set_index("group")
        out.loc[idx, "suppressed"] = out.loc[idx, "group"].map(
            body["suppressed"].notna()).to_numpy()
        out.loc[idx, "n_wave"] = float(res.loc[res["group"] == "Total", "published"].iloc[0])
    cols = ["n", "mean", "sd", "ci_low", "ci_high"]
    out[cols] = out[cols].astype("float64")
    out.loc[out["suppressed"], cols] = np.nan
    return out


def _suppress_within(df: pd.DataFrame, within: list[str], category: str, count: str,
                     k: int, hide: list[str], hidden_totals: list | None = None
                     ) -> pd.DataFrame:
    """Primary and secondary suppression of ``count`` over ``category`` cells within each
    ``within`` group whose total (the sum) is published; hidden rows
    get NaN in ``hide`` and ``suppressed`` True (rows already suppressed stay so). The groups
    whose total must be hidden too (no published cell can protect the small ones) are
    appended to ``hidden_totals``: the caller hides that total where it is published."""
    out = df.copy()
    if "suppressed" not in out:
        out["suppressed"] = False
    for c in hide:
        out[c] = out[c].astype("float64")
    counts = pd.to_numeric(out[count], errors="coerce").fillna(0).round()
    small = (counts > 0) & (counts < k)
    for key, idx in out.groupby(within, sort=False, dropna=False).groups.items():
        if not small.loc[idx].any():  # no primary cell: suppress() would hide nothing
            continue
        cells = out.loc[idx, [category]].assign(**{count: counts.loc[idx]})
        cells = cells.astype({count: "int64"}).drop_duplicates(category)
        res = suppress(cells, count, category, None, threshold=k, totals=True)
        if hidden_totals is not None and res["suppressed"].iloc[-1] is not None:
            hidden_totals.append(key if isinstance(key, tuple) else (key,))
        hidden = set(res.loc[(res[category] != "Total") & res["suppressed"].notna(), category])
        sel = idx[out.loc[idx, category].isin(hidden).to_numpy()]
        out.loc[sel, hide] = np.nan
        out.loc[sel, "suppressed"] = True
    return out


def _in(df: pd.DataFrame, keys: list[str], groups: list[tuple]) -> np.ndarray:
    """Rows of ``df`` whose ``keys`` are one of ``groups``."""
    return pd.MultiIndex.from_frame(df[keys]).isin(groups)


def _with_totals(df: pd.DataFrame, within: list[str], category: str, count: str
                 ) -> pd.DataFrame:
    """``df`` plus one ``Total`` row per ``within`` group (the published margin)."""
    tot = df.groupby(within, sort=False, as_index=False)[count].sum()
    tot[category] = "Total"
    return pd.concat([df, tot], ignore_index=True)


def publishable_tables(
    study,
    effects: pd.DataFrame,
    survey_summary: pd.DataFrame | None,
    registry_means: pd.DataFrame | None,
    theme_freq: pd.DataFrame | None,
) -> dict[str, pd.DataFrame]:
    """The report's main tables after small-cell suppression (a source's table only when it
    is given: a study without that source of evidence has none)."""
    k = study.small_cell_threshold
    out = {
        # by counts of persons; a count of kommuner never hides an estimate, and a hidden
        # row's note (bootstrap CI and p) goes with its numbers
        "effects": suppress_effects(effects, k),
    }
    if survey_summary is not None:
        out["survey_scale_means"] = suppress_scale_means(survey_summary, k)
    if registry_means is not None:
        out["registry_group_rates"] = suppress_small_cells(
            registry_means, ["numerator"], k, ["value", "denominator"])
    if theme_freq is not None:
        out["interview_theme_counts"] = suppress_small_cells(
            theme_freq, ["n_sources", "n_segments", "sources_in_group"], k, ["share_sources"])
    return out


def suppress_theme_role(theme_role_freq: pd.DataFrame, k: int) -> pd.DataFrame:
    """Theme × role × round: interviews per role (``sources_in_group``) add up to the round's
    interviews, and a theme's interviews per role add up to the theme's interviews in the
    round (both published), so both margins are protected."""
    d = suppress_small_cells(theme_role_freq, ["n_sources", "n_segments", "sources_in_group"],
                             k, ["share_sources"])
    hide = ["n_sources", "n_segments", "sources_in_group", "share_sources"]
    # the raw counts for secondary suppression (the primary step blanked the small ones)
    raw = theme_role_freq[["n_sources", "n_segments", "sources_in_group"]]
    work = d.assign(_n=raw["n_sources"], _g=raw["sources_in_group"], _s=raw["n_segments"])
    waves: list = []
    lines: list = []
    work = _suppress_within(work, ["wave"], "role", "_g", k, hide, hidden_totals=waves)
    work = _suppress_within(work, ["theme", "wave"], "role", "_n", k, hide,
                            hidden_totals=lines)
    work = _suppress_within(work, ["theme", "wave"], "role", "_s", k, hide,
                            hidden_totals=lines)
    # A round's (or a theme's) role counts that only a hidden total could protect are left
    # out whole: the total is published in interview_theme_counts, and every role listed has
    # at least one interview, so the listed roles' counts would be bounded by it. With the
    # rows left out the reader does not learn which roles are there.
    drop = _in(work, ["wave"], waves) | _in(work, ["theme", "wave"], lines)
    return work[~drop].drop(columns=["_n", "_g", "_s"])


def suppress_item_distributions(item_dist: pd.DataFrame, k: int) -> pd.DataFrame:
    """Answers per category: the category counts of an item add up to ``n_answered``
    (published), so small categories are hidden with their complement."""
    d = suppress_small_cells(item_dist, ["n_answered"], k, ["count", "share", "n_missing"])
    d = d.assign(_c=item_dist["count"])
    keys, totals = ["wave", "group", "item"], []
    d = _suppress_within(d, keys, "category", "_c", k, ["count", "share"],
                         hidden_totals=totals)
    d.loc[_in(d, keys, totals), ["n_answered", "n_missing"]] = np.nan
    return d.drop(columns=["_c"])


def suppress_response(response: pd.DataFrame, k: int) -> pd.DataFrame:
    """Respondents per kommune and wave, with the wave's total as a ``Total`` row."""
    per = response[response["level"] == "kommune"][
        ["wave", "kommune", "respondents", "invited", "rate"]].copy()
    per = _with_totals(per, ["wave"], "kommune", "respondents")
    body = per[per["kommune"] != "Total"].assign(_r=lambda x: x["respondents"])
    body = suppress_small_cells(body, ["respondents"], k, ["rate", "invited"])
    totals: list = []
    body = _suppress_within(body, ["wave"], "kommune", "_r", k,
                            ["respondents", "rate", "invited"],
                            hidden_totals=totals).drop(columns=["_r"])
    tot = per[per["kommune"] == "Total"].assign(suppressed=False)
    hid = _in(tot, ["wave"], totals)
    tot["respondents"] = tot["respondents"].astype("float64").where(~hid)
    tot.loc[hid, "suppressed"] = True
    return pd.concat([body, tot], ignore_index=True)


def suppress_retention(retention: pd.DataFrame, k: int) -> pd.DataFrame:
    """Panel retention per kommune and follow-up wave: small counts are hidden with their
    shares, and the kommuner's counts add up to the ``all`` row (published), so each count is
    protected with that margin."""
    cols = [c for c in ("followup", "kommune", "n_baseline", "n_followup", "retained",
                        "share_of_baseline", "share_of_followup") if c in retention]
    d = retention[cols].copy()
    counts = [c for c in ("n_baseline", "n_followup", "retained") if c in d]
    out = suppress_small_cells(d, counts, k, [c for c in cols if c.startswith("share")])
    for c in counts:  # kommuner add up to the "all" row
        body = out[out["kommune"] != "all"].assign(_x=d.loc[out["kommune"] != "all", c])
        totals: list = []
        body = _suppress_within(body, ["followup"], "kommune", "_x", k,
                                counts + [c for c in cols if c.startswith("share")],
                                hidden_totals=totals)
        every = out[out["kommune"] == "all"].copy()
        every[c] = every[c].astype("float64").where(~_in(every, ["followup"], totals))
        out = pd.concat([body.drop(columns=["_x"]), every])
    return out.sort_index()


# --------------------------------------------------------------------------------------------
# The logic chain's evidence
# --------------------------------------------------------------------------------------------


def suppress_logic_chain(evidence: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """The evidence rows; an estimate taken from an Effect row that is suppressed in the
    effects table is hidden here too."""
    d = evidence.copy()
    d["suppressed"] = False
    hidden = effects[effects["suppressed"]]
    for i, r in d.iterrows():
        same = hidden[(hidden["source"] == r.get("source"))
                      & (hidden["outcome"] == r.get("indicator"))]
        if len(same) and pd.notna(r.get("estimate")) and np.isclose(
                same.get("_estimate", pd.Series(dtype=float)), r["estimate"]).any():
            d.loc[i, [c for c in ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted",
                                  "sim_ci_low", "sim_ci_high") if c in d]] = np.nan
            d.loc[i, "suppressed"] = True
    return d


# --------------------------------------------------------------------------------------------
# The kommune profiles


def suppress_rates(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """The kommune profiles' registry rates: hide ``value`` where numerator, denominator or
    their complement is in (0, k)."""
    out = df.copy()
    out["complement"] = out["denominator"] - out["numerator"]
    out = suppress_small_cells(out, ["numerator", "denominator", "complement"], k, ["value"])
    return out.drop(columns=["complement"])


def survey_n_published(scores: pd.DataFrame, study) -> pd.DataFrame:
    """Survey n (scored respondents) per scale × network kommune × wave as the profiles publish
    it: columns scale, kommune, wave, n, published (NaN = hidden), suppressed; the network
    total of each wave has kommune ``"Total"``.

    What the profiles show of one wave is a one-line table: every network kommune's n and their
    sum (the network n). Each scale × wave line gets primary and secondary suppression
    (:func:`suppress`), and the kommuner hidden in a wave are then
    hidden in every scale of that wave, so n's that agree across scales cannot be combined to
    recover a hidden one; a line left with a single hidden n gets a second one (its smallest
    shown kommune, in every scale of the wave).
    """
    k = study.small_cell_threshold
    s = scores[scores["score"].notna() & scores["kommune"].isin(list(study.network))]
    kommuner = sorted(study.network)
    lines, hidden = [], {}
    for scale in (study.survey.scales if study.survey else {}):
        sc = s[s["scale"] == scale]
        for wave in study.wave_ids:
            n = sc[sc["wave"] == wave].groupby("kommune")["respondent_id"].nunique()
            line = n.reindex(kommuner, fill_value=0).rename("n").rename_axis("kommune")
            pub = suppress(line.reset_index(), count="n", rows="kommune", threshold=k)
            pub = pub.assign(scale=scale, wave=wave)
            hidden.setdefault(wave, set()).update(
                pub.loc[pub["published"].isna() & (pub["kommune"] != "Total"), "kommune"])
            lines.append(pub)
    cols = ["scale", "kommune", "wave", "n", "published", "suppressed"]
    if not lines:
        return pd.DataFrame(columns=cols)
    out = pd.concat(lines, ignore_index=True)

    def hide(sel: pd.Series) -> None:
        sel = sel & out["published"].notna() & (out["n"] > 0)  # a zero is never hidden
        out.loc[sel, "published"] = np.nan
        out.loc[sel, "suppressed"] = "secondary"

    for w, koms in hidden.items():
        hide((out["wave"] == w) & out["kommune"].isin(koms))
    # A line whose only hidden n is one hidden in another scale would give it away (total
    # minus the rest): its smallest shown kommune is hidden too, in every scale of the wave
    # (or, with none left, the line's total), until no line has a single hidden n.
    while True:
        single = []
        for (scale, wave), line in out.groupby(["scale", "wave"], sort=False):
            body = line[line["kommune"] != "Total"]
            total_shown = line.loc[line["kommune"] == "Total", "published"].notna().all()
            if body["published"].isna().sum() == 1 and total_shown:
                single.append((scale, wave, body[body["published"].notna() & (body["n"] > 0)]))
        if not single:
            return out[cols]
        for scale, wave, shown in single:
            if len(shown):
                kom = shown.sort_values(["n", "kommune"])["kommune"].iloc[0]
                hide((out["wave"] == wave) & (out["kommune"] == kom))
            else:
                hide((out["scale"] == scale) & (out["wave"] == wave)
                     & (out["kommune"] == "Total"))


# --------------------------------------------------------------------------------------------
# The collaboration network's tie tables (kept in their own module for size)

from .ties import suppress_ties  # noqa: E402
