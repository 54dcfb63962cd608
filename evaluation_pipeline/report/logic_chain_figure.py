"""The logic chain as a figure: goal -> interventions -> outputs -> outcomes -> impact, one
column per level, each element a box and each link an arrow, coloured by its verdict
(:mod:`evaluation_pipeline.analysis.logic_chain`).

The verdict is shown three ways so the figure reads in colour, in greyscale and for colour-blind
readers: an Okabe–Ito colour, a hatch pattern (strip on the left of the box) and a line style
(arrows), and the verdict in words inside every measured box. Each indicator line carries a
symbol (✓ supports, ✗ contrary, – no clear change, ? insufficient data) and the expected
direction (↑/↓), and its caveat in words where it has one ("få kommuner"). Artists carry
gids for tests and SVG post-processing: box ``element:<level>:<name>``, strip
``verdict:<level>:<name>``, arrow ``link:<from> → <to>``.
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.legend_handler import HandlerTuple  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Rectangle  # noqa: E402

from ..analysis.logic_chain import LEVELS, NOT_MEASURED, VERDICTS, element_verdicts  # noqa: E402
from .labels import LABELS, network_labels, t  # noqa: E402
from .style import RC  # noqa: E402

#: colour (Okabe–Ito), pale box tint, hatch, arrow line style and indicator symbol per verdict
VERDICT_STYLE: dict[str, dict[str, str]] = {
    "supports": {"colour": "#009E73", "tint": "#CCEBE3", "hatch": "",
                 "linestyle": "-", "symbol": "✓"},
    "no_clear_change": {"colour": "#F0E442", "tint": "#FBF8D9", "hatch": "..",
                        "linestyle": "--", "symbol": "–"},
    "contrary": {"colour": "#D55E00", "tint": "#F6DACB", "hatch": "//",
                 "linestyle": "-.", "symbol": "✗"},
    "insufficient_data": {"colour": "#999999", "tint": "#EBEBEB", "hatch": "xx",
                          "linestyle": ":", "symbol": "?"},
    NOT_MEASURED: {"colour": "#FFFFFF", "tint": "#FFFFFF", "hatch": "",
                   "linestyle": (0, (1, 3)), "symbol": ""},
}
_EDGE = {NOT_MEASURED: "#666666"}
_ARROW = {NOT_MEASURED: "#888888", "no_clear_change": "#B8A800"}  # yellow is too pale a line

COL_W, BOX_W, STRIP_W = 2.6, 2.1, 0.16  # inches (the axes' data units are inches)
LINE_H, PAD, GAP, HEAD, FOOT = 0.155, 0.09, 0.22, 0.45, 0.75
WRAP_TITLE, WRAP_IND = 24, 29


def _indicator_label(study, source: str, ident: str, lang: str = "nb") -> str:
    if source == "survey" and study.survey and ident in study.survey.scales:
        return study.label(study.survey.scales[ident].label, ident)
    if source == "registry" and study.registry and ident in study.registry.indicators:
        return study.label(study.registry.indicators[ident].label, ident)
    if source == "network":
        return network_labels(study, lang).get(ident, ident)
    return ident


def _elements(study) -> list[tuple[str, str]]:
    ch = study.logic_chain
    out = [("goal", ch.goal)] + [("intervention", i) for i in ch.interventions]
    for level, attr in (("output", "outputs"), ("outcome", "outcomes"), ("impact", "impact")):
        out += [(level, e.name) for e in getattr(ch, attr)]
    return out


def logic_chain_figure(evidence: pd.DataFrame, study, lang: str = "nb") -> plt.Figure:
    """Draw the study's logic chain with every element and link coloured by its verdict.

    ``evidence`` is :func:`~evaluation_pipeline.analysis.logic_chain.logic_chain_evidence`'s
    table; the verdicts of elements and links come from
    :func:`~evaluation_pipeline.analysis.logic_chain.element_verdicts`. Labels in ``lang``
    (``nb`` or ``en``); a synthetic study gets the SYNTHETIC watermark.
    """
    with plt.rc_context(RC):
        if study.logic_chain is None:
            fig = plt.figure(figsize=(6, 1))
            fig.text(0.5, 0.5, f"{t('lc_title', lang)}: {t('lc_not_measured', lang)}",
                     ha="center", va="center")
            return fig
        verdicts = element_verdicts(evidence, study)
        ev_el = verdicts[verdicts["kind"] == "element"].set_index(["level", "element"])
        links = verdicts[verdicts["kind"] == "link"]
        elements = _elements(study)
        for key in ev_el.index:
            if key not in elements:
                elements.append(key)
        levels = [lv for lv in LEVELS if any(e[0] == lv for e in elements)]

        # text of each box: title lines, verdict line, one line per indicator
        boxes: dict[tuple[str, str], dict] = {}
        for level, name in elements:
            v = ev_el.loc[(level, name), "verdict"]
            title = textwrap.wrap(name, WRAP_TITLE) or [""]
            lines = []
            rows = evidence[(evidence["level"] == level) & (evidence["element"] == name)]
            for r in rows.itertuples():
                arrow = "↑" if r.expected == "increase" else "↓"
                label = _indicator_label(study, r.source, r.indicator, lang)
                text = f"{VERDICT_STYLE[r.verdict]['symbol']} {label}\u00a0{arrow}"
                caveat = getattr(r, "caveat", "")
                if isinstance(caveat, str) and caveat:  # e.g. few kommuner: said in the box
                    key = f"lc_caveat_{caveat}"
                    text += f" ({t(key, lang) if key in LABELS['nb'] else caveat})"
                lines += textwrap.wrap(text, WRAP_IND, subsequent_indent="   ")
            n_lines = len(title) + (1 if v != NOT_MEASURED else 0) + len(lines)
            boxes[(level, name)] = {"verdict": v, "title": title, "lines": lines,
                                    "h": 2 * PAD + LINE_H * n_lines + (0.05 if lines else 0)}

        col_h = {lv: sum(b["h"] for k, b in boxes.items() if k[0] == lv)
                 + GAP * (sum(k[0] == lv for k in boxes) - 1) for lv in levels}
        body = max(col_h.values())
        width, height = COL_W * len(levels), HEAD + body + FOOT
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        ax.axis("off")

        anchors: dict[tuple[str, str], tuple[float, float, float]] = {}
        for i, lv in enumerate(levels):
            cx = COL_W * (i + 0.5)
            ax.text(cx, height - HEAD / 2, t(f"lc_{lv}", lang), ha="center", va="center",
                    fontsize=10, fontweight="bold", gid=f"level:{lv}")
            y = FOOT + (body + col_h[lv]) / 2  # top of the column's stack, centred
            for key, b in ((k, b) for k, b in boxes.items() if k[0] == lv):
                _draw_box(ax, key, b, cx - BOX_W / 2, y - b["h"], lang)
                anchors[key] = (cx - BOX_W / 2, cx + BOX_W / 2, y - b["h"] / 2)
                y -= b["h"] + GAP

        for r in links.itertuples():
            a, b = anchors[(r.from_level, r.from_element)], anchors[(r.to_level, r.to_element)]
            st = VERDICT_STYLE[r.verdict]
            ax.add_patch(FancyArrowPatch(
                (a[1] + 0.03, a[2]), (b[0] - 0.03, b[2]), arrowstyle="-|>", mutation_scale=11,
                color=_ARROW.get(r.verdict, st["colour"]), linestyle=st["linestyle"],
                linewidth=1.6, shrinkA=0, shrinkB=0, zorder=1,
                gid=f"link:{r.from_element} → {r.to_element}",
            ))

        handles = []
        for v in (*VERDICTS, NOT_MEASURED):
            st = VERDICT_STYLE[v]
            handles.append((
                Patch(facecolor=st["colour"], hatch=st["hatch"],
                      edgecolor=_EDGE.get(v, "black"), linewidth=0.8),
                Line2D([], [], color=_ARROW.get(v, st["colour"]), linestyle=st["linestyle"],
                       linewidth=1.6),
            ))
        ax.legend(handles, [t(f"lc_{v}", lang) for v in (*VERDICTS, NOT_MEASURED)],
                  handler_map={tuple: HandlerTuple(ndivide=None, pad=0.6)},
                  loc="lower center", bbox_to_anchor=(0.5, 0.02), ncol=5, frameon=False,
                  handlelength=4.0, title=t("lc_verdict", lang))
        if study.synthetic:
            fig.text(0.5, 0.5, t("synthetic", lang), fontsize=34, color="grey", alpha=0.15,
                     ha="center", va="center", rotation=20, zorder=0)
    return fig


def _draw_box(ax, key: tuple[str, str], b: dict, x: float, y: float, lang: str) -> None:
    v = b["verdict"]
    st = VERDICT_STYLE[v]
    ax.add_patch(FancyBboxPatch(
        (x, y), BOX_W, b["h"], boxstyle="round,pad=0,rounding_size=0.05",
        facecolor=st["tint"], edgecolor=_EDGE.get(v, st["colour"]),
        linewidth=1.4, linestyle="--" if v == NOT_MEASURED else "-", zorder=2,
        gid=f"element:{key[0]}:{key[1]}",
    ))
    if v != NOT_MEASURED:
        ax.add_patch(Rectangle(
            (x, y), STRIP_W, b["h"], facecolor=st["colour"], hatch=st["hatch"],
            edgecolor="black", linewidth=0.5, zorder=3, gid=f"verdict:{key[0]}:{key[1]}",
        ))
    tx = x + STRIP_W + 0.07 if v != NOT_MEASURED else x + 0.09
    ty = y + b["h"] - PAD
    for line in b["title"]:
        ax.text(tx, ty, line, ha="left", va="top", fontsize=8, fontweight="bold", zorder=4)
        ty -= LINE_H
    if v != NOT_MEASURED:
        ax.text(tx, ty, f"{t('lc_verdict', lang)}: {t(f'lc_{v}', lang)}", ha="left", va="top",
                fontsize=7.5, fontstyle="italic", zorder=4, gid=f"verdict_text:{key[1]}")
        ty -= LINE_H
    if b["lines"]:
        ty -= 0.05
    for line in b["lines"]:
        ax.text(tx, ty, line, ha="left", va="top", fontsize=7.5, zorder=4)
        ty -= LINE_H
