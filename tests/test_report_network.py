"""The collaboration network in the study report and the municipality profiles (issue 25):
the section "Samhandlingsnettverket" / "The collaboration network" with its tables and
figures, built from the example study's roster answers with the library
(``tie_table``, ``collaboration_measures``, ``collaboration_did``).

Checked: the section, its tables and figures (PNG + SVG); the published tie values against a
hand computation from the answers; no tie value from fewer than k respondents in any published
table (every format), figure or profile, and nothing the informed attacker of
``tests/sdc_attacker.py`` learns from the kommune ties and their pooled totals; the network
measures hidden with a hidden tie; ±inf CIs printed as "ubegrenset" / "unbounded"; nb and en
labels; the profile's sociogram; and the report unchanged when the study has no roster.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sdc_scan import exposed_in, report_lines

from evaluation_pipeline.analysis.collaboration import (
    collaboration_did,
    collaboration_measures,
    tie_table,
)
from evaluation_pipeline.analysis.effects import effects_frame
from evaluation_pipeline.ingest import read_survey
from evaluation_pipeline.publication import suppress_measures
from evaluation_pipeline.report.sections import network as N
from evaluation_pipeline.report.study_report import build_study_report
from evaluation_pipeline.report.tables import format_value
from evaluation_pipeline.study import Study

sys.path.insert(0, str(Path(__file__).parent))
from test_report import _inputs  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sunnmore"
NET_TABLES = ("network_ties_pooled", "network_ties_kommune", "network_measures", "network_did")
KOMMUNE = "1520"  # Ørsta, a network kommune


@pytest.fixture(scope="module")
def study() -> Study:
    return Study.load(EXAMPLE)


@pytest.fixture(scope="module")
def frames(study):
    """The roster's frames as the collaboration assets build them (library on the files)."""
    answers = pd.concat([read_survey(study.wave_file(w), wave=w) for w in study.wave_ids],
                        ignore_index=True)
    c = study.survey.collaboration
    pooled = tie_table(answers, c, by=("group", "wave"), groups=study)
    return {
        "answers": answers,
        "collaboration_ties": tie_table(answers, c, by=("kommune", "wave")),
        "collaboration_ties_pooled": pooled,
        "collaboration_measures_pooled": collaboration_measures(pooled, study.survey.roles),
        "collaboration_effects": effects_frame(collaboration_did(
            answers, c, study, seed=1, wild_bootstrap=None)),
    }


def _net(frames) -> dict:
    return {k: v for k, v in frames.items() if k.startswith("collaboration_")}


@pytest.fixture(scope="module")
def report_nb(study, frames, tmp_path_factory):
    s = study.model_copy(update={"output_dir": str(tmp_path_factory.mktemp("nb"))})
    return s, build_study_report(s, **_inputs(), **_net(frames))


@pytest.fixture(scope="module")
def report_en(study, frames, tmp_path_factory):
    s = study.model_copy(update={"output_dir": str(tmp_path_factory.mktemp("en")),
                                 "language": "en"})
    return s, build_study_report(s, **_inputs(), **_net(frames))


def _html(out) -> str:
    return out.report.read_text(encoding="utf-8")


def _section(html: str) -> str:
    i = html.index("<h2 id='network'>")
    return html[i:html.index("<h2", i + 5)]


# ---- the section ------------------------------------------------------------------------------

def test_section_tables_and_figures(report_nb):
    s, out = report_nb
    html = _html(out)
    # after the survey, before the registry
    order = [html.index(f"<h2 id='{a}'>") for a in ("survey", "network", "registry")]
    assert order == sorted(order)
    sec = _section(html)
    assert "Samhandlingsnettverket" in sec
    assert "minst 50 % av de ansatte" in sec and "svarer 4 eller mer" in sec  # study.yaml
    assert "Nettverksmål for nettverks- og sammenligningskommunene per runde." in sec
    assert "Endring i samarbeidsnettverket" in sec
    assert sec.count("<img") == 2
    for name in ("network_sociograms", "network_tie_change"):
        assert {p.suffix for p in out.figures[name]} == {".png", ".svg"}
        assert all(p.stat().st_size > 5000 for p in out.figures[name])
    manifest = json.loads((s.output / "tables" / "manifest.json").read_text(encoding="utf-8"))
    for name in NET_TABLES:
        assert name in out.tables and out.tables[name].exists()
        assert (s.output / "tables" / "publication" / f"{name}.csv").exists()
    # the kommune ties declare that they add up to the pooled ties
    spec = manifest["tables"]["network_ties_kommune"]["margins"]
    assert {m["count"] for m in spec} == {"n", "n_quality"}
    assert all(m["total_table"] == "network_ties_pooled" for m in spec)
    assert set(manifest["tables"]["network_ties_kommune"]["count_columns"]) == {"n",
                                                                               "n_quality"}


