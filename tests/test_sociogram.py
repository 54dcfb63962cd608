"""Figures of the collaboration network (``evaluation_pipeline.report.sociogram``): written
as PNG and SVG; a service keeps its colour and place in every figure; suppressed ties drawn
as unknown and never with their values; the heatmap shows the Effect rows' estimates.

Tie tables are made here by hand (the shape of ``analysis.collaboration.tie_table``) and go
through ``publication.suppress_ties`` as in the report.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from evaluation_pipeline.publication import suppress_ties  # noqa: E402
from evaluation_pipeline.report.figures import save  # noqa: E402
from evaluation_pipeline.report.sociogram import (  # noqa: E402
    FigureInputError,
    circular_layout,
    sociogram,
    sociogram_panel,
    tie_change_heatmap,
)
from evaluation_pipeline.report.style import (  # noqa: E402
    SERVICE_COLOURS,
    TIE_NO_QUALITY,
    TIE_UNKNOWN,
    service_colours,
)

K = 5
SERVICES = ["skole", "barnehage", "PPT", "barnevern", "helsestasjon", "NAV", "politi", "BUP"]


def tie_rows(wave: str, seed: int, small: list[tuple[str, str]] = (), group="network"
             ) -> pd.DataFrame:
    """Every directed tie between SERVICES in one group and wave; the ties in ``small`` have
    n = 3 (below K), the others n >= 8."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in SERVICES:
        for b in SERVICES:
            if a == b:
                continue
            n = 3 if (a, b) in small else int(rng.integers(8, 40))
            mf = float(rng.uniform(1, 5))
            rows.append(dict(group=group, wave=wave, from_service=a, to_service=b, n=n,
                             mean_frequency=mf, share_regular=float(rng.uniform(0, 1)),
                             regular=mf >= 3.5, n_quality=n,
                             mean_quality=float(rng.uniform(1, 5))))
    return pd.DataFrame(rows)


SMALL = [("politi", "BUP"), ("BUP", "politi"), ("PPT", "NAV")]


def arcs(ax: plt.Axes, state: str | None = None) -> dict[tuple[str, str], FancyArrowPatch]:
    """The tie arcs on ``ax`` by (from, to); ``state``: "shown" or "unknown" only."""
    out = {}
    for p in ax.patches:
        gid = p.get_gid() or ""
        if isinstance(p, FancyArrowPatch) and gid.startswith("tie:"):
            pair, st = gid[4:].rsplit(":", 1)
            a, b = next((a, b) for a in SERVICES for b in SERVICES if f"{a}-{b}" == pair)
            if state is None or st == state:
                out[(a, b)] = p
    return out


def nodes(ax: plt.Axes) -> tuple[np.ndarray, list[str]]:
    """Node positions and colours (hex) of a sociogram, in service order."""
    coll = ax.collections[0]
    return coll.get_offsets(), [to_hex(c) for c in coll.get_facecolors()]


