"""The municipality profiles' tables and their statistics: which kommuner get a profile and
their file names, the registry barometer and trends (pooled rates, suppression of small
numerators, denominators and complements, the country and fylke reference rows), the survey
means and changes per wave (published n with primary and secondary suppression, Welch
differences), and :class:`ProfileTables`, everything one profile publishes (after
suppression). No figures and no HTML (:mod:`.figures`, :mod:`.page`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ... import geography
from ...analysis.survey import welch_difference
from ...geography import kommune_name
from ...publication.rules import suppress_rates, survey_n_published

#: the groups of a profile's trends, in the order of its tables
GROUPS = ("kommune", "network", "comparison", "country", "fylke")

# --------------------------------------------------------------------------------------------
# which kommuner, which files


def profile_kommuner(study) -> list[str]:
    """The kommuner that get a profile: the study's network kommuner, in code order (the
    partition keys of the ``kommune_profile`` asset)."""
    return sorted(study.network)


def slug(text: str) -> str:
    """Lower-case ASCII file-name part: ``Ørsta`` -> ``orsta``, ``Herøy`` -> ``heroy``."""
    s = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def profile_stem(kommune: str) -> str:
    """``<kode>-<name>`` of a kommune's profile files."""
    return f"{kommune}-{slug(kommune_name(kommune))}"


def profile_dir(study) -> Path:
    return study.output / "profiles"


# --------------------------------------------------------------------------------------------
# registry: barometer and trends


def _counts_ok(df: pd.DataFrame) -> bool:
    return bool(df["numerator"].notna().any() and df["denominator"].notna().any())


def _pooled(p: pd.DataFrame, per: float) -> pd.DataFrame:
    """Pooled rate per year of the kommuner in ``p`` (summed counts), or the unweighted mean of
    published rates when the indicator has no counts."""
    if _counts_ok(p):
        ok = p.dropna(subset=["numerator", "denominator"])
        g = ok.groupby("year").agg(numerator=("numerator", "sum"),
                                   denominator=("denominator", "sum"),
                                   n_kommuner=("kommune", "nunique")).reset_index()
        g["value"] = g["numerator"] / g["denominator"] * per
        return g
    ok = p.dropna(subset=["value"])
    g = ok.groupby("year").agg(value=("value", "mean"),
                               n_kommuner=("kommune", "nunique")).reset_index()
    g["numerator"] = np.nan
    g["denominator"] = np.nan
    return g


#: the columns of :func:`registry_trends`
TREND_COLUMNS = ["indicator", "year", "group", "area", "value", "suppressed", "estimated",
                 "n_kommuner"]


def reference_rows(national: pd.DataFrame | None, study, kommune: str) -> pd.DataFrame:
    """The country and fylke values a kommune's trends are drawn against: indicator, year,
    group (``country``; ``fylke`` only for the fylke the kommune belongs to), area (the name
    as the file writes it, "Hele landet", "Telemark"), value.

    ``national`` is either the registry files' reference series
    (:func:`evaluation_pipeline.observations.reference_series`, the ``registry_reference``
    asset: level, area, indicator, year, value, numerator, denominator; values stored per the
    indicator's ``per`` like the kommune values, and a row with counts only gets
    numerator / denominator × per) or a plain table of the country's values (indicator, year,
    value)."""
    cols = ["indicator", "year", "group", "area", "value"]
    if national is None or not len(national):
        return pd.DataFrame(columns=cols)
    df = national.copy()
    if "level" not in df:
        df["level"], df["area"] = "country", pd.NA
    value = pd.to_numeric(df["value"], errors="coerce").astype(float)
    if {"numerator", "denominator"} <= set(df.columns):
        per = df["indicator"].map({k: v.per for k, v in study.registry.indicators.items()})
        rate = (pd.to_numeric(df["numerator"], errors="coerce")
                / pd.to_numeric(df["denominator"], errors="coerce") * per).astype(float)
        value = value.fillna(rate)
    df["value"] = value
    level = df["level"].astype("string")
    prefix = str(kommune)[:2]
    own_fylke = df["area"].map(
        lambda a: pd.notna(a) and prefix in geography.fylke_prefixes(str(a))).astype(bool)
    keep = ((level == "country") | ((level == "fylke") & own_fylke)).fillna(False)
    out = df[keep.to_numpy() & df["value"].notna().to_numpy()].assign(
        group=level[keep].map({"country": "country", "fylke": "fylke"}))
    out["year"] = out["year"].astype(int)
    out = out.drop_duplicates(["indicator", "group", "area", "year"], keep="last")
    return out[cols].reset_index(drop=True)


