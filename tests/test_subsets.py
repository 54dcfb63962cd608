"""Studies with some of the evidence (issue #22): registry only, survey only, interviews only and
a mix run end to end; absent sources build nothing and have no report section; an indicator that
cannot be estimated gets "insufficient data" with its reason while everything else runs; a source
that fails its blocking contract check leaves the rest of the report.

Each study variant is derived from the shipped example (examples/sunnmore) and run once per
module (``evaluation-pipeline run``, ~15 s each)."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import EXAMPLE, run_cli

from assets.definitions import SOURCE_ASSETS, WAVE_JOB, build_definitions
from evaluation_pipeline.errors import StudyConfigError
from evaluation_pipeline.study import Study

LANDING = {"survey": "surveys", "interviews": "interviews", "registry": "registry"}
#: the study.yaml section a logic-chain reference's source lives in
SOURCE_OF_REF = {"network": "survey"}
#: the assets every study has, whatever its evidence
COMMON = {"kommune_codes", "study_kommuner", "effects", "logic_chain_evidence", "study_report"}
#: report sections (anchors) in their order
SECTIONS = ["design", "validation", "logic-chain", "survey", "network", "registry", "interviews",
            "methods", "caveats"]
#: a table of each source in <output>/tables
SOURCE_TABLE = {"survey": "survey_scale_means.csv", "registry": "registry_group_rates.csv",
                "interviews": "interview_theme_counts.csv"}
METHODS = {"survey": "Spørreundersøkelse: skåre per skala", "registry": "Registerdata: "
           "forskjell-i-forskjeller", "interviews": "Intervjuer: andel intervjuer"}


def make_variant(dest: Path, keep: set[str], *, demo_key: bool = True) -> Path:
    """A copy of the example study with only the ``keep`` sections (survey, interviews,
    registry), their landing folders and the logic-chain elements that bind them."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    data = yaml.safe_load((dest / "study.yaml").read_text(encoding="utf-8"))
    for src in ("survey", "interviews", "registry"):
        if src not in keep:
            del data[src]
            shutil.rmtree(dest / "landing" / LANDING[src])
    chain = data["logic_chain"]
    for level in ("outputs", "outcomes", "impact"):
        for el in chain[level]:
            # network:<outcome> is the survey's collaboration roster
            el["indicators"] = [r for r in el["indicators"]
                                if SOURCE_OF_REF.get(r.split(":")[0], r.split(":")[0]) in keep]
        chain[level] = [el for el in chain[level] if el["indicators"]]
    if not demo_key:
        del data["privacy"]
    _write(dest, data)
    return dest


