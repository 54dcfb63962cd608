"""The municipality profile page: the key figures as sentences, the notes, the self-contained
HTML page (tables, embedded figures; its stylesheet is
:data:`evaluation_pipeline.report.html.PROFILE_CSS`) and the aggregates-only Markdown preview
for the Dagster UI."""

from __future__ import annotations

import base64
import datetime as dt
import html
import math

import pandas as pd

from ..html import PROFILE_CSS
from ..labels import t
from ..tables import format_value
from .data import ProfileTables, _labels, _suppressed_count


def _fmt(x, kind: str, lang: str, suppressed: bool = False) -> str:
    return format_value(None if x is None or (isinstance(x, float) and math.isnan(x))
                        or x is pd.NA else x, kind, lang, suppressed)


def key_sentences(tabs: ProfileTables, study) -> list[str]:
    """The profile's short text: one sentence per indicator and per scale × follow-up."""
    lang = study.language
    inds, scales = _labels(study)
    out = []
    for r in tabs.indicators.itertuples():
        cfg = study.registry.indicators[r.indicator]
        direction = t("profile.sent_better" if cfg.higher_is_better else "profile.sent_worse",
                      lang)
        label = f"{inds[r.indicator]} ({direction})"
        if r.kommune_suppressed or pd.isna(r.kommune):
            out.append(t("profile.sent_suppressed", lang, ind=label, year=r.year))
            continue
        s = t("profile.sent_indicator", lang, ind=label, name=tabs.name, year=r.year,
              value=_fmt(r.kommune, "rate", lang),
              net=_fmt(r.network, "rate", lang, r.network_suppressed),
              cmp=_fmt(r.comparison, "rate", lang, r.comparison_suppressed))
        if not pd.isna(r.before_join) and not r.before_join_suppressed:
            s += t("profile.sent_before", lang, year=r.before_join_year,
                   value=_fmt(r.before_join, "rate", lang))
        out.append(s)
    if not tabs.survey_change.empty:
        ch = tabs.survey_change
        for (scale, fu), g in ch.groupby(["scale", "followup"], sort=False):
            own = g[g["group"] == "kommune"].iloc[0]
            net = g[g["group"] == "network"].iloc[0]
            if own["suppressed"]:
                out.append(t("profile.sent_survey_hidden", lang, scale=scales[scale],
                             name=tabs.name, bl=own["baseline"], fu=fu))
                continue
            s = t("profile.sent_survey", lang, scale=scales[scale], name=tabs.name,
                  diff=_signed(own["estimate"], lang), bl=own["baseline"], fu=fu,
                  lo=_fmt(own["ci_low"], "estimate", lang),
                  hi=_fmt(own["ci_high"], "estimate", lang),
                  n0=_fmt(own["n_baseline"], "count", lang),
                  n1=_fmt(own["n_followup"], "count", lang))
            if not net["suppressed"]:
                s += t("profile.sent_survey_net", lang, diff=_signed(net["estimate"], lang))
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
    notes = [t("profile.suppression", lang, k=k), t("profile.pooled", lang)]
    if tabs.indicators.empty or tabs.indicators["country"].isna().all():
        notes.append(t("profile.country_na", lang))
    notes += [t("profile.unweighted", lang, ind=inds[i]) for i in tabs.unweighted]
    if len(tabs.trends) and tabs.trends.loc[tabs.trends["group"] == "kommune",
                                            "estimated"].any():
        notes.append(t("profile.estimated", lang))
    if not tabs.survey.empty:
        hidden = tabs.survey[(tabs.survey["group"] == "kommune") & tabs.survey["mean"].isna()]
        if len(hidden):
            notes.append(t("profile.small_n", lang,
                           scales=", ".join(scales[s] for s in dict.fromkeys(hidden["scale"])),
                           waves=", ".join(dict.fromkeys(hidden["wave"]))))
    return notes


