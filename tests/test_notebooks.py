"""The notebooks in notebooks/ run (nbclient) against a materialized copy of the example study,
show what the warehouse holds, and are committed without outputs.

Each notebook ends with a cell tagged ``key-numbers`` that prints its key numbers as JSON; they are
compared with references computed here directly from the warehouse tables (pandas, pingouin,
statsmodels), not with numbers of our own code.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import nbformat
import pandas as pd
import pytest
from conftest import EXAMPLE, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "evaluation-pipeline-test"


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    """A copy of the example study materialized once by ``evaluation-pipeline run``, with its own
    DAGSTER_HOME."""
    tmp = tmp_path_factory.mktemp("notebooks")
    study = tmp / "sunnmore"
    shutil.copytree(EXAMPLE, study, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "EVALUATION_STUDY": str(study / "study.yaml")}
    cli = Path(sys.executable).parent / "evaluation-pipeline"
    done = subprocess.run([str(cli), "run", "--study", str(study / "study.yaml")], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tmp, study, env


@pytest.fixture(scope="module")
def kernel_manager_factory(materialized):
    """Kernels run this interpreter (the venv's python), from a kernel spec written to a temporary
    folder: neither the user's Jupyter config nor the venv's kernels are touched."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    tmp, _, _ = materialized
    spec = tmp / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "evaluation-pipeline (tests)", "language": "python",
    }))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])

    def make() -> KernelManager:
        return KernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)

    return make