def test_published_pooled_ties_are_the_answers_means(report_nb, frames, study):
    """Hand computation from the long answers: the network kommuner's skole staff about
    barnevern in w2012 (n, mean frequency, share answering regular_from or more)."""
    s, out = report_nb
    a = frames["answers"]
    net = [str(k) for k in study.network]
    rows = a[(a["kommune"].astype(str).isin(net)) & (a["wave"] == "w2012")
             & (a["role"] == "skole") & (a["item"] == "ofte_barnevern")]
    v = pd.to_numeric(rows["value"], errors="coerce").dropna()
    pub = pd.read_csv(out.tables["network_ties_pooled"], dtype={"wave": str})
    r = pub[(pub["group"] == "network") & (pub["wave"] == "w2012")
            & (pub["from_service"] == "skole") & (pub["to_service"] == "barnevern")].iloc[0]
    assert r["n"] == len(v)
    assert r["mean_frequency"] == pytest.approx(v.mean(), abs=1e-6)
    assert r["share_regular"] == pytest.approx((v >= 4).mean(), abs=1e-6)
    # the measures table passes the library's measures through where nothing is hidden
    m = pd.read_csv(out.tables["network_measures"], dtype={"wave": str})
    raw = frames["collaboration_measures_pooled"]
    both = m.merge(raw, on=["group", "wave", "measure"], suffixes=("", "_raw"))
    shown = both[~both["suppressed"]]
    assert len(shown) > 20
    assert np.allclose(shown["value"], shown["value_raw"], atol=1e-6, equal_nan=True)


def test_did_table_shows_the_measures_and_the_pairs_with_the_smallest_p(report_nb, frames):
    s, out = report_nb
    sec = _section(_html(out))
    did = frames["collaboration_effects"]
    for fu in s.followup_waves:
        d = did[did["contrast"] == f"{fu} - {s.baseline_wave}, network - comparison"]
        pairs = d[d["outcome"].str.startswith("tie:")]
        order = pairs.assign(a=-pairs["estimate"].abs()).sort_values(["p_value", "a"],
                                                                    kind="stable")
        top = [o[4:].replace("-", " – ", 1) for o in order["outcome"].head(N.TOP_PAIRS)]
        for label in top:
            assert f"<td class='text'>{label}</td><td class='text'>{fu}</td>" in sec
        rest = [o[4:].replace("-", " – ", 1) for o in order["outcome"].iloc[N.TOP_PAIRS:]]
        for label in rest:
            assert f"<td class='text'>{label}</td><td class='text'>{fu}</td>" not in sec
    # the density DiD the library estimates (the planted change), as published
    pub = pd.read_csv(out.tables["network_did"], dtype={"followup": str})
    assert len(pub) == len(did)
    dens = pub[(pub["outcome"] == "density") & (pub["followup"] == "w2016")].iloc[0]
    assert dens["estimate"] > 0 and dens["ci_low"] > 0 and dens["n_kommuner"] == 20
    assert "<td class='text'>Tetthet</td><td class='text'>w2016</td><td class='num'>0,15</td>" \
        in sec


# ---- disclosure ------------------------------------------------------------------------------

def _small_raw(frames, k: int) -> pd.DataFrame:
    kt = frames["collaboration_ties"]
    return kt[(kt["n"] > 0) & (kt["n"] < k)]