def _write(study: Path, data: dict) -> None:
    (study / "study.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                      encoding="utf-8")


def only_years_after_the_joins(study: Path) -> None:
    """The study's only registry indicator is neet_15_29, read from a copy of its PxWeb file
    with only the years from the last join (2017) on: no network kommune has a year before it
    joined (2013, 2015, 2017)."""
    src = study / "landing" / "registry" / "ssb_13563_neet.csv"
    lines = src.read_bytes().decode("latin-1").split("\r\n")
    header = lines[2].split(";")
    keep = [i for i, h in enumerate(header) if not h.strip('"').isdigit()
            or int(h.strip('"')) >= 2017]
    out = [";".join(ln.split(";")[i] for i in keep) if i_ln >= 2 and ln else ln
           for i_ln, ln in enumerate(lines)]
    (study / "landing" / "registry" / "neet_after_joins.csv").write_bytes(
        "\r\n".join(out).encode("latin-1"))
    data = yaml.safe_load((study / "study.yaml").read_text(encoding="utf-8"))
    neet = data["registry"]["indicators"]["neet_15_29"]
    data["registry"]["indicators"] = {
        "neet_15_29": {**neet, "file": "landing/registry/neet_after_joins.csv"}}
    data["logic_chain"]["impact"] = [el for el in data["logic_chain"]["impact"]
                                     if el["indicators"] == ["registry:neet_15_29"]]
    # and a theme nobody coded: no Effect row at all
    data["logic_chain"]["outputs"].append({"name": "Felles språk",
                                           "indicators": ["interviews:Felles språk"]})
    _write(study, data)


def numerator_above_denominator(study: Path) -> None:
    """One NEET count above its population (Molde 2021): the registry contract's row rule
    numerator_not_above_denominator fails and study.yaml tolerates no rejected row."""
    src = study / "landing" / "registry" / "ssb_13563_neet.csv"
    lines = src.read_bytes().decode("latin-1").split("\r\n")
    i = next(i for i, ln in enumerate(lines)
             if ln.startswith('"K-1506 Molde"') and "utenfor" in ln)
    cells = lines[i].split(";")
    cells[-5] = "99999"
    lines[i] = ";".join(cells)
    src.write_bytes("\r\n".join(lines).encode("latin-1"))


@dataclass
class Run:
    rc: int
    study: Path
    out: str
    err: str
    materialized: set[str]

    def table(self, name: str) -> pd.DataFrame:
        con = duckdb.connect(str(self.study / "output" / "warehouse.duckdb"), read_only=True)
        try:
            return con.execute(f"select * from evaluation.{name}").df()
        finally:
            con.close()

    @property
    def report(self) -> str:
        return (self.study / "output" / "report" / "rapport.html").read_text(encoding="utf-8")

    def sections(self) -> list[str]:
        import re

        return re.findall(r"<h2 id='([a-z-]+)'", self.report)

    def section_text(self, anchor: str) -> str:
        import re

        html = self.report
        start = html.index(f"<h2 id='{anchor}'")
        nxt = html.find("<h2 id=", start + 5)
        return re.sub(r"<[^>]+>", " ", html[start:nxt if nxt > 0 else None])


ALL_KEYS = {k.to_user_string() for k in
            build_definitions(str(EXAMPLE / "study.yaml")).resolve_asset_graph()
            .get_all_asset_keys()}


def _run(tmp_path_factory, name: str, keep: set[str], edit=None, *, no_key: bool = False
         ) -> Run:
    tmp = tmp_path_factory.mktemp(name)
    study = make_variant(tmp / "study", keep, demo_key=not no_key)
    if edit is not None:
        edit(study)
    # no person-level data read (no_key): no pseudonym key needed
    rc, out, err, done = run_cli(study, tmp, no_key=no_key, inspect=_materialized)
    return Run(rc, study, out, err, done)


def _materialized(instance) -> set[str]:
    return {k for k in ALL_KEYS
            if instance.get_latest_materialization_event(dg.AssetKey(k)) is not None}


def _expected(keep: set[str]) -> set[str]:
    profiles = {"kommune_profile"} if keep & {"survey", "registry"} else set()
    # the example's survey has a collaboration roster: the network comes with it
    keep = keep | ({"network"} if "survey" in keep else set())
    return COMMON | profiles | set().union(*(SOURCE_ASSETS[s] for s in keep))


def _check_report(run: Run, keep: set[str]) -> None:
    # (the example's survey has a collaboration roster: its section comes with the survey)
    shown = keep | ({"network"} if "survey" in keep else set())
    assert run.sections() == [s for s in SECTIONS
                              if s not in ("survey", "network", "registry", "interviews")
                              or s in shown]
    methods = run.section_text("methods")
    for src, text in METHODS.items():
        assert (text in methods) == (src in keep), src
    tables = run.study / "output" / "tables"
    for src, name in SOURCE_TABLE.items():
        assert (tables / name).exists() == (src in keep), name


@pytest.fixture(scope="module")
def registry_only(tmp_path_factory):
    return _run(tmp_path_factory, "registry_only", {"registry"}, no_key=True)


@pytest.fixture(scope="module")
def survey_only(tmp_path_factory):
    return _run(tmp_path_factory, "survey_only", {"survey"})


@pytest.fixture(scope="module")
def interviews_only(tmp_path_factory):
    return _run(tmp_path_factory, "interviews_only", {"interviews"})


@pytest.fixture(scope="module")
def after_joins(tmp_path_factory):
    return _run(tmp_path_factory, "after_joins", {"registry", "interviews"},
                only_years_after_the_joins)


@pytest.fixture(scope="module")
def broken_registry(tmp_path_factory):
    return _run(tmp_path_factory, "broken_registry", {"registry", "interviews"},
                numerator_above_denominator)


# --------------------------------------------------------------------------------------------
# one source of evidence


def test_registry_only_study_runs_without_a_pseudonym_key(registry_only):
    run = registry_only
    assert run.rc == 0, run.err
    assert "EVALUATION_PSEUDONYM_KEY" not in run.err and "PrivacyError" not in run.err
    assert run.materialized == _expected({"registry"})
    _check_report(run, {"registry"})
    assert "done: " in run.out and "profiles 9/9 done" in run.out
    assert len(list((run.study / "output" / "profiles").glob("*.html"))) == 9
    # the three indicators estimated, and the logic chain only about the registry
    eff = run.table("effects")
    assert set(eff["source"]) == {"registry"} and eff["estimate"].notna().all()
    chain = run.table("logic_chain_evidence")
    assert set(chain["source"]) == {"registry"}
    assert set(chain["indicator"]) == {"completion_5y", "neet_15_29", "cw_measures_0_17"}
    assert "warnings:" not in run.out


def test_survey_only_study_runs(survey_only):
    run = survey_only
    assert run.rc == 0, run.err
    assert run.materialized == _expected({"survey"})
    _check_report(run, {"survey"})
    assert set(run.table("effects")["source"]) == {"survey", "network"}
    assert set(run.table("logic_chain_evidence")["indicator"]) == {
        "samarbeid", "felles_forstaelse", "density", "tie:skole-barnevern",
        "tie:barnevern-helsestasjon"}
    # the profiles show the survey change (no registry panel)
    assert len(list((run.study / "output" / "profiles").glob("*.html"))) == 9


def test_interviews_only_study_runs_without_profiles(interviews_only):
    run = interviews_only
    assert run.rc == 0, run.err
    assert run.materialized == _expected({"interviews"})
    assert "kommune_profile" not in run.materialized
    _check_report(run, {"interviews"})
    assert "profiles" not in run.out and not (run.study / "output" / "profiles").exists()
    shifts = run.table("effects")
    assert set(shifts["source"]) == {"interviews"} and shifts["estimate"].notna().any()
    # no registry caveats (harmonized estimates, definition breaks, few clusters)
    caveats = run.section_text("caveats")
    assert "Ålesund 1507" not in caveats and "Brudd i statistikken" not in caveats
    assert "klynger" not in caveats


def test_definitions_hold_only_the_present_sources(tmp_path):
    """The code location of a registry-only (or interviews-only) study loads (as the UI loads
    it) with only that source's assets, and the combining assets take only its inputs."""
    study = make_variant(tmp_path / "s", {"registry"})
    defs = build_definitions(str(study / "study.yaml"))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == _expected({"registry"})
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey("study_report")).parent_keys}
    assert parents == {"effects", "logic_chain_evidence", "registry_group_rates",
                       "registry_event_study", "registry_pretrend_tests",
                       "registry_observations_valid", "registry_observations_rejected",
                       "registry_reference", "registry_sensitivity", "registry_breakdown"}
    assert {k.to_user_string() for k in graph.get(dg.AssetKey("effects")).parent_keys} == {
        "registry_effects"}
    assert {k.to_user_string() for k in graph.get(dg.AssetKey("kommune_profile")).parent_keys
            } == {"registry_panel", "registry_reference"}
    jobs = {j.name for j in defs.jobs}
    assert WAVE_JOB not in jobs and "study_job" in jobs and "registry_refresh_job" in jobs
    assert {s.name for s in defs.sensors} == {"automation_sensor"}
    # interviews only: no profile (nothing to show per kommune), no registry schedule
    study = make_variant(tmp_path / "i", {"interviews"})
    defs = build_definitions(str(study / "study.yaml"))
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == _expected({"interviews"})
    assert not defs.schedules and "kommune_profiles_job" not in {j.name for j in defs.jobs}


