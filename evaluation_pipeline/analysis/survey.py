"""Survey analyses: scale scores and baseline vs follow-up differences.

Scores follow the study's scale definitions (items, reverse-coded items, response range). The
wave difference is Welch's t-test (scipy) with Hedges' g (pingouin); see Welch (1947),
Hedges (1981).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats

from ..errors import AnalysisError
from ..study import Scale
from .effects import Effect

SCORE_COLUMNS = [
    "respondent_id", "wave", "kommune", "role", "scale", "score", "n_items", "n_answered",
]


def score_scales(
    answers: pd.DataFrame, scales: dict[str, Scale], min_share: float | None = None
) -> pd.DataFrame:
    """One score per respondent × wave × scale: the mean of the answered items after reverse
    coding (``low + high - value``), kept when at least ``min_share`` (default: the scale's
    ``min_share_answered``, 0.5) of the items are answered; otherwise the score is NaN.
    """
    keys = ["respondent_id", "wave", "kommune", "role"]
    frames = []
    for name, scale in scales.items():
        lo, hi = scale.range
        sub = answers[answers["item"].isin(scale.items)][keys + ["item", "value"]].copy()
        bad = sub["value"].notna() & ~sub["value"].between(lo, hi)
        if bad.any():
            row = sub[bad].iloc[0]
            raise AnalysisError(
                f"scale {name}: item {row['item']} has value {row['value']:g} outside the "
                f"range {lo}-{hi} (respondent {row['respondent_id']}, wave {row['wave']})"
            )
        rev = sub["item"].isin(scale.reverse)
        sub.loc[rev, "value"] = lo + hi - sub.loc[rev, "value"]
        g = sub.groupby(keys, dropna=False, observed=True)["value"]
        agg = pd.DataFrame({"score": g.mean(), "n_answered": g.count()}).reset_index()
        agg["n_items"] = len(scale.items)
        share = min_share if min_share is not None else scale.min_share_answered
        agg.loc[agg["n_answered"] < share * len(scale.items), "score"] = np.nan
        agg["scale"] = name
        frames.append(agg)
    if not frames:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[SCORE_COLUMNS]
    out["n_items"] = out["n_items"].astype("int64")
    out["n_answered"] = out["n_answered"].astype("int64")
    return out


def wave_difference(
    scores: pd.DataFrame,
    scale: str,
    baseline: str,
    followup: str,
    *,
    group: str = "all",
    alpha: float = 0.05,
) -> Effect:
    """Follow-up minus baseline mean score of one scale, as independent samples: Welch's t-test,
    its (1 - alpha) CI for the mean difference, and Hedges' g (bias-corrected standardized mean
    difference, pooled SD).

    Respondents who answered both waves are counted in the note; a paired analysis of that
    panel belongs to ``pre_post``.
    """
    s = scores[(scores["scale"] == scale)].dropna(subset=["score"])
    x = s.loc[s["wave"] == followup, "score"].to_numpy(float)
    y = s.loc[s["wave"] == baseline, "score"].to_numpy(float)
    if len(x) < 2 or len(y) < 2:
        raise AnalysisError(
            f"scale {scale} ({group}): need at least 2 scores in each of {baseline} and "
            f"{followup}, got {len(y)} and {len(x)}"
        )
    res = stats.ttest_ind(x, y, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    diff = float(x.mean() - y.mean())
    se = float(diff / res.statistic) if res.statistic != 0 else float(
        np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    )
    g = float(pg.compute_effsize(x, y, paired=False, eftype="hedges"))
    both = set(s.loc[s["wave"] == followup, "respondent_id"]) & set(
        s.loc[s["wave"] == baseline, "respondent_id"]
    )
    return Effect(
        source="survey",
        outcome=scale,
        contrast=f"{followup} - {baseline}",
        group=group,
        estimator="Welch t-test (independent samples)",
        estimate=diff,
        se=se,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        p_value=float(res.pvalue),
        effect_size=g,
        effect_size_kind="hedges_g",
        n_treated=len(x),
        n_control=len(y),
        n_obs=len(x) + len(y),
        note=f"{len(both)} respondents answered both waves; treated as independent samples",
    )


def wave_differences(scores: pd.DataFrame, study) -> list[Effect]:
    """Every scale × follow-up wave, for network and comparison kommuner separately."""
    effects = []
    base = study.baseline_wave
    groups = {"network": set(study.network), "comparison": set(study.comparison)}
    for scale in study.survey.scales:
        for fu in study.followup_waves:
            for gname, codes in groups.items():
                sub = scores[scores["kommune"].isin(codes)]
                if sub.empty:
                    continue
                effects.append(wave_difference(sub, scale, base, fu, group=gname))
    return effects


def scale_summary(scores: pd.DataFrame, study, alpha: float = 0.05) -> pd.DataFrame:
    """Mean score per scale × wave × group (network / comparison) with a t-based CI and n."""
    s = scores.dropna(subset=["score"]).copy()
    s["group"] = np.where(s["kommune"].isin(list(study.network)), "network", "comparison")
    g = s.groupby(["scale", "wave", "group"], observed=True)["score"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    half = stats.t.ppf(1 - alpha / 2, out["n"] - 1) * out["sd"] / np.sqrt(out["n"])
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    order = {w: i for i, w in enumerate(study.wave_ids)}
    out = out.sort_values(
        ["scale", "group", "wave"], key=lambda c: c.map(order) if c.name == "wave" else c
    )
    return out.reset_index(drop=True)
