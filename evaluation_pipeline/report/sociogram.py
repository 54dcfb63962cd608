"""Figures of the collaboration network (issue 25): sociograms of the directed ties between
services, panels of them side by side, and a heatmap of the change in each tie.

Every figure reads tables after publication control: a tie table that went through
:func:`evaluation_pipeline.publication.suppress_ties` (its ``suppressed`` ties are drawn as
*unknown*: dashed, light grey, no value; a tie table without that column is refused), and
Effect rows after :func:`evaluation_pipeline.publication.suppress_effects`.

Comparable by construction: a service has the same colour in every figure
(:func:`evaluation_pipeline.report.style.service_colours`) and the same place on the circle
(:func:`circular_layout`: the study's service order only), and line widths and colours are
scaled on the answer scale (not on the data), so a kommune's sociograms at two waves can be
laid side by side.

The geometry is drawn with matplotlib directly: a circular layout is a few lines, and
``FancyArrowPatch`` with an ``arc3`` connection gives the curved arcs that keep the two
directions of a mutual tie apart (networkx's drawing functions wrap the same patches and
would add a dependency for no gain).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle  # noqa: E402

from ..errors import PipelineError  # noqa: E402
from .labels import VALUES, t  # noqa: E402
from .style import (  # noqa: E402
    TIE_NO_QUALITY,
    TIE_UNKNOWN,
    figure_style,
    service_colours,
    watermark,
)

__all__ = [
    "STRENGTHS",
    "circular_layout",
    "sociogram",
    "sociogram_panel",
    "tie_change_heatmap",
]

#: the measures an edge's width can show, with the floor under which a tie is not drawn
#: (mean frequency on the answer scale; share of respondents)
STRENGTHS = {"mean_frequency": 2.0, "share_regular": 0.2}
WIDTH = (0.5, 3.6)  # line width (pt) at the floor and at the top of the scale
QUALITY_CMAP = "viridis_r"
NODE_SIZE = 320  # pt²
_RAD = 0.14  # curvature of every arc (the two directions of a mutual tie bend apart)


class FigureInputError(PipelineError, ValueError):
    """A figure was given a table it cannot draw (or must not: not suppressed)."""


def circular_layout(services: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Positions on the unit circle: the first service at the top, the others clockwise in
    the order given (the study's roles). Depends on that order only."""
    m = len(services)
    return {s: (math.cos(math.pi / 2 - 2 * math.pi * i / m),
                math.sin(math.pi / 2 - 2 * math.pi * i / m)) for i, s in enumerate(services)}


@dataclass(frozen=True)
class _Scale:
    """What widths and colours mean; the same for every panel of a figure."""

    strength: str
    floor: float
    top: float
    quality: tuple[float, float]
    k: int

    def width(self, v: float) -> float:
        f = (v - self.floor) / (self.top - self.floor) if self.top > self.floor else 1.0
        return WIDTH[0] + (WIDTH[1] - WIDTH[0]) * min(max(f, 0.0), 1.0)

    @property
    def norm(self) -> mcolors.Normalize:
        return mcolors.Normalize(*self.quality)

    @property
    def cmap(self) -> mcolors.Colormap:
        return plt.get_cmap(QUALITY_CMAP)


def _scale(ties: pd.DataFrame, strength: str, floor: float | None, k: int | None,
           frequency_range: tuple[float, float], quality_range: tuple[float, float]) -> _Scale:
    if strength not in STRENGTHS:
        raise FigureInputError(f"strength must be one of {sorted(STRENGTHS)}, got "
                               f"{strength!r}")
    k = k if k is not None else ties.attrs.get("small_cell_threshold")
    if k is None:
        raise FigureInputError("pass k= (the study's small_cell_threshold) or a tie table "
                               "from publication.suppress_ties")
    top = float(frequency_range[1]) if strength == "mean_frequency" else 1.0
    return _Scale(strength, STRENGTHS[strength] if floor is None else float(floor), top,
                  (float(quality_range[0]), float(quality_range[1])), int(k))