# --------------------------------------------------------------------------------------------
# study.yaml


def test_logic_chain_may_only_reference_present_sources(tmp_path):
    study = make_variant(tmp_path / "s", {"registry"})
    data = yaml.safe_load((study / "study.yaml").read_text(encoding="utf-8"))
    data["logic_chain"]["outcomes"] = [{"name": "Bedre samhandling",
                                        "indicators": ["survey:samarbeid"]}]
    _write(study, data)
    with pytest.raises(StudyConfigError) as err:
        Study.load(study)
    msg = str(err.value)
    assert "'Bedre samhandling'" in msg and "'survey:samarbeid'" in msg
    assert "no 'survey' section" in msg and "study.yaml" in msg
    data["logic_chain"]["outcomes"] = [{"name": "Rutiner",
                                        "indicators": ["interviews:Felles rutiner"]}]
    _write(study, data)
    with pytest.raises(StudyConfigError, match="'Rutiner'.*no 'interviews' section"):
        Study.load(study)


def test_pseudonym_key_only_for_person_level_data(tmp_path, monkeypatch):
    from evaluation_pipeline.privacy import PrivacyError, pseudonym_key, reads_personal_data

    monkeypatch.delenv("EVALUATION_PSEUDONYM_KEY", raising=False)
    registry = Study.load(make_variant(tmp_path / "r", {"registry"}, demo_key=False))
    assert not reads_personal_data(registry)
    survey = Study.load(make_variant(tmp_path / "s", {"survey"}, demo_key=False))
    assert reads_personal_data(survey)
    with pytest.raises(PrivacyError, match="person-level data: survey answers\\)"):
        pseudonym_key(survey)


