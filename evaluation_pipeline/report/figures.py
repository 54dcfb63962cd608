"""Figures in one consistent matplotlib style: colour-blind-safe palette (Okabe–Ito), network
and comparison always in the same colours, a SYNTHETIC watermark for synthetic studies, saved
as PNG (300 dpi) and SVG.
"""

from __future__ import annotations

import io
import math
import sys
import textwrap
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .labels import t  # noqa: E402
from .style import (  # noqa: E402
    BREAK_LINE,
    GROUP_COLOURS,
    JOIN_LINE,
    PNG_DPI,
    RC,
    SEQUENCE,
    figure_style,
    watermark,
)

COLOURS = GROUP_COLOURS  # the colours of network, comparison and all, in every figure
__all__ = ["COLOURS", "RC", "figure_style"]


#: zlib level of the PNGs embedded in HTML pages (profiles, previews): level 1 instead of
#: Pillow's 6 encodes a 40-panel profile figure in 0.16 s instead of 0.23 s for a file ~2 %
#: larger (measured on a national profile); the same pixels either way
EMBED_COMPRESS_LEVEL = 1


def _watermark(fig: plt.Figure, language: str) -> None:
    watermark(fig, language)


def tight_bbox(fig: plt.Figure):
    """The figure's tight bounding box (inches, with matplotlib's default padding), computed
    once. ``savefig(bbox_inches="tight")`` finds it by drawing the whole figure with the
    output's own renderer before drawing it again for real -- twice the rendering per file; a
    figure saved as PNG, SVG and a preview would be drawn six times instead of three."""
    renderer = fig.canvas.get_renderer()
    return fig.get_tightbbox(renderer).padded(plt.rcParams["savefig.pad_inches"])


def save(fig: plt.Figure, path_stem: Path, bbox=None) -> list[Path]:
    """Save ``fig`` as <stem>.png (300 dpi) and <stem>.svg, atomically; return the paths.
    ``bbox``: a :func:`tight_bbox` of ``fig`` already computed (default: computed here)."""
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    bbox = tight_bbox(fig) if bbox is None else bbox
    out = []
    for ext in ("png", "svg"):
        final = path_stem.with_suffix(f".{ext}")
        tmp = final.with_name(f".{final.name}.tmp")
        fig.savefig(tmp, format=ext, bbox_inches=bbox,
                    **({"dpi": PNG_DPI} if ext == "png" else {}))
        tmp.replace(final)
        out.append(final)
    return out


