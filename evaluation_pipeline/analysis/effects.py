"""One result shape for every estimate: :class:`Effect` rows.

Tables, figures, the logic-chain view and the report all read this shape, so a new estimator
only has to return Effects.

What ``n_treated`` / ``n_control`` count is in ``n_unit`` (:data:`N_UNITS`): ``kommuner`` for
the DiDs across kommuner (registry TWFE, event study, Callaway & Sant'Anna; the survey
network vs comparison model), ``respondents`` or ``pairs`` for a survey pre/post, and
``interviews`` for an interview theme shift. Small-cell suppression applies to counts of
persons only (:data:`PERSON_UNITS`); a count of kommuner never hides an estimate
(:func:`evaluation_pipeline.publication.suppress_effects`). An estimator may set ``n_unit``
itself; when it is left empty, :func:`count_unit` fills it by source, contrast and estimator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import pandas as pd

EFFECT_COLUMNS = [
    "source", "outcome", "contrast", "group", "estimator", "estimate", "se", "ci_low", "ci_high",
    "p_value", "p_adjusted", "effect_size", "effect_size_kind", "n_treated", "n_control", "n_obs",
    "n_unit", "note",
]

#: what ``n_treated`` / ``n_control`` of an Effect count
N_UNITS = ("kommuner", "respondents", "pairs", "interviews")
#: the units that are persons: small-cell suppression applies to these counts (an unknown,
#: empty unit is treated as persons too)
PERSON_UNITS = ("respondents", "pairs", "interviews", "")


def count_unit(source: str, contrast: str = "", estimator: str = "") -> str:
    """What ``n_treated`` / ``n_control`` of an Effect count, by the rule of the estimators in
    :mod:`evaluation_pipeline.analysis`: every registry Effect is a comparison across kommuner
    (TWFE DiD, event study, Callaway & Sant'Anna); a survey ``network - comparison`` contrast
    counts kommuner (:func:`~evaluation_pipeline.analysis.survey_did.network_effect`), a paired
    pre/post pairs, any other survey contrast respondents; a collaboration ``network``
    Effect kommuner for ``network - comparison``, else respondents
    (:mod:`~evaluation_pipeline.analysis.collaboration`); an interview Effect interviews.
    Anything else: ``""`` (unknown, treated as persons)."""
    source, contrast, estimator = str(source), str(contrast), str(estimator)
    if source == "registry":
        return "kommuner"
    if source == "survey":
        if "network - comparison" in contrast:
            return "kommuner"
        return "pairs" if estimator.startswith("paired") else "respondents"
    if source == "network":
        return "kommuner" if "network - comparison" in contrast else "respondents"
    if source == "interviews":
        return "interviews"
    return ""


def count_units(effects: pd.DataFrame) -> pd.Series:
    """``n_unit`` of every row of an Effect frame: the column where it is set, else
    :func:`count_unit` (frames written before the column existed have none)."""
    inferred = pd.Series(
        [count_unit(s, c, e) for s, c, e in zip(
            effects["source"], effects.get("contrast", pd.Series("", index=effects.index)),
            effects.get("estimator", pd.Series("", index=effects.index)), strict=True)],
        index=effects.index, dtype=object)
    if "n_unit" not in effects:
        return inferred
    given = effects["n_unit"].astype(object)
    return given.where(given.notna() & (given.astype(str) != ""), inferred).astype(str)


@dataclass(frozen=True)
class Effect:
    """An estimate with its uncertainty, sample sizes and the method used.

    ``contrast`` says what is compared (e.g. ``w2016 - w2012``, ``network - comparison``),
    ``group`` the subset it was computed on (e.g. ``network``, a kommune code, or ``all``).
    """

    source: str
    outcome: str
    contrast: str
    estimator: str
    estimate: float
    se: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    p_adjusted: float = math.nan
    effect_size: float = math.nan
    effect_size_kind: str = ""
    n_treated: int = 0
    n_control: int = 0
    n_obs: int = 0
    note: str = ""
    group: str = "all"
    #: what n_treated / n_control count (:data:`N_UNITS`); empty: :func:`count_unit` decides
    n_unit: str = ""

    def __repr__(self) -> str:
        return (
            f"Effect({self.source}:{self.outcome} [{self.contrast}, {self.group}] "
            f"{self.estimator}: {self.estimate:.4g} "
            f"(95% CI {self.ci_low:.4g} to {self.ci_high:.4g}, p={self.p_value:.3g}, "
            f"n={self.n_obs}))"
        )

    def to_frame(self) -> pd.DataFrame:
        return effects_frame([self])


def effects_frame(effects: list[Effect]) -> pd.DataFrame:
    """Effects as a DataFrame with the columns in :data:`EFFECT_COLUMNS`."""
    rows = [asdict(e) for e in effects]
    frame = pd.DataFrame(rows, columns=[f.name for f in fields(Effect)])
    frame = frame[EFFECT_COLUMNS]
    frame["n_unit"] = count_units(frame).astype(object) if len(frame) else \
        frame["n_unit"].astype(object)
    for col in ("n_treated", "n_control", "n_obs"):
        frame[col] = frame[col].astype("int64")
    return frame


#: how the note of an Effect row that could not be estimated starts (the logic chain's verdict
#: for it is ``insufficient_data``; the command line's warnings summary lists them)
INSUFFICIENT_DATA = "insufficient data"


def insufficient_effect(source: str, outcome: str, contrast: str, estimator: str, reason: str,
                        *, group: str = "all", n_obs: int = 0) -> Effect:
    """An Effect row for an indicator, scale or theme that could not be estimated: no
    estimate, and a note ``insufficient data: <reason>`` naming what is missing."""
    return Effect(source=source, outcome=outcome, contrast=contrast, estimator=estimator,
                  estimate=math.nan, n_obs=int(n_obs), group=group,
                  note=f"{INSUFFICIENT_DATA}: {reason}")


def insufficient_data_notes(effects: pd.DataFrame, *,
                            count_kommuner_of: Sequence[str] = ()) -> list[str]:
    """One line per source:outcome that could not be estimated and why (from the notes of
    :func:`insufficient_effect` rows), each reason once.

    ``count_kommuner_of``: sources whose per-kommune rows (group neither ``all``,
    ``network`` nor ``comparison``) are counted in one line instead of listed (the
    collaboration network has a change per kommune × measure and pair: dozens of them are
    undefined in a small kommune, which the effects table's notes say one by one)."""
    if effects is None or not len(effects) or "note" not in effects:
        return []
    notes = effects["note"].fillna("").astype(str)
    rows = effects[notes.str.startswith(INSUFFICIENT_DATA)]
    out: list[str] = []
    if count_kommuner_of:
        per_kommune = rows["source"].isin(count_kommuner_of) & \
            ~rows["group"].isin(["all", "network", "comparison"])
        for src, part in rows[per_kommune].groupby("source", sort=False):
            out.append(f"{src}: {len(part)} per-kommune result(s) of {part['outcome'].nunique()} "
                       f"outcome(s) in {part['group'].nunique()} kommune(r) could not be "
                       "estimated (the effects table's notes say why for each)")
        rows = rows[~per_kommune]
    for r in rows.itertuples():
        reason = str(r.note)[len(INSUFFICIENT_DATA):].lstrip(": ")
        named = f"{r.source}:{r.outcome}"
        line = reason if reason.startswith(named) else f"{named}: {reason}"
        if line not in out:
            out.append(line)
    return out