def svg_of(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    with plt.rc_context({"svg.hashsalt": "test"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


# ------------------------------------------------------------------------------------------


def test_layout_is_the_circle_in_study_order():
    pos = circular_layout(["a", "b", "c", "d"])  # top, then clockwise
    expected = {"a": (0, 1), "b": (1, 0), "c": (0, -1), "d": (-1, 0)}
    for s, xy in expected.items():
        assert pos[s] == pytest.approx(xy, abs=1e-12)


def test_figures_are_written_as_png_and_svg(tmp_path):
    ties = suppress_ties(tie_rows("2019", 1, SMALL), K)
    ax = sociogram(ties, SERVICES, synthetic=True)
    paths = save(ax.figure, tmp_path / "sociogram")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths[1].read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "synthetic-watermark" in svg
    assert "ukjent (under n &lt; 5)" in svg  # the legend entry of suppressed ties
    eff = effects_frame()
    paths = save(tie_change_heatmap(eff, SERVICES), tmp_path / "heatmap")
    assert all(p.stat().st_size > 1000 for p in paths)
    plt.close("all")


def test_same_service_same_colour_and_place_in_every_figure():
    a = suppress_ties(tie_rows("2019", 1, SMALL), K)
    b = suppress_ties(tie_rows("2023", 2), K)
    b = b[b["from_service"] != "NAV"]  # NAV's respondents missing in the second figure
    ax1 = sociogram(a, SERVICES)
    ax2 = sociogram(b, SERVICES, strength="share_regular")
    (p1, c1), (p2, c2) = nodes(ax1), nodes(ax2)
    assert np.allclose(p1, p2)
    assert c1 == c2
    pos = circular_layout(SERVICES)
    assert np.allclose(p1, [pos[s] for s in SERVICES])
    # the study's services by name: the fixed Okabe-Ito colours, whatever the order
    assert c1 == [SERVICE_COLOURS[s.lower()].lower() for s in SERVICES]
    assert service_colours(["NAV", "skole"]) == {"NAV": SERVICE_COLOURS["nav"],
                                                 "skole": SERVICE_COLOURS["skole"]}
    # services not named get distinct colours by their place in the study's order
    other = service_colours(["skole", "kultur", "idrett"])
    assert len(set(other.values())) == 3 and other == service_colours(
        ["skole", "kultur", "idrett"])
    plt.close("all")


def test_suppressed_ties_are_drawn_unknown_and_without_their_values():
    raw = tie_rows("2019", 1, SMALL)
    ties = suppress_ties(raw, K)
    ax = sociogram(ties, SERVICES, floor=1.0)  # every shown tie drawn
    unknown = arcs(ax, "unknown")
    assert set(unknown) == set(SMALL) == set(
        zip(*ties.loc[ties["suppressed"], ["from_service", "to_service"]].T.values,
            strict=True))
    dashed = [p for p in ax.patches if p.get_linestyle() in ("--", "dashed")]
    assert len(dashed) == len(SMALL) == ties["suppressed"].sum()
    for p in unknown.values():
        assert to_hex(p.get_edgecolor()) == TIE_UNKNOWN.lower()
        assert p.get_linewidth() == 1.0
    assert not set(SMALL) & set(arcs(ax, "shown"))
    # the drawing does not depend on a hidden tie's values: change them, same SVG
    changed = raw.copy()
    sel = changed["n"] < K
    changed.loc[sel, ["mean_frequency", "share_regular", "mean_quality"]] = [5.0, 1.0, 5.0]
    changed.loc[sel, ["n", "n_quality"]] = 1
    ax2 = sociogram(suppress_ties(changed, K), SERVICES, floor=1.0)
    assert svg_of(ax.figure) == svg_of(ax2.figure)
    plt.close("all")


def test_a_table_that_was_not_suppressed_is_refused():
    raw = tie_rows("2019", 1, SMALL)
    with pytest.raises(FigureInputError, match="suppress_ties"):
        sociogram(raw, SERVICES, k=K)
    forged = suppress_ties(raw, K)
    forged.loc[0, ["n", "suppressed"]] = [3, False]
    with pytest.raises(FigureInputError, match=r"row 0: tie skole -> barnehage has n = 3"):
        sociogram(forged, SERVICES)
    with pytest.raises(FigureInputError, match="k="):
        sociogram(raw.assign(suppressed=False), SERVICES)


def test_width_grows_with_strength_and_the_floor_hides_weak_ties():
    ties = suppress_ties(tie_rows("2019", 3), K)
    ax = sociogram(ties, SERVICES, floor=2.0)
    shown = arcs(ax, "shown")
    strength = ties.set_index(["from_service", "to_service"])["mean_frequency"]
    assert set(shown) == set(strength[strength > 2.0].index)
    pairs = sorted(shown, key=lambda p: strength[p])
    widths = [shown[p].get_linewidth() for p in pairs]
    assert all(w1 <= w2 for w1, w2 in zip(widths, widths[1:], strict=False))
    assert widths[0] < widths[-1]
    # the legend says which measure the width shows
    title = ax.figure.legends[0].get_title().get_text()
    assert "hvor ofte" in title and "under 2" in title
    ax = sociogram(ties, SERVICES, strength="share_regular", language="en")
    assert "share who collaborate regularly" in ax.figure.legends[0].get_title().get_text()
    plt.close("all")


def test_colour_is_the_mean_quality_on_its_scale_and_grey_without_it():
    ties = suppress_ties(tie_rows("2019", 4), K)
    ax = sociogram(ties, SERVICES, floor=1.0)
    shown = arcs(ax, "shown")
    cmap = plt.get_cmap("viridis_r")
    for (a, b), p in shown.items():
        q = ties.loc[(ties["from_service"] == a) & (ties["to_service"] == b),
                     "mean_quality"].iloc[0]
        assert np.allclose(p.get_edgecolor(), cmap((q - 1) / 4))
    # a study without the quality block: every tie grey, no colorbar
    noq = suppress_ties(tie_rows("2019", 4).assign(n_quality=0, mean_quality=np.nan), K)
    ax = sociogram(noq, SERVICES, floor=1.0)
    assert {to_hex(p.get_edgecolor()) for p in arcs(ax, "shown").values()} == {
        TIE_NO_QUALITY.lower()}
    assert len(ax.figure.axes) == 1
    texts = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert "kvalitet ikke målt" in texts
    plt.close("all")


def test_mutual_ties_bend_apart():
    ties = suppress_ties(tie_rows("2019", 5), K)
    ax = sociogram(ties, SERVICES, floor=1.0)
    ax.figure.canvas.draw()
    shown = arcs(ax, "shown")
    there, back = shown[("skole", "NAV")], shown[("NAV", "skole")]
    pos = circular_layout(SERVICES)
    a, b = np.array(pos["skole"]), np.array(pos["NAV"])
    normal = np.array([-(b - a)[1], (b - a)[0]]) / np.linalg.norm(b - a)

    def bulge(p):
        """Signed distance from the chord skole -> NAV of the arc's shaft (a quadratic
        Bezier: start, control point, end; in data units)."""
        path = p.get_path()
        v = path.vertices[:3]
        assert path.codes[1] == path.CURVE3
        d = (v - a) @ normal
        return d[np.argmax(np.abs(d))]

    # the two directions bend to opposite sides of the chord, well apart
    assert bulge(there) * bulge(back) < 0
    assert min(abs(bulge(there)), abs(bulge(back))) > 0.05
    plt.close("all")


def test_panel_titles_from_labels_and_one_legend():
    ties = pd.concat([tie_rows("2019", 1, SMALL), tie_rows("2023", 2),
                      tie_rows("2019", 3, group="comparison"),
                      tie_rows("2023", 4, group="comparison")], ignore_index=True)
    ties = suppress_ties(ties, K)
    panels = [{"group": g, "wave": w} for g in ("network", "comparison")
              for w in ("2019", "2023")]
    fig = sociogram_panel(ties, SERVICES, panels)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["Nettverk, runde 2019", "Nettverk, runde 2023",
                      "Sammenligning, runde 2019", "Sammenligning, runde 2023"]
    assert len(fig.legends) == 1
    assert "ukjent (under n < 5)" in [t.get_text() for t in fig.legends[0].get_texts()]
    # only the first panel has suppressed ties
    first = next(ax for ax in fig.axes if ax.get_title() == titles[0])
    assert len(arcs(first, "unknown")) == 3
    en = sociogram_panel(ties, SERVICES, panels[:2], language="en")
    assert [ax.get_title() for ax in en.axes if ax.get_title()] == [
        "Network, wave 2019", "Network, wave 2023"]
    kom = suppress_ties(tie_rows("2019", 1).assign(kommune="1507"), K)
    fig = sociogram_panel(kom, SERVICES, [{"kommune": "1507", "wave": "2019"}],
                          names={"1507": "Ålesund"})
    assert fig.axes[0].get_title() == "Ålesund, runde 2019"
    plt.close("all")


def effects_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for a in SERVICES:
        for b in SERVICES:
            if a == b:
                continue
            hidden = (a, b) in SMALL
            rows.append(dict(source="network", outcome=f"tie:{a}-{b}",
                             contrast="2023 - 2019, network - comparison", group="all",
                             estimator="DiD", estimate=np.nan if hidden
                             else float(rng.normal(0, 0.6)), suppressed=hidden))
    e = pd.DataFrame(rows)
    # a tie without an estimate, and rows of other contrasts and sources that must be ignored
    e = e[e["outcome"] != "tie:skole-BUP"]
    other = e.head(5).assign(contrast="2023 - 2019", estimate=99.0)
    dens = e.head(1).assign(outcome="density", estimate=-99.0)
    return pd.concat([e, other, dens], ignore_index=True)


def test_heatmap_cells_are_the_effect_estimates():
    eff = effects_frame()
    fig = tie_change_heatmap(eff, SERVICES, measure="hvor ofte")
    ax = fig.axes[0]
    shown = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
    did = eff[eff["contrast"].str.endswith("network - comparison")
              & eff["outcome"].str.startswith("tie:")]
    assert (~np.isnan(shown)).sum() == did["estimate"].notna().sum()
    for r in did.itertuples():
        a, b = r.outcome[4:].split("-")
        i, j = SERVICES.index(a), SERVICES.index(b)
        if r.suppressed:
            assert np.isnan(shown[i, j])
        else:
            assert shown[i, j] == r.estimate
            label = next(t.get_text() for t in ax.texts if t.get_gid() == f"value:{a}-{b}")
            assert float(label.replace("−", "-")) == pytest.approx(r.estimate, abs=0.005)
    # diverging colours centred at 0
    lo, hi = ax.images[0].get_clim()
    assert lo == -hi and hi == pytest.approx(did["estimate"].abs().max())
    # suppressed cells hatched and marked ":"; the tie without an estimate marked "–"
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert sorted(p.get_gid() for p in hatched) == sorted(
        f"tie:{a}-{b}:suppressed" for a, b in SMALL)
    assert sum(t.get_text() == ":" for t in ax.texts) == len(SMALL)
    i, j = SERVICES.index("skole"), SERVICES.index("BUP")
    assert np.isnan(shown[i, j])
    assert any(t.get_text() == "–" and t.get_position() == (j, i) for t in ax.texts)
    plt.close("all")


def test_heatmap_reads_only_the_asked_contrast():
    eff = effects_frame()
    fig = tie_change_heatmap(eff, SERVICES, contrast="2023 - 2019", language="en")
    shown = np.ma.filled(fig.axes[0].images[0].get_array().astype(float), np.nan)
    assert np.nansum(shown == 99.0) == 5 and (~np.isnan(shown)).sum() == 5
    assert fig.axes[0].get_xlabel() == "To (service asked about)"
    with pytest.raises(FigureInputError, match="contrast="):
        tie_change_heatmap(eff[eff["contrast"] == "2023 - 2019"], SERVICES)
    plt.close("all")


def test_heatmap_of_undirected_pairs_shows_each_pair_once_above_the_diagonal():
    """The library's pair outcomes (``tie:A-B``, A before B in the services' order, one row
    per pair): each estimate in the cell (A, B) of the upper triangle, none below it, the
    empty first column and last row left out; no direction in the axis labels."""
    from evaluation_pipeline.analysis.collaboration import pair_names

    rng = np.random.default_rng(3)
    pairs = pair_names(SERVICES)
    est = {p: float(rng.normal(0, 0.5)) for p in pairs}
    hidden = pairs[2]
    e = pd.DataFrame([dict(source="network", outcome=p, contrast="2023 - 2019, network - "
                           "comparison", estimate=np.nan if p == hidden else v,
                           suppressed=p == hidden) for p, v in est.items()])
    fig = tie_change_heatmap(e, SERVICES)
    ax = fig.axes[0]
    shown = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
    m = len(SERVICES)
    assert shown.shape == (m - 1, m - 1)
    assert [t.get_text() for t in ax.get_yticklabels()] == SERVICES[:-1]
    assert [t.get_text() for t in ax.get_xticklabels()] == SERVICES[1:]
    for p, v in est.items():
        a, b = p[4:].split("-")
        i, j = SERVICES.index(a), SERVICES.index(b)
        assert i < j
        if p == hidden:
            assert np.isnan(shown[i, j - 1])
        else:
            assert shown[i, j - 1] == v
    # below the diagonal: nothing, not even a "not estimated" mark
    lower = np.tril_indices(m - 1, -1)
    assert np.isnan(shown[lower]).all()
    values = [t for t in ax.texts if (t.get_gid() or "").startswith("value:")]
    assert len(values) == len(pairs) - 1  # each estimate written once
    assert not any(t.get_text() == "–" for t in ax.texts)
    assert [p.get_gid() for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()] \
        == [f"{hidden}:suppressed"]
    assert ax.get_xlabel() == ax.get_ylabel() == "Tjeneste"
    # the same rows named B-A (a pair given in the other order) land in the same cells
    flipped = e.assign(outcome=["tie:" + "-".join(o[4:].split("-")[::-1]) for o in e["outcome"]])
    again = np.ma.filled(tie_change_heatmap(flipped, SERVICES, directed=False).axes[0]
                         .images[0].get_array().astype(float), np.nan)
    assert np.array_equal(shown, again, equal_nan=True)
    plt.close("all")