def _checked(ties: pd.DataFrame, services: Sequence[str], k: int) -> pd.DataFrame:
    """The ties between ``services``; refuses a table that did not go through
    publication control or that shows a value computed from fewer than k respondents."""
    need = {"from_service", "to_service", "n", "mean_frequency", "share_regular",
            "mean_quality", "suppressed"}
    missing = sorted(need - set(ties.columns))
    if missing:
        hint = (" -- run publication.suppress_ties on the tie table first"
                if "suppressed" in missing else "")
        raise FigureInputError(f"tie table: no column(s) {missing}{hint}")
    d = ties[ties["from_service"].isin(services) & ties["to_service"].isin(services)
             & (ties["from_service"] != ties["to_service"])].copy()
    d["suppressed"] = d["suppressed"].fillna(False).astype(bool)
    if "quality_suppressed" not in d:
        d["quality_suppressed"] = d["suppressed"]
    d["quality_suppressed"] = d["quality_suppressed"].fillna(False).astype(bool)
    n = pd.to_numeric(d["n"], errors="coerce")
    leak = ~d["suppressed"] & (n > 0) & (n < k)
    if leak.any():
        r = d[leak].iloc[0]
        raise FigureInputError(
            f"tie table row {d.index[leak][0]}: tie {r['from_service']} -> {r['to_service']} "
            f"has n = {int(n[leak].iloc[0])} < {k} but is not suppressed; run "
            "publication.suppress_ties on the tie table first")
    if d.duplicated(["from_service", "to_service"]).any():
        raise FigureInputError("tie table: more than one row per tie; select one kommune/"
                               "group and wave for a sociogram")
    return d


def _draw(ax: plt.Axes, ties: pd.DataFrame, services: Sequence[str], scale: _Scale,
          labels: Mapping[str, str]) -> dict[str, bool]:
    """Nodes, labels and arcs of one sociogram on ``ax``; what the legend needs to say."""
    pos = circular_layout(services)
    colours = service_colours(list(services))
    shrink = math.sqrt(NODE_SIZE) / 2 + 3
    seen = {"unknown": False, "quality": False, "no_quality": False,
            "quality_unknown": False}
    d = ties.assign(strength_=pd.to_numeric(ties[scale.strength], errors="coerce"))
    unknown = d[d["suppressed"]]
    shown = d[~d["suppressed"] & (d["strength_"] > scale.floor)].sort_values("strength_")
    for r in unknown.itertuples():
        ax.add_patch(FancyArrowPatch(
            pos[r.from_service], pos[r.to_service], connectionstyle=f"arc3,rad={_RAD}",
            arrowstyle="->", mutation_scale=9, lw=1.0, ls="--", color=TIE_UNKNOWN,
            shrinkA=shrink, shrinkB=shrink, zorder=1,
            gid=f"tie:{r.from_service}-{r.to_service}:unknown"))
        seen["unknown"] = True
    for r in shown.itertuples():
        q = pd.to_numeric(pd.Series([r.mean_quality]), errors="coerce").iloc[0]
        if pd.notna(q):
            colour = scale.cmap(scale.norm(q))
            seen["quality"] = True
        else:
            colour = TIE_NO_QUALITY
            seen["no_quality" if not r.quality_suppressed else "quality_unknown"] = True
        w = scale.width(r.strength_)
        ax.add_patch(FancyArrowPatch(
            pos[r.from_service], pos[r.to_service], connectionstyle=f"arc3,rad={_RAD}",
            arrowstyle="-|>", mutation_scale=6 + 1.6 * w, lw=w, color=colour,
            shrinkA=shrink, shrinkB=shrink, zorder=2, joinstyle="miter",
            gid=f"tie:{r.from_service}-{r.to_service}:shown"))
    xy = np.array([pos[s] for s in services])
    ax.scatter(xy[:, 0], xy[:, 1], s=NODE_SIZE, c=[colours[s] for s in services],
               edgecolors="#333333", linewidths=0.8, zorder=3)
    for s in services:
        x, y = pos[s]
        ha = "center" if abs(x) < 0.2 else ("left" if x > 0 else "right")
        va = "center" if abs(x) >= 0.2 else ("bottom" if y > 0 else "top")
        ax.text(1.2 * x, 1.2 * y, labels.get(s, s), ha=ha, va=va, fontsize=8.5, zorder=4)
    ax.set_xlim(-1.55, 1.55)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return seen


