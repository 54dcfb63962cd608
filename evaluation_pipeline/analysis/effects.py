"""One result shape for every estimate: :class:`Effect` rows.

Tables, figures, the logic-chain view and the report all read this shape, so a new estimator
only has to return Effects.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import pandas as pd

EFFECT_COLUMNS = [
    "source", "outcome", "contrast", "group", "estimator", "estimate", "se", "ci_low", "ci_high",
    "p_value", "p_adjusted", "effect_size", "effect_size_kind", "n_treated", "n_control", "n_obs",
    "note",
]


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


def insufficient_data_notes(effects: pd.DataFrame) -> list[str]:
    """One line per source:outcome that could not be estimated and why (from the notes of
    :func:`insufficient_effect` rows), each reason once."""
    if effects is None or not len(effects) or "note" not in effects:
        return []
    notes = effects["note"].fillna("").astype(str)
    rows = effects[notes.str.startswith(INSUFFICIENT_DATA)]
    out: list[str] = []
    for r in rows.itertuples():
        reason = str(r.note)[len(INSUFFICIENT_DATA):].lstrip(": ")
        named = f"{r.source}:{r.outcome}"
        line = reason if reason.startswith(named) else f"{named}: {reason}"
        if line not in out:
            out.append(line)
    return out