# --------------------------------------------------------------------------------------------
# failures stay local


REASON = ("registry:neet_15_29 (landing/registry/neet_after_joins.csv): no years before the "
          "first join 2013 (the file has 2017–2024; the joins are 2013, 2015, 2017)")


def test_indicator_with_only_years_after_the_joins_is_insufficient_data(after_joins):
    run = after_joins
    assert run.rc == 0, run.err
    assert run.materialized == _expected({"registry", "interviews"})
    # the warnings summary says what could not be estimated and why
    lines = run.out.splitlines()
    i = next(i for i, ln in enumerate(lines) if "warnings: 2 result(s) could not be "
             "estimated" in ln)
    assert lines[i + 1] == f"  - {REASON}"
    assert lines[i + 2] == ("  - interviews:Felles språk (logic chain 'Felles språk'): no "
                            "interview theme shift for 'Felles språk' (shifts are computed per "
                            "top-level theme, pooled over roles)")
    eff = run.table("effects")
    neet = eff[eff["source"] == "registry"]
    assert len(neet) == 2 and neet["estimate"].isna().all()
    assert all(n.startswith(f"insufficient data: {REASON}") for n in neet["note"])
    # everything else was estimated: the interview theme shifts
    themes = eff[(eff["source"] == "interviews") & (eff["group"] == "all")]
    assert themes["estimate"].notna().sum() >= 2
    chain = run.table("logic_chain_evidence").set_index("indicator")
    assert chain.loc["neet_15_29", "verdict"] == "insufficient_data"
    assert REASON in chain.loc["neet_15_29", "note"]
    assert chain.loc["Felles rutiner", "verdict"] != "insufficient_data"
    # empty outputs keep their columns in the warehouse
    es, pre = run.table("registry_event_study"), run.table("registry_pretrend_tests")
    assert es.empty and list(es.columns) == ["indicator", "estimator", "event_time", "estimate",
                                             "se", "ci_low", "ci_high", "n_obs"]
    assert pre.empty and list(pre.columns) == ["indicator", "estimator", "statistic", "df1",
                                               "df2", "p_value"]
    # the report is built and names the reason in the registry section
    _check_report(run, {"registry", "interviews"})
    assert "Kunne ikke estimeres (utilstrekkelige data): " + REASON in run.section_text(
        "registry")


def test_broken_registry_file_leaves_the_rest_of_the_report(broken_registry):
    run = broken_registry
    assert run.rc == 1  # the file must be fixed ...
    assert "check contract on registry_observations_valid failed" in run.err
    assert "numerator_not_above_denominator" in run.err
    # ... but only what depends on the registry table stopped
    # (registry_reference and registry_read_failures are made in the same step as
    # registry_observations_raw; the contract check is the validate step's, which writes
    # neither registry_observations_valid nor _rejected when it fails)
    assert not run.materialized & (SOURCE_ASSETS["registry"] - {"registry_observations_raw",
                                                                 "registry_read_failures",
                                                                 "registry_reference"})
    assert SOURCE_ASSETS["interviews"] <= run.materialized
    assert {"effects", "logic_chain_evidence", "study_report"} <= run.materialized
    assert "kommune_profile" not in run.materialized
    assert "report built without registry" in run.out and "done: " not in run.out
    assert "warnings:" not in run.out  # the registry's indicators: the failure says why
    assert run.sections() == ["design", "validation", "logic-chain", "registry", "interviews",
                              "methods", "caveats"]
    reg = run.section_text("registry")
    assert "ikke besto valideringen" in reg
    assert "contract check on registry_observations_valid failed" in reg
    assert "numerator_not_above_denominator" in reg
    assert "data:image/png;base64," in run.report.split("id='interviews'")[1]
    eff = run.table("effects")
    assert set(eff["source"]) == {"interviews"}
    chain = run.table("logic_chain_evidence")
    assert set(chain.loc[chain["source"] == "registry", "verdict"]) == {"insufficient_data"}


# --------------------------------------------------------------------------------------------
# the library's guards (no Dagster)


