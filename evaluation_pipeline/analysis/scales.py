"""Survey scale scores: reverse coding, one score per respondent × wave × scale, the mean score
per scale × wave × group, and the scores split by scale.

Scores follow the study's scale definitions (items, reverse-coded items, response range).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from ..study import Scale

SCORE_COLUMNS = [
    "respondent_id", "wave", "kommune", "role", "scale", "score", "n_items", "n_answered",
]


def reverse_coded(
    answers: pd.DataFrame, name: str, scale: Scale, keys: list[str]
) -> pd.DataFrame:
    """The answers (``keys`` + item, value) to the items of one scale, reverse-coded items as
    ``low + high - value``; an answer outside the scale's range is an error."""
    lo, hi = scale.range
    sub = answers.loc[answers["item"].isin(scale.items), keys + ["item", "value"]].copy()
    sub["value"] = pd.to_numeric(sub["value"], errors="coerce").astype(float)
    bad = sub["value"].notna() & ~sub["value"].between(lo, hi)
    if bad.any():
        row = sub[bad].iloc[0]
        where = ", ".join(f"{k} {row[k]}" for k in keys if k in ("respondent_id", "wave"))
        raise AnalysisError(
            f"scale {name}: item {row['item']} has value {row['value']:g} outside the range "
            f"{lo}-{hi} ({where})"
        )
    rev = sub["item"].isin(scale.reverse)
    sub.loc[rev, "value"] = lo + hi - sub.loc[rev, "value"]
    return sub


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
        sub = reverse_coded(answers, name, scale, keys)
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


def scores_by_scale(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The scores split by scale once (each analysis of a scale then filters its own rows,
    not the whole table: a national study has 2.5 million scores, 6 scales × 4 follow-ups)."""
    if scores.empty:
        return {}
    return {str(k): v for k, v in scores.groupby(scores["scale"].astype(str), sort=False)}