def _value(v: float, strength: str, language: str) -> str:
    """A strength as the legend writes it: ``3``, or a share ``25 %`` (``25%`` in English)."""
    if strength == "mean_frequency":
        return f"{v:g}"
    return f"{v:.0%}" if language == "en" else f"{100 * v:.0f} %"


def _legend_handles(scale: _Scale, seen: Mapping[str, bool], language: str
                    ) -> tuple[list, list[str]]:
    """Line-width samples, unknown and no-quality entries."""
    if scale.strength == "mean_frequency":
        samples = [v for v in np.arange(math.floor(scale.floor) + 1, scale.top + 0.5)]
    else:
        samples = [v for v in (0.25, 0.5, 0.75, 1.0) if v > scale.floor]
    handles = [Line2D([], [], color="#555555", lw=scale.width(v)) for v in samples]
    texts = [_value(v, scale.strength, language) for v in samples]
    if seen.get("unknown"):
        handles.append(Line2D([], [], color=TIE_UNKNOWN, lw=1.0, ls="--"))
        texts.append(t("network.unknown", language, k=scale.k))
    if seen.get("quality_unknown"):
        handles.append(Line2D([], [], color=TIE_NO_QUALITY, lw=2.0))
        texts.append(t("network.quality_unknown", language, k=scale.k))
    if seen.get("no_quality"):
        handles.append(Line2D([], [], color=TIE_NO_QUALITY, lw=2.0))
        texts.append(t("network.no_quality", language))
    return handles, texts


def _strength_title(scale: _Scale, language: str, frequency_range: tuple[float, float]) -> str:
    floor = _value(scale.floor, scale.strength, language)
    return (t(f"network.strength.{scale.strength}", language, lo=f"{frequency_range[0]:g}",
              hi=f"{frequency_range[1]:g}") + "\n" + t("network.floor", language, floor=floor))


def sociogram(
    ties: pd.DataFrame,
    services: Sequence[str],
    *,
    ax: plt.Axes | None = None,
    strength: str = "mean_frequency",
    floor: float | None = None,
    k: int | None = None,
    title: str | None = None,
    language: str = "nb",
    service_labels: Mapping[str, str] | None = None,
    frequency_range: tuple[float, float] = (1, 5),
    quality_range: tuple[float, float] = (1, 5),
    synthetic: bool = False,
) -> plt.Axes:
    """One directed sociogram of the ties of one kommune or group in one wave.

    ``ties``: rows of a suppressed tie table (:func:`~evaluation_pipeline.publication.
    suppress_ties`) for one ``by`` group; ``services``: the study's roles in order (the
    layout). An arc A -> B (A's respondents about B) is drawn when its ``strength``
    (``"mean_frequency"`` or ``"share_regular"``, named in the legend) is above ``floor``
    (default :data:`STRENGTHS`); its width grows with strength on the answer scale, its
    colour with ``mean_quality`` (grey when not measured or hidden). A suppressed tie is drawn
    dashed and light grey without its value ("ukjent (under n < k)"); an absent tie (n = 0, no
    row) is not drawn. ``k`` defaults to the table's ``attrs["small_cell_threshold"]``.

    Returns the Axes (drawn on ``ax``, or on a new figure with a legend and a colorbar).
    """
    sc = _scale(ties, strength, floor, k, frequency_range, quality_range)
    d = _checked(ties, services, sc.k)
    own = ax is None
    with figure_style():
        if own:
            fig, ax = plt.subplots(figsize=(4.6, 4.6))
        seen = _draw(ax, d, services, sc, dict(service_labels or {}))
        if title:
            ax.set_title(title, loc="center")
        if own:
            _finish(ax.figure, [ax], sc, seen, language, frequency_range)
            if synthetic:
                watermark(ax.figure, language)
    return ax