def _atomic_write(final: Path, data: bytes) -> None:
    tmp = final.with_name(f".{final.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(final)


@lru_cache(maxsize=1)
def _figure_code() -> bytes:
    """What draws a saved figure besides its artists: this module, the style and the modules
    that build the report's figures, and the matplotlib and Pillow versions."""
    from .. import content_cache
    from . import logic_chain_figure, sociogram, style

    return content_cache.source_digest(sys.modules[__name__], style, logic_chain_figure,
                                       sociogram, packages=("matplotlib", "pillow"))


def save_with_preview(fig: plt.Figure, path_stem: Path, bbox=None, *,
                      cache_dir: Path | None = None, preview_dpi: int = 110
                      ) -> tuple[list[Path], bytes]:
    """:func:`save` and :func:`preview_png` of the saved PNG in one call.

    ``cache_dir``: the SVG is written first, with a fixed hash salt for its element ids and no
    date, so the same drawing gives the same bytes; the 300-dpi PNG and the preview of an SVG
    seen before (a digest of the SVG, the dpi and :func:`_figure_code`) are taken from there
    instead of being drawn again. The SVG holds every drawn path, text (as glyph outlines),
    colour and image of the figure, so an unchanged SVG is an unchanged figure: when a new
    survey wave arrives, the registry and interview figures are not rasterised again. One
    entry per figure name is kept."""
    if cache_dir is None:
        paths = save(fig, path_stem, bbox)
        return paths, preview_png(paths[0], preview_dpi)
    import hashlib

    from ..content_cache import DiskCache

    path_stem.parent.mkdir(parents=True, exist_ok=True)
    bbox = tight_bbox(fig) if bbox is None else bbox
    buf = io.BytesIO()
    with plt.rc_context({"svg.hashsalt": "evaluation-pipeline"}):
        fig.savefig(buf, format="svg", bbox_inches=bbox, metadata={"Date": None})
    svg = buf.getvalue()
    png_path, svg_path = path_stem.with_suffix(".png"), path_stem.with_suffix(".svg")
    _atomic_write(svg_path, svg)
    key = hashlib.sha256(svg + _figure_code()
                         + repr((PNG_DPI, preview_dpi)).encode()).hexdigest()
    cache = DiskCache(cache_dir, f"figure-{path_stem.name}", keep=1)
    kept = cache.get(key, tuple)
    if kept is not None and len(kept) == 2:
        png, preview = kept
        _atomic_write(png_path, png)
        return [png_path, svg_path], preview
    tmp = png_path.with_name(f".{png_path.name}.tmp")
    fig.savefig(tmp, format="png", bbox_inches=bbox, dpi=PNG_DPI)
    tmp.replace(png_path)
    preview = preview_png(png_path, preview_dpi)
    cache.put(key, (png_path.read_bytes(), preview))
    return [png_path, svg_path], preview


def _input_digest(value, h) -> None:
    """Feed ``value`` (frames, series, dicts, lists, tuples, text, numbers, None) into the
    hash ``h``; anything else raises ``TypeError`` (such a figure is not kept by its
    inputs)."""
    from ..content_cache import frame_digest

    if isinstance(value, pd.DataFrame):
        h.update(b"F" + frame_digest(value, index=True))
    elif isinstance(value, pd.Series):
        h.update(b"S" + frame_digest(value.to_frame(), index=True))
    elif isinstance(value, dict):
        h.update(b"{%d" % len(value))
        for k, v in value.items():
            _input_digest(k, h)
            _input_digest(v, h)
    elif isinstance(value, list | tuple):
        h.update(b"[%d" % len(value))
        for v in value:
            _input_digest(v, h)
    elif value is None or isinstance(value, str | int | float | bool):
        h.update(repr((type(value).__name__, value)).encode())
    else:
        raise TypeError(f"no digest for a {type(value).__name__}")


def _inputs_key(build, args: tuple, kwargs: dict, preview_dpi: int) -> str | None:
    """The digest a figure is kept by in :func:`draw_and_save`: what it is drawn from (the
    function, its arguments), the drawing code and versions (:func:`_figure_code` and the
    labels), the font matplotlib draws text with, and the dpis; None when an argument cannot
    be hashed."""
    import hashlib

    from matplotlib import font_manager

    from . import labels

    h = hashlib.sha256(_figure_code())
    h.update(_source(labels))
    h.update(f"{build.__module__}.{build.__qualname__}".encode())
    h.update(font_manager.findfont(font_manager.FontProperties(
        family=plt.rcParams["font.family"])).encode())
    h.update(repr((PNG_DPI, preview_dpi)).encode())
    try:
        _input_digest(list(args), h)
        _input_digest(dict(sorted(kwargs.items())), h)
    except TypeError:
        return None
    return h.hexdigest()


@lru_cache(maxsize=8)
def _source(module) -> bytes:
    import inspect

    return inspect.getsource(module).encode()


def draw_and_save(path_stem: Path, build, *args, cache_dir: Path | None = None,
                  preview_dpi: int = 110, **kwargs) -> tuple[list[Path], bytes]:
    """``build(*args, **kwargs)`` (a figure function of this module) saved by
    :func:`save_with_preview`: the paths of the PNG and the SVG, and the preview.

    ``cache_dir``: the saved SVG, PNG and preview are also kept by a digest of the inputs
    (:func:`_inputs_key`), so a figure whose data did not change is not even built when the
    report is made again -- a new survey wave leaves the registry and interview figures as
    they were (a national registry figure has 40 panels: seconds to build and draw). The
    figure is built as usual when an argument cannot be hashed (e.g. a study object). One
    entry per figure name is kept."""
    key = _inputs_key(build, args, kwargs, preview_dpi) if cache_dir is not None else None
    png_path, svg_path = path_stem.with_suffix(".png"), path_stem.with_suffix(".svg")
    cache = None
    if key is not None:
        from ..content_cache import DiskCache

        cache = DiskCache(cache_dir, f"figure-inputs-{path_stem.name}", keep=1)
        kept = cache.get(key, tuple)
        if kept is not None and len(kept) == 3:
            svg, png, preview = kept
            path_stem.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(svg_path, svg)
            _atomic_write(png_path, png)
            return [png_path, svg_path], preview
    fig = build(*args, **kwargs)
    try:
        paths, preview = save_with_preview(fig, path_stem, tight_bbox(fig),
                                           cache_dir=cache_dir, preview_dpi=preview_dpi)
    finally:
        plt.close(fig)
    if cache is not None:
        cache.put(key, (svg_path.read_bytes(), png_path.read_bytes(), preview))
    return paths, preview


def png_bytes(fig: plt.Figure, dpi: int = 110, bbox=None, *, crop: bool = True) -> bytes:
    """``fig`` as PNG bytes (for embedding), cropped to ``bbox`` (default: its tight box);
    ``crop=False`` keeps the whole figure (for figures whose margins are set in inches, where
    finding the tight box would measure every tick label once more)."""
    buf = io.BytesIO()
    if crop and bbox is None:
        bbox = tight_bbox(fig)
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches=bbox if crop else None,
                pil_kwargs={"compress_level": EMBED_COMPRESS_LEVEL})
    return buf.getvalue()