def registry_trends(panel: pd.DataFrame, study, kommune: str,
                    national: pd.DataFrame | None = None, shared: dict | None = None
                    ) -> pd.DataFrame:
    """Indicator × year × group (kommune, network, comparison[, country, fylke]) with the value
    after suppression: columns :data:`TREND_COLUMNS` (``area``: the name of a country or
    fylke row). Counts are dropped (they decided the suppression and are not published).

    ``national``: the registry files' country and fylke rows (:func:`reference_rows`); the
    country's and the kommune's own fylke's values are published aggregates, never
    suppressed. ``shared``: a dict kept across the kommuner of one study and panel (the
    network and comparison rows, which do not depend on the kommune, are computed once).
    """
    k = study.small_cell_threshold
    network, comparison = set(study.network), set(study.comparison)
    shared = {} if shared is None else shared
    if "registry_by_indicator" not in shared:
        shared["registry_by_indicator"] = dict(iter(panel.groupby("indicator"))) \
            if len(panel) else {}
    if "registry_by_kommune" not in shared:  # the network kommuner's rows, split once
        net = panel[panel["kommune"].astype(str).isin(network)] if len(panel) else panel
        shared["registry_by_kommune"] = {
            str(kom): part[["indicator", "year", "value", "numerator", "denominator",
                            "estimated"]]
            for kom, part in net.groupby(net["kommune"].astype(str))} if len(net) else {}
    by_indicator = shared["registry_by_indicator"]
    own_rows = shared["registry_by_kommune"].get(str(kommune))
    if own_rows is None:  # not a network kommune (not profiled by the pipeline)
        own_rows = panel[panel["kommune"] == kommune][
            ["indicator", "year", "value", "numerator", "denominator", "estimated"]]
    own_rows = own_rows[own_rows["indicator"].isin(
        [i for i in study.registry.indicators if i in by_indicator])].assign(n_kommuner=1)
    # suppression is decided row by row: one call for all of the kommune's indicators
    own_rows = suppress_rates(own_rows, k) if len(own_rows) else own_rows
    frames = []
    if len(own_rows):
        frames.append(own_rows.assign(group="kommune"))
    for ind, cfg in study.registry.indicators.items():
        p = by_indicator.get(ind)
        if p is None or p.empty:
            continue
        for grp, codes in (("network", network), ("comparison", comparison)):
            key = ("registry_group", ind, grp)
            if key not in shared:
                d = _pooled(p[p["kommune"].isin(codes)], cfg.per)
                if len(d):
                    d = suppress_rates(d, k)
                    est = p[p["kommune"].isin(codes)]
                    d["estimated"] = d["year"].map(est.groupby("year")["estimated"].any())
                    d = d.assign(indicator=ind, group=grp)
                shared[key] = d
            if len(shared[key]):
                frames.append(shared[key])
    ref = reference_rows(national, study, kommune)
    ref = ref[ref["indicator"].isin(list(study.registry.indicators))]
    if len(ref):
        frames.append(ref.assign(suppressed=False, estimated=False, n_kommuner=np.nan))
    cols = TREND_COLUMNS
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True).reindex(columns=cols)
    out["area"] = out["area"].astype(object)  # the name of a country / fylke row, else NA
    out["estimated"] = out["estimated"].fillna(False).astype(bool)
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool)
    order = {g: i for i, g in enumerate(GROUPS)}
    out = out.sort_values(["indicator", "year", "group"],
                          key=lambda c: c.map(order) if c.name == "group" else c)
    return out.reset_index(drop=True)