def _finish(fig: plt.Figure, axes: list[plt.Axes], sc: _Scale, seen: Mapping[str, bool],
            language: str, frequency_range: tuple[float, float]) -> None:
    """The shared legend (below) and quality colorbar (right) of a sociogram figure."""
    handles, texts = _legend_handles(sc, seen, language)
    ncol = len(texts) if fig.get_figwidth() >= 6 else math.ceil(len(texts) / 2)
    fig.legend(handles, texts, loc="lower center", ncol=ncol, frameon=False,
               fontsize=7.5, title=_strength_title(sc, language, frequency_range),
               title_fontsize=7.5, bbox_to_anchor=(0.5, 0.0))
    n_rows = math.ceil(len(texts) / ncol)
    height, width = fig.get_figheight(), fig.get_figwidth()
    bottom = (0.45 + 0.2 * n_rows) / height
    right = 1 - (1.0 if seen.get("quality") else 0.1) / width
    fig.subplots_adjust(left=0.02, right=right, top=1 - 0.3 / height, bottom=bottom,
                        wspace=0.08, hspace=0.15)
    if seen.get("quality"):
        top = 1 - 0.5 / height
        cax = fig.add_axes((right + 0.25 / width, bottom + 0.3 / height, 0.12 / width,
                            top - bottom - 0.3 / height))
        sm = plt.cm.ScalarMappable(norm=sc.norm, cmap=sc.cmap)
        cb = fig.colorbar(sm, cax=cax)
        cb.set_label(textwrap.fill(t("network.quality", language, lo=f"{sc.quality[0]:g}",
                                     hi=f"{sc.quality[1]:g}"), 28), fontsize=7.5)
        cb.ax.tick_params(labelsize=7)


def _panel_title(selection: Mapping[str, object], language: str,
                 names: Mapping[str, str]) -> str:
    parts = []
    for col, v in selection.items():
        if col == "group":
            parts.append(VALUES.get(language, VALUES["nb"]).get(str(v), str(v)))
        elif col == "kommune":
            parts.append(names.get(str(v), str(v)))
        elif col == "wave":
            parts.append(t("network.panel_wave", language, wave=v))
        else:
            parts.append(str(v))
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def sociogram_panel(
    ties: pd.DataFrame,
    services: Sequence[str],
    panels: Sequence[Mapping[str, object]],
    *,
    strength: str = "mean_frequency",
    floor: float | None = None,
    k: int | None = None,
    language: str = "nb",
    names: Mapping[str, str] | None = None,
    service_labels: Mapping[str, str] | None = None,
    frequency_range: tuple[float, float] = (1, 5),
    quality_range: tuple[float, float] = (1, 5),
    ncols: int | None = None,
    synthetic: bool = False,
) -> plt.Figure:
    """Sociograms side by side with one legend and one quality colorbar (the same scales
    in every panel): e.g. ``panels=[{"group": "network", "wave": "2019"}, {"group":
    "network", "wave": "2023"}, {"group": "comparison", ...}, ...]`` on a pooled tie table,
    or one kommune at two waves. Each panel selects the rows of ``ties`` whose columns equal
    the given values; its title is made of their labels (group from the report's values,
    kommune from ``names`` (code -> name), "runde"/"wave"), in ``language``. Other
    arguments as :func:`sociogram`."""
    if not panels:
        raise FigureInputError("sociogram_panel: no panels given")
    sc = _scale(ties, strength, floor, k, frequency_range, quality_range)
    ncols = ncols or (2 if len(panels) == 4 else min(len(panels), 3))
    nrows = math.ceil(len(panels) / ncols)
    seen: dict[str, bool] = {}
    with figure_style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols + 1.0,
                                                        3.0 * nrows + 0.9), squeeze=False)
        flat = list(axes.flat)
        for ax, sel in zip(flat, panels, strict=False):
            missing = [c for c in sel if c not in ties.columns]
            if missing:
                raise FigureInputError(f"sociogram_panel: panel {dict(sel)} selects on "
                                       f"column(s) {missing} the tie table lacks")
            mask = np.ones(len(ties), dtype=bool)
            for col, v in sel.items():
                mask &= (ties[col].astype(str) == str(v)).to_numpy()
            d = _checked(ties[mask], services, sc.k)
            for key, v in _draw(ax, d, services, sc, dict(service_labels or {})).items():
                seen[key] = seen.get(key, False) or v
            ax.set_title(_panel_title(sel, language, dict(names or {})), fontsize=9.5)
        for ax in flat[len(panels):]:
            ax.set_axis_off()
        _finish(fig, flat[:len(panels)], sc, seen, language, frequency_range)
        if synthetic:
            watermark(fig, language)
    return fig