def preview_png(png: Path, dpi: int = 110) -> bytes:
    """A smaller copy of a figure saved by :func:`save` (``<stem>.png`` at ``PNG_DPI``) for
    embedding in the HTML report and the UI: the saved image resampled (Lanczos) to ``dpi``
    instead of drawing the figure once more (a 40-panel national figure takes seconds per
    draw). Same crop as the saved file."""
    from PIL import Image

    with Image.open(png) as im:
        f = dpi / PNG_DPI
        size = (max(1, round(im.width * f)), max(1, round(im.height * f)))
        small = im.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, format="png", dpi=(dpi, dpi), compress_level=EMBED_COMPRESS_LEVEL)
    return buf.getvalue()


def registry_trends(
    means: pd.DataFrame,
    labels: dict[str, str],
    join_years: list[int],
    *,
    language: str = "nb",
    synthetic: bool = False,
    breaks: dict[str, list[int]] | None = None,
    reference: pd.DataFrame | None = None,
) -> plt.Figure:
    """One panel per indicator: pooled rate by year for network and comparison kommuner, with
    the years kommuner joined the network marked and definition breaks shown. ``reference``
    (indicator, level country|fylke, area, year, value: the registry files' "Hele landet" and
    fylke rows, :func:`evaluation_pipeline.observations.reference_series`) adds the country
    (black) and fylke (grey, dashed) as lines labelled with the area's name."""
    inds = [i for i in labels if i in set(means["indicator"])] or list(
        dict.fromkeys(means["indicator"])
    )
    with figure_style():
        fig, axes = _grid(len(inds), 3.2, 2.8)
        for ax, ind in zip(axes, inds, strict=True):
            for grp in ("network", "comparison"):
                d = means[(means["indicator"] == ind) & (means["group"] == grp)]
                ax.plot(d["year"], d["value"], marker="o", ms=2.5, lw=1.4,
                        color=COLOURS[grp], label=t(grp, language))
            ref = (reference[reference["indicator"] == ind] if reference is not None
                   and len(reference) else None)
            for (level, area), d in ([] if ref is None else
                                     ref.dropna(subset=["value"]).sort_values("year")
                                     .groupby(["level", "area"], sort=False)):
                country = level == "country"
                ax.plot(d["year"], d["value"], lw=1.0, ls="-" if country else "--",
                        marker="_" if len(d) == 1 else None, ms=8,  # one year: a dash
                        color=COLOURS["country"] if country else "#777777", label=str(area))
            for i, y in enumerate(sorted(set(join_years))):
                ax.axvline(y - 0.5, **JOIN_LINE,
                           label=t("joined", language) if i == 0 else None)
            for k, b in enumerate((breaks or {}).get(ind, [])):
                ax.axvline(b - 0.5, **BREAK_LINE,
                           label=t("definition_break", language) if k == 0 else None)
            ax.set_title(textwrap.fill(labels.get(ind, ind), 34), loc="left")
            ax.set_xlabel(t("year", language))
            years = means.loc[means["indicator"] == ind, "year"].dropna()
            if len(years) and years.min() == years.max():
                # one year only (a single published window): a narrow axis around it, not
                # matplotlib's default ±100 years
                y0 = int(years.min())
                ax.set_xlim(min([y0 - 1.5, *(y - 1 for y in join_years)]), y0 + 1.5)
            integer_ticks(ax)
        _legend_below(fig, axes[0])
        if synthetic:
            _watermark(fig, language)
    return fig


