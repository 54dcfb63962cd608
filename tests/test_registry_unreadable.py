"""One registry indicator whose file cannot be read does not stop the others (issue #22,
"failures stay local"): it is left out of the observations with the reader's message, gets
"insufficient data" Effect rows and logic-chain verdict with that message, the report names it,
and the command's warnings summary shows it (exit 1: the file or study.yaml must be fixed).

The study is the real Telemark example (FHI files unchanged) with two more indicators read from
real files that cannot be used as they are: the FHI Ungdata file without `filter:` (it has the
dimension Kjønn) and Udir's school-level "Slutta VGO" export (no kommune level), both copied
unchanged from tests/fixtures/fhi_udir_telemark."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import EXAMPLE, FIXTURES, run_cli

from evaluation_pipeline.analysis.effects import effects_frame, insufficient_data_notes
from evaluation_pipeline.analysis.logic_chain import logic_chain_evidence
from evaluation_pipeline.analysis.registry import registry_effects
from evaluation_pipeline.errors import RegistryFileError
from evaluation_pipeline.geography import add_rates, harmonize
from evaluation_pipeline.observations import read_indicators, reference_series
from evaluation_pipeline.study import Study

TELEMARK = EXAMPLE.parent / "telemark"
REAL = FIXTURES / "fhi_udir_telemark"
UDIR = "udir_20220505-1453_Slutta_VGO_utf16.csv"
GOOD = {"barnevern_tiltak_0_17", "psykiske_plager", "trivsel_10_trinn"}
#: read, but not estimable (one window after every join: "insufficient data" on its own)
LATE = "lavinntekt_0_17"
#: what the reader says about each unreadable file (the file named as in study.yaml)
KJONN = ("registry:psykiske_plager_alle could not be read: "
         "landing/registry/fhi_ungdata_psykiske_plager_ungdom.csv: the table has more "
         "dimensions than kommune, period and contents: 'Kjønn' has 3 values ('kjønn samlet', "
         "'gutter', 'jenter'). Keep one value of each with a filter on the indicator in "
         "study.yaml, e.g. `filter: {Kjønn: kjønn samlet}`")
NO_KOMMUNE = (f"registry:slutta_vgo could not be read: landing/registry/{UDIR}: no kommune "
              "level in this file: it has no kommune column (found level column 'EnhetNivaa' "
              "with the levels 1, 2, 3;")


def with_unreadable_indicators(dest: Path) -> Path:
    """The Telemark example plus the Ungdata file without `filter:` and the Udir school-level
    file (copied unchanged), each bound in the logic chain."""
    shutil.copytree(TELEMARK, dest, ignore=shutil.ignore_patterns("output"))
    shutil.copyfile(REAL / UDIR, dest / "landing" / "registry" / UDIR)
    data = yaml.safe_load((dest / "study.yaml").read_text(encoding="utf-8"))
    data["registry"]["indicators"]["psykiske_plager_alle"] = {
        "file": "landing/registry/fhi_ungdata_psykiske_plager_ungdom.csv", "value": "value",
        "per": 100, "higher_is_better": False}
    data["registry"]["indicators"]["slutta_vgo"] = {
        "file": f"landing/registry/{UDIR}", "value": "Andel", "per": 100,
        "higher_is_better": False}
    data["logic_chain"]["impact"].append({"name": "Færre slutter i videregående",
                                          "indicators": ["registry:slutta_vgo"],
                                          "expected": "decrease"})
    data["logic_chain"]["impact"][1]["indicators"].append("registry:psykiske_plager_alle")
    (dest / "study.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                     encoding="utf-8")
    return dest


def test_files_are_the_downloads_unchanged():
    for f in (TELEMARK / "landing" / "registry").iterdir():
        assert f.read_bytes() == (REAL / f.name).read_bytes(), f.name


def test_library_leaves_the_unreadable_indicator_out_with_its_message(tmp_path):
    study = Study.load(with_unreadable_indicators(tmp_path / "s"))
    observations, reference, failures = read_indicators(study)
    assert set(observations["indicator"]) == GOOD | {LATE}
    assert set(reference["indicator"]) == GOOD | {LATE}
    assert list(failures) == ["psykiske_plager_alle", "slutta_vgo"]
    assert "registry:psykiske_plager_alle could not be read: " + failures[
        "psykiske_plager_alle"] == KJONN
    assert ("registry:slutta_vgo could not be read: " + failures["slutta_vgo"]).startswith(
        NO_KOMMUNE)
    assert "Download it at kommune level" in failures["slutta_vgo"]
    # the same observations as reading the good indicators alone
    alone = read_indicators(Study.load(TELEMARK)).observations
    pd.testing.assert_frame_equal(observations, alone)
    frame = read_indicators(study).failures_frame
    assert list(frame.columns) == ["indicator", "file", "reason"]
    assert frame.set_index("indicator").loc["slutta_vgo", "file"] == f"landing/registry/{UDIR}"
    # reference_series: the readable indicators' country and fylke rows
    assert set(reference_series(study)["indicator"]) == GOOD | {LATE}

    # downstream: "insufficient data" with the reader's message; the others are estimated
    inds = study.registry.indicators
    obs = add_rates(harmonize(observations, study.geography_year,
                              age_groups={k: v.age_group for k, v in inds.items()}),
                    {k: v.per for k, v in inds.items()})
    eff = effects_frame(registry_effects(obs, study, failures))
    by = eff.set_index("outcome")
    assert by.loc[sorted(GOOD), "estimate"].notna().all()
    for ind, reason in (("psykiske_plager_alle", KJONN), ("slutta_vgo", NO_KOMMUNE)):
        assert by.loc[ind, "estimate"].isna().all()
        assert by.loc[ind, "note"].str.startswith(f"insufficient data: {reason}").all()
    notes = insufficient_data_notes(eff)
    assert notes[0].startswith(f"registry:{LATE} (")  # read, but after every join
    assert notes[1] == KJONN and notes[2].startswith(NO_KOMMUNE)
    chain = logic_chain_evidence(study, eff).set_index("indicator")
    assert chain.loc["slutta_vgo", "verdict"] == "insufficient_data"
    assert NO_KOMMUNE in chain.loc["slutta_vgo", "note"]
    assert chain.loc["psykiske_plager_alle", "verdict"] == "insufficient_data"
    assert "`filter: {Kjønn: kjønn samlet}`" in chain.loc["psykiske_plager_alle", "note"]
    assert chain.loc["barnevern_tiltak_0_17", "verdict"] != "insufficient_data"


def test_library_raises_when_no_indicator_can_be_read(tmp_path):
    dest = with_unreadable_indicators(tmp_path / "s")
    data = yaml.safe_load((dest / "study.yaml").read_text(encoding="utf-8"))
    inds = data["registry"]["indicators"]
    data["registry"]["indicators"] = {k: inds[k] for k in ("psykiske_plager_alle",
                                                           "slutta_vgo")}
    data["logic_chain"] = {"goal": "x", "impact": [
        {"name": "y", "indicators": ["registry:slutta_vgo"]}]}
    (dest / "study.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryFileError) as e:
        read_indicators(Study.load(dest))
    msg = str(e.value)
    assert "no registry indicator could be read: psykiske_plager_alle: " in msg
    assert "`filter: {Kjønn: kjønn samlet}`" in msg and "; slutta_vgo: " in msg
    assert "no kommune level in this file" in msg
    # one indicator: its own error, unchanged
    data["registry"]["indicators"] = {"slutta_vgo": inds["slutta_vgo"]}
    (dest / "study.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryFileError, match=r"Slutta_VGO_utf16.csv: no kommune level"):
        read_indicators(Study.load(dest))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unreadable")
    study = with_unreadable_indicators(tmp / "telemark")
    rc, out, err, meta = run_cli(study, tmp, no_key=True, inspect=lambda instance: (
        instance.get_latest_materialization_event(dg.AssetKey("registry_observations_raw"))
        .asset_materialization.metadata))
    return rc, study, out, err, meta


def _table(study: Path, name: str) -> pd.DataFrame:
    con = duckdb.connect(str(study / "output" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(f"select * from evaluation.{name}").df()
    finally:
        con.close()


def test_run_builds_the_report_from_the_rest_and_says_what_to_fix(run):
    rc, study, out, err, meta = run
    assert rc == 1  # study.yaml / the file must be fixed
    # the warnings summary: each unreadable indicator with the reader's whole message
    lines = out.splitlines()
    i = next(i for i, ln in enumerate(lines) if "warnings: 3 result(s) could not be "
             "estimated" in ln)
    assert lines[i + 1].startswith(f"  - registry:{LATE} (landing/registry/")
    assert lines[i + 2] == f"  - {KJONN}"
    assert lines[i + 3].startswith(f"  - {NO_KOMMUNE}")
    assert ("[evaluation-pipeline] FAILED to read 2 registry indicator(s): "
            "psykiske_plager_alle, slutta_vgo (why: the warnings above; fix the file or "
            "study.yaml)") in err
    report = study / "output" / "report" / "rapport.html"
    assert (f"report built without registry indicator(s) psykiske_plager_alle, slutta_vgo: "
            f"{report}") in out
    assert "profiles 4/4 done" in out and "done: " not in out
    # the metadata: ids and short reasons, no rows
    unreadable = meta["unreadable_indicators"].value
    assert set(unreadable) == {"psykiske_plager_alle", "slutta_vgo"}
    assert unreadable["slutta_vgo"].startswith(f"landing/registry/{UDIR}: no kommune level")
    assert all(len(v) <= 201 for v in unreadable.values())
    # the others are estimated; the unreadable ones are "insufficient data" with the reason
    eff = _table(study, "effects").set_index("outcome")
    good = eff.loc[sorted(GOOD)]
    assert np.isfinite(good["estimate"].to_numpy(float)).all()
    assert eff.loc["slutta_vgo", "estimate"].isna().all()
    failures = _table(study, "registry_read_failures").set_index("indicator")
    assert "registry:slutta_vgo could not be read: " + failures.loc["slutta_vgo", "reason"] \
        == eff.loc["slutta_vgo", "note"].iloc[0].removeprefix("insufficient data: ")
    chain = _table(study, "logic_chain_evidence").set_index("indicator")
    assert chain.loc["psykiske_plager_alle", "verdict"] == "insufficient_data"
    assert KJONN in chain.loc["psykiske_plager_alle", "note"]
    assert NO_KOMMUNE in chain.loc["slutta_vgo", "note"]
    assert chain.loc["trivsel_10_trinn", "verdict"] != "insufficient_data"
    # the report lists them among what could not be estimated
    html = report.read_text(encoding="utf-8")
    assert "Kunne ikke estimeres (utilstrekkelige data): " in html
    assert "`filter: {Kjønn: kjønn samlet}`" in html and "no kommune level in this file" in html