def _tie_matrix(effects: pd.DataFrame, services: Sequence[str], contrast: str | None,
                directed: bool | None = None) -> tuple[np.ndarray, np.ndarray, str, bool]:
    """(estimates, suppressed) service × service for the network's ``tie:A-B`` rows of one
    contrast (NaN where there is no estimate), the contrast used, and whether the rows are of
    directed ties.

    Directed (``directed=True``, or by default when some pair has rows in both directions,
    in any contrast of ``effects``):
    ``tie:A-B`` is the cell (A, B). Undirected (the pairs of
    :func:`~evaluation_pipeline.analysis.collaboration.collaboration_did`: one row per pair,
    the mean of its two directions): ``tie:A-B`` is the cell of the pair above the diagonal,
    (A, B) with A before B in ``services``; the cells below the diagonal stay empty."""
    e = effects[(effects["source"].astype(str) == "network")
                & effects["outcome"].astype(str).str.startswith("tie:")]
    if contrast is None:
        did = [c for c in dict.fromkeys(e["contrast"].astype(str))
               if "network - comparison" in c]
        if not did:
            raise FigureInputError("effects: no network Effect rows 'tie:<A>-<B>' with a "
                                   "'..., network - comparison' contrast; pass contrast=")
        contrast = did[-1]
    if directed is None:  # from every contrast's rows: one contrast may hold a few ties
        named = set(e["outcome"].astype(str))
        directed = any(f"tie:{b}-{a}" in named for a in services for b in services
                       if a != b and f"tie:{a}-{b}" in named)
    e = e[e["contrast"].astype(str) == contrast]
    m = len(services)
    est = np.full((m, m), np.nan)
    hidden = np.zeros((m, m), dtype=bool)
    sup = e["suppressed"].fillna(False).astype(bool) if "suppressed" in e else \
        pd.Series(False, index=e.index)
    by_outcome = dict(zip(e["outcome"].astype(str), zip(
        pd.to_numeric(e["estimate"], errors="coerce"), sup, strict=True), strict=True))
    if len(by_outcome) < len(e):
        raise FigureInputError(f"effects: more than one row per tie for contrast {contrast!r}"
                               "; select one group")
    for i, a in enumerate(services):
        for j, b in enumerate(services):
            if i == j or (not directed and i > j):
                continue
            key = f"tie:{a}-{b}"
            if not directed and key not in by_outcome:
                key = f"tie:{b}-{a}"  # a pair named in the other order
            if key in by_outcome:
                v, s = by_outcome[key]
                hidden[i, j] = bool(s)
                est[i, j] = np.nan if s else v
    return est, hidden, contrast, directed


