"""Municipality profiles: one page per network kommune, on the model of FHI/Hdir's
*oppvekstprofil* (key figures as sentences first, then a barometer table of the indicators
against the reference groups, then trends, then the kommune's own survey results).

For each network kommune the profile has

- **indicators** (the barometer): for every registry indicator the kommune's latest value
  against the pooled network rate, the pooled comparison-group rate and the country (only when
  national values are given; the study's registry panel holds only the study's kommuner, so
  otherwise the country column says "not available"), and the kommune's value the year before
  it joined the network;
- **trends**: the indicator by year for the kommune, the network and the comparison group
  (one small figure per indicator, the join year and definition breaks marked);
- **survey**: mean scale score and n per wave for the kommune, the network and the comparison
  group, and the change from baseline to each follow-up wave (difference of the wave means with
  Welch's 95 % CI, :func:`evaluation_pipeline.analysis.survey.wave_difference`);
- a short text in Norwegian bokmål (English when ``study.language == "en"``).

Pooled rates are summed numerators over summed denominators (as
:func:`~evaluation_pipeline.analysis.registry.group_means`), so larger kommuner weigh more; an
indicator published as a rate without counts is pooled as the unweighted mean and says so.

Privacy (every number shown passes suppression with the study's ``small_cell_threshold`` k):

- a registry value is hidden when its numerator, its denominator or the complement
  (denominator − numerator) counts fewer than k units (but more than 0); counts are used for
  that decision only and never published;
- survey n per kommune × wave is suppressed with primary and secondary suppression over the
  whole network table (rows kommuner, columns waves, with the network totals), using
  :func:`evaluation_pipeline.privacy.suppress`, so a hidden n cannot be recovered from the
  network total and the other kommuners' profiles; a mean is shown only with its n, and a
  change only when both of its wave means are shown.

Output per kommune: ``<output>/profiles/<kode>-<name>.html`` (self-contained: CSS inline,
figures as base64 PNG, print CSS for A4) and its tables as CSV in
``<output>/profiles/<kode>-<name>/`` (``indicators.csv``, ``trends.csv``, ``survey.csv``,
``survey_change.csv``), all written atomically. The file name is the kommune code and its name
in lower case ASCII (``1520-orsta.html``).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import os
import re
import textwrap
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .. import geography  # noqa: E402
from ..analysis.survey import welch_difference  # noqa: E402
from ..geography import kommune_name  # noqa: E402
from ..privacy import suppress, suppress_small_cells  # noqa: E402
from .figures import integer_ticks, png_bytes  # noqa: E402
from .html import write_report  # noqa: E402
from .style import (  # noqa: E402
    BREAK_LINE,
    GROUP_COLOURS,
    JOIN_LINE,
    OKABE_ITO,
    figure_style,
    watermark,
)
from .tables import format_value, write_csv  # noqa: E402

#: the kommune's own line in every profile figure (network blue and comparison orange are
#: taken; reddish purple is the remaining Okabe–Ito colour that reads well as a line)
KOMMUNE_COLOUR = OKABE_ITO["reddish_purple"]
GROUPS = ("kommune", "network", "comparison", "country", "fylke")
#: the fylke line of the trends (dashed grey, as in the report's registry trends)
FYLKE_COLOUR = "#777777"

PROFILE_LABELS: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Kommuneprofil",
        "subtitle": "{name} ({code}) i {study}",
        "joined": "Med i nettverket fra {year}.",
        "generated": "Generert",
        "synthetic": "Alle tall i denne profilen er SYNTETISKE (eksempelstudie).",
        "key_figures": "Nøkkeltall",
        "barometer": "Indikatorer",
        "barometer_caption": "Siste år med verdi for kommunen, sammenlignet med nettverket, "
        "sammenligningskommunene og landet, og kommunens verdi året før innmelding.",
        "trends": "Utvikling over tid",
        "trends_caption": "{name}, nettverket og sammenligningskommunene per år; stiplet "
        "loddrett linje: innmelding i nettverket ({year}).",
        "trends_reference": " {areas}: fra registerfilene (samme skala som kommunens verdier).",
        "survey": "Spørreundersøkelsen",
        "survey_caption": "Gjennomsnittlig skåre og antall svar per runde.",
        "change_caption": "Endring fra baseline til oppfølging (forskjell i gjennomsnitt, "
        "95 % KI, Welch).",
        "survey_fig_caption": "Gjennomsnittlig skåre per runde.",
        "notes": "Merknader",
        "indicator": "Indikator", "year": "År", "kommune": "Kommunen",
        "network": "Nettverket", "comparison": "Sammenligning", "country": "Landet",
        "country_line": "Hele landet", "fylke": "Fylket",
        "before_join": "Året før innmelding", "scale": "Skala", "wave": "Runde",
        "group": "Gruppe", "n": "n", "mean": "Snitt", "change": "Endring",
        "ci": "95 % KI", "from_to": "Fra–til", "n_baseline": "n baseline",
        "n_followup": "n oppfølging",
        "not_available": "ikke tilgjengelig",
        "suppressed_value": "prikket",
        "country_na": "Landstall er ikke tilgjengelige i studiens data og vises ikke.",
        "suppression": "Tall bygd på færre enn {k} personer er prikket (:). Antall svar er "
        "også skjult der de ellers kunne vært regnet ut fra nettverkets sum; da vises heller "
        "ikke gjennomsnittet.",
        "small_n": "Få svar: for {scales} i {waves} vises ikke kommunens resultater.",
        "estimated": "Verdier merket * er beregnet (kommunen ble delt, fordelt etter "
        "befolkningsandel).",
        "pooled": "Nettverket og sammenligningskommunene er samlede rater (sum teller / sum "
        "nevner), så store kommuner veier mer.",
        "unweighted": "{ind}: publisert som rate uten tellinger; gruppene er uvektede "
        "gjennomsnitt.",
        "sent_indicator": "{ind}: {value} i {name} i {year}, mot {net} i nettverket og {cmp} "
        "i sammenligningskommunene.",
        "sent_before": " Året før innmelding ({year}) var verdien {value}.",
        "sent_suppressed": "{ind}: kommunens verdi for {year} er prikket (for få personer).",
        "sent_better": "høyere er bedre", "sent_worse": "lavere er bedre",
        "sent_survey": "{scale}: skåren i {name} endret seg med {diff} fra {bl} til {fu} "
        "(95 % KI {lo} til {hi}; n = {n0} og {n1}).",
        "sent_survey_net": " I nettverket samlet: {diff}.",
        "sent_survey_hidden": "{scale}: for få svar i {name} til å vise endringen fra {bl} "
        "til {fu}.",
        "to": "til",
    },
    "en": {
        "title": "Municipality profile",
        "subtitle": "{name} ({code}) in {study}",
        "joined": "Member of the network since {year}.",
        "generated": "Generated",
        "synthetic": "All numbers in this profile are SYNTHETIC (example study).",
        "key_figures": "Key figures",
        "barometer": "Indicators",
        "barometer_caption": "Latest year with a value for the kommune, against the network, "
        "the comparison kommuner and the country, and the kommune's value the year before it "
        "joined.",
        "trends": "Trends",
        "trends_caption": "{name}, the network and the comparison kommuner by year; dotted "
        "vertical line: joined the network ({year}).",
        "trends_reference": " {areas}: from the registry files (on the kommune values' "
        "scale).",
        "survey": "Survey",
        "survey_caption": "Mean score and number of answers per wave.",
        "change_caption": "Change from baseline to follow-up (difference in means, 95% CI, "
        "Welch).",
        "survey_fig_caption": "Mean score per wave.",
        "notes": "Notes",
        "indicator": "Indicator", "year": "Year", "kommune": "Kommune",
        "network": "Network", "comparison": "Comparison", "country": "Country",
        "country_line": "Country", "fylke": "County",
        "before_join": "Year before joining", "scale": "Scale", "wave": "Wave",
        "group": "Group", "n": "n", "mean": "Mean", "change": "Change",
        "ci": "95% CI", "from_to": "From–to", "n_baseline": "n baseline",
        "n_followup": "n follow-up",
        "not_available": "not available",
        "suppressed_value": "suppressed",
        "country_na": "National values are not in the study's data and are not shown.",
        "suppression": "Numbers based on fewer than {k} people are suppressed (:). Answer "
        "counts are also hidden where they could be derived from the network total; the mean "
        "is then hidden too.",
        "small_n": "Few answers: the kommune's results for {scales} in {waves} are not shown.",
        "estimated": "Values marked * are estimated (the kommune was split; allocated by "
        "population share).",
        "pooled": "Network and comparison are pooled rates (sum of numerators / sum of "
        "denominators), so larger kommuner weigh more.",
        "unweighted": "{ind}: published as a rate without counts; the groups are unweighted "
        "means.",
        "sent_indicator": "{ind}: {value} in {name} in {year}, against {net} in the network "
        "and {cmp} in the comparison kommuner.",
        "sent_before": " The year before joining ({year}) the value was {value}.",
        "sent_suppressed": "{ind}: the kommune's value for {year} is suppressed (too few "
        "people).",
        "sent_better": "higher is better", "sent_worse": "lower is better",
        "sent_survey": "{scale}: the score in {name} changed by {diff} from {bl} to {fu} "
        "(95% CI {lo} to {hi}; n = {n0} and {n1}).",
        "sent_survey_net": " In the network as a whole: {diff}.",
        "sent_survey_hidden": "{scale}: too few answers in {name} to show the change from "
        "{bl} to {fu}.",
        "to": "to",
    },
}

CSS = """
body{font-family:"Source Sans Pro","Segoe UI","DejaVu Sans",Helvetica,Arial,sans-serif;
max-width:900px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
header{border-bottom:3px solid #0072B2;margin-bottom:1em}
h1{font-size:1.6em;margin:.1em 0} .subtitle{font-size:1.1em;margin:.2em 0 .6em}
h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.15em;margin-top:1.4em}
ul.key{background:#f2f7fb;border-left:4px solid #0072B2;padding:.6em 1em .6em 2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:right;vertical-align:top}
th.text,td.text{text-align:left} thead th{border-bottom:2px solid #444}
td.kommune{font-weight:bold;color:#7a3b65}
.synthetic{background:#fff3cd;border:1px solid #e0c36b;padding:.5em 1em;font-weight:bold}
.note,figcaption{color:#444;font-size:.85em} figure{margin:.8em 0} img{max-width:100%}
@page{size:A4;margin:15mm 14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:9.5pt}
h2{break-after:avoid;page-break-after:avoid}
figure,table,tr,img,ul.key{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}}
"""


def pt(key: str, language: str = "nb", **fmt: object) -> str:
    """A profile label in ``language`` (bokmål or English)."""
    text = PROFILE_LABELS.get(language, PROFILE_LABELS["nb"])[key]
    return text.format(**fmt) if fmt else text


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


def figure_cache(study) -> Path:
    """Where the pipeline keeps profile figures between runs (see :func:`trends_png`)."""
    return Path(study.output) / ".cache" / "profiles"


def profile_dir(study) -> Path:
    return study.output / "profiles"


# --------------------------------------------------------------------------------------------
# registry: barometer and trends


def _counts_ok(df: pd.DataFrame) -> bool:
    return bool(df["numerator"].notna().any() and df["denominator"].notna().any())


def _suppress_rates(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """Hide ``value`` where numerator, denominator or their complement is in (0, k)."""
    out = df.copy()
    out["complement"] = out["denominator"] - out["numerator"]
    out = suppress_small_cells(out, ["numerator", "denominator", "complement"], k, ["value"])
    return out.drop(columns=["complement"])


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
    own_rows = _suppress_rates(own_rows, k) if len(own_rows) else own_rows
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
                    d = _suppress_rates(d, k)
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


def survey_n_published(scores: pd.DataFrame, study) -> pd.DataFrame:
    """Survey n (scored respondents) per scale × network kommune × wave as the profiles publish
    it: columns scale, kommune, wave, n, published (NaN = hidden), suppressed; the network
    total of each wave has kommune ``"Total"``.

    What the profiles show of one wave is a one-line table: every network kommune's n and their
    sum (the network n). Each scale × wave line gets primary and secondary suppression
    (:func:`evaluation_pipeline.privacy.suppress`), and the kommuner hidden in a wave are then
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


@dataclass
class KommuneProfile:
    """What :func:`build_kommune_profile` wrote."""

    kommune: str
    name: str
    html: Path
    tables: dict[str, Path]
    figure_png: bytes  # the main figure (trends), for previews
    preview_markdown: str  # aggregates only: network / comparison numbers and suppression counts
    suppressed_cells: int
    notes: list[str] = field(default_factory=list)


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


def _fmt(x, kind: str, lang: str, suppressed: bool = False) -> str:
    return format_value(None if x is None or (isinstance(x, float) and math.isnan(x))
                        or x is pd.NA else x, kind, lang, suppressed)


def _labels(study) -> tuple[dict[str, str], dict[str, str]]:
    """(indicator labels, scale labels) in the study's language."""
    inds = {k: study.label(v.label, k) for k, v in study.registry.indicators.items()} \
        if study.registry else {}
    scales = {k: study.label(v.label, k) for k, v in study.survey.scales.items()} \
        if study.survey else {}
    return inds, scales


#: panels per row in the profile figures (small multiples wrap into rows)
PANELS_PER_ROW = 4
#: the height kept free below the panels for the shared legend (inches)
LEGEND_INCHES = 0.45
#: resolution of the profile figures (PNG embedded in the HTML page)
PROFILE_DPI = 150


def _panels(n: int, width: float, height: float, *, share_x: bool = True):
    """A figure with ``n`` panels of ``width`` × ``height`` inches, at most
    :data:`PANELS_PER_ROW` per row (a national study's 40 indicators make 10 rows instead of
    one row 116 inches wide), the unused cells of the last row switched off, the x axis shared
    (tick labels under the lowest panel of each column) and the margins set in inches, so no
    ``tight_layout`` pass is needed (it measured every tick label of every panel: a second per
    20-panel figure); a strip of :data:`LEGEND_INCHES` stays free at the bottom for the
    legend. The figure has its own Agg canvas and is not registered with pyplot (it is kept and
    re-drawn for every kommune of a run, see :class:`_KommuneFigure`). ``share_x=False``: the
    panels are not joined as matplotlib shared axes (the caller gives them the same x limits,
    see :meth:`_KommuneFigure.png`; with 40 shared panels every limit lookup while drawing
    walks all 40 siblings, a quarter of the drawing time). Returns
    ``(fig, axes of the n panels)``."""
    ncols = max(1, min(n, PANELS_PER_ROW))
    nrows = max(1, math.ceil(n / ncols))
    top, bottom, left, right = 0.42, 0.3 + LEGEND_INCHES, 0.45, 0.22
    gap_w, gap_h = 0.42, 0.62  # between panels: y tick labels; a two-line title
    fig_w = ncols * width
    fig_h = nrows * height + LEGEND_INCHES
    ax_w = (fig_w - left - right - (ncols - 1) * gap_w) / ncols
    ax_h = (fig_h - top - bottom - (nrows - 1) * gap_h) / nrows
    fig = Figure(figsize=(fig_w, fig_h))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=share_x)
    fig.subplots_adjust(left=left / fig_w, right=1 - right / fig_w, top=1 - top / fig_h,
                        bottom=bottom / fig_h, wspace=gap_w / ax_w, hspace=gap_h / ax_h)
    flat = list(axes.flat)
    for i, ax in enumerate(flat):
        if i >= n:
            ax.set_axis_off()
        elif i + ncols >= n:  # nothing below it: this panel shows the years
            ax.xaxis.set_tick_params(labelbottom=True)
        elif not share_x:  # as sharex hides them
            ax.xaxis.set_tick_params(labelbottom=False)
    return fig, flat[:max(n, 1)]


def _panel_title(text: str, width: int) -> str:
    """A panel title of at most two lines (the layout leaves room for two): a longer label is
    shortened with an ellipsis; the full label is in the profile's tables."""
    return "\n".join(textwrap.wrap(text, width, max_lines=2, placeholder=" …"))


def _fixed_layout(ax) -> None:
    """Place what matplotlib would otherwise place anew at every draw of a panel, where it
    lands anyway: the title at the top of the axes (``set_title(y=1.0)``, given by the
    caller; matplotlib lifts it only above x tick labels on top or an offset text, and the
    panels have neither) and the (empty) axis labels. The y tick labels show plain numbers
    (no offset or ×10ⁿ text, which would share the title's corner). Measuring the tick labels
    for this took half of a 40-panel figure's drawing time at national scale."""
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.xaxis.set_label_coords(0.5, -0.1)
    ax.yaxis.set_label_coords(-0.1, 0.5)


class _KommuneFigure:
    """A profile figure whose reference lines (network, comparison, country), titles, definition
    breaks and watermark are the same for every kommune of a run: built once, then for each
    kommune only its own line, its join year and the legend's name are set, the axes re-scaled
    and the figure drawn again. Building the 20–40 panels and their tick objects cost as much
    as drawing them (~0.7 s and ~0.9 s of tick creation per 20-panel figure at medium scale);
    the drawn image is the same as a figure built for that kommune alone (tested).

    ``panels``: one dict per panel with the reference lines ``lines`` (x, y, colour, width,
    label), the panel ``title`` and the ``breaks`` (x positions); ``marker_size``: of every line.
    ``join_lines``: numeric x axes (years) with the join year marked; their panels are not
    matplotlib shared axes, the common x limits are set in :meth:`png` (categorical x axes,
    the survey waves, stay shared: the category positions must agree across panels).
    """

    def __init__(self, panels: list[dict], width: float, height: float, marker_size: float,
                 study, *, join_lines: bool = True) -> None:
        self.share_x = not join_lines
        with figure_style():
            self.fig, self.axes = _panels(len(panels), width, height, share_x=self.share_x)
            self.own: list = []
            self.join: list = []
            for ax, panel in zip(self.axes, panels, strict=False):
                for x, y, colour, lw, label, *style in panel["lines"]:
                    ax.plot(x, y, marker="o", ms=marker_size, lw=lw, color=colour, label=label,
                            ls=style[0] if style else "-")
                self.own.append(ax.plot([], [], marker="o", ms=marker_size, lw=2.0,
                                        color=KOMMUNE_COLOUR)[0])
                if join_lines:  # moved to the kommune's join year (numeric x axes only)
                    join = ax.axvline(0, **JOIN_LINE)
                    join.set_visible(False)
                    self.join.append(join)
                    # years: whole-number ticks only (the join and break lines sit at
                    # half years, which would otherwise give ticks such as 2017.5)
                    integer_ticks(ax)
                for b in panel.get("breaks", ()):
                    ax.axvline(b - 0.5, **BREAK_LINE)
                _fixed_layout(ax)
                ax.set_title(panel["title"], loc="left", fontsize=8.5, y=1.0)
            if study.synthetic:
                watermark(self.fig, study.language)
        self.legend = None

    def png(self, own: list[tuple], name: str, join: int | None) -> bytes:
        """The figure for one kommune as PNG: ``own`` its (x, y) per panel (empty where it has
        no values), ``name`` its legend label, ``join`` its join year (None: no line)."""
        with figure_style():
            for line, (x, y) in zip(self.own, own, strict=True):
                line.set_data(x, y)
                line.set_label(name)
            for jl in self.join:
                jl.set_visible(join is not None)
                if join is not None:
                    jl.set_xdata([join - 0.5, join - 0.5])
            for ax in self.axes:
                ax.relim(visible_only=True)
            if self.share_x:
                for ax in self.axes:
                    ax.autoscale_view()
            else:
                self._autoscale_common_x()
            if self.legend is not None:
                self.legend.remove()
            handles: dict[str, object] = {}
            for ax in self.axes:  # the labels in order of appearance, lines with values only
                for line in ax.get_lines():
                    lab = line.get_label()
                    if not lab.startswith("_") and len(line.get_xdata()) and lab not in handles:
                        handles[lab] = line
            self.legend = self.fig.legend(list(handles.values()), list(handles),
                                          loc="lower center", ncol=max(len(handles), 1),
                                          frameon=False, fontsize=8)
        return png_bytes(self.fig, dpi=PROFILE_DPI, crop=False)

    def _autoscale_common_x(self) -> None:
        """y autoscaled per panel; x as matplotlib autoscales axes shared in x (the union of
        every panel's data, join and break lines included, then margins), computed once by
        matplotlib on the first panel and set on the others."""
        lead = self.axes[0]
        xs = [v for ax in self.axes for v in ax.dataLim.intervalx if np.isfinite(v)]
        if xs:
            lead.dataLim.intervalx = (min(xs), max(xs))
        lead.autoscale_view()
        xlim = lead.get_xlim()
        for ax in self.axes[1:]:
            ax.autoscale_view(scalex=False)
            ax.set_xlim(xlim, auto=None)


def _kommune_figure(key: tuple, build, shared: dict | None) -> _KommuneFigure:
    """The run's figure for ``key`` from ``shared`` (built by ``build()`` the first time);
    without ``shared`` a new one."""
    if shared is None:
        return build()
    cache = shared.setdefault("figures", {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


def _reference_key(df: pd.DataFrame) -> int:
    """A fingerprint of the reference-group rows a figure is built from (they are the same for
    every kommune of a run; a different input gets its own figure)."""
    return int(pd.util.hash_pandas_object(df, index=False).sum())


@lru_cache(maxsize=1)
def _figure_code() -> bytes:
    """A digest of what draws the profile figures besides their data: this module, the style
    and figure modules and matplotlib's version (a change to any of them draws anew)."""
    import sys

    from ..content_cache import source_digest
    from . import figures, style

    return source_digest(sys.modules[__name__], style, figures, packages=("matplotlib",))


def _trends_fingerprint(tabs: ProfileTables, study) -> str:
    """Everything the trends figure of ``tabs`` is drawn from: the published trends table, the
    labels, breaks, language, watermark, the kommune's name and join year, and the code."""
    import hashlib
    import json

    inds, _ = _labels(study)
    h = hashlib.sha256(_figure_code())
    h.update(pd.util.hash_pandas_object(tabs.trends, index=False).to_numpy().tobytes())
    h.update(json.dumps({
        "columns": [str(c) for c in tabs.trends.columns],
        "dtypes": [str(t) for t in tabs.trends.dtypes], "labels": inds,
        "breaks": {k: list(v.breaks) for k, v in study.registry.indicators.items()},
        "language": study.language, "synthetic": bool(study.synthetic), "name": tabs.name,
        "join": study.network.get(tabs.kommune), "groups": {g: pt(g, study.language)
                                                           for g in GROUPS},
        "country_line": pt("country_line", study.language),
    }, sort_keys=True, default=str).encode())
    return h.hexdigest()


def trends_png(tabs: ProfileTables, study, shared: dict | None = None,
               cache_dir: Path | None = None) -> bytes:
    """One small panel per indicator: the kommune, the network and the comparison group (and
    the country where given) by year (suppressed years are gaps), the join year and definition
    breaks marked. ``shared``: as in :func:`profile_tables` (the figure is re-used).

    ``cache_dir``: PNGs kept from earlier runs by :func:`_trends_fingerprint`. The registry
    does not change when a survey wave arrives, so the new-wave run takes every kommune's
    trends figure (half of a profile's time) from there instead of drawing it again; the
    newest figure per kommune is kept, written atomically."""
    if cache_dir is None:
        return _draw_trends(tabs, study, shared)
    cache_dir = Path(cache_dir)
    stem = f"{profile_stem(tabs.kommune)}-trends"
    path = cache_dir / f"{stem}-{_trends_fingerprint(tabs, study)[:32]}.png"
    try:
        return path.read_bytes()
    except OSError:
        pass
    png = _draw_trends(tabs, study, shared)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(png)
        os.replace(tmp, path)
        for old in cache_dir.glob(f"{stem}-*.png"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:  # a cache that cannot be written costs time, not correctness
        pass
    return png


def _draw_trends(tabs: ProfileTables, study, shared: dict | None) -> bytes:
    lang = study.language
    inds, _ = _labels(study)
    present = [i for i in inds if i in set(tabs.trends["indicator"])]
    tr = tabs.trends[tabs.trends["indicator"].isin(present)]
    ref = tr[tr["group"] != "kommune"]

    def series(d: pd.DataFrame) -> tuple:
        d = d.sort_values("year")
        return d["year"].to_numpy(), d["value"].astype(float).to_numpy()

    def build() -> _KommuneFigure:
        by_ind = dict(iter(ref.groupby("indicator")))
        panels = []
        for ind in present:
            r = by_ind.get(ind, ref.iloc[0:0])
            lines = []
            for grp, lw in (("network", 1.2), ("comparison", 1.2)):
                d = r[r["group"] == grp]
                if len(d):
                    lines.append((*series(d), GROUP_COLOURS[grp], lw, pt(grp, lang)))
            # the registry file's country and fylke rows: "Hele landet" / "Country" and the
            # fylke by its name (as the report's registry trends draw them)
            for grp, colour, ls in (("country", GROUP_COLOURS["country"], "-"),
                                    ("fylke", FYLKE_COLOUR, "--")):
                for area, d in r[r["group"] == grp].groupby("area", dropna=False, sort=False):
                    label = pt("country_line", lang) if grp == "country" else str(area)
                    lines.append((*series(d), colour, 1.0, label, ls))
            panels.append({"lines": lines, "title": _panel_title(inds[ind], 30),
                           "breaks": study.registry.indicators[ind].breaks})
        return _KommuneFigure(panels, 2.9, 2.15, 2.2, study)

    fig = _kommune_figure(("trends", tuple(present), _reference_key(ref)), build, shared)
    own_rows = dict(iter(tr[tr["group"] == "kommune"].groupby("indicator")))
    own = [series(own_rows[i]) if i in own_rows else ((), ()) for i in present]
    return fig.png(own, tabs.name, study.network.get(tabs.kommune))


def survey_png(tabs: ProfileTables, study, shared: dict | None = None) -> bytes | None:
    """Mean score per wave, one panel per scale: kommune (where shown), network, comparison;
    None without survey rows. ``shared``: as in :func:`trends_png`."""
    if tabs.survey.empty:
        return None
    lang = study.language
    _, scales = _labels(study)
    present = [s for s in scales if s in set(tabs.survey["scale"])]
    order = {w: i for i, w in enumerate(study.wave_ids)}
    sv = tabs.survey[tabs.survey["scale"].isin(present)]
    ref = sv[sv["group"] != "kommune"]

    def series(d: pd.DataFrame) -> tuple:
        d = d.sort_values("wave", key=lambda c: c.map(order))
        return d["wave"].to_numpy(dtype=object), d["mean"].astype(float).to_numpy()

    def build() -> _KommuneFigure:
        panels = []
        for scale in present:
            r = ref[ref["scale"] == scale]
            lines = [(*series(r[r["group"] == grp]), GROUP_COLOURS[grp], 1.2, pt(grp, lang))
                     for grp in ("network", "comparison")]
            panels.append({"lines": lines, "title": _panel_title(scales[scale], 34)})
        return _KommuneFigure(panels, 3.2, 2.05, 3, study, join_lines=False)

    fig = _kommune_figure(("survey", tuple(present), _reference_key(ref)), build, shared)
    own = [series(sv[(sv["scale"] == s) & (sv["group"] == "kommune")]) for s in present]
    return fig.png(own, tabs.name, None)


def key_sentences(tabs: ProfileTables, study) -> list[str]:
    """The profile's short text: one sentence per indicator and per scale × follow-up."""
    lang = study.language
    inds, scales = _labels(study)
    out = []
    for r in tabs.indicators.itertuples():
        cfg = study.registry.indicators[r.indicator]
        direction = pt("sent_better" if cfg.higher_is_better else "sent_worse", lang)
        label = f"{inds[r.indicator]} ({direction})"
        if r.kommune_suppressed or pd.isna(r.kommune):
            out.append(pt("sent_suppressed", lang, ind=label, year=r.year))
            continue
        s = pt("sent_indicator", lang, ind=label, name=tabs.name, year=r.year,
               value=_fmt(r.kommune, "rate", lang),
               net=_fmt(r.network, "rate", lang, r.network_suppressed),
               cmp=_fmt(r.comparison, "rate", lang, r.comparison_suppressed))
        if not pd.isna(r.before_join) and not r.before_join_suppressed:
            s += pt("sent_before", lang, year=r.before_join_year,
                    value=_fmt(r.before_join, "rate", lang))
        out.append(s)
    if not tabs.survey_change.empty:
        ch = tabs.survey_change
        for (scale, fu), g in ch.groupby(["scale", "followup"], sort=False):
            own = g[g["group"] == "kommune"].iloc[0]
            net = g[g["group"] == "network"].iloc[0]
            if own["suppressed"]:
                out.append(pt("sent_survey_hidden", lang, scale=scales[scale], name=tabs.name,
                              bl=own["baseline"], fu=fu))
                continue
            s = pt("sent_survey", lang, scale=scales[scale], name=tabs.name,
                   diff=_signed(own["estimate"], lang), bl=own["baseline"], fu=fu,
                   lo=_fmt(own["ci_low"], "estimate", lang),
                   hi=_fmt(own["ci_high"], "estimate", lang),
                   n0=_fmt(own["n_baseline"], "count", lang),
                   n1=_fmt(own["n_followup"], "count", lang))
            if not net["suppressed"]:
                s += pt("sent_survey_net", lang, diff=_signed(net["estimate"], lang))
            out.append(s)
    return out


def _signed(x: float, lang: str) -> str:
    text = _fmt(x, "estimate", lang)
    return text if text.startswith("-") else f"+{text}"


def _html_table(header: list[str], rows: list[list[tuple[str, str]]],
                kinds: list[str]) -> str:
    """A table; ``kinds`` (text, integer, rate, count, estimate) go on the header cells as
    ``data-kind``, as in the study report, so a scan knows which columns hold counts."""
    head = "".join(f"<th class='{'text' if i == 0 else 'num'}' data-kind='{k}'>"
                   f"{html.escape(h)}</th>"
                   for i, (h, k) in enumerate(zip(header, kinds, strict=True)))
    body = "".join("<tr>" + "".join(f"<td class='{cls}'>{html.escape(v)}</td>"
                                    for v, cls in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str, caption: str) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return (f"<figure><img alt='{html.escape(alt)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def profile_notes(tabs: ProfileTables, study) -> list[str]:
    lang = study.language
    k = study.small_cell_threshold
    inds, scales = _labels(study)
    notes = [pt("suppression", lang, k=k), pt("pooled", lang)]
    if tabs.indicators.empty or tabs.indicators["country"].isna().all():
        notes.append(pt("country_na", lang))
    notes += [pt("unweighted", lang, ind=inds[i]) for i in tabs.unweighted]
    if len(tabs.trends) and tabs.trends.loc[tabs.trends["group"] == "kommune",
                                            "estimated"].any():
        notes.append(pt("estimated", lang))
    if not tabs.survey.empty:
        hidden = tabs.survey[(tabs.survey["group"] == "kommune") & tabs.survey["mean"].isna()]
        if len(hidden):
            notes.append(pt("small_n", lang,
                            scales=", ".join(scales[s] for s in dict.fromkeys(hidden["scale"])),
                            waves=", ".join(dict.fromkeys(hidden["wave"]))))
    return notes


def render_profile(tabs: ProfileTables, study, *, figures: dict[str, bytes],
                   generated: dt.datetime | None = None) -> str:
    """The profile page as one self-contained HTML string."""
    lang = study.language
    inds, scales = _labels(study)
    join = study.network.get(tabs.kommune)
    title = f"{pt('title', lang)}: {tabs.name}"
    when = (generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p class='subtitle'>"
        f"{html.escape(pt('subtitle', lang, name=tabs.name, code=tabs.kommune, study=study.study))}"
        f"</p><p>{html.escape(pt('joined', lang, year=join))} "
        f"<span class='note'>{pt('generated', lang)}: {when}</span></p></header>",
    ]
    if study.synthetic:
        parts.append(f"<p class='synthetic'>{html.escape(pt('synthetic', lang))}</p>")
    sentences = key_sentences(tabs, study)
    if sentences:
        parts.append(f"<h2>{pt('key_figures', lang)}</h2><ul class='key'>"
                     + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>")
    if not tabs.indicators.empty:
        header = [pt(c, lang) for c in ("indicator", "year", "kommune", "network",
                                        "comparison", "country", "before_join")]
        rows = []
        for r in tabs.indicators.itertuples():
            own = _fmt(r.kommune, "rate", lang, r.kommune_suppressed)
            if r.kommune_estimated and own not in (":", "–"):
                own += "*"
            country = (pt("not_available", lang) if pd.isna(r.country)
                       else _fmt(r.country, "rate", lang))
            before = "–" if pd.isna(r.before_join_year) else (
                f"{_fmt(r.before_join, 'rate', lang, r.before_join_suppressed)} "
                f"({r.before_join_year})")
            rows.append([(inds[r.indicator], "text"), (str(r.year), "num"), (own, "kommune"),
                         (_fmt(r.network, "rate", lang, r.network_suppressed), "num"),
                         (_fmt(r.comparison, "rate", lang, r.comparison_suppressed), "num"),
                         (country, "num"), (before, "num")])
        parts.append(f"<h2>{pt('barometer', lang)}</h2><figure><figcaption>"
                     f"{html.escape(pt('barometer_caption', lang))}</figcaption>"
                     f"{_html_table(header, rows, ['text', 'integer'] + ['rate'] * 4 + ['text'])}"
                     f"</figure>")
    if "trends" in figures:
        parts.append(f"<h2>{pt('trends', lang)}</h2>")
        caption = pt("trends_caption", lang, name=tabs.name, year=join)
        ref = tabs.trends[tabs.trends["group"].isin(["country", "fylke"])]
        if len(ref):  # the country and fylke lines, named as in the legend
            areas = [pt("country_line", lang) if g == "country" else str(a) for g, a in
                     ref[["group", "area"]].drop_duplicates().itertuples(index=False)]
            caption += pt("trends_reference", lang, areas=", ".join(dict.fromkeys(areas)))
        parts.append(_img(figures["trends"], pt("trends", lang), caption))
    if not tabs.survey.empty:
        parts.append(f"<h2>{pt('survey', lang)}</h2>")
        if "survey" in figures:
            parts.append(_img(figures["survey"], pt("survey", lang),
                              pt("survey_fig_caption", lang)))
        header = [pt("scale", lang), pt("wave", lang)] + [
            f"{pt(g, lang) if g != 'kommune' else tabs.name} {x}"
            for g in ("kommune", "network", "comparison") for x in ("n", pt("mean", lang))]
        rows = []
        sv = tabs.survey.set_index(["scale", "wave", "group"])
        for scale in dict.fromkeys(tabs.survey["scale"]):
            for wave in study.wave_ids:
                row = [(scales[scale], "text"), (wave, "num")]
                for g in ("kommune", "network", "comparison"):
                    r = sv.loc[(scale, wave, g)]
                    cls = "kommune" if g == "kommune" else "num"
                    row += [(_fmt(r["n"], "count", lang, r["suppressed"]), cls),
                            (_fmt(r["mean"], "estimate", lang, r["suppressed"]), cls)]
                rows.append(row)
        kinds = ["text", "text"] + ["count", "estimate"] * 3
        parts.append(f"<figure><figcaption>{html.escape(pt('survey_caption', lang))}"
                     f"</figcaption>{_html_table(header, rows, kinds)}</figure>")
        if not tabs.survey_change.empty:
            header = [pt("scale", lang), pt("from_to", lang), pt("group", lang),
                      pt("n_baseline", lang), pt("n_followup", lang), pt("change", lang),
                      pt("ci", lang)]
            rows = []
            for r in tabs.survey_change.itertuples():
                grp = tabs.name if r.group == "kommune" else pt(r.group, lang)
                ci = ":" if r.suppressed else (
                    f"{_fmt(r.ci_low, 'estimate', lang)} {pt('to', lang)} "
                    f"{_fmt(r.ci_high, 'estimate', lang)}")
                est = ":" if r.suppressed else _signed(r.estimate, lang)
                rows.append([(scales[r.scale], "text"), (f"{r.baseline}–{r.followup}", "num"),
                             (grp, "kommune" if r.group == "kommune" else "num"),
                             (_fmt(r.n_baseline, "count", lang, pd.isna(r.n_baseline)), "num"),
                             (_fmt(r.n_followup, "count", lang, pd.isna(r.n_followup)), "num"),
                             (est, "num"), (ci, "num")])
            kinds = ["text", "text", "text", "count", "count", "estimate", "text"]
            parts.append(f"<figure><figcaption>{html.escape(pt('change_caption', lang))}"
                         f"</figcaption>{_html_table(header, rows, kinds)}</figure>")
    parts.append(f"<h2>{pt('notes', lang)}</h2>")
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in profile_notes(tabs, study)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _csv_frame(df: pd.DataFrame, study) -> pd.DataFrame:
    out = df.copy()
    if study.synthetic:
        out.insert(0, "data", "SYNTHETIC")
    return out


def _preview(tabs: ProfileTables, study) -> str:
    """Markdown for the Dagster UI: aggregates only (network and comparison rates, survey
    means of the groups, how many of the kommune's cells are suppressed)."""
    inds, scales = _labels(study)
    lines = [f"**{tabs.name} ({tabs.kommune})**", "",
             "| indicator | year | network | comparison |", "|---|---|---|---|"]
    for r in tabs.indicators.itertuples():
        lines.append(f"| {inds[r.indicator]} | {r.year} | "
                     f"{_fmt(r.network, 'rate', 'en', r.network_suppressed)} | "
                     f"{_fmt(r.comparison, 'rate', 'en', r.comparison_suppressed)} |")
    if not tabs.survey.empty:
        g = tabs.survey[tabs.survey["group"] != "kommune"]
        lines += ["", "| scale | wave | group | mean |", "|---|---|---|---|"]
        lines += [f"| {scales[r.scale]} | {r.wave} | {r.group} | "
                  f"{_fmt(r.mean, 'estimate', 'en', r.suppressed)} |" for r in g.itertuples()]
    lines += ["", f"suppressed cells of the kommune: {_suppressed_count(tabs)}"]
    return "\n".join(lines)


def _suppressed_count(tabs: ProfileTables) -> int:
    n = 0
    for df in (tabs.trends, tabs.survey, tabs.survey_change):
        if len(df) and "suppressed" in df:
            n += int(df["suppressed"].astype(bool).sum())
    return n


def build_kommune_profile(
    study,
    kommune: str,
    registry_panel: pd.DataFrame,
    scale_scores: pd.DataFrame | None = None,
    *,
    national: pd.DataFrame | None = None,
    out_dir: Path | None = None,
    generated: dt.datetime | None = None,
    shared: dict | None = None,
    cache_dir: Path | None = None,
) -> KommuneProfile:
    """Build and write one kommune's profile (HTML + CSV tables); see the module docstring.
    Pass one ``shared`` dict to every kommune of the same study and inputs (see
    :func:`profile_tables`); ``cache_dir``: where figures drawn by earlier runs are kept (see
    :func:`trends_png`; the pipeline uses :func:`figure_cache`)."""
    tabs = profile_tables(study, kommune, registry_panel, scale_scores, national, shared)
    figures: dict[str, bytes] = {}
    if len(tabs.trends):
        figures["trends"] = trends_png(tabs, study, shared, cache_dir=cache_dir)
    survey = survey_png(tabs, study, shared)
    if survey is not None:
        figures["survey"] = survey
    out = Path(out_dir) if out_dir else profile_dir(study)
    stem = profile_stem(kommune)
    paths = {name: write_csv(_csv_frame(df, study), out / stem / f"{name}.csv")
             for name, df in tabs.as_dict().items()}
    page = write_report(render_profile(tabs, study, figures=figures, generated=generated),
                        out / f"{stem}.html")
    return KommuneProfile(kommune, tabs.name, page, paths, figures.get("trends", b""),
                          _preview(tabs, study), _suppressed_count(tabs),
                          profile_notes(tabs, study))


def build_profiles(study, registry_panel: pd.DataFrame,
                   scale_scores: pd.DataFrame | None = None, **kw) -> list[KommuneProfile]:
    """:func:`build_kommune_profile` for every network kommune (sequentially; the Dagster
    asset runs them as partitions in parallel)."""
    shared: dict = {}
    return [build_kommune_profile(study, k, registry_panel, scale_scores, shared=shared, **kw)
            for k in profile_kommuner(study)]