def _obs(years, kommuner, indicator="neet_15_29"):
    rng = np.random.default_rng(1)
    rows = [{"kommune": k, "year": y, "indicator": indicator,
             "value": float(rng.normal(10, 1)), "status": None}
            for k in kommuner for y in years]
    return pd.DataFrame(rows)


def test_registry_effects_guard_each_indicator(example_study):
    from evaluation_pipeline.analysis.registry import registry_dynamic, registry_effects

    net, comp = list(example_study.network), list(example_study.comparison)
    # neet: no year before the joins (2013, 2015, 2017); completion: network kommuner only
    # after joining (TWFE: the treatment would be collinear with the kommune effects);
    # barnevern: estimable
    obs = pd.concat([
        _obs(range(2017, 2021), net + comp),
        _obs(range(2017, 2021), net, "completion_5y"),
        _obs(range(2008, 2021), comp, "completion_5y"),
        _obs(range(2008, 2021), net + comp, "cw_measures_0_17"),
    ], ignore_index=True)
    eff = pd.DataFrame([e.__dict__ for e in registry_effects(obs, example_study)])
    by = eff.groupby("outcome")
    neet = by.get_group("neet_15_29")
    assert len(neet) == 2 and neet["estimate"].isna().all()
    assert set(neet["note"]) == {
        "insufficient data: registry:neet_15_29 (landing/registry/ssb_13563_neet.csv): no "
        "years before the first join 2013 (the file has 2017–2020; the joins are 2013, 2015, "
        "2017)"}
    comp5 = by.get_group("completion_5y")
    assert comp5["estimate"].isna().all()
    assert set(comp5["note"]) == {
        "insufficient data: registry:completion_5y (landing/registry/ssb_fullforing_vgo.json): "
        "no network kommune has a value before it joined (the network kommuner' values are "
        "from 2017 on, the first join is 2013): the network's change cannot be told from its "
        "level"}
    assert by.get_group("cw_measures_0_17")["estimate"].notna().all()
    coefs, tests = registry_dynamic(obs, example_study)
    assert set(coefs["indicator"]) == set(tests["indicator"]) == {"cw_measures_0_17"}
    # nothing estimable at all: empty frames with their columns
    coefs, tests = registry_dynamic(obs[obs["indicator"] == "neet_15_29"], example_study)
    assert coefs.empty and "event_time" in coefs.columns
    assert tests.empty and list(tests.columns) == ["indicator", "estimator", "statistic", "df1",
                                                   "df2", "p_value"]


def test_survey_effects_guard_each_scale(example_study):
    """A wave without answers to a scale: its contrasts are insufficient data with the reason;
    the other scale is estimated."""
    from evaluation_pipeline.analysis.survey import survey_effects

    rng = np.random.default_rng(2)
    rows = []
    for w in ("w2012", "w2016", "w2019"):
        for k in example_study.kommuner:
            for r in range(12):
                rows.append({"respondent_id": f"R-{w}{k}{r}", "wave": w, "kommune": k,
                             "role": "skole", "scale": "samarbeid",
                             "score": float(rng.normal(3, 0.5))})
                if w == "w2012":
                    rows.append({"respondent_id": f"R-{w}{k}{r}", "wave": w, "kommune": k,
                                 "role": "skole", "scale": "felles_forstaelse",
                                 "score": float(rng.normal(3, 0.5))})
    eff = pd.DataFrame([e.__dict__ for e in survey_effects(pd.DataFrame(rows),
                                                           example_study)])
    did = eff[eff["contrast"].str.endswith("network - comparison")]
    ff = did[did["outcome"] == "felles_forstaelse"]
    assert len(ff) == 4 and ff["estimate"].isna().all()
    assert ff["note"].str.contains("insufficient data: survey:felles_forstaelse (w2012 "
                                   "staff_w2012.sav, w2016 staff_w2016.csv)", regex=False).any()
    assert did.loc[did["outcome"] == "samarbeid", "estimate"].notna().all()


