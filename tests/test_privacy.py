import numpy as np
import pandas as pd

from evaluation_pipeline.privacy import pseudonym_key, pseudonymise, suppress_small_cells


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


def test_key_file_created_once(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALUATION_PSEUDONYM_KEY", raising=False)
    k1 = pseudonym_key(tmp_path)
    k2 = pseudonym_key(tmp_path)
    assert k1 == k2 and len(k1) == 64
    assert oct((tmp_path / ".pseudonym_key").stat().st_mode & 0o777) == "0o600"


def test_small_cells_suppressed():
    t = pd.DataFrame({"group": ["a", "b", "c"], "n": [2, 5, 0], "mean": [3.1, 3.4, np.nan]})
    out = suppress_small_cells(t, ["n"], 5, ["mean"])
    assert out["suppressed"].tolist() == [True, False, False]
    assert np.isnan(out.loc[0, "n"]) and np.isnan(out.loc[0, "mean"])
    assert out.loc[1, "mean"] == 3.4