@pytest.fixture(scope="module")
def executed(materialized, kernel_manager_factory):
    """Every notebook executed once (errors are kept so each test reports its own notebook)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    _, _, env = materialized
    env = {**env, "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    env.pop("EVALUATION_WAVE", None)
    out = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, km=kernel_manager_factory(), timeout=600,
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute(env=env)
            out[path.stem] = (nb, None)
        except CellExecutionError as e:
            out[path.stem] = (nb, str(e))
    return out


def _key_numbers(executed, name: str) -> dict:
    nb, error = executed[name]
    assert error is None, f"{name} failed:\n{error}"
    cells = [c for c in nb.cells if "key-numbers" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{name}: one cell tagged key-numbers expected"
    text = "".join(o.get("text", "") for o in cells[0].outputs if o.get("name") == "stdout")
    return json.loads(text)


def _table(study: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(study / "output" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_the_three_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01_survey_wave", "02_registry_did",
                                           "03_interview_themes"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
        assert "execution" not in cell.metadata, f"{path.name} cell {i} has execution timings"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reads_the_warehouse_and_never_runs_the_pipeline(path):
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                       if c.cell_type == "code")
    # every query opens the warehouse read-only and closes it (a connection kept open would
    # keep a running pipeline from writing)
    assert "with connect_warehouse(db) as con:" in source
    for forbidden in ("materialize(", "execute_in_process", "evaluation-pipeline run",
                      "build_study_report", "read_only=False", "duckdb.connect"):
        assert forbidden not in source, forbidden
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and "make run" in first.source \
        and "EVALUATION_STUDY" in first.source


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_notebook_runs_shows_figures_and_no_ids(executed, materialized, name):
    nb, error = executed[name]
    assert error is None, f"{name} failed:\n{error}"
    outs = _outputs(nb)
    assert not [o for o in outs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outs), "no figure shown"
    # aggregates only: no pseudonymised respondent id and no interview source name is displayed
    _, study, _ = materialized
    ids = set(_table(study, "select distinct respondent_id from evaluation.survey_answers_valid")
              ["respondent_id"]) | set(_table(
                  study, "select distinct source from evaluation.coded_segments_valid")["source"])
    shown = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                      + str(o.get("data", {}).get("text/html", "")) for o in outs)
    leaked = sorted(i for i in ids if len(str(i)) >= 6 and str(i) in shown)
    assert not leaked, leaked[:5]


def test_survey_notebook_numbers(executed, materialized):
    import pingouin as pg

    from evaluation_pipeline.study import Study

    _, study_dir, _ = materialized
    study = Study.load(study_dir / "study.yaml")
    key = _key_numbers(executed, "01_survey_wave")
    wave = study.wave_ids[-1]
    assert key["wave"] == wave
    answers = _table(study_dir,
                     f"select * from evaluation.survey_answers_valid where wave = '{wave}'")
    assert key["respondents"] == answers["respondent_id"].nunique()

    scores = _table(study_dir, f"select * from evaluation.scale_scores where wave = '{wave}'")
    groups = pd.Series({**{c: "network" for c in study.network},
                        **{c: "comparison" for c in study.comparison}})
    means = scores.assign(group=scores["kommune"].map(groups)).groupby(["scale", "group"])[
        "score"].mean()
    assert key["mean"] == pytest.approx(
        {f"{s}|{g}": float(v) for (s, g), v in means.items()}, rel=1e-9)

    # Cronbach's alpha from the answers (reverse-coded items flipped), by pingouin
    for name, scale in study.survey.scales.items():
        wide = answers[answers["item"].isin(scale.items)].pivot_table(
            index="respondent_id", columns="item", values="value")
        lo, hi = scale.range
        for item in scale.reverse:
            wide[item] = lo + hi - wide[item]
        alpha, _ = pg.cronbach_alpha(wide, nan_policy="listwise")
        assert key["alpha"][name] == pytest.approx(alpha, abs=1e-9), name


def test_registry_notebook_numbers(executed, materialized):
    import statsmodels.formula.api as smf

    from evaluation_pipeline.study import Study

    _, study_dir, _ = materialized
    study = Study.load(study_dir / "study.yaml")
    key = _key_numbers(executed, "02_registry_did")
    panel = _table(study_dir, "select * from evaluation.registry_panel")
    assert key["panel_rows"] == len(panel)
    year = key["last_year"]
    assert year == int(panel.dropna(subset=["value"])["year"].max())

    # pooled rate of the last year: per × Σ numerator / Σ denominator over the group's kommuner
    last = panel[(panel["year"] == year)].dropna(subset=["numerator", "denominator"])
    expected = {}
    for (ind, net), d in last.groupby(["indicator", "network"]):
        per = study.registry.indicators[ind].per
        expected[f"{ind}|{'network' if net else 'comparison'}"] = \
            per * d["numerator"].sum() / d["denominator"].sum()
    shown = {k: v for k, v in key["rate_last_year"].items() if v is not None}
    assert shown and shown == pytest.approx(expected, rel=1e-9)

    # TWFE: value ~ treated + kommune FE + year FE, by statsmodels OLS
    assert set(key["twfe"]) == set(study.registry.indicators)
    for ind, est in key["twfe"].items():
        d = panel[panel["indicator"] == ind].dropna(subset=["value"])
        fit = smf.ols("value ~ treated + C(kommune) + C(year)", d).fit()
        assert est == pytest.approx(fit.params["treated"], rel=1e-8), ind

    assert key["event_study_rows"] == len(
        _table(study_dir, "select * from evaluation.registry_event_study"))


def test_interview_notebook_numbers(executed, materialized):
    _, study_dir, _ = materialized
    key = _key_numbers(executed, "03_interview_themes")
    seg = _table(study_dir, "select * from evaluation.coded_segments_valid")
    per_round = seg.groupby("wave")["source"].nunique()
    assert key["interviews"] == {w: int(n) for w, n in per_round.items()}

    counts = seg.groupby(["theme", "wave"])["source"].nunique()
    share = counts / counts.index.get_level_values("wave").map(per_round).to_numpy()
    assert key["share_sources"] == pytest.approx(
        {f"{t}|{w}": float(v) for (t, w), v in share.items()}, abs=1e-12)

    first, last = sorted(per_round.index)[0], sorted(per_round.index)[-1]
    shift = {t: share[(t, last)] - share[(t, first)] for t in seg["theme"].unique()}
    assert key["shift"] == pytest.approx(shift, abs=1e-12)

    themes = seg.groupby("source")["theme"].apply(set)
    names = sorted(seg["theme"].unique())
    pairs = sum(1 for i, a in enumerate(names) for b in names[i + 1:]
                if any(a in s and b in s for s in themes))
    assert key["co_occurrence_pairs"] == pairs
