import numpy as np
import pandas as pd
import pytest

from evaluation_pipeline.errors import StudyConfigError
from evaluation_pipeline.privacy import (
    PrivacyError,
    drop_free_text,
    pseudonym_key,
    pseudonymise,
)
from evaluation_pipeline.publication import suppress_small_cells
from evaluation_pipeline.study import Privacy, Study


def test_pseudonyms_are_stable_keyed_and_not_the_id():
    ids = pd.Series(["R001", "R002", "R001", None])
    a = pseudonymise(ids, b"k1", prefix="R")
    b = pseudonymise(ids, b"k1", prefix="R")
    c = pseudonymise(ids, b"k2", prefix="R")
    assert a.tolist()[:3] == b.tolist()[:3]
    assert a[0] == a[2] and a[0] != a[1]
    assert a[0] != c[0]
    assert pd.isna(a[3])
    assert not set(a.dropna()) & {"R001", "R002"}
    assert a[0].startswith("R-") and len(a[0]) == 14


def test_key_from_environment_or_synthetic_demo_key(example_study, monkeypatch):
    monkeypatch.setenv("EVALUATION_PSEUDONYM_KEY", "from-env")
    assert pseudonym_key(example_study) == b"from-env"
    monkeypatch.delenv("EVALUATION_PSEUDONYM_KEY")
    assert pseudonym_key(example_study) == b"sunnmore-demo-key-not-secret"


def test_real_study_refuses_to_run_without_key(example_study, monkeypatch):
    monkeypatch.delenv("EVALUATION_PSEUDONYM_KEY", raising=False)
    real = example_study.model_copy(update={"synthetic": False, "privacy": Privacy()})
    with pytest.raises(PrivacyError, match="EVALUATION_PSEUDONYM_KEY"):
        pseudonym_key(real)


def test_demo_key_only_in_a_synthetic_study(tmp_path, example_study_dir):
    text = (example_study_dir / "study.yaml").read_text(encoding="utf-8")
    p = tmp_path / "study.yaml"
    p.write_text(text.replace("synthetic: true", "synthetic: false"), encoding="utf-8")
    with pytest.raises(StudyConfigError, match="demo_pseudonym_key"):
        Study.load(p)


def test_same_person_same_pseudonym_across_waves(example_study):
    from evaluation_pipeline.ingest import read_survey

    key = pseudonym_key(example_study)
    w1 = read_survey(example_study.wave_file("w2012"), wave="w2012")
    w2 = read_survey(example_study.wave_file("w2016"), wave="w2016")
    panel = set(w1["respondent_id"]) & set(w2["respondent_id"])
    assert len(panel) > 100  # the example has a panel subset
    p1 = dict(zip(w1["respondent_id"], pseudonymise(w1["respondent_id"], key), strict=True))
    p2 = dict(zip(w2["respondent_id"], pseudonymise(w2["respondent_id"], key), strict=True))
    assert all(p1[r] == p2[r] for r in panel)
    assert len(set(p1.values())) == len(p1)  # no collisions


def test_free_text_items_dropped_unless_listed():
    answers = pd.DataFrame({
        "item": ["q1", "q1", "comment", "comment"], "value": [3.0, 4.0, np.nan, np.nan],
        "value_text": [None, None, "Kari ringte meg", None],
    })
    kept, dropped = drop_free_text(answers)
    assert dropped == ["comment"] and set(kept["item"]) == {"q1"}
    kept, dropped = drop_free_text(answers, keep=["comment"])
    assert dropped == [] and len(kept) == 4


def test_small_cells_suppressed():
    t = pd.DataFrame({"group": ["a", "b", "c"], "n": [2, 5, 0], "mean": [3.1, 3.4, np.nan]})
    out = suppress_small_cells(t, ["n"], 5, ["mean"])
    assert out["suppressed"].tolist() == [True, False, False]
    assert np.isnan(out.loc[0, "n"]) and np.isnan(out.loc[0, "mean"])
    assert out.loc[1, "mean"] == 3.4


def test_personal_data_items_named(example_study):
    from evaluation_pipeline.ingest import read_survey
    from evaluation_pipeline.privacy import personal_data_items

    wave = read_survey(example_study.wave_file("w2016"), wave="w2016")
    assert personal_data_items(wave) == {}  # Likert answers are not personal data
    ids = wave["respondent_id"].unique()[:40]
    extra = pd.DataFrame({
        "respondent_id": ids, "wave": "w2016", "kommune": "1508", "role": "skole",
        "item": "kontakt", "value": np.nan, "value_label": None,
        "value_text": [f"person{i}@example.no" for i in range(len(ids))],
        "missing_reason": None,
    })
    found = personal_data_items(pd.concat([wave, extra.astype(wave.dtypes.to_dict())],
                                          ignore_index=True))
    assert list(found) == ["kontakt"] and "mail" in found["kontakt"].lower()
