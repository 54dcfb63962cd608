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

#: the colour of each service (a study's ``survey.roles``) in the collaboration network's
#: figures, the same in every figure; a service not named here gets a colour of
#: :data:`SERVICE_FALLBACK` by its place in the study's order (:func:`service_colours`)
SERVICE_COLOURS = {
    "skole": OKABE_ITO["blue"],
    "barnehage": OKABE_ITO["sky_blue"],
    "ppt": OKABE_ITO["bluish_green"],
    "barnevern": OKABE_ITO["vermillion"],
    "helsestasjon": OKABE_ITO["reddish_purple"],
    "nav": OKABE_ITO["orange"],
    "politi": OKABE_ITO["black"],
    "bup": OKABE_ITO["yellow"],
}
SERVICE_FALLBACK = ["#777777", "#882255", "#44AA99", "#332288", "#DDCC77", "#117733",
                    "#AA4499", "#88CCEE"]  # Tol's "muted" palette, after grey

#: the colour of a tie whose quality is not known, and of a suppressed ("unknown") tie
TIE_NO_QUALITY = "#8C8C8C"
TIE_UNKNOWN = "#BDBDBD"


def service_colours(services: list[str]) -> dict[str, str]:
    """The colour of each service: :data:`SERVICE_COLOURS` by name (case-insensitive), the
    others from :data:`SERVICE_FALLBACK` in the order given (the study's roles)."""
    out, spare = {}, iter(SERVICE_FALLBACK * (1 + len(services) // len(SERVICE_FALLBACK)))
    for s in services:
        out[s] = SERVICE_COLOURS.get(str(s).lower()) or next(spare)
    return out


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
