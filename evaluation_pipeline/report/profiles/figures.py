"""The municipality profiles' figures: small-multiple panels (trends per indicator, survey
means per scale), one figure per run re-drawn for each kommune (:class:`_KommuneFigure`), and
the trends figures kept between runs in the figure cache."""

from __future__ import annotations

import math
import os
import textwrap
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..figures import integer_ticks, png_bytes  # noqa: E402
from ..labels import study_labels, t  # noqa: E402
from ..style import (  # noqa: E402
    BREAK_LINE,
    GROUP_COLOURS,
    JOIN_LINE,
    OKABE_ITO,
    figure_style,
    watermark,
)
from .data import GROUPS, ProfileTables, _labels, profile_stem  # noqa: E402

#: the kommune's own line in every profile figure (network blue and comparison orange are
#: taken; reddish purple is the remaining Okabe–Ito colour that reads well as a line)
KOMMUNE_COLOUR = OKABE_ITO["reddish_purple"]
#: the fylke line of the trends (dashed grey, as in the report's registry trends)
FYLKE_COLOUR = "#777777"


def figure_cache(study) -> Path:
    """Where the pipeline keeps profile figures between runs (see :func:`trends_png`)."""
    return Path(study.output) / ".cache" / "profiles"


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
    """A digest of what draws the profile figures besides their data: this module, the report's
    style and figure modules and matplotlib's version (a change to any of them draws anew)."""
    import sys

    from ...content_cache import source_digest
    from .. import figures, style

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
        "dtypes": [str(d) for d in tabs.trends.dtypes], "labels": inds,
        "breaks": {k: list(v.breaks) for k, v in study.registry.indicators.items()},
        "language": study.language, "synthetic": bool(study.synthetic), "name": tabs.name,
        "join": study.network.get(tabs.kommune),
        "groups": {g: t(f"profile.{g}", study.language) for g in GROUPS},
        "country_line": t("profile.country_line", study.language),
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
                    lines.append((*series(d), GROUP_COLOURS[grp], lw,
                                  t(f"profile.{grp}", lang)))
            # the registry file's country and fylke rows: "Hele landet" / "Country" and the
            # fylke by its name (as the report's registry trends draw them)
            for grp, colour, ls in (("country", GROUP_COLOURS["country"], "-"),
                                    ("fylke", FYLKE_COLOUR, "--")):
                for area, d in r[r["group"] == grp].groupby("area", dropna=False, sort=False):
                    label = t("profile.country_line", lang) if grp == "country" else str(area)
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
            lines = [(*series(r[r["group"] == grp]), GROUP_COLOURS[grp], 1.2,
                      t(f"profile.{grp}", lang)) for grp in ("network", "comparison")]
            panels.append({"lines": lines, "title": _panel_title(scales[scale], 34)})
        return _KommuneFigure(panels, 3.2, 2.05, 3, study, join_lines=False)

    fig = _kommune_figure(("survey", tuple(present), _reference_key(ref)), build, shared)
    own = [series(sv[(sv["scale"] == s) & (sv["group"] == "kommune")]) for s in present]
    return fig.png(own, tabs.name, None)


def network_png(study, kommune: str, ties: pd.DataFrame, *,
                pooled: pd.DataFrame | None = None, shared: dict | None = None
                ) -> bytes | None:
    """The kommune's sociograms at baseline and in the latest wave with roster answers, with
    the report's layout, colours and scales; None when the kommune has no ties.

    ``ties``: the collaboration tie table by kommune × wave, not suppressed (``pooled``: the
    pooled one, by group × wave, if at hand); suppressed here as the report suppresses it
    (:func:`~evaluation_pipeline.report.sections.network.published_ties`, all kommuner and
    the pooled counts together, so the profile hides what the report hides), once per
    ``shared`` dict."""
    from ..sections.network import published_ties, services_of
    from ..sociogram import sociogram_panel

    if shared is not None and "network_ties" in shared:
        kt = shared["network_ties"]
    else:
        kt, _ = published_ties(study, ties, pooled)
        if shared is not None:
            shared["network_ties"] = kt
    own = kt[kt["kommune"] == str(kommune)]
    have = set(own["wave"].astype(str))
    later = [w for w in study.followup_waves if w in have]
    waves = [w for w in (study.baseline_wave, later[-1] if later else None)
             if w is not None and w in have]
    if not waves:
        return None
    c = study.survey.collaboration
    _, _, knames = study_labels(study)
    fig = sociogram_panel(
        own.assign(suppressed=own["suppressed"].astype(bool)), services_of(study),
        [{"kommune": str(kommune), "wave": w} for w in waves], k=study.small_cell_threshold,
        language=study.language, names=knames, frequency_range=tuple(c.frequency.range),
        quality_range=tuple(c.quality.range) if c.quality is not None else (1, 5),
        ncols=len(waves), synthetic=study.synthetic)
    try:
        return png_bytes(fig, dpi=PROFILE_DPI)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