def integer_ticks(ax: plt.Axes) -> None:
    """Whole-number x ticks (years, years since joining): never 2017.5 or a ×10³ offset."""
    from matplotlib.ticker import MaxNLocator

    # at most ~6 ticks: a 10-year panel 3 inches wide with a tick per year runs the labels
    # into each other
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=1))
    ax.ticklabel_format(axis="x", style="plain", useOffset=False)


#: panels per row of the report's small multiples (one panel per indicator or scale): a
#: national study's 40 indicators wrap into 10 rows instead of one row 128 inches wide
PANELS_PER_ROW = 4


def _grid(n: int, width: float, height: float) -> tuple[plt.Figure, list[plt.Axes]]:
    """A figure of ``n`` panels of ``width`` × ``height`` inches, at most
    :data:`PANELS_PER_ROW` per row, the unused cells of the last row switched off."""
    ncols = max(1, min(n, PANELS_PER_ROW))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_axis_off()
    return fig, flat[:max(n, 1)]


def _legend_below(fig: plt.Figure, ax: plt.Axes) -> None:
    seen: dict[str, object] = {}
    for a in fig.axes:
        for h, lab in zip(*a.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    handles, labs = list(seen.values()), list(seen)
    # a strip for the legend: 7 % of a one-row figure, ~0.4 inches of a taller one
    fig.tight_layout(rect=(0, min(0.07, 0.4 / fig.get_figheight()), 1, 1))
    fig.legend(handles, labs, loc="lower center", ncol=len(labs), frameon=False, fontsize=8)


def survey_means(
    summary: pd.DataFrame,
    labels: dict[str, str],
    *,
    language: str = "nb",
    synthetic: bool = False,
) -> plt.Figure:
    """Mean scale score with 95 % CI by wave, network vs comparison (one panel per scale).
    ``summary`` has scale, wave, group, mean, ci_low, ci_high."""
    scales = [k for k in labels if k in set(summary["scale"])] or list(
        dict.fromkeys(summary["scale"])
    )
    with figure_style():
        fig, axes = _grid(len(scales), 3.4, 2.8)
        for ax, sc in zip(axes, scales, strict=True):
            for k, grp in enumerate(("network", "comparison")):
                d = summary[(summary["scale"] == sc) & (summary["group"] == grp)]
                x = range(len(d))
                ax.errorbar(
                    [i + (k - 0.5) * 0.12 for i in x], d["mean"],
                    yerr=[d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]],
                    marker="o", ms=3.5, lw=1.4, capsize=2, color=COLOURS[grp],
                    label=t(grp, language),
                )
                ax.set_xticks(list(x), list(d["wave"]))
            ax.set_title(labels.get(sc, sc), loc="left")
            ax.set_xlabel(t("wave", language))
            ax.set_ylabel(t("mean_score", language))
        _legend_below(fig, axes[0])
        if synthetic:
            _watermark(fig, language)
    return fig


def theme_shares(
    freq: pd.DataFrame, rounds: list[str], *, language: str = "nb", synthetic: bool = False
) -> plt.Figure:
    """Share of interviews mentioning each theme, by round (horizontal bars); suppressed
    shares are left out and marked."""
    themes = sorted(freq["theme"].dropna().unique())
    palette = SEQUENCE
    with figure_style():
        fig, ax = plt.subplots(figsize=(6.2, 0.35 * len(themes) + 1.0))
        h = 0.8 / max(len(rounds), 1)
        for k, rnd in enumerate(rounds):
            d = freq[freq["wave"] == rnd].set_index("theme").reindex(themes)
            ax.barh(
                [i + k * h for i in range(len(themes))], d["share_sources"].fillna(0) * 100,
                height=h, color=palette[k % len(palette)], label=rnd,
            )
        ax.set_yticks([i + h * (len(rounds) - 1) / 2 for i in range(len(themes))], themes)
        ax.invert_yaxis()
        ax.set_xlabel(t("share_sources", language) + " (%)")
        ax.legend(frameon=False, fontsize=7, title=t("wave", language))
        fig.tight_layout()
        if synthetic:
            _watermark(fig, language)
    return fig