def test_an_estimator_error_stays_with_its_indicator(example_study, monkeypatch):
    """An error of an estimator (here did_twfe raising as it does for a collinear treatment)
    gives that indicator's row "insufficient data" with the indicator, file and error; the other
    estimator and the other indicators are still computed."""
    import evaluation_pipeline.analysis.registry as reg
    from evaluation_pipeline.errors import AnalysisError

    real = reg.did_twfe

    def did_twfe(panel, *args, label=None, **kw):
        if label == "neet_15_29":
            raise AnalysisError("did_twfe(value): the treatment is collinear with the unit and "
                                "year fixed effects")
        return real(panel, *args, label=label, **kw)

    monkeypatch.setattr(reg, "did_twfe", did_twfe)
    obs = pd.concat([_obs(range(2008, 2021), example_study.kommuner, ind)
                     for ind in ("neet_15_29", "cw_measures_0_17")], ignore_index=True)
    eff = pd.DataFrame([e.__dict__ for e in reg.registry_effects(obs, example_study)])
    neet = eff[eff["outcome"] == "neet_15_29"].set_index("estimator")
    twfe = neet.loc[reg.TWFE_ESTIMATOR]
    assert np.isnan(twfe["estimate"]) and twfe["note"] == (
        "insufficient data: registry:neet_15_29 (landing/registry/ssb_13563_neet.csv): "
        "did_twfe(value): the treatment is collinear with the unit and year fixed effects")
    assert np.isfinite(neet.loc[reg.CS_ESTIMATOR, "estimate"])
    assert eff.loc[eff["outcome"] == "cw_measures_0_17", "estimate"].notna().all()
    # completion_5y has no rows at all
    assert set(eff.loc[eff["outcome"] == "completion_5y", "note"]) == {
        "insufficient data: registry:completion_5y (landing/registry/ssb_fullforing_vgo.json): "
        "no rows for the study's kommuner"}


# --------------------------------------------------------------------------------------------
# real files as downloaded (examples/telemark: FHI files copied unchanged)

TELEMARK = EXAMPLE.parent / "telemark"


@pytest.fixture(scope="module")
def telemark_after_joins(tmp_path_factory):
    """The real registry-only Telemark study (FHI files unchanged), its four network kommuner
    joining in 2016: the Ungdata (2018–) and trivsel (2017–) files have no year before it, the
    barnevern file (2015–) has. Run without a pseudonymisation key."""
    tmp = tmp_path_factory.mktemp("telemark")
    study = tmp / "telemark"
    shutil.copytree(TELEMARK, study, ignore=shutil.ignore_patterns("output"))
    data = yaml.safe_load((study / "study.yaml").read_text(encoding="utf-8"))
    data["network"] = {k: 2016 for k in data["network"]}
    _write(study, data)
    rc, out, err, done = run_cli(study, tmp, no_key=True, inspect=_materialized)
    return Run(rc, study, out, err, done)


def test_real_registry_files_after_the_joins_give_insufficient_data(telemark_after_joins):
    run = telemark_after_joins
    assert run.rc == 0, run.err
    assert "EVALUATION_PSEUDONYM_KEY" not in run.err
    assert run.materialized == _expected({"registry"})
    psyk = ("registry:psykiske_plager (landing/registry/fhi_ungdata_psykiske_plager_ungdom.csv)"
            ": no years before the first join 2016 (the file has 2018–2024)")
    trivsel = ("registry:trivsel_10_trinn (landing/registry/fhi_trivsel_10_klasse_treaarig.csv)"
               ": no years before the first join 2016 (the file has 2017–")
    low = ("registry:lavinntekt_0_17 (landing/registry/fhi_vedvarende_lavinntekt_0-17.csv)"
           ": no years before the first join 2016 (the file has 2023)")
    lines = run.out.splitlines()
    i = next(i for i, ln in enumerate(lines) if "warnings: 3 result(s) could not be "
             "estimated" in ln)
    assert lines[i + 1] == f"  - {psyk}" and lines[i + 2].startswith(f"  - {trivsel}")
    assert lines[i + 3] == f"  - {low}"
    eff = run.table("effects").set_index(["outcome", "estimator"]).sort_index()
    assert eff.loc["psykiske_plager", "estimate"].isna().all()
    assert eff.loc["trivsel_10_trinn", "estimate"].isna().all()
    bv = eff.loc["barnevern_tiltak_0_17"]
    assert np.isfinite(bv["estimate"]).all() and (bv["n_treated"] == 4).all()
    chain = run.table("logic_chain_evidence").set_index("indicator")
    assert chain.loc["psykiske_plager", "verdict"] == "insufficient_data"
    assert psyk in chain.loc["psykiske_plager", "note"]
    assert chain.loc["barnevern_tiltak_0_17", "verdict"] != "insufficient_data"
    assert run.sections() == ["design", "validation", "logic-chain", "registry", "methods",
                              "caveats"]
    assert psyk in run.section_text("registry")