def indicator_barometer(trends: pd.DataFrame, study, kommune: str) -> pd.DataFrame:
    """One row per indicator: the latest year with a (possibly suppressed) kommune value, the
    kommune's value, network, comparison and country values that year (country NaN when not
    available), and the kommune's value the year before it joined.

    Vectorized: one lookup table of ``trends`` by (group, indicator, year), not a filter of
    the trends per indicator and group (that was ~70 ms per kommune at 40 indicators)."""
    join = study.network.get(kommune)
    order = list(study.registry.indicators)
    own = trends[(trends["group"] == "kommune")
                 & (trends["value"].notna() | trends["suppressed"])
                 & trends["indicator"].isin(order)]
    if own.empty:
        return pd.DataFrame()
    # the latest year per indicator (one kommune row per indicator and year)
    last = own.sort_values("year", kind="stable").groupby("indicator", sort=False).tail(1)
    last = last.set_index("indicator").reindex([i for i in order if i in set(last["indicator"])])
    years = last["year"].astype(int)
    # the first row of each (group, indicator, year), as a filter of the trends would find it
    first = trends.drop_duplicates(["group", "indicator", "year"]).set_index(
        ["group", "indicator", "year"])[["value", "suppressed"]]

    def at(grp: str, yrs) -> tuple[np.ndarray, np.ndarray]:
        idx = pd.MultiIndex.from_arrays([[grp] * len(last), last.index, list(yrs)])
        found = first.reindex(idx)
        return (found["value"].to_numpy(dtype=float),
                found["suppressed"].eq(True).to_numpy())  # not found: False

    out = pd.DataFrame({"indicator": last.index, "year": years.to_numpy(),
                        "kommune": last["value"].to_numpy(),
                        "kommune_suppressed": last["suppressed"].astype(bool).to_numpy(),
                        "kommune_estimated": last["estimated"].astype(bool).to_numpy()})
    for grp in ("network", "comparison", "country"):
        out[grp], out[f"{grp}_suppressed"] = at(grp, years)
    if join:
        before_year = int(join) - 1
        out["before_join_year"] = before_year
        out["before_join"], out["before_join_suppressed"] = at("kommune", [before_year] * len(out))
    else:
        out["before_join_year"] = pd.NA
        out["before_join"] = np.nan
        out["before_join_suppressed"] = False
    return out


# --------------------------------------------------------------------------------------------
# survey: means per wave and change


_NO_SCORES = (np.array([], dtype=float), np.array([], dtype=object))