def event_study(
    coefs: pd.DataFrame,
    labels: dict[str, str],
    *,
    language: str = "nb",
    synthetic: bool = False,
) -> plt.Figure:
    """One panel per indicator: event-study coefficients (network vs comparison, relative to
    the year before joining) with 95 % CIs. ``coefs`` has indicator, event_time, estimate,
    ci_low, ci_high (and optionally estimator: one marker style per estimator)."""
    inds = [i for i in labels if i in set(coefs["indicator"])] or list(
        dict.fromkeys(coefs["indicator"])
    )
    estimators = list(dict.fromkeys(coefs.get("estimator", pd.Series(["TWFE"]))))
    with figure_style():
        fig, axes = _grid(len(inds), 3.2, 2.8)
        for ax, ind in zip(axes, inds, strict=True):
            d = coefs[coefs["indicator"] == ind]
            for k, est in enumerate(estimators):
                e = d[d["estimator"] == est] if "estimator" in d else d
                shift = (k - (len(estimators) - 1) / 2) * 0.18
                ax.errorbar(
                    e["event_time"] + shift, e["estimate"],
                    yerr=[e["estimate"] - e["ci_low"], e["ci_high"] - e["estimate"]],
                    fmt="o" if k == 0 else "s", ms=3, lw=1.0, capsize=1.5,
                    color=SEQUENCE[k % len(SEQUENCE)], label=est,
                )
            ax.axhline(0, color="black", lw=0.7)
            ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
            ax.set_title(textwrap.fill(labels.get(ind, ind), 34), loc="left")
            ax.set_xlabel(t("event_time", language))
            integer_ticks(ax)
        for ax in axes[::PANELS_PER_ROW]:  # the first panel of each row
            ax.set_ylabel(t("effect", language))
        if len(estimators) > 1:
            _legend_below(fig, axes[0])
        else:
            fig.tight_layout()
        if synthetic:
            _watermark(fig, language)
    return fig


def forest(
    effects: pd.DataFrame,
    names: dict[str, str],
    *,
    title: str = "",
    language: str = "nb",
    synthetic: bool = False,
) -> plt.Figure:
    """Forest plot: one row per group (e.g. kommune) with the estimate and its 95 % CI, one
    panel per outcome; the pooled estimate (group "all") last, as a diamond. ``effects`` is in
    the Effect shape; ``names`` maps group codes (kommune codes) and outcomes to labels."""
    outcomes = list(dict.fromkeys(effects["outcome"]))
    rows = max(effects.groupby("outcome").size().max(), 1)
    with figure_style():
        fig, axes = plt.subplots(1, len(outcomes), figsize=(3.4 * len(outcomes),
                                                            0.28 * rows + 1.3),
                                 squeeze=False, sharey=False)
        for ax, out in zip(axes[0], outcomes, strict=True):
            d = effects[effects["outcome"] == out]
            d = pd.concat([d[d["group"] != "all"].sort_values("estimate"), d[d["group"] == "all"]])
            y = list(range(len(d)))[::-1]
            pooled = (d["group"] == "all").to_numpy()
            colour = [COLOURS["all"] if p else COLOURS["network"] for p in pooled]
            ax.hlines(y, d["ci_low"], d["ci_high"], color=colour, lw=1.2)
            for yi, est, p, c in zip(y, d["estimate"], pooled, colour, strict=True):
                ax.plot(est, yi, marker="D" if p else "o", ms=5 if p else 3.5, color=c)
            ax.set_yticks(y, [names.get(g, g) if g != "all" else t("all", language)
                              for g in d["group"]])
            ax.axvline(0, color="black", lw=0.7)
            ax.set_title(textwrap.fill(names.get(out, out), 34), loc="left")
            ax.set_xlabel(title or t("estimate", language))
        fig.tight_layout()
        if synthetic:
            _watermark(fig, language)
    return fig


LIKERT_COLOURS = ["#D55E00", "#E69F00", "#BBBBBB", "#56B4E9", "#0072B2", "#004466", "#002233"]