def tie_change_heatmap(
    effects: pd.DataFrame,
    services: Sequence[str],
    *,
    contrast: str | None = None,
    measure: str | None = None,
    title: str | None = None,
    directed: bool | None = None,
    language: str = "nb",
    service_labels: Mapping[str, str] | None = None,
    synthetic: bool = False,
) -> plt.Figure:
    """Service × service heatmap of the change in each tie, from the network Effect rows
    ``tie:<A>-<B>`` of ``contrast`` (default: the last ``..., network - comparison``
    difference-in-differences contrast). Diverging colours centred at 0, symmetric; each cell
    annotated with its estimate. Suppressed rows (``suppressed``) are hatched grey and
    marked ":"; ties without an estimate light grey and marked "–"; the diagonal is empty.
    ``measure`` names what the estimate is a change of (in the colorbar label).

    Directed ties (rows ``tie:A-B`` and ``tie:B-A``; ``directed=True``) fill the square: rows
    the respondents' service A, columns the service B asked about. Undirected pairs (the
    library's pair outcomes, one row per pair with A before B in ``services``; the default
    when no pair has rows in both directions) are drawn once each, in the upper triangle: row A,
    column B, with the empty first column and last row left out, so no estimate is shown
    twice and no direction is read into a pair."""
    est, hidden, contrast, directed = _tie_matrix(effects, services, contrast, directed)
    lab = [dict(service_labels or {}).get(s, s) for s in services]
    m = len(services)
    rows_, cols_ = (list(range(m)), list(range(m))) if directed else \
        (list(range(m - 1)), list(range(1, m)))
    est = est[np.ix_(rows_, cols_)]
    hidden = hidden[np.ix_(rows_, cols_)]
    top = float(np.nanmax(np.abs(est))) if np.isfinite(est).any() else 1.0
    top = top or 1.0
    with figure_style():
        nr, nc = len(rows_), len(cols_)
        fig, ax = plt.subplots(figsize=(0.62 * nc + 2.6, 0.55 * nr + 1.6))
        cmap = plt.get_cmap("RdBu").with_extremes(bad="white")
        im = ax.imshow(np.ma.masked_invalid(est), cmap=cmap, vmin=-top, vmax=top)
        for r, i in enumerate(rows_):
            for c, j in enumerate(cols_):
                if i == j or (not directed and i > j):
                    continue
                v = est[r, c]
                a, b = services[i], services[j]
                if hidden[r, c]:
                    ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#E5E5E5",
                                           edgecolor="#9A9A9A", hatch="////", lw=0,
                                           gid=f"tie:{a}-{b}:suppressed"))
                    ax.text(c, r, ":", ha="center", va="center", fontsize=9, weight="bold")
                elif np.isnan(v):
                    ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#F2F2F2",
                                           lw=0))
                    ax.text(c, r, "–", ha="center", va="center", fontsize=8, color="#666666")
                else:
                    ax.text(c, r, f"{v:+.2f}".replace("-", "−"), ha="center", va="center",
                            fontsize=7, color="white" if abs(v) > 0.6 * top else "black",
                            gid=f"value:{a}-{b}")
        ax.set_xticks(range(nc), [lab[j] for j in cols_], rotation=35, ha="right")
        ax.set_yticks(range(nr), [lab[i] for i in rows_])
        ax.set_xticks(np.arange(-0.5, nc, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, nr, 1), minor=True)
        ax.grid(which="minor", color="white", lw=1.5)
        ax.tick_params(which="minor", length=0)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        if directed:
            ax.set_xlabel(t("network.to", language))
            ax.set_ylabel(t("network.from", language))
        else:
            ax.set_xlabel(t("network.pair_service", language))
            ax.set_ylabel(t("network.pair_service", language))
        ax.set_title(title or t("network.did" if directed else "network.did_pairs", language),
                     loc="left")
        cb = fig.colorbar(im, ax=ax, fraction=0.045, pad=0.03)
        cb.set_label(t("network.did_colorbar", language,
                       measure=measure or contrast.split(",")[0]), fontsize=8)
        handles = [Patch(facecolor="#E5E5E5", edgecolor="#9A9A9A", hatch="////"),
                   Patch(facecolor="#F2F2F2", edgecolor="#CCCCCC")]
        ax.legend(handles, [t("network.suppressed_cell", language),
                            t("network.missing_cell", language)],
                  loc="upper center", bbox_to_anchor=(0.5, -0.24), ncol=2, frameon=False,
                  fontsize=7.5, handlelength=1.2)
        fig.tight_layout()
        if synthetic:
            watermark(fig, language)
    return fig