def _by_wave(sub: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A group's scores of one scale (no missing scores) split by wave once: per wave the
    scores and the distinct respondent ids (the pooled network and comparison groups hold
    ~100,000 scores per wave in a national study)."""
    if sub.empty:
        return {}
    score = sub["score"].to_numpy(float)
    ids = sub["respondent_id"].to_numpy(object)
    out = {}
    for w, pos in sub.groupby("wave", observed=True, sort=False).indices.items():
        distinct = pd.unique(ids[pos])
        out[str(w)] = score[pos], distinct[pd.notna(distinct)]
    return out


def survey_profile(scores: pd.DataFrame, study, kommune: str, shared: dict | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(means, changes) of the kommune, the network and the comparison group.

    means: scale, wave, group, n, mean, suppressed — n after suppression (kommune: primary and
    secondary over the network table; groups: primary), mean only where its n is shown.
    changes: scale, baseline, followup, group, estimate, ci_low, ci_high, n_baseline,
    n_followup, suppressed — follow-up minus baseline mean (Welch CI), only where both wave
    means are shown. ``shared``: as in :func:`registry_trends` (the network and comparison
    rows and the published n are computed once per study and scores).
    """
    k = study.small_cell_threshold
    shared = {} if shared is None else shared
    if "survey_scored" not in shared:
        scored = scores[scores["score"].notna()]
        shared["survey_scored"] = dict(iter(scored.groupby("scale"))) if len(scored) else {}
        # each network kommune's scores, split once (a national scale has ~400,000 scores)
        shared["survey_kommune"] = {
            (scale, str(k)): part for scale, sc in shared["survey_scored"].items()
            for k, part in sc[sc["kommune"].isin(list(study.network))].groupby(
                "kommune", observed=True)}
        shared["survey_published"] = survey_n_published(scores, study)
    by_scale, published = shared["survey_scored"], shared["survey_published"]
    groups = {"kommune": [kommune], "network": sorted(study.network),
              "comparison": sorted(study.comparison)}
    means, changes = [], []
    empty = scores.iloc[0:0]
    for scale in study.survey.scales if study.survey else {}:
        pub = published[published["scale"] == scale].set_index(["kommune", "wave"])
        sc = by_scale.get(scale, empty)
        shown: dict[tuple[str, str], bool] = {}
        for grp, codes in groups.items():
            key = ("survey_group", scale, grp)
            if grp != "kommune" and key in shared:
                m_rows, c_rows = shared[key]
                means += m_rows
                changes += c_rows
                continue
            n_means, n_changes = len(means), len(changes)
            sub = (shared["survey_kommune"].get((scale, str(kommune)), empty)
                   if grp == "kommune" else sc[sc["kommune"].isin(codes)])
            parts = _by_wave(sub)
            for wave in study.wave_ids:
                x, ids = parts.get(wave, _NO_SCORES)
                n_raw = len(ids)
                if grp == "kommune":
                    n_pub = pub.at[(kommune, wave), "published"]
                elif grp == "network":
                    n_pub = pub.at[("Total", wave), "published"]
                else:
                    n_pub = np.nan if 0 < n_raw < k else n_raw
                hidden = bool(pd.isna(n_pub))
                show = not hidden and n_raw > 0
                shown[(grp, wave)] = show and n_raw >= 2
                means.append({"scale": scale, "wave": wave, "group": grp,
                              "n": np.nan if hidden else float(n_pub),
                              "mean": float(x.mean()) if show else np.nan,
                              "suppressed": hidden})
            base = study.baseline_wave
            for fu in study.followup_waves:
                row = {"scale": scale, "baseline": base, "followup": fu, "group": grp,
                       "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                       "suppressed": not (shown[(grp, base)] and shown[(grp, fu)])}
                if not row["suppressed"]:
                    (x_fu, ids_fu), (x_base, ids_base) = parts[fu], parts[base]
                    e = welch_difference(x_fu, x_base, ids_fu, ids_base, scale, base, fu,
                                         group=grp)
                    row.update(estimate=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high)
                changes.append(row)
            if grp != "kommune":
                shared[key] = (means[n_means:], changes[n_changes:])
    m = pd.DataFrame(means, columns=["scale", "wave", "group", "n", "mean", "suppressed"])
    c = pd.DataFrame(changes, columns=["scale", "baseline", "followup", "group", "estimate",
                                       "ci_low", "ci_high", "suppressed"])
    if len(c):
        n = m.set_index(["scale", "wave", "group"])["n"]
        c["n_baseline"] = [n.get((r.scale, r.baseline, r.group), np.nan)
                           for r in c.itertuples()]
        c["n_followup"] = [n.get((r.scale, r.followup, r.group), np.nan)
                           for r in c.itertuples()]
    else:
        c["n_baseline"] = c["n_followup"] = []
    return m, c


# --------------------------------------------------------------------------------------------
# the profile


@dataclass
class ProfileTables:
    """The published tables of one kommune's profile (after suppression)."""

    kommune: str
    name: str
    indicators: pd.DataFrame
    trends: pd.DataFrame
    survey: pd.DataFrame
    survey_change: pd.DataFrame
    #: indicators published as rates without counts (groups pooled as unweighted means)
    unweighted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {"indicators": self.indicators, "trends": self.trends, "survey": self.survey,
                "survey_change": self.survey_change}


def profile_tables(study, kommune: str, registry_panel: pd.DataFrame,
                   scale_scores: pd.DataFrame | None,
                   national: pd.DataFrame | None = None,
                   shared: dict | None = None) -> ProfileTables:
    """Every table of a kommune's profile, suppressed. ``national`` (optional): the country's
    values, columns indicator, year, value. ``shared`` (optional): one dict passed to every
    kommune of the same study and inputs, so what does not depend on the kommune (network
    and comparison rows) is computed once."""
    shared = {} if shared is None else shared
    if kommune not in study.network:
        raise ValueError(f"kommune {kommune!r} is not a network kommune of {study.source_file} "
                         f"(network: {', '.join(profile_kommuner(study))})")
    trends = registry_trends(registry_panel, study, kommune, national, shared) \
        if study.registry \
        else pd.DataFrame(columns=TREND_COLUMNS)
    bar = indicator_barometer(trends, study, kommune) if len(trends) else pd.DataFrame()
    if scale_scores is not None and study.survey is not None and len(scale_scores):
        means, change = survey_profile(scale_scores, study, kommune, shared)
    else:
        means, change = pd.DataFrame(), pd.DataFrame()
    by_ind = shared.get("registry_by_indicator")
    if by_ind is None:
        by_ind = dict(iter(registry_panel.groupby("indicator"))) if len(registry_panel) else {}
    unweighted = [i for i in (study.registry.indicators if study.registry else {})
                  if i in by_ind and not _counts_ok(by_ind[i])]
    return ProfileTables(kommune, kommune_name(kommune), bar, trends, means, change,
                         unweighted)


def _labels(study) -> tuple[dict[str, str], dict[str, str]]:
    """(indicator labels, scale labels) in the study's language."""
    inds = {k: study.label(v.label, k) for k, v in study.registry.indicators.items()} \
        if study.registry else {}
    scales = {k: study.label(v.label, k) for k, v in study.survey.scales.items()} \
        if study.survey else {}
    return inds, scales


def _suppressed_count(tabs: ProfileTables) -> int:
    n = 0
    for df in (tabs.trends, tabs.survey, tabs.survey_change):
        if len(df) and "suppressed" in df:
            n += int(df["suppressed"].astype(bool).sum())
    return n