def test_no_tie_value_from_fewer_than_k_respondents_is_published(report_nb, frames):
    s, out = report_nb
    k = s.small_cell_threshold
    key = ["kommune", "wave", "from_service", "to_service"]
    small = _small_raw(frames, k).assign(kommune=lambda d: d["kommune"].astype(str))
    assert len(small) > 100  # the example has many small ties per kommune
    pub = pd.read_csv(out.tables["network_ties_kommune"], dtype={"kommune": str, "wave": str})
    hit = pub.merge(small[key], on=key)
    assert len(hit) == len(small)
    assert hit["suppressed"].all()
    assert hit[["n", "mean_frequency", "share_regular", "mean_quality"]].isna().all().all()
    assert (hit["n_quality"].isna() | (hit["n_quality"] == 0)).all()  # a zero is not hidden
    assert hit["regular"].isna().all()
    # in every table and format: no count in (0, k), quality included
    manifest = json.loads((s.output / "tables" / "manifest.json").read_text(encoding="utf-8"))
    wb = openpyxl.load_workbook(s.output / "tables" / "tabeller.xlsx")
    for name in ("network_ties_pooled", "network_ties_kommune", "network_measures"):
        meta = manifest["tables"][name]
        machine = pd.read_csv(s.output / "tables" / meta["files"]["csv"])
        pub_csv = pd.read_csv(s.output / "tables" / meta["files"]["publication_csv"], sep=";",
                              dtype=str, encoding="utf-8-sig", keep_default_na=False)
        cols = list(meta["columns"])
        ws = wb[name[:31]]
        for c in meta["count_columns"]:
            n = pd.to_numeric(machine[c], errors="coerce")
            assert not ((n > 0) & (n < k)).any(), (name, c)
            shown = pd.to_numeric(pub_csv.iloc[:, 1 + cols.index(c)].str.replace(",", "."),
                                  errors="coerce")
            assert not ((shown > 0) & (shown < k)).any(), (name, c)
            j = cols.index(c) + 1
            vals = pd.to_numeric(pd.Series([ws.cell(i, j).value
                                            for i in range(5, ws.max_row + 1)]),
                                 errors="coerce")
            assert not ((vals > 0) & (vals < k)).any(), (name, c)


def test_the_informed_attacker_learns_no_hidden_tie(report_nb):
    """Each kommune tie's n (and n_quality) line with its pooled total, read from the
    published CSVs by the test's own scan and attacked with linear programmes."""
    s, out = report_nb
    lines = [x for x in report_lines(s.output) if x[0].startswith("network_ties_kommune")]
    bad, attacked, hidden = exposed_in(lines, s.small_cell_threshold)
    assert attacked > 100 and hidden > 500
    assert bad == []


def test_measures_are_hidden_with_a_hidden_tie():
    ties = pd.DataFrame({
        "group": ["network"] * 3 + ["comparison"] * 3, "wave": "w1",
        "from_service": ["a", "b", "c"] * 2, "to_service": ["b", "c", "a"] * 2,
        "suppressed": [False, True, False, False, False, False],
        "quality_suppressed": [False, True, False, False, True, False]})
    measures = pd.DataFrame([
        {"group": g, "wave": "w1", "measure": m, "value": 0.5, "n_respondents": n}
        for g, n in (("network", 40), ("comparison", 40))
        for m in ("density", "centralization", "reciprocity", "asymmetry", "isolated",
                  "mean_quality")])
    out = suppress_measures(measures, ties, 5).set_index(["group", "measure"])
    assert out.loc["network", "suppressed"].all()  # a hidden tie: every measure
    cmp = out.loc["comparison"]
    assert cmp["suppressed"].tolist() == [False] * 5 + [True]  # hidden quality only
    assert np.isnan(cmp.loc["mean_quality", "value"]) and cmp.loc["density", "value"] == 0.5
    few = suppress_measures(measures.assign(n_respondents=3), ties.iloc[3:], 5)
    assert few["suppressed"].all() and few["n_respondents"].isna().all()


# ---- labels and CIs ---------------------------------------------------------------------------

def test_english_labels(report_en):
    _, out = report_en
    sec = _section(_html(out))
    assert "The collaboration network" in sec and "at least 50% of A" in sec
    for word in ("Density", "Centralization", "Reciprocity", "Isolated services"):
        assert word in sec
    assert "Tetthet" not in sec and "Nettverk" not in sec
    pub = pd.read_csv(out.table_files["network_did"]["publication_csv"])
    # the outcome's name as in the logic chain and the effects table
    assert "Density of the collaboration network" in set(pub["Outcome"])


