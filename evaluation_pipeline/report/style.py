"""One figure style for every report figure.

- Palette: Okabe & Ito (2008), "Color Universal Design", distinguishable with the common forms
  of colour-vision deficiency. Network kommuner are always blue, comparison kommuner always
  orange, pooled / all always bluish green, the country black, in every figure.
- Font sizes are set for a figure printed at its natural width (about 16 cm on A4): 9 pt text,
  10 pt titles; lines 1.4 pt.
- Synthetic studies get a diagonal SYNTHETIC watermark on every figure (and it is kept as text
  in the SVG, so a reader of the file sees it too).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402

from .labels import t  # noqa: E402

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: the colour of each group, the same in every figure
GROUP_COLOURS = {
    "network": OKABE_ITO["blue"],
    "comparison": OKABE_ITO["orange"],
    "all": OKABE_ITO["bluish_green"],
    "country": OKABE_ITO["black"],
}

#: logic-chain verdicts (shared with the logic-chain figure)
VERDICT_COLOURS = {
    "supports": OKABE_ITO["bluish_green"],
    "no_clear_change": "#999999",
    "contrary": OKABE_ITO["vermillion"],
    "insufficient_data": "#DDDDDD",
}

#: colours for a sequence of things without a fixed meaning (waves, rounds, estimators)
SEQUENCE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "reddish_purple",
                                   "sky_blue", "vermillion", "yellow", "black")]

#: marks on trend plots
JOIN_LINE = {"color": "#555555", "lw": 0.8, "ls": ":"}
BREAK_LINE = {"color": OKABE_ITO["vermillion"], "lw": 1.0, "ls": "--"}

RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "lines.linewidth": 1.4,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=SEQUENCE),
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "svg.fonttype": "none",
}

PNG_DPI = 300


@contextmanager
def figure_style() -> Iterator[None]:
    """Context in which every report figure is drawn."""
    with plt.rc_context(RC):
        yield


def watermark(fig: plt.Figure, language: str) -> None:
    """The SYNTHETIC watermark across the figure."""
    fig.text(
        0.5, 0.5, t("synthetic", language), fontsize=30, color="grey", alpha=0.15,
        ha="center", va="center", rotation=25, transform=fig.transFigure, zorder=0,
        gid="synthetic-watermark",
    )
