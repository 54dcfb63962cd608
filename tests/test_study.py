import datetime as dt
from pathlib import Path

import pytest
import yaml

from evaluation_pipeline.errors import StudyConfigError
from evaluation_pipeline.study import Study


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _base(example_study_dir: Path) -> dict:
    return yaml.safe_load((example_study_dir / "study.yaml").read_text(encoding="utf-8"))


def test_example_study_loads(example_study):
    s = example_study
    assert s.geography_year == 2024
    assert s.network["1508"] == 2013 and s.network["1515"] == 2017
    assert len(s.network) == 9 and len(s.comparison) == 11
    assert s.baseline_wave == "w2012"
    assert s.followup_waves == ["w2016", "w2019"]
    assert s.wave("w2016").fieldwork == dt.date(2016, 11, 15)
    assert s.survey.scales["samarbeid"].reverse == ["sam4"]
    assert s.survey.scales["samarbeid"].range == (1, 5)
    assert s.registry.indicators["cw_measures_0_17"].per == 1000
    assert s.output == s.root / "output"
    assert s.small_cell_threshold == 5
    assert s.label(s.survey.scales["samarbeid"].label, "x") == "Samarbeidskvalitet"


def test_wrong_key_names_key_and_file(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["small_cell_treshold"] = 3
    p = _write(tmp_path, data)
    with pytest.raises(StudyConfigError) as e:
        Study.load(p)
    assert "small_cell_treshold" in str(e.value) and str(p) in str(e.value)


def test_nested_wrong_key(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["survey"]["scales"]["samarbeid"]["revers"] = ["sam4"]
    with pytest.raises(StudyConfigError, match=r"survey\.scales\.samarbeid\.revers"):
        Study.load(_write(tmp_path, data))


def test_missing_field(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    del data["geography_year"]
    with pytest.raises(StudyConfigError, match="required key 'geography_year' is missing"):
        Study.load(_write(tmp_path, data))


def test_unknown_kommune_code(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["comparison"].append("1507")  # Ålesund 2020-2023: not a 2024 code
    with pytest.raises(StudyConfigError, match="unknown kommune code '1507'"):
        Study.load(_write(tmp_path, data))


def test_reverse_item_must_be_an_item(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["survey"]["scales"]["samarbeid"]["reverse"] = ["sam9"]
    with pytest.raises(StudyConfigError, match="sam9"):
        Study.load(_write(tmp_path, data))


def test_logic_chain_reference_checked(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["logic_chain"]["impact"][0]["indicators"] = ["registry:completion_6y"]
    with pytest.raises(StudyConfigError, match="completion_6y"):
        Study.load(_write(tmp_path, data))


def test_yaml_syntax_error_has_line(tmp_path):
    p = tmp_path / "study.yaml"
    p.write_text("study: x\nnetwork: {1508: 2013\ngeography_year: 2024\n", encoding="utf-8")
    with pytest.raises(StudyConfigError) as e:
        Study.load(p)
    assert e.value.row is not None and str(p) in str(e.value)


def test_network_and_comparison_overlap(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["comparison"].append("1508")
    with pytest.raises(StudyConfigError, match="both network and comparison"):
        Study.load(_write(tmp_path, data))