def render_profile(tabs: ProfileTables, study, *, figures: dict[str, bytes],
                   generated: dt.datetime | None = None) -> str:
    """The profile page as one self-contained HTML string."""
    lang = study.language
    inds, scales = _labels(study)
    join = study.network.get(tabs.kommune)
    title = f"{t('profile.title', lang)}: {tabs.name}"
    subtitle = t("profile.subtitle", lang, name=tabs.name, code=tabs.kommune, study=study.study)
    when = (generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{PROFILE_CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p class='subtitle'>"
        f"{html.escape(subtitle)}"
        f"</p><p>{html.escape(t('profile.joined', lang, year=join))} "
        f"<span class='note'>{t('profile.generated', lang)}: {when}</span></p></header>",
    ]
    if study.synthetic:
        parts.append(f"<p class='synthetic'>{html.escape(t('profile.synthetic', lang))}</p>")
    sentences = key_sentences(tabs, study)
    if sentences:
        parts.append(f"<h2>{t('profile.key_figures', lang)}</h2><ul class='key'>"
                     + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>")
    if not tabs.indicators.empty:
        header = [t(f"profile.{c}", lang) for c in ("indicator", "year", "kommune", "network",
                                                    "comparison", "country", "before_join")]
        rows = []
        for r in tabs.indicators.itertuples():
            own = _fmt(r.kommune, "rate", lang, r.kommune_suppressed)
            if r.kommune_estimated and own not in (":", "–"):
                own += "*"
            country = (t("profile.not_available", lang) if pd.isna(r.country)
                       else _fmt(r.country, "rate", lang))
            before = "–" if pd.isna(r.before_join_year) else (
                f"{_fmt(r.before_join, 'rate', lang, r.before_join_suppressed)} "
                f"({r.before_join_year})")
            rows.append([(inds[r.indicator], "text"), (str(r.year), "num"), (own, "kommune"),
                         (_fmt(r.network, "rate", lang, r.network_suppressed), "num"),
                         (_fmt(r.comparison, "rate", lang, r.comparison_suppressed), "num"),
                         (country, "num"), (before, "num")])
        parts.append(f"<h2>{t('profile.barometer', lang)}</h2><figure><figcaption>"
                     f"{html.escape(t('profile.barometer_caption', lang))}</figcaption>"
                     f"{_html_table(header, rows, ['text', 'integer'] + ['rate'] * 4 + ['text'])}"
                     f"</figure>")
    if "trends" in figures:
        parts.append(f"<h2>{t('profile.trends', lang)}</h2>")
        caption = t("profile.trends_caption", lang, name=tabs.name, year=join)
        ref = tabs.trends[tabs.trends["group"].isin(["country", "fylke"])]
        if len(ref):  # the country and fylke lines, named as in the legend
            areas = [t("profile.country_line", lang) if g == "country" else str(a) for g, a in
                     ref[["group", "area"]].drop_duplicates().itertuples(index=False)]
            caption += t("profile.trends_reference", lang, areas=", ".join(dict.fromkeys(areas)))
        parts.append(_img(figures["trends"], t("profile.trends", lang), caption))
    if not tabs.survey.empty:
        parts.append(f"<h2>{t('profile.survey', lang)}</h2>")
        if "survey" in figures:
            parts.append(_img(figures["survey"], t("profile.survey", lang),
                              t("profile.survey_fig_caption", lang)))
        header = [t("profile.scale", lang), t("profile.wave", lang)] + [
            f"{t('profile.' + g, lang) if g != 'kommune' else tabs.name} {x}"
            for g in ("kommune", "network", "comparison") for x in ("n", t("profile.mean", lang))]
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
        parts.append(f"<figure><figcaption>{html.escape(t('profile.survey_caption', lang))}"
                     f"</figcaption>{_html_table(header, rows, kinds)}</figure>")
        if not tabs.survey_change.empty:
            header = [t(f"profile.{c}", lang) for c in ("scale", "from_to", "group", "n_baseline",
                                                        "n_followup", "change", "ci")]
            rows = []
            for r in tabs.survey_change.itertuples():
                grp = tabs.name if r.group == "kommune" else t(f"profile.{r.group}", lang)
                ci = ":" if r.suppressed else (
                    f"{_fmt(r.ci_low, 'estimate', lang)} {t('profile.to', lang)} "
                    f"{_fmt(r.ci_high, 'estimate', lang)}")
                est = ":" if r.suppressed else _signed(r.estimate, lang)
                rows.append([(scales[r.scale], "text"), (f"{r.baseline}–{r.followup}", "num"),
                             (grp, "kommune" if r.group == "kommune" else "num"),
                             (_fmt(r.n_baseline, "count", lang, pd.isna(r.n_baseline)), "num"),
                             (_fmt(r.n_followup, "count", lang, pd.isna(r.n_followup)), "num"),
                             (est, "num"), (ci, "num")])
            kinds = ["text", "text", "text", "count", "count", "estimate", "text"]
            parts.append(f"<figure><figcaption>{html.escape(t('profile.change_caption', lang))}"
                         f"</figcaption>{_html_table(header, rows, kinds)}</figure>")
    if "network" in figures:
        parts.append(f"<h2>{t('profile.network_ties', lang)}</h2>")
        parts.append(_img(figures["network"], t("profile.network_ties", lang),
                          t("profile.network_ties_caption", lang, name=tabs.name,
                            k=study.small_cell_threshold)))
    parts.append(f"<h2>{t('profile.notes', lang)}</h2>")
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in profile_notes(tabs, study)]
    parts.append("</body></html>")
    return "\n".join(parts)


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
