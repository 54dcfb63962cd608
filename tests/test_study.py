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


# --- messages that say what to do (issue 22) ---------------------------------------------------
def _raw_study(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "study.yaml"
    p.write_text(text, encoding="utf-8")
    return p


_TELEMARK = """\
study: Telemark network
geography_year: 2024
network:
  "4001": 2017
  "{code}": 2019
comparison: ["4003", "4005"]
"""


def test_unknown_code_suggests_close_codes_with_names(tmp_path):
    p = _raw_study(tmp_path, _TELEMARK.format(code="4021"))
    with pytest.raises(StudyConfigError) as e:
        Study.load(p)
    msg = str(e.value)
    assert "line 5" in msg and "key 'network.4021'" in msg
    assert "unknown kommune code '4021' for geography_year 2024" in msg
    assert "did you mean 4012 Bamble" in msg


def test_old_code_is_explained_with_its_years_and_todays_code(tmp_path):
    p = _raw_study(tmp_path, _TELEMARK.format(code="3813"))
    with pytest.raises(StudyConfigError) as e:
        Study.load(p)
    assert "3813 was Bamble's code 2020–2023; with geography_year 2024 use 4012" in str(e.value)
    # Ålesund 1507 (2020-2023) was split: both of today's kommuner are named
    p = _raw_study(tmp_path, _TELEMARK.format(code="1507"))
    with pytest.raises(StudyConfigError) as e:
        Study.load(p)
    assert "1507 was Ålesund's code 2020–2023" in str(e.value)
    assert "1508 Ålesund or 1580 Haram" in str(e.value)


def test_kommune_names_are_accepted_or_resolved_with_candidates(tmp_path):
    p = _raw_study(tmp_path, _TELEMARK.format(code="Bamble").replace('"4003"', "Skien"))
    s = Study.load(p)
    assert s.network == {"4001": 2017, "4012": 2019} and s.comparison == ["4003", "4005"]
    p = _raw_study(tmp_path, _TELEMARK.format(code="Herøy"))
    with pytest.raises(StudyConfigError) as e:
        Study.load(p)
    assert "several kommuner are called Herøy: 1515 Herøy (Møre og Romsdal) or 1818 Herøy " \
        "(Nordland)" in str(e.value)
    p = _raw_study(tmp_path, _TELEMARK.format(code="Bambel"))
    with pytest.raises(StudyConfigError, match="did you mean 4012 Bamble"):
        Study.load(p)


def test_every_problem_is_listed_with_its_key_and_line(tmp_path):
    p = _raw_study(tmp_path, """\
study: x
geography_year: 2024
small_cell_treshold: 3
network:
  "4021": 2017
comparison: ["3813"]
language: fr
survey:
  waves:
    - {id: w1, fieldwork: 2020-01-01, role: baseline}
  scales:
    s: {items: [a, b], range: [5, 1]}
""")
    with pytest.raises(StudyConfigError) as e:
        Study.load(p)
    msg = str(e.value)
    assert "5 problems:" in msg and "more problem" not in msg and "(top level)" not in msg
    lines = msg.splitlines()[1:]
    assert lines == [
        "  - line 3: key 'small_cell_treshold' is not a known study.yaml key",
        "  - line 5: key 'network.4021': unknown kommune code '4021' for geography_year 2024; "
        "did you mean 4012 Bamble, 4201 Risør or 4001 Porsgrunn?",
        "  - line 6: key 'comparison[0]': unknown kommune code '3813' for geography_year 2024; "
        "3813 was Bamble's code 2020–2023; with geography_year 2024 use 4012",
        "  - line 7: key 'language': Input should be 'nb' or 'en'",
        "  - line 12: key 'survey.scales.s.range': range must be [low, high] with low < high, "
        "got [5, 1]",
    ]
    assert e.value.row == 3


def test_model_level_errors_name_their_key(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["comparison"].append("1508")
    with pytest.raises(StudyConfigError) as e:
        Study.load(_write(tmp_path, data))
    assert "key 'comparison': kommune(s) ['1508'] are both network and comparison" in str(e.value)
    data = _base(example_study_dir)
    data["synthetic"] = False
    with pytest.raises(StudyConfigError) as e:
        Study.load(_write(tmp_path, data))
    assert "key 'privacy.demo_pseudonym_key'" in str(e.value) and "(top level)" not in str(e.value)
    data = _base(example_study_dir)
    data["logic_chain"]["outcomes"][0]["expected"] = {"survey:nope": "increase"}
    with pytest.raises(StudyConfigError) as e:
        Study.load(_write(tmp_path, data))
    assert "key 'logic_chain.outcomes[0]'" in str(e.value) and "nope" in str(e.value)
    line = next(i for i, ln in enumerate(_write(tmp_path, data).read_text().splitlines(), 1)
                if "survey:nope" in ln)
    assert f"line {line - 1}" in str(e.value) or f"line {line}" in str(e.value)


def test_interview_documents_mapping(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["interviews"]["documents"] = [
        {"match": "Interju_Porsgrunn_*", "kommune": 1508, "role": "skole", "round": "i2013"},
        {"match": "Intervju 7", "round": "i2019"},
    ]
    s = Study.load(_write(tmp_path, data))
    first, second = s.interviews.documents
    assert (first.match, first.kommune, first.role, first.round) == (
        "Interju_Porsgrunn_*", "1508", "skole", "i2013")
    assert second.kommune is None and second.round == "i2019"
    data["interviews"]["documents"] = [{"match": "x*", "round": "r2021"}]
    with pytest.raises(StudyConfigError) as e:
        Study.load(_write(tmp_path, data))
    assert "key 'interviews.documents[0]': round 'r2021' (for 'x*') is not one of " \
        "interviews.rounds (i2013, i2019)" in str(e.value)
    data["interviews"]["documents"] = [{"match": "y"}]
    with pytest.raises(StudyConfigError) as e:
        Study.load(_write(tmp_path, data))
    assert "key 'interviews.documents[0]': documents entry 'y' gives none of kommune, role, " \
        'round; e.g. {match: "y", kommune: "4001", role: skole, round: r2021}' in str(e.value)


def test_unsupported_geography_year_is_named(tmp_path):
    p = _raw_study(tmp_path, _TELEMARK.format(code="4012").replace("2024", "2019"))
    with pytest.raises(StudyConfigError) as e:
        Study.load(p)
    assert "line 2: key 'geography_year': no kommune code list for 2019: supported years are " \
        "2024-2026" in str(e.value)


@pytest.mark.parametrize(("ref", "hint"), [
    ("network:densty", "did you mean 'network:density'?"),
    # a pair names its services in survey.roles order (skole before barnevern)
    ("network:tie:barnevern-skole", "did you mean 'network:tie:skole-barnevern'?"),
    ("network:tie:skole-barnvern", "did you mean 'network:tie:skole-barnevern'?"),
    ("network:xyz", None),
])
def test_network_reference_checked_with_did_you_mean(tmp_path, example_study_dir, ref, hint):
    data = _base(example_study_dir)
    data["logic_chain"]["outcomes"][1]["indicators"] = ["network:density", ref]
    with pytest.raises(StudyConfigError) as e:
        Study.load(_write(tmp_path, data))
    msg = str(e.value)  # the file, the line, the key and the element
    assert "study.yaml: line " in msg
    assert "key 'logic_chain.outcomes[1]': 'Tettere samarbeid mellom tjenestene'" in msg
    assert f"no network outcome {ref.removeprefix('network:')!r}" in msg
    assert "the measures ['density', 'centralization'," in msg and "survey.roles" in msg
    assert (hint in msg) if hint else ("did you mean" not in msg)


def test_network_reference_needs_the_roster(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    assert data["logic_chain"]["outcomes"][1]["indicators"][0] == "network:density"
    del data["survey"]["collaboration"]
    with pytest.raises(StudyConfigError) as e:
        Study.load(_write(tmp_path, data))
    assert ("key 'logic_chain.outcomes[1]': 'Tettere samarbeid mellom tjenestene': indicator "
            "'network:density' "
            "needs the collaboration network, but study.yaml has no 'survey.collaboration' "
            "roster (add survey.collaboration") in str(e.value)
    # the example's references are all known
    data = _base(example_study_dir)
    chain = Study.load(_write(tmp_path, data)).logic_chain
    assert chain.outcomes[1].indicators == ["network:density", "network:tie:skole-barnevern",
                                            "network:tie:barnevern-helsestasjon"]


def test_unknown_source_names_the_network_form(tmp_path, example_study_dir):
    data = _base(example_study_dir)
    data["logic_chain"]["outcomes"][1]["indicators"] = ["netverk:density"]
    with pytest.raises(StudyConfigError, match="'network:<measure>'"):
        Study.load(_write(tmp_path, data))