def item_distributions(
    dist: pd.DataFrame,
    items: list[str],
    waves: list[str],
    *,
    language: str = "nb",
    synthetic: bool = False,
) -> plt.Figure:
    """Stacked horizontal bars: the share of each response category per item × wave (ordinal
    answers shown as what they are). ``dist`` has item, wave, category, share."""
    cats = sorted(dist["category"].unique())
    colours = LIKERT_COLOURS if len(cats) <= len(LIKERT_COLOURS) else None
    labels = [f"{i} · {w}" for i in items for w in waves]
    with figure_style():
        fig, ax = plt.subplots(figsize=(6.4, 0.22 * len(labels) + 1.2))
        left = pd.Series(0.0, index=labels)
        for k, cat in enumerate(cats):
            d = dist[dist["category"] == cat].assign(
                label=lambda x: x["item"] + " · " + x["wave"]).set_index("label")["share"]
            share = d.reindex(labels).fillna(0) * 100
            ax.barh(labels, share, left=left, height=0.75,
                    color=colours[k] if colours else None, label=f"{cat:g}")
            left += share
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(t("share_answers", language) + " (%)")
        handles, labs = ax.get_legend_handles_labels()
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        fig.legend(handles, labs, loc="lower center", ncol=len(labs), frameon=False, fontsize=8)
        if synthetic:
            _watermark(fig, language)
    return fig


def heatmap(
    table: pd.DataFrame,
    row: str,
    col: str,
    value: str,
    *,
    title: str = "",
    fmt: str = "{:.0%}",
    language: str = "nb",
    synthetic: bool = False,
    cmap: str = "Blues",
) -> plt.Figure:
    """A heatmap of ``value`` by ``row`` × ``col`` (long table in); missing (e.g. suppressed)
    cells are left blank and marked with a dash."""
    wide = table.pivot_table(index=row, columns=col, values=value, aggfunc="first",
                             dropna=False)
    with figure_style():
        fig, ax = plt.subplots(figsize=(0.9 * len(wide.columns) + 2.6,
                                        0.34 * len(wide.index) + 1.2))
        im = ax.imshow(wide.to_numpy(dtype=float), cmap=cmap, aspect="auto", vmin=0)
        ax.set_xticks(range(len(wide.columns)), [str(c) for c in wide.columns], rotation=30,
                      ha="right")
        ax.set_yticks(range(len(wide.index)), [str(i) for i in wide.index])
        top = float(pd.Series(wide.to_numpy().ravel()).max() or 1)
        for i in range(len(wide.index)):
            for j in range(len(wide.columns)):
                v = wide.iat[i, j]
                text = "–" if pd.isna(v) else fmt.format(v)
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if not pd.isna(v) and v > 0.6 * top else "black")
        ax.set_title(title, loc="left")
        fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        fig.tight_layout()
        if synthetic:
            _watermark(fig, language)
    return fig


def pre_post(
    summary: pd.DataFrame,
    labels: dict[str, str],
    pre: str,
    post: str,
    *,
    language: str = "nb",
    synthetic: bool = False,
) -> plt.Figure:
    """Pre/post: mean score at baseline (``pre``) and at follow-up (``post``) with 95 % CIs,
    network and comparison side by side, one panel per scale. ``summary`` has scale, wave,
    group, mean, ci_low, ci_high; suppressed (NaN) means are left out."""
    scales = [k for k in labels if k in set(summary["scale"])] or list(
        dict.fromkeys(summary["scale"])
    )
    with figure_style():
        fig, axes = plt.subplots(1, len(scales), figsize=(3.0 * len(scales), 2.8),
                                 squeeze=False)
        for ax, sc in zip(axes[0], scales, strict=True):
            for k, grp in enumerate(("network", "comparison")):
                d = summary[(summary["scale"] == sc) & (summary["group"] == grp)
                            & summary["wave"].isin([pre, post])].set_index("wave")
                d = d.reindex([pre, post])
                x = [0 + (k - 0.5) * 0.1, 1 + (k - 0.5) * 0.1]
                ax.errorbar(
                    x, d["mean"], yerr=[d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]],
                    marker="o", ms=4, capsize=2, color=COLOURS[grp], label=t(grp, language),
                )
            ax.set_xticks([0, 1], [pre, post])
            ax.set_xlim(-0.4, 1.4)
            ax.set_title(textwrap.fill(labels.get(sc, sc), 30), loc="left")
            ax.set_ylabel(t("mean_score", language))
        _legend_below(fig, axes[0])
        if synthetic:
            _watermark(fig, language)
    return fig