def test_infinite_ci_ends_are_printed_unbounded(study, frames, tmp_path):
    """One network and two comparison kommuner: 3 label choices, no p below 1/3, so the
    randomization CI has no end at 5 %."""
    groups = {"1520": "network", "1505": "comparison", "1506": "comparison"}
    a = frames["answers"]
    few = collaboration_did(a[a["kommune"].astype(str).isin(groups)],
                            study.survey.collaboration, groups, baseline=study.baseline_wave,
                            followups=study.followup_waves, services=study.survey.roles,
                            wild_bootstrap=None, outcomes=["density", "tie:skole-barnevern"])
    eff = effects_frame(few)
    assert np.isinf(eff["ci_low"]).all() and np.isinf(eff["ci_high"]).all()
    assert format_value(-np.inf, "estimate", "nb") == "ubegrenset"
    assert format_value(np.inf, "estimate", "en") == "unbounded"
    for lang, word in (("nb", "ubegrenset"), ("en", "unbounded")):
        s = study.model_copy(update={"output_dir": str(tmp_path / lang), "language": lang})
        out = build_study_report(s, **_inputs(), collaboration_effects=eff)
        sec = _section(_html(out))
        assert sec.count(f"<td class='num'>{word}</td>") == 2 * len(eff)
        machine = pd.read_csv(out.tables["network_did"])
        assert np.isinf(machine["ci_low"]).all() and (machine["ci_high"] == np.inf).all()
        book = "tabeller.xlsx" if lang == "nb" else "tables.xlsx"
        ws = openpyxl.load_workbook(s.output / "tables" / book)["network_did"]
        assert sum(c.value == word for row in ws.iter_rows() for c in row) == 2 * len(eff)
        tex = out.table_files["network_did"]["latex"].read_text(encoding="utf-8")
        assert tex.count(word) == 2 * len(eff)


# ---- without the roster -----------------------------------------------------------------------

def _files(out_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out_dir)): p.read_bytes()
            for p in sorted((out_dir / "tables").rglob("*")) if p.is_file()
            and p.suffix != ".xlsx"}


def test_report_without_the_roster_is_as_before(study, tmp_path):
    """No collaboration frames, or no roster in study.yaml: the same report, byte for byte
    (the time stamp aside), and no network table or figure."""
    plain = study.model_copy(update={"survey": study.survey.model_copy(
        update={"collaboration": None})})
    outs = []
    for name, s in (("roster", study), ("plain", plain)):
        s = s.model_copy(update={"output_dir": str(tmp_path / name)})
        out = build_study_report(s, **_inputs())
        assert not any(n.startswith("network") for n in [*out.tables, *out.figures])
        html = _html(out)
        assert "id='network'" not in html
        head, _, rest = html.partition("<p class='note'>")
        outs.append((head + rest.split("</p>", 1)[1], _files(s.output)))
    assert outs[0] == outs[1]


# ---- the profiles ----------------------------------------------------------------------------

