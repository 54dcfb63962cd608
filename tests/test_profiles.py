"""Municipality profiles: numbers against an independent computation from the registry panel
and the scale scores, suppression (constructed small cells), nb/en labels, the page as Chromium
renders it, and the Dagster asset (partitions = network kommuner; two partitions run
concurrently as a backfill)."""

import os
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sdc_attacker import exposed, grid_from_long

from evaluation_pipeline.analysis.registry import registry_panels
from evaluation_pipeline.analysis.scales import score_scales
from evaluation_pipeline.geography import add_rates, harmonize
from evaluation_pipeline.ingest import read_registry, read_survey
from evaluation_pipeline.observations import registry_observations
from evaluation_pipeline.publication import recoverable_cells
from evaluation_pipeline.report import profiles as P
from evaluation_pipeline.report.labels import t as report_label
from evaluation_pipeline.report.profiles import figures as profile_figures
from evaluation_pipeline.study import Study

sys.path.insert(0, str(Path(__file__).parent))
import chromium  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sunnmore"
KOMMUNE = "1520"  # Ørsta, joined 2015


@lru_cache(maxsize=1)
def library_outputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The example study's registry panel and scale scores, from the library on the landing
    files (what the registry_panel and scale_scores assets hold)."""
    s = Study.load(EXAMPLE)
    inds = s.registry.indicators
    raw = pd.concat([registry_observations(read_registry(s.path(c.file)), k, c, str(s.path(c.file)))
                     for k, c in inds.items()], ignore_index=True)
    obs = add_rates(harmonize(raw, s.geography_year,
                              age_groups={k: v.age_group for k, v in inds.items()}),
                    {k: v.per for k, v in inds.items()})
    answers = pd.concat([read_survey(s.wave_file(w), wave=w) for w in s.wave_ids],
                        ignore_index=True)
    return registry_panels(obs, s), score_scales(answers, s.survey.scales)


@pytest.fixture
def study(study_copy) -> Study:
    return Study.load(study_copy)


def _english(study: Study) -> Study:
    return study.model_copy(update={"language": "en"})


# --------------------------------------------------------------------------------------------
# numbers


def test_barometer_matches_hand_computation_from_the_panel(study, tmp_path):
    panel, scores = library_outputs()
    out = P.build_kommune_profile(study, KOMMUNE, panel, scores, out_dir=tmp_path)
    ind = pd.read_csv(out.tables["indicators"], dtype={"indicator": str})
    assert set(ind["data"]) == {"SYNTHETIC"}
    for ind_id, cfg in study.registry.indicators.items():
        p = panel[panel["indicator"] == ind_id]
        own = p[(p["kommune"] == KOMMUNE) & p["value"].notna()]
        year = int(own["year"].max())
        row = ind[ind["indicator"] == ind_id].iloc[0]
        assert row["year"] == year
        o = own[own["year"] == year].iloc[0]
        assert row["kommune"] == pytest.approx(o["numerator"] / o["denominator"] * cfg.per)
        for grp, codes in (("network", study.network), ("comparison", study.comparison)):
            g = p[(p["year"] == year) & p["kommune"].isin(list(codes))].dropna(
                subset=["numerator", "denominator"])
            expected = g["numerator"].sum() / g["denominator"].sum() * cfg.per
            assert row[grp] == pytest.approx(expected, rel=1e-9)
        before = p[(p["kommune"] == KOMMUNE) & (p["year"] == 2014)].iloc[0]
        assert row["before_join_year"] == 2014
        assert row["before_join"] == pytest.approx(before["value"])
        assert np.isnan(row["country"])  # no national values in the study's data
    page = out.html.read_text(encoding="utf-8")
    first = ind.iloc[0]
    shown = f"{first['kommune']:.1f}".replace(".", ",")
    assert shown in page
    assert "ikke tilgjengelig" in page
    assert out.html.name == "1520-orsta.html"


def test_survey_means_and_change_match_an_independent_computation(study, tmp_path):
    panel, scores = library_outputs()
    out = P.build_kommune_profile(study, KOMMUNE, panel, scores, out_dir=tmp_path)
    sv = pd.read_csv(out.tables["survey"])
    ch = pd.read_csv(out.tables["survey_change"])
    s = scores.dropna(subset=["score"])
    own = s[s["kommune"] == KOMMUNE]
    net = s[s["kommune"].isin(list(study.network))]
    for scale in study.survey.scales:
        for wave in study.wave_ids:
            x = own[(own["scale"] == scale) & (own["wave"] == wave)]["score"]
            r = sv[(sv["scale"] == scale) & (sv["wave"] == wave) & (sv["group"] == "kommune")]
            assert r["n"].iloc[0] == len(x)
            assert r["mean"].iloc[0] == pytest.approx(x.mean())
            y = net[(net["scale"] == scale) & (net["wave"] == wave)]["score"]
            r = sv[(sv["scale"] == scale) & (sv["wave"] == wave) & (sv["group"] == "network")]
            assert r["n"].iloc[0] == len(y)
            assert r["mean"].iloc[0] == pytest.approx(y.mean())
        for fu in study.followup_waves:
            for group, rows in (("kommune", own), ("network", net)):  # the pooled network too
                sc = rows[rows["scale"] == scale]
                f = sc[sc["wave"] == fu]["score"]
                base = sc[sc["wave"] == study.baseline_wave]["score"]
                # Welch by hand: difference, Welch–Satterthwaite df, t quantile
                v1, v0 = f.var(ddof=1) / len(f), base.var(ddof=1) / len(base)
                df = (v1 + v0) ** 2 / (v1**2 / (len(f) - 1) + v0**2 / (len(base) - 1))
                half = stats.t.ppf(0.975, df) * np.sqrt(v1 + v0)
                diff = f.mean() - base.mean()
                r = ch[(ch["scale"] == scale) & (ch["followup"] == fu) & (ch["group"] == group)]
                assert r["estimate"].iloc[0] == pytest.approx(diff)
                assert r["ci_low"].iloc[0] == pytest.approx(diff - half)
                assert r["ci_high"].iloc[0] == pytest.approx(diff + half)
                if group == "kommune":
                    assert (r["n_baseline"].iloc[0], r["n_followup"].iloc[0]) == (
                        len(base), len(f))
    # the trend table's kommune line is the panel's own values
    tr = pd.read_csv(out.tables["trends"])
    mine = tr[(tr["group"] == "kommune") & (tr["indicator"] == "neet_15_29")]
    p = panel[(panel["kommune"] == KOMMUNE) & (panel["indicator"] == "neet_15_29")]
    merged = mine.merge(p[["year", "value"]], on="year", suffixes=("", "_panel"))
    assert len(merged) == len(p)
    np.testing.assert_allclose(merged["value"], merged["value_panel"])


def test_country_values_when_given(study, tmp_path):
    panel, scores = library_outputs()
    national = pd.DataFrame({"indicator": ["neet_15_29"], "year": [2024], "value": [7.25]})
    tabs = P.profile_tables(study, KOMMUNE, panel, scores, national=national)
    row = tabs.indicators.set_index("indicator").loc["neet_15_29"]
    assert row["country"] == 7.25
    assert np.isnan(tabs.indicators.set_index("indicator").loc["completion_5y", "country"])


# --------------------------------------------------------------------------------------------
# suppression


def _tiny(scores: pd.DataFrame, kommune: str, wave: str, keep: int) -> pd.DataFrame:
    """Scores with only ``keep`` respondents of ``kommune`` left in ``wave``."""
    sel = (scores["kommune"] == kommune) & (scores["wave"] == wave)
    ids = sorted(scores.loc[sel, "respondent_id"].unique())[keep:]
    return scores[~(sel & scores["respondent_id"].isin(ids))].reset_index(drop=True)


def test_small_survey_n_is_suppressed_with_secondary_cells(study, tmp_path):
    panel, scores = library_outputs()
    k = study.small_cell_threshold
    tiny = _tiny(scores, KOMMUNE, "w2016", keep=3)
    out = P.build_kommune_profile(study, KOMMUNE, panel, tiny, out_dir=tmp_path)
    sv = pd.read_csv(out.tables["survey"])
    hidden = sv[(sv["group"] == "kommune") & (sv["wave"] == "w2016")]
    assert hidden["n"].isna().all() and hidden["mean"].isna().all()
    assert hidden["suppressed"].all()
    ch = pd.read_csv(out.tables["survey_change"])
    c = ch[(ch["group"] == "kommune") & (ch["followup"] == "w2016")]
    assert c["estimate"].isna().all() and c["suppressed"].all()
    # the other follow-up is still shown
    assert ch[(ch["group"] == "kommune") & (ch["followup"] == "w2019")]["estimate"].notna().all()
    # no published count below the threshold, in any profile of the network
    for kom in P.profile_kommuner(study):
        o = P.build_kommune_profile(study, kom, panel, tiny, out_dir=tmp_path)
        for name in ("survey", "survey_change"):
            t = pd.read_csv(o.tables[name])
            for col in ("n", "n_baseline", "n_followup"):
                if col in t:
                    v = t[col].dropna()
                    assert not ((v > 0) & (v < k)).any(), (kom, name, col)
    # the hidden n cannot be recovered from the network total and the other profiles: each
    # wave is one line (kommuner and their sum); the same kommuner are hidden in every scale
    table = P.survey_n_published(tiny, study)
    assert table.loc[table["kommune"] == "Total", "published"].notna().all()  # network n shown
    for (scale, wave), line in table.groupby(["scale", "wave"]):
        if wave == "w2016":
            assert line.loc[line["kommune"] != "Total", "published"].isna().sum() >= 2
        assert recoverable_cells(line, rows="kommune") == [], (scale, wave)
        grid, present, _, _ = grid_from_long(line, "kommune", None, "published")
        assert exposed(grid, present, k) == [], (scale, wave)  # independent attacker
    hidden = {s: set(g.loc[g["published"].isna(), "kommune"])
              for s, g in table[table["wave"] == "w2016"].groupby("scale")}
    assert len({frozenset(v) for v in hidden.values()}) == 1
    page = out.html.read_text(encoding="utf-8")
    assert "Få svar" in page


def test_a_kommune_hidden_in_another_scale_is_not_left_alone(study):
    """In one wave kommune X is the only one with scored respondents in the first scale (3:
    X and the network total are hidden) and has 6 in the second, next to Y's 20. X is hidden
    in the second scale too (n's that agree across scales must not give it away); alone
    there it would be the total minus Y: Y is hidden too, and the independent attacker
    learns nothing from any line. Zeros stay published."""
    kommuner = sorted(study.network)
    scales, wave = list(study.survey.scales)[:2], study.wave_ids[1]
    x = kommuner[0]
    rows = []
    for scale in scales:
        for w in study.wave_ids:
            for kom in kommuner:
                n = 20
                if w == wave:
                    n = {x: 3 if scale == scales[0] else 6,
                         kommuner[1]: 0 if scale == scales[0] else 20}.get(kom, 0)
                rows += [(scale, w, kom, f"{kom}-{w}-{i}", 3.0) for i in range(n)]
    scores = pd.DataFrame(rows, columns=["scale", "wave", "kommune", "respondent_id", "score"])
    table = P.survey_n_published(scores, study)
    k = study.small_cell_threshold
    first = table[(table["scale"] == scales[0]) & (table["wave"] == wave)]
    assert first.set_index("kommune")["suppressed"].dropna().to_dict() == {
        x: "primary", "Total": "primary"}
    second = table[(table["scale"] == scales[1]) & (table["wave"] == wave)]
    assert second.set_index("kommune")["suppressed"].dropna().to_dict() == {
        x: "secondary", kommuner[1]: "secondary"}
    assert (second.loc[second["n"] == 0, "published"] == 0).all()
    for (scale, w), line in table.groupby(["scale", "wave"]):
        grid, present, _, _ = grid_from_long(line, "kommune", None, "published")
        assert exposed(grid, present, k) == [], (scale, w)
        assert recoverable_cells(line, rows="kommune") == [], (scale, w)


def test_small_registry_counts_are_suppressed(study, tmp_path):
    panel, scores = library_outputs()
    p = panel.copy()
    own = (p["kommune"] == KOMMUNE) & (p["indicator"] == "neet_15_29")
    last = int(p.loc[own & p["value"].notna(), "year"].max())
    sel = own & (p["year"] == last)
    p.loc[sel, "numerator"] = 3
    p.loc[sel, "value"] = 3 / p.loc[sel, "denominator"] * 100
    # and a year where the complement (denominator - numerator) is small
    sel2 = own & (p["year"] == last - 1)
    p.loc[sel2, "numerator"] = p.loc[sel2, "denominator"] - 2
    p.loc[sel2, "value"] = p.loc[sel2, "numerator"] / p.loc[sel2, "denominator"] * 100
    out = P.build_kommune_profile(study, KOMMUNE, p, scores, out_dir=tmp_path)
    ind = pd.read_csv(out.tables["indicators"]).set_index("indicator")
    assert np.isnan(ind.loc["neet_15_29", "kommune"])
    assert bool(ind.loc["neet_15_29", "kommune_suppressed"])
    assert not np.isnan(ind.loc["neet_15_29", "network"])  # pooled rate still shown
    tr = pd.read_csv(out.tables["trends"])
    mine = tr[(tr["group"] == "kommune") & (tr["indicator"] == "neet_15_29")].set_index("year")
    assert np.isnan(mine.loc[last, "value"]) and np.isnan(mine.loc[last - 1, "value"])
    p_own = p[own].set_index("year")["value"]
    rest = mine.drop([last, last - 1])["value"]
    np.testing.assert_allclose(rest, p_own.reindex(rest.index))  # other years as in the panel
    assert not {"numerator", "denominator"} & set(tr.columns)  # counts are never published
    page = out.html.read_text(encoding="utf-8")
    assert "kommunens verdi for" in page and "er prikket" in page


# --------------------------------------------------------------------------------------------
# labels and the rendered page


def test_labels_follow_the_study_language(study, tmp_path):
    panel, scores = library_outputs()
    nb = P.build_kommune_profile(study, KOMMUNE, panel, scores, out_dir=tmp_path / "nb")
    en = P.build_kommune_profile(_english(study), KOMMUNE, panel, scores,
                                 out_dir=tmp_path / "en")
    nb_text = chromium.visible_text(nb.html.read_text(encoding="utf-8"))
    en_text = chromium.visible_text(en.html.read_text(encoding="utf-8"))
    for label in ("Kommuneprofil: Ørsta", "Indikatorer", "Nettverket", "Sammenligning",
                  "Landet", "ikke tilgjengelig", "Fullført videregående innen 5 år (%)",
                  "Samarbeidskvalitet"):
        assert label in nb_text
    for label in ("Municipality profile: Ørsta", "Indicators", "Network", "Comparison",
                  "Country", "not available", "Upper secondary completed within 5 years (%)",
                  "Collaboration quality"):
        assert label in en_text
    ind = pd.read_csv(nb.tables["indicators"]).iloc[0]
    assert f"{ind['kommune']:.1f}".replace(".", ",") in nb_text
    assert f"{ind['kommune']:.1f}" in en_text
    assert "<html lang='en'>" in en.html.read_text(encoding="utf-8")


def test_profile_page_as_rendered_by_chromium(study, tmp_path):
    panel, scores = library_outputs()
    out = P.build_kommune_profile(study, KOMMUNE, panel, scores, out_dir=tmp_path)
    text = chromium.visible_text(chromium.dump_dom(out.html))
    assert "Kommuneprofil: Ørsta" in text
    for cfg in study.registry.indicators.values():
        assert cfg.label.nb in text
    ind = pd.read_csv(out.tables["indicators"])
    for v in ind["network"]:
        assert f"{v:.1f}".replace(".", ",") in text  # decimal comma
    assert "SYNTETISKE" in text
    png = chromium.screenshot(out.html, tmp_path / "profile.png", width=1000, height=2400)
    st = chromium.png_stats(png)
    assert st.distinct_colours > 50 and st.non_white_share > 0.03  # figures drawn
    pdf = chromium.print_pdf(out.html, tmp_path / "profile.pdf")
    sizes = chromium.pdf_page_sizes(pdf)
    assert sizes and all(abs(w - 595.28) < 1 and abs(h - 841.89) < 1 for w, h in sizes)


def test_not_a_network_kommune_is_a_clear_error(study):
    panel, scores = library_outputs()
    with pytest.raises(ValueError, match="1505.*not a network kommune"):
        P.profile_tables(study, "1505", panel, scores)


# --------------------------------------------------------------------------------------------
# Dagster


def test_partitions_are_the_network_kommuner(study):
    from assets.profiles import PROFILE_JOB, profile_definitions

    assets, jobs = profile_definitions(study)
    (asset,) = assets
    assert asset.partitions_def.get_partition_keys() == sorted(study.network)
    assert len(sorted(study.network)) == 9
    assert jobs[0].name == PROFILE_JOB
    assert asset.backfill_policy.max_partitions_per_run >= 1  # see the next test


DEFS_MODULE = '''
import dagster as dg
from assets.definitions import ALL_MODULES
from assets.profiles import profile_definitions
from assets.resources import StudyResource, default_study_path, load_study
from assets.warehouse_io import io_manager_for

study = load_study(default_study_path())
profile_assets, profile_jobs = profile_definitions(study)
defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules(ALL_MODULES), *profile_assets],
    jobs=profile_jobs,
    resources={"study": StudyResource(study_path=str(study.source_file)),
               "io_manager": io_manager_for(study)},
    executor=dg.in_process_executor,
)
'''


def test_kommuner_per_run_and_run_ranges(study, monkeypatch):
    """A backfill of all kommuner is split into EVALUATION_PROFILE_RUNS runs (default the CPU
    count, one fewer beside a command-line run); a run's partition range covers the kommuner
    between its ends, inclusive."""
    import dagster as dg

    from assets.profile_workers import run_partitions
    from assets.profiles import kommuner_per_run, profile_definitions

    order = sorted(study.network)  # 9 kommuner
    for runs, per_run in (("1", 9), ("2", 5), ("4", 3), ("9", 1), ("50", 1)):
        monkeypatch.setenv("EVALUATION_PROFILE_RUNS", runs)
        assert kommuner_per_run(study) == per_run
    monkeypatch.setenv("EVALUATION_PROFILE_RUNS", "2")
    (asset,), _ = profile_definitions(study)
    assert asset.backfill_policy.max_partitions_per_run == 5
    monkeypatch.setenv("EVALUATION_PROFILE_RUNS", "zero")
    with pytest.raises(ValueError, match="EVALUATION_PROFILE_RUNS"):
        kommuner_per_run(study)
    # beside a run of the command line: one CPU fewer by default (at least 1), as set if set
    from assets.profiles import profile_runs

    monkeypatch.delenv("EVALUATION_PROFILE_RUNS")
    for cpus, alone, beside in ((1, 1, 1), (2, 2, 1), (8, 8, 7)):
        monkeypatch.setattr("os.cpu_count", lambda c=cpus: c)
        assert (profile_runs(), profile_runs(beside_a_run=True)) == (alone, beside)
    monkeypatch.setenv("EVALUATION_PROFILE_RUNS", "3")
    assert profile_runs(beside_a_run=True) == 3
    ranged = dg.DagsterRun(job_name="kommune_profiles_job", tags={
        "dagster/asset_partition_range_start": order[1],
        "dagster/asset_partition_range_end": order[4]})
    assert run_partitions(ranged, order) == order[1:5]
    single = dg.DagsterRun(job_name="kommune_profiles_job", tags={"dagster/partition": "1577"})
    assert run_partitions(single, order) == ["1577"]
    # chunks: neighbours in the partition order, about `runs` of them
    from assets.profile_workers import profile_chunks

    assert profile_chunks(order, order, 2) == [order[:5], order[5:]]
    assert profile_chunks(order, order, 50) == [[k] for k in order]
    assert profile_chunks([order[0], order[3], order[4]], order, 1) == [[order[0]],
                                                                        order[3:5]]


def test_two_kommuner_run_concurrently_through_dagster(tmp_path, monkeypatch):
    import dagster as dg

    from assets.profile_workers import BATCH_TAG, run_partitions, start_profiles

    study_dir = chromium.example_run()  # the example materialized end to end (shared)
    home = study_dir.parent / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # 2 runs for all 9 kommuner (5 + 4 per run); 1508 and 1520 are not neighbours in the
    # partition order (1515, 1516 lie between), so the two make two runs
    monkeypatch.setenv("EVALUATION_PROFILE_RUNS", "2")
    monkeypatch.setenv("EVALUATION_STUDY", str(study_dir / "study.yaml"))
    module = tmp_path / "profile_defs.py"
    module.write_text(DEFS_MODULE, encoding="utf-8")
    study = Study.load(study_dir)
    keys = ["1508", "1520"]
    with dg.DagsterInstance.get() as instance:
        workers = start_profiles(instance, study, python_file=str(module), partitions=keys)
        # both worker processes run at once: launched together, neither waited for (a
        # worker imports Dagster and the definitions for seconds before its run starts; the
        # runs' own timestamps cannot show the overlap, one kommune takes about a second)
        assert len(workers.pool.procs) == 2 and all(p.poll() is None for p in workers.pool.procs)
        status = workers.wait(timeout=900)
        assert status == {k: "SUCCESS" for k in keys}
        (newest,) = instance.get_runs(filters=dg.RunsFilter(job_name="kommune_profiles_job"),
                                      limit=1)
        runs = instance.get_runs(filters=dg.RunsFilter(
            tags={BATCH_TAG: newest.tags[BATCH_TAG]}))
        order = sorted(study.network)
        assert sorted(k for r in runs for k in run_partitions(r, order)) == keys
        # each run was executed by its own worker process, not by this one
        pids = {run.run_id: {e.dagster_event.pid for e in instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)} for run in runs}
        assert all(len(p) == 1 for p in pids.values())
        run_pids = {p for ps in pids.values() for p in ps}
        assert len(run_pids) == 2 and os.getpid() not in run_pids
        assert run_pids == {p.pid for p in workers.pool.procs}
        mat = instance.fetch_materializations(
            dg.AssetKey("kommune_profile"), limit=10).records
        assert set(keys) <= {m.partition_key for m in mat}
        meta = next(m for m in mat if m.partition_key == "1520").asset_materialization.metadata
        assert Path(meta["profile"].value).name == "1520-orsta.html"
        assert "Ørsta" in meta["preview"].value and "main_figure" in meta
    page = study_dir / "output" / "profiles" / "1520-orsta.html"
    assert page.exists() and (study_dir / "output" / "profiles" / "1508-alesund.html").exists()
    # the page Dagster wrote holds the same numbers as the library on the same inputs
    panel, scores = library_outputs()
    ind = pd.read_csv(study_dir / "output" / "profiles" / "1520-orsta" / "indicators.csv")
    lib = P.profile_tables(study, "1520", panel, scores).indicators
    np.testing.assert_allclose(ind["network"], lib["network"])
    assert os.environ["DAGSTER_HOME"] == str(home)


def test_a_failing_profile_worker_is_reported(study, tmp_path, monkeypatch):
    """A worker that cannot load the definitions: run_profiles raises with the worker's own
    error message, instead of reporting the kommuner as failed runs."""
    import dagster as dg

    from assets.profile_workers import run_profiles

    bad = tmp_path / "bad_defs.py"
    bad.write_text("raise RuntimeError('no definitions in this file')\n", encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        with pytest.raises(RuntimeError, match="no definitions in this file"):
            run_profiles(instance, study, python_file=str(bad),
                         partitions=[P.profile_kommuner(study)[0]], timeout=300)
        assert instance.get_runs() == []


def test_shared_group_rows_give_the_same_tables(study):
    """Profiles built in one run share the network and comparison rows (computed once): every
    kommune's tables equal those built alone."""
    panel, scores = library_outputs()
    shared: dict = {}
    for kommune in P.profile_kommuner(study):
        alone = P.profile_tables(study, kommune, panel, scores)
        together = P.profile_tables(study, kommune, panel, scores, shared=shared)
        for name, df in alone.as_dict().items():
            pd.testing.assert_frame_equal(df.reset_index(drop=True),
                                          together.as_dict()[name].reset_index(drop=True))
    assert ("registry_group", next(iter(study.registry.indicators)), "network") in shared


def test_figures_reused_across_kommuner_draw_what_a_new_figure_draws(study):
    """A run draws each profile figure once and re-uses it for every kommune (only the
    kommune's line, join year, legend name and the axis limits change): every kommune's PNG is
    pixel for pixel the one a figure built for it alone gives, also after kommuner with other
    join years, suppressed survey cells and a missing indicator; the kommune's line holds its
    published (unsuppressed) values."""
    from matplotlib.figure import Figure
    from PIL import Image

    def pixels(png: bytes) -> np.ndarray:
        return np.asarray(Image.open(__import__("io").BytesIO(png)))

    panel, scores = library_outputs()
    kommuner = P.profile_kommuner(study)
    tiny = _tiny(scores, KOMMUNE, "w2016", keep=3)
    first = next(iter(study.registry.indicators))
    # the last kommune has no values for the first indicator (its panel shows no own line)
    gap = panel[~((panel["kommune"] == kommuner[-1]) & (panel["indicator"] == first))]
    for data_panel, data_scores in ((panel, scores), (gap, tiny)):
        shared: dict = {}
        joins = set()
        for kommune in kommuner + kommuner[:1]:
            tabs = P.profile_tables(study, kommune, data_panel, data_scores, shared=shared)
            again = P.trends_png(tabs, study, shared)
            alone = P.trends_png(tabs, study)
            assert np.array_equal(pixels(again), pixels(alone)), kommune
            s_again, s_alone = P.survey_png(tabs, study, shared), P.survey_png(tabs, study)
            assert np.array_equal(pixels(s_again), pixels(s_alone)), kommune
            joins.add(study.network[kommune])
            (trends_fig,) = [f for k, f in shared["figures"].items() if k[0] == "trends"]
            own = tabs.trends[tabs.trends["group"] == "kommune"]
            inds = [i for i in study.registry.indicators if i in set(tabs.trends["indicator"])]
            # axis limits as matplotlib autoscales a figure drawn for this kommune alone: y per
            # panel from its lines, x shared by all panels (and the join and break lines)
            everything = Figure().add_subplot()
            for ax, line, ind in zip(trends_fig.axes, trends_fig.own, inds, strict=True):
                want = own[own["indicator"] == ind].sort_values("year")
                np.testing.assert_array_equal(line.get_xdata(), want["year"].to_numpy())
                np.testing.assert_array_equal(line.get_ydata(),
                                              want["value"].astype(float).to_numpy())
                alone_ax = Figure().add_subplot()
                rows = tabs.trends[tabs.trends["indicator"] == ind]
                for _, d in rows.groupby("group"):
                    d = d.sort_values("year")
                    for a in (alone_ax, everything):
                        a.plot(d["year"], d["value"].astype(float), marker="o")
                for x in [study.network[kommune]] + study.registry.indicators[ind].breaks:
                    everything.axvline(x - 0.5)
                np.testing.assert_allclose(ax.get_ylim(), alone_ax.get_ylim(), rtol=1e-12)
            np.testing.assert_allclose(trends_fig.axes[0].get_xlim(), everything.get_xlim(),
                                       rtol=1e-12)
        assert len(joins) > 1  # the join line moved between kommuner


def test_trends_figure_is_taken_from_the_cache_when_nothing_it_shows_changed(
        study, tmp_path, monkeypatch):
    """A new survey wave does not change the registry: the next run takes each kommune's
    trends figure from the figure cache (the same PNG) instead of drawing it. A changed value,
    label language or join year draws anew and replaces the kept figure."""
    panel, scores = library_outputs()
    cache = tmp_path / "cache"
    tabs = P.profile_tables(study, KOMMUNE, panel, scores)
    first = P.trends_png(tabs, study, cache_dir=cache)
    assert first == P.trends_png(tabs, study)  # the same as drawn without a cache
    assert len(list(cache.glob("*.png"))) == 1 and not list(cache.glob(".*tmp"))
    drawn = []
    real = profile_figures._draw_trends
    monkeypatch.setattr(profile_figures, "_draw_trends",
                        lambda *a: drawn.append(1) or real(*a))
    # a new wave: other survey scores, the same registry -> from the cache
    fewer = scores[scores["wave"] != study.followup_waves[-1]]
    again = P.profile_tables(study, KOMMUNE, panel, fewer)
    assert P.trends_png(again, study, cache_dir=cache) == first and drawn == []
    # a changed registry value of the kommune -> drawn again, the old figure replaced
    changed = panel.copy()
    row = changed.index[(changed["kommune"] == KOMMUNE) & changed["value"].notna()][0]
    changed.loc[row, "value"] = changed.loc[row, "value"] * 1.5
    changed.loc[row, ["numerator", "denominator"]] = np.nan
    new_tabs = P.profile_tables(study, KOMMUNE, changed, scores)
    new_png = P.trends_png(new_tabs, study, cache_dir=cache)
    assert drawn == [1] and new_png != first and len(list(cache.glob("*.png"))) == 1
    # English labels, another join year -> drawn again
    P.trends_png(new_tabs, _english(study), cache_dir=cache)
    moved = study.model_copy(update={"network": {**study.network, KOMMUNE: 2017}})
    P.trends_png(new_tabs, moved, cache_dir=cache)
    assert drawn == [1, 1, 1]


# --------------------------------------------------------------------------------------------
# the registry files' country and fylke lines (the real Telemark example, FHI files unchanged)

TELEMARK = EXAMPLE.parent / "telemark"


@lru_cache(maxsize=1)
def telemark_outputs() -> tuple[Study, pd.DataFrame, pd.DataFrame]:
    """The Telemark example's registry panel and reference series, as the registry_panel and
    registry_reference assets hold them."""
    from evaluation_pipeline.observations import read_indicators

    s = Study.load(TELEMARK)
    observations, reference, failures = read_indicators(s)
    assert not failures
    inds = s.registry.indicators
    obs = add_rates(harmonize(observations, s.geography_year,
                              age_groups={k: v.age_group for k, v in inds.items()}),
                    {k: v.per for k, v in inds.items()})
    return s, registry_panels(obs, s), reference


def _fhi_rows(file: str, area: str, value: str, per: float, **keep) -> pd.Series:
    """value × per by year of one area's rows of an FHI file, read with pandas alone."""
    src = pd.read_csv(TELEMARK / "landing" / "registry" / file)
    rows = src[src["Geografi"] == area]
    for col, v in keep.items():
        rows = rows[rows[col] == v]
    years = rows["År"].astype(str).str[:4].astype(int)
    # (Ungdata writes a status symbol such as ':' where a value is suppressed)
    values = pd.to_numeric(rows[value], errors="coerce") * per
    return pd.Series(values.to_numpy(), index=years.to_numpy()).sort_index()


def test_profile_trends_draw_the_country_and_fylke_lines_of_the_files(tmp_path):
    s, panel, reference = telemark_outputs()
    shared: dict = {}
    out = P.build_kommune_profile(s, "4001", panel, national=reference, out_dir=tmp_path,
                                  shared=shared)
    trends = pd.read_csv(out.tables["trends"], dtype={"area": str})
    expected = {
        # FHI writes the share as a proportion: per 1,000 like the kommune values (0.043 -> 43)
        "barnevern_tiltak_0_17": ("fhi_barnevern_tiltak_0-17_telemark.csv", "Andel", 1000, {}),
        # Ungdata: percent, kjønn samlet (the study's filter)
        "psykiske_plager": ("fhi_ungdata_psykiske_plager_ungdom.csv", "value", 1,
                            {"Kjønn": "kjønn samlet"}),
    }
    fig = next(f for k, f in shared["figures"].items() if k[0] == "trends")
    inds = [i for i in s.registry.indicators if i in set(trends["indicator"])]
    for ind, (file, col, per, keep) in expected.items():
        ax = fig.axes[inds.index(ind)]
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        for group, area, label in (("country", "Hele landet", "Hele landet"),
                                   ("fylke", "Telemark", "Telemark")):
            want = _fhi_rows(file, area, col, per, **keep).dropna()
            got = trends[(trends["indicator"] == ind) & (trends["group"] == group)]
            assert set(got["area"]) == {area}
            got = got.set_index("year")["value"].sort_index()
            np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
            assert list(got.index) == list(want.index)
            # drawn: the country solid, the fylke dashed, on the kommune values' scale
            np.testing.assert_allclose(lines[label].get_ydata(), want.to_numpy(), rtol=1e-12)
            np.testing.assert_array_equal(lines[label].get_xdata(), want.index.to_numpy())
            assert lines[label].get_linestyle() == ("-" if group == "country" else "--")
        own = trends[(trends["indicator"] == ind) & (trends["group"] == "kommune")]
        assert own["value"].notna().any() and lines["Nettverket"].get_ydata().size
    # Porsgrunn 2015 is 52 per 1,000 beside the country's 43 (the same scale)
    bv = trends[(trends["indicator"] == "barnevern_tiltak_0_17") & (trends["year"] == 2015)]
    assert bv.set_index("group").loc[["kommune", "country"], "value"].tolist() == \
        pytest.approx([52.0, 43.0])
    # the barometer's country column is the file's country value now, and no "not available"
    bar = out.tables["indicators"]
    ind = pd.read_csv(bar).set_index("indicator")
    bv_last = int(ind.loc["barnevern_tiltak_0_17", "year"])
    assert ind.loc["barnevern_tiltak_0_17", "country"] == pytest.approx(
        _fhi_rows(expected["barnevern_tiltak_0_17"][0], "Hele landet", "Andel", 1000)[bv_last])
    page = out.html.read_text(encoding="utf-8")
    assert report_label("profile.country_na", "nb") not in page
    assert "Hele landet, Telemark: fra registerfilene (samme skala som kommunens verdier)." \
        in page


def test_profile_reference_lines_in_english_and_only_the_kommunes_fylke(tmp_path):
    s, panel, reference = telemark_outputs()
    en = s.model_copy(update={"language": "en"})
    shared: dict = {}
    P.build_kommune_profile(en, "4003", panel, national=reference, out_dir=tmp_path,
                            shared=shared)
    fig = next(f for k, f in shared["figures"].items() if k[0] == "trends")
    labels = {ln.get_label() for ln in fig.axes[0].get_lines()}
    assert {"Network", "Comparison", "Country", "Telemark"} <= labels
    # a fylke row of another fylke (a file covering two fylker) is not drawn
    other = reference[reference["area"] == "Telemark"].assign(area="Vestland")
    rows = P.reference_rows(pd.concat([reference, other]), s, "4003")
    assert set(rows["area"]) == {"Hele landet", "Telemark"}
    assert set(P.reference_rows(other, s, "4003")["area"]) == set()


def test_profile_figure_cache_key_includes_the_reference_lines():
    s, panel, reference = telemark_outputs()
    without = P.profile_tables(s, "4001", panel, None)
    with_ref = P.profile_tables(s, "4001", panel, None, national=reference)
    changed = reference.copy()
    changed.loc[changed["area"] == "Hele landet", "value"] += 1.0
    other = P.profile_tables(s, "4001", panel, None, national=changed)
    keys = {profile_figures._trends_fingerprint(t, s) for t in (without, with_ref, other)}
    assert len(keys) == 3
