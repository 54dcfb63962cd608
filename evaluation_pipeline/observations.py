"""From a registry file as read (long, one row per contents code) to the study's tidy registry
observations: kommune, period, year, indicator (the study's id), numerator, denominator, value,
status, file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import RegistryFileError
from .study import Indicator

OBSERVATION_COLUMNS = [
    "kommune", "period", "year", "indicator", "numerator", "denominator", "value", "status",
]
_REGISTRY_CORE = {
    "kommune", "kommune_name", "period", "indicator", "indicator_label", "value", "status",
}


def _pick(raw: pd.DataFrame, name: str, path: str) -> pd.DataFrame:
    hit = raw[(raw["indicator"] == name) | (raw["indicator_label"] == name)]
    if hit.empty:
        found = sorted(set(raw["indicator"].dropna()) | set(raw["indicator_label"].dropna()))
        raise RegistryFileError(
            path, f"no contents {name!r} in the file (found: {', '.join(map(str, found[:10]))})"
        )
    return hit


def registry_observations(
    raw: pd.DataFrame, indicator_id: str, indicator: Indicator, path: str = "<registry file>"
) -> pd.DataFrame:
    """Pick the numerator and denominator (or the published value) of one study indicator.

    In a table with one row per contents code (JSON-stat, PxWeb) the study's ``numerator``,
    ``denominator`` and ``value`` name contents codes or labels. A tidy table that already has
    ``numerator`` and ``denominator`` columns gives them per indicator; its rows whose
    indicator is the study's indicator id (or ``value``) are taken.
    """
    if {"numerator", "denominator"} <= set(raw.columns):
        return _from_tidy(raw, indicator_id, indicator, path)
    extra = [c for c in raw.columns if c not in _REGISTRY_CORE]
    for c in extra:
        if raw[c].nunique(dropna=True) > 1:
            raise RegistryFileError(
                path,
                f"the table has several values of dimension {c!r} "
                f"({', '.join(map(str, raw[c].unique()[:5]))}); export one table per value",
            )
    keys = ["kommune", "period"]
    parts = {}
    names = (
        {"numerator": indicator.numerator, "denominator": indicator.denominator}
        if indicator.numerator
        else {}
    )
    if indicator.value:
        names["value"] = indicator.value
    for role, name in names.items():
        sub = _pick(raw, name, path)
        dup = sub.duplicated(keys)
        if dup.any():
            r = sub[dup].iloc[0]
            raise RegistryFileError(
                path, f"{name!r} has two values for kommune {r['kommune']} period {r['period']}"
            )
        parts[role] = sub.set_index(keys)[["value", "status"]].rename(
            columns={"value": role, "status": f"status_{role}"}
        )
    obs = pd.concat(parts.values(), axis=1).reset_index()
    status_cols = [c for c in obs.columns if c.startswith("status_")]
    obs["status"] = obs[status_cols].apply(
        lambda r: ",".join(sorted({str(x) for x in r.dropna()})) or pd.NA, axis=1
    ) if len(obs) else pd.Series(dtype="string")
    for col in ("numerator", "denominator", "value"):
        if col not in obs:
            obs[col] = np.nan
    obs["indicator"] = indicator_id
    obs["year"] = pd.to_numeric(obs["period"].astype(str).str[:4], errors="coerce")
    if obs["year"].isna().any():
        bad = obs.loc[obs["year"].isna(), "period"].iloc[0]
        raise RegistryFileError(path, f"period {bad!r} does not start with a year")
    obs["year"] = obs["year"].astype("int64")
    obs = obs[obs["kommune"].notna()]
    return obs[OBSERVATION_COLUMNS].reset_index(drop=True)


def _from_tidy(raw: pd.DataFrame, indicator_id: str, indicator: Indicator, path: str):
    names = {indicator_id} | ({indicator.value} if indicator.value else set())
    sub = raw[raw["indicator"].isin(names) | raw["indicator_label"].isin(names)].copy()
    if sub.empty:
        raise RegistryFileError(
            path, f"no rows for indicator {indicator_id!r} (found: "
            f"{', '.join(map(str, sorted(raw['indicator'].dropna().unique())[:10]))})"
        )
    dup = sub.duplicated(["kommune", "period"])
    if dup.any():
        r = sub[dup].iloc[0]
        raise RegistryFileError(
            path, f"two rows for kommune {r['kommune']} period {r['period']}"
        )
    sub["indicator"] = indicator_id
    sub["year"] = pd.to_numeric(sub["period"].astype(str).str[:4], errors="coerce")
    if sub["year"].isna().any():
        bad = sub.loc[sub["year"].isna(), "period"].iloc[0]
        raise RegistryFileError(path, f"period {bad!r} does not start with a year")
    sub["year"] = sub["year"].astype("int64")
    sub = sub[sub["kommune"].notna()]
    return sub[OBSERVATION_COLUMNS].reset_index(drop=True)