def test_profile_sociogram_of_a_network_kommune(study, frames, tmp_path, monkeypatch):
    from test_profiles import library_outputs

    from evaluation_pipeline.report import profiles as P
    from evaluation_pipeline.report.profiles import figures as PF

    panel, scores = library_outputs()
    s = study.model_copy(update={"output_dir": str(tmp_path)})
    drawn = []
    real = PF.png_bytes

    def keep(fig, *a, **kw):
        panels = [{p.get_gid() for p in ax.patches if p.get_gid()} for ax in fig.axes]
        if any(g.startswith("tie:") for gids in panels for g in gids):  # a sociogram
            drawn.append(panels)
        return real(fig, *a, **kw)

    monkeypatch.setattr(PF, "png_bytes", keep)
    without = P.build_kommune_profile(s, KOMMUNE, panel, scores, out_dir=tmp_path / "without")
    assert drawn == []
    shared: dict = {}
    with_ties = P.build_kommune_profile(s, KOMMUNE, panel, scores, out_dir=tmp_path / "with",
                                        collaboration_ties=frames["collaboration_ties"],
                                        shared=shared)
    html = with_ties.html.read_text(encoding="utf-8")
    assert "Samarbeid mellom tjenestene" in html
    assert html.count("<img") == without.html.read_text(encoding="utf-8").count("<img") + 1
    assert "Samarbeid mellom tjenestene" not in without.html.read_text(encoding="utf-8")
    # the same CSVs with or without the ties (the profile publishes no tie table)
    for name, p in without.tables.items():
        assert p.read_bytes() == with_ties.tables[name].read_bytes(), name
    # the kommune's ties with fewer than k answers are drawn unknown, never with a value,
    # and the kommune's ties are hidden exactly as in the report's table
    k = s.small_cell_threshold
    small = _small_raw(frames, k)
    small = small[small["kommune"].astype(str) == KOMMUNE]
    assert len(small) > 5
    assert len(drawn) == 1
    waves = [s.baseline_wave, s.followup_waves[-1]]  # the panels, in order
    checked = 0
    for wave, gids in zip(waves, drawn[0], strict=False):
        for r in small[small["wave"] == wave].itertuples():
            assert f"tie:{r.from_service}-{r.to_service}:shown" not in gids, wave
            assert f"tie:{r.from_service}-{r.to_service}:unknown" in gids, wave
            checked += 1
    assert checked > 5
    report_kt, _ = N.published_ties(s, frames["collaboration_ties"],
                                    frames["collaboration_ties_pooled"])
    mine = shared["network_ties"]
    cols = ["kommune", "wave", "from_service", "to_service", "suppressed"]
    assert report_kt[cols].reset_index(drop=True).equals(mine[cols].reset_index(drop=True))


# ---- the Dagster layer -----------------------------------------------------------------------

def test_report_asset_passes_the_network_inputs(study, frames, tmp_path):
    """The study_report asset's body with the source ``network``: its inputs reach the
    library (end to end with the collaboration assets is the pipeline tests' job)."""
    from assets.report import REPORT_INPUTS, _build

    assert REPORT_INPUTS["network"] == ["collaboration_ties", "collaboration_ties_pooled",
                                        "collaboration_measures_pooled",
                                        "collaboration_effects"]
    s = study.model_copy(update={"output_dir": str(tmp_path)})
    base = _inputs()
    inputs = {"effects": base["effects"], "logic_chain_evidence": None,
              "survey_scale_summary": base["survey_summary"],
              "survey_answers_valid": frames["answers"][["wave"]],
              "survey_answers_rejected": pd.DataFrame(columns=["wave", "reason"]),
              **_net(frames)}
    res = _build(s, inputs, ["survey", "network"], {})
    tables = res.metadata["tables"].data
    assert set(NET_TABLES) <= set(tables)
    assert {"network_sociograms", "network_tie_change"} <= set(res.metadata["figures"].data)


def test_the_source_network_is_not_read_as_the_network_kommuner():
    from evaluation_pipeline.report.tables import PublishedTable, formatted

    tb = PublishedTable("effects", pd.DataFrame({
        "source": ["network", "survey"], "group": ["network", "network"],
        "suppressed": False}))
    nb = formatted(tb, "nb")
    assert nb["Kilde"].tolist() == ["Samhandlingsnettverk", "Spørreundersøkelse"]
    assert nb["Gruppe"].tolist() == ["Nettverk", "Nettverk"]
    assert formatted(tb, "en")["Source"].tolist() == ["Collaboration network", "Survey"]


def test_methods_describe_the_network_analysis(report_nb, report_en, study):
    """The methods section names the regular-tie rule of study.yaml and the inference used
    (the DiD rows' estimator: randomization inference)."""
    c = study.survey.collaboration
    for (_, out), words in ((report_nb, ("Samhandlingsnettverket: et bånd", "randomiserings")),
                            (report_en, ("Collaboration network: a tie", "randomization"))):
        html = _html(out)
        i = html.index("<h2 id='methods'>")
        methods = html[i:html.index("<h2", i + 5)]
        for w in words:
            assert w in methods
        assert f"are {c.frequency.regular_from} or higher" in methods or \
            f"er {c.frequency.regular_from} eller høyere" in methods
