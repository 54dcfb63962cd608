import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation_pipeline.analysis.scales import score_scales
from evaluation_pipeline.analysis.survey import wave_difference
from evaluation_pipeline.errors import AnalysisError
from evaluation_pipeline.study import Scale


def _answers(rows):
    return pd.DataFrame(rows, columns=["respondent_id", "wave", "kommune", "role", "item", "value"])


def test_score_scales_reverse_and_min_share():
    scale = Scale(items=["a", "b", "c", "d"], reverse=["d"], range=(1, 5))
    rows = [
        ("r1", "w1", "1508", "skole", "a", 4), ("r1", "w1", "1508", "skole", "b", 5),
        ("r1", "w1", "1508", "skole", "c", np.nan), ("r1", "w1", "1508", "skole", "d", 2),
        ("r2", "w1", "1508", "NAV", "a", 3), ("r2", "w1", "1508", "NAV", "b", np.nan),
        ("r2", "w1", "1508", "NAV", "c", np.nan), ("r2", "w1", "1508", "NAV", "d", np.nan),
    ]
    out = score_scales(_answers(rows), {"s": scale}).set_index("respondent_id")
    # r1: 4, 5, (6 - 2) = 4 -> mean 13/3 ; r2: 1 of 4 items answered < half -> NaN
    assert out.loc["r1", "score"] == pytest.approx(13 / 3)
    assert out.loc["r1", "n_answered"] == 3 and out.loc["r1", "n_items"] == 4
    assert np.isnan(out.loc["r2", "score"])


def test_score_out_of_range_is_an_error():
    scale = Scale(items=["a"], range=(1, 5))
    with pytest.raises(AnalysisError, match="outside the range 1-5"):
        score_scales(_answers([("r1", "w1", "1508", "x", "a", 7)]), {"s": scale})


def test_wave_difference_matches_hand_computed_welch_and_hedges():
    rng = np.random.default_rng(1)
    x = rng.normal(3.6, 0.6, 140)  # follow-up
    y = rng.normal(3.2, 0.5, 110)  # baseline
    scores = pd.DataFrame({
        "respondent_id": [f"a{i}" for i in range(140)] + [f"b{i}" for i in range(110)],
        "wave": ["f"] * 140 + ["b"] * 110, "scale": "s", "score": np.r_[x, y],
    })
    e = wave_difference(scores, "s", "b", "f")
    n1, n2, v1, v2 = len(x), len(y), x.var(ddof=1), y.var(ddof=1)
    se = np.sqrt(v1 / n1 + v2 / n2)
    df = (v1 / n1 + v2 / n2) ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    diff = x.mean() - y.mean()
    q = stats.t.ppf(0.975, df)
    assert e.estimate == pytest.approx(diff)
    assert e.se == pytest.approx(se)
    assert (e.ci_low, e.ci_high) == pytest.approx((diff - q * se, diff + q * se))
    assert e.p_value == pytest.approx(2 * stats.t.sf(abs(diff / se), df))
    sp = np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    assert e.effect_size == pytest.approx(diff / sp * j, rel=1e-12)
    assert e.n_obs == 250 and e.estimator.startswith("Welch")
