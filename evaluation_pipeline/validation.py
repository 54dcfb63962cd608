"""Row rules that follow from the study (kommune known, role declared, scale answers in range,
codes in the codebook, numerator <= denominator). Each rule returns the rows it rejects with a
reason, so nothing is silently dropped: the pipeline keeps rejected rows aside and a blocking
check stops downstream work when more are rejected than the study tolerates.
"""

from __future__ import annotations

import pandas as pd


def _split(df: pd.DataFrame, reasons: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    bad = reasons.notna()
    rejected = df[bad].copy()
    rejected["reason"] = reasons[bad]
    return df[~bad].copy(), rejected


def _first_reason(df: pd.DataFrame, rules: list[tuple[pd.Series, pd.Series | str]]) -> pd.Series:
    reasons = pd.Series(pd.NA, index=df.index, dtype="string")
    for mask, text in rules:
        mask = mask.fillna(False).astype(bool)
        fill = text if isinstance(text, str) else text.astype("string")
        reasons = reasons.mask(reasons.isna() & mask, fill)
    return reasons


def survey_row_rules(answers: pd.DataFrame, study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, rejected) survey answers: kommune in the study, role declared, wave declared, a
    scale item's answer inside its response range."""
    rules = [
        (~answers["kommune"].isin(study.kommuner),
         "kommune " + answers["kommune"].astype("string").fillna("<missing>")
         + " is not a network or comparison kommune of the study"),
        (~answers["wave"].isin(study.wave_ids),
         "wave " + answers["wave"].astype("string").fillna("<missing>") + " is not declared"),
    ]
    if study.survey.roles:
        rules.append((~answers["role"].isin(study.survey.roles),
                      "role " + answers["role"].astype("string").fillna("<missing>")
                      + " is not declared in survey.roles"))
    for name, scale in study.survey.scales.items():
        lo, hi = scale.range
        m = answers["item"].isin(scale.items) & answers["value"].notna() & ~answers[
            "value"].between(lo, hi)
        rules.append((m, "value " + answers["value"].astype("string")
                      + f" outside the scale range {lo}-{hi} ({name})"))
    return _split(answers, _first_reason(answers, rules))


def segment_row_rules(segments: pd.DataFrame, study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, rejected) coded segments: code in the codebook, round declared (when the study
    declares rounds), kommune in the study (when given), start <= end."""
    rules = [
        (segments["code_path"].isna(), "code " + segments["code"].astype("string")
         + " is not in the codebook"),
        (segments["start"].notna() & segments["end"].notna()
         & (segments["start"] > segments["end"]), "selection starts after it ends"),
        (segments["kommune"].notna() & ~segments["kommune"].isin(study.kommuner),
         "kommune " + segments["kommune"].astype("string") + " is not in the study"),
    ]
    if study.interviews and study.interviews.rounds:
        ids = [r.id for r in study.interviews.rounds]
        rules.append((segments["wave"].notna() & ~segments["wave"].isin(ids),
                      "round " + segments["wave"].astype("string") + " is not declared"))
    return _split(segments, _first_reason(segments, rules))


def registry_row_rules(obs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, rejected) registry observations: numerator <= denominator, no negative counts."""
    num, den = obs["numerator"], obs["denominator"]
    rules = [
        ((num < 0) | (den < 0), pd.Series("negative count", index=obs.index)),
        (num > den, "numerator " + num.astype("string") + " exceeds denominator "
         + den.astype("string")),
    ]
    return _split(obs, _first_reason(obs, rules))


def reject_summary(rejected: pd.DataFrame) -> dict[str, int]:
    """How many rows each reason rejected (reasons shortened to their rule, no values)."""
    if rejected.empty:
        return {}
    rule = rejected["reason"].str.replace(r"\b[\w\-\.]*\d[\w\-\.]*\b", "…", regex=True)
    return {str(k): int(v) for k, v in rule.value_counts().items()}


__all__ = [
    "survey_row_rules", "segment_row_rules", "registry_row_rules", "reject_summary",
]
