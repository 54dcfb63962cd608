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
- **collaboration** (when the collaboration roster's ties are given): the kommune's
  sociograms at baseline and in the latest wave, its ties suppressed as in the report;
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
  :func:`evaluation_pipeline.publication.suppress`, so a hidden n cannot be recovered from the
  network total and the other kommuners' profiles; a mean is shown only with its n, and a
  change only when both of its wave means are shown.

Output per kommune: ``<output>/profiles/<kode>-<name>.html`` (self-contained: CSS inline,
figures as base64 PNG, print CSS for A4) and its tables as CSV in
``<output>/profiles/<kode>-<name>/`` (``indicators.csv``, ``trends.csv``, ``survey.csv``,
``survey_change.csv``), all written atomically. The file name is the kommune code and its name
in lower case ASCII (``1520-orsta.html``).

The package: :mod:`.data` (the tables and their statistics and suppression), :mod:`.figures`
(the trends and survey figures, the figure cache), :mod:`.page` (key sentences, notes, the
HTML page; labels in :mod:`evaluation_pipeline.report.labels` under ``profile.<key>``, the
stylesheet in :mod:`evaluation_pipeline.report.html`); here :func:`build_kommune_profile` and
:func:`build_profiles`, which write them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..html import write_report
from ..tables import write_csv
from .data import (
    GROUPS,
    TREND_COLUMNS,
    ProfileTables,
    _suppressed_count,
    indicator_barometer,
    profile_dir,
    profile_kommuner,
    profile_stem,
    profile_tables,
    reference_rows,
    registry_trends,
    slug,
    survey_n_published,
    survey_profile,
)
from .figures import figure_cache, network_png, survey_png, trends_png
from .page import _preview, key_sentences, profile_notes, render_profile

__all__ = [
    "GROUPS", "TREND_COLUMNS", "KommuneProfile", "ProfileTables", "build_kommune_profile",
    "build_profiles", "figure_cache", "indicator_barometer", "key_sentences", "network_png",
    "profile_dir",
    "profile_kommuner", "profile_notes", "profile_stem", "profile_tables", "reference_rows",
    "registry_trends", "render_profile", "slug", "survey_n_published", "survey_png",
    "survey_profile", "trends_png",
]


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


def _csv_frame(df: pd.DataFrame, study) -> pd.DataFrame:
    out = df.copy()
    if study.synthetic:
        out.insert(0, "data", "SYNTHETIC")
    return out


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
    collaboration_ties: pd.DataFrame | None = None,
    collaboration_ties_pooled: pd.DataFrame | None = None,
) -> KommuneProfile:
    """Build and write one kommune's profile (HTML + CSV tables); see the module docstring.
    Pass one ``shared`` dict to every kommune of the same study and inputs (see
    :func:`profile_tables`); ``cache_dir``: where figures drawn by earlier runs are kept (see
    :func:`trends_png`; the pipeline uses :func:`figure_cache`). ``collaboration_ties``: the
    collaboration roster's tie table by kommune × wave (not suppressed;
    ``collaboration_ties_pooled`` the pooled one, optional): the kommune's sociograms at
    baseline and in the latest wave (:func:`network_png`), when the study has
    ``survey.collaboration``."""
    tabs = profile_tables(study, kommune, registry_panel, scale_scores, national, shared)
    figures: dict[str, bytes] = {}
    if len(tabs.trends):
        figures["trends"] = trends_png(tabs, study, shared, cache_dir=cache_dir)
    survey = survey_png(tabs, study, shared)
    if survey is not None:
        figures["survey"] = survey
    if (collaboration_ties is not None and study.survey is not None
            and study.survey.collaboration is not None):
        net = network_png(study, kommune, collaboration_ties, pooled=collaboration_ties_pooled,
                          shared=shared)
        if net is not None:
            figures["network"] = net
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
