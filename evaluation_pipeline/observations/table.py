"""One study indicator from a registry file as read (:func:`read_indicator_table`): the kommune
observations, the country/fylke reference series, kommune names -> codes and the borders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import geography
from ..errors import RegistryFileError
from ..study import Indicator
from .columns import NA_KEY, RAW_OBSERVATION_COLUMNS, REFERENCE_COLUMNS, REGISTRY_CORE
from .dimensions import (
    PER_TEXT,
    SCALE_BASE,
    apply_filter,
    detect_scale,
    no_kommune_level,
    resolve_dimensions,
)
from .periods import period_year


@dataclass
class IndicatorRead:
    """One study indicator read from its file: the kommune observations
    (:data:`RAW_OBSERVATION_COLUMNS`), the country/fylke reference series
    (:data:`REFERENCE_COLUMNS`) and notes on what was decided (borders, scale, periods,
    ignored label columns, filters)."""

    observations: pd.DataFrame
    reference: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    borders: str = "as_published"
    scale: str = "counts"


# ---- the study's observations of one indicator ------------------------------------------------
def _pick(raw: pd.DataFrame, name: str, path: str) -> pd.DataFrame:
    hit = raw[(raw["indicator"] == name) | (raw["indicator_label"] == name)]
    if hit.empty:
        found = sorted(set(raw["indicator"].dropna()) | set(raw["indicator_label"].dropna()))
        raise RegistryFileError(
            path, f"no contents {name!r} in the file (found: {', '.join(map(str, found[:10]))})"
        )
    return hit


def registry_observations(
    raw: pd.DataFrame,
    indicator_id: str,
    indicator: Indicator,
    path: str = "<registry file>",
    *,
    study=None,
) -> pd.DataFrame:
    """The study's kommune observations of one indicator (:data:`RAW_OBSERVATION_COLUMNS`)
    from a read registry file; see :func:`read_indicator_table` (this is its
    ``observations``)."""
    return read_indicator_table(raw, indicator_id, indicator, path, study=study).observations


def read_indicator_table(
    raw: pd.DataFrame,
    indicator_id: str,
    indicator: Indicator,
    path: str = "<registry file>",
    *,
    study=None,
) -> IndicatorRead:
    """Pick the numerator and denominator (or the published value) of one study indicator
    and interpret the file as published (see the module docstring): kommune names -> codes,
    borders, reference rows, periods, filters and label columns, the scale of a rate.

    In a table with one row per contents code (JSON-stat, PxWeb) the study's ``numerator``,
    ``denominator`` and ``value`` name contents codes or labels. A tidy table that already has
    ``numerator`` and ``denominator`` columns gives them per indicator; its rows whose
    indicator is the study's indicator id (or ``value``) are taken. ``study`` gives the
    ``geography_year`` (default 2024) and the kommuner that resolve ambiguous names.
    """
    if {"numerator", "denominator"} <= set(raw.columns):
        return _from_tidy(raw, indicator_id, indicator, path, study)
    notes: list[str] = []
    if raw["kommune"].isna().all() and raw["kommune_name"].isna().all():
        raise no_kommune_level(raw, path)
    raw, filtered = apply_filter(raw, indicator, path)
    if filtered:
        notes.append("filter: " + ", ".join(f"{k} = {v}" for k, v in indicator.filter.items()))
    keys = ["kommune", "kommune_name", "period"]
    parts = {}
    names = (
        {"numerator": indicator.numerator, "denominator": indicator.denominator}
        if indicator.numerator
        else {}
    )
    if indicator.value:
        names["value"] = indicator.value
    label = ""
    for role, name in names.items():
        sub = _pick(raw, name, path)
        sub, dim_notes = resolve_dimensions(sub, indicator, path, filtered)
        notes += [n for n in dim_notes if n not in notes]
        k = sub[keys].astype("string").fillna(NA_KEY)
        dup = k.duplicated()
        if dup.any():
            r = sub[dup.to_numpy()].iloc[0]
            where = r["kommune"] if pd.notna(r["kommune"]) else r["kommune_name"]
            raise RegistryFileError(
                path, f"{name!r} has two values for kommune {where} period {r['period']}"
            )
        if role == "value":
            texts = [str(x) for x in pd.unique(sub["indicator_label"].dropna())]
            texts += [str(sub[c].dropna().iloc[0]) for c in sub.columns
                      if c not in REGISTRY_CORE and sub[c].nunique(dropna=True) == 1
                      and re.search(r"måltall|maltall|measure|enhet|unit|mål", c, re.I)]
            label = " / ".join(texts)
        part = sub[keys + ["value", "status"]].copy()
        for c in keys:
            part[c] = part[c].astype("string").fillna(NA_KEY)
        parts[role] = part.set_index(keys).rename(
            columns={"value": role, "status": f"status_{role}"})
    obs = pd.concat(parts.values(), axis=1).reset_index()
    for c in keys:
        obs[c] = obs[c].mask(obs[c] == NA_KEY, pd.NA)
    status_cols = [c for c in obs.columns if c.startswith("status_")]
    obs["status"] = _joined_status(obs[status_cols])
    for col in ("numerator", "denominator", "value"):
        if col not in obs:
            obs[col] = np.nan
    obs["indicator"] = indicator_id
    obs["year"] = period_year(obs["period"], path).astype("int64")
    # regions: kommune rows, and country / fylke rows kept apart as reference series
    named = obs["kommune"].isna() & obs["kommune_name"].notna()
    level = pd.Series("kommune", index=obs.index, dtype="string")
    level[named] = obs.loc[named, "kommune_name"].map(geography.area_level)
    level[obs["kommune"].isna() & obs["kommune_name"].isna()] = pd.NA
    fylker = frozenset().union(*[geography.fylke_prefixes(n) for n in
                                 obs.loc[level == "fylke", "kommune_name"].unique()])
    gy = study.geography_year if study is not None else 2024
    kommuner = tuple(study.kommuner) if study is not None else ()
    borders, border_note = _borders(obs, named & (level == "kommune"), indicator, gy, fylker,
                                    kommuner, path)
    if border_note:
        notes.append(border_note)
    # the scale of a published rate
    scale = "counts"
    if indicator.value and not indicator.numerator:
        if indicator.scale:
            scale, why = indicator.scale, "declared (scale:)"
        else:
            scale, why = detect_scale(obs["value"], label)
        factor = indicator.per / SCALE_BASE[scale]
        obs["value"] = obs["value"] * factor
        target = PER_TEXT.get(float(indicator.per), f"per {indicator.per:g}")
        notes.append(f"published rate: {scale.replace('_', ' ')} ({why}), stored as {target}"
                     + (f" (× {factor:g})" if factor != 1 else ""))
    obs["borders"] = borders
    obs["source_scale"] = scale
    ref = obs[level.isin(["country", "fylke"]).fillna(False)].copy()
    ref["level"] = level[ref.index]
    ref["area"] = ref["kommune_name"]
    kom = obs[(level == "kommune").fillna(False) & obs["kommune"].notna()]
    out = kom[RAW_OBSERVATION_COLUMNS].reset_index(drop=True)
    out["status"] = out["status"].astype("string")
    return IndicatorRead(out, ref[REFERENCE_COLUMNS].reset_index(drop=True), notes,
                         borders, scale)


def _borders(obs: pd.DataFrame, named: pd.Series, indicator: Indicator, gy: int,
             fylker: frozenset[str], kommuner: tuple[str, ...], path: str) -> tuple[str, str]:
    """Map kommune names to codes in place (``obs['kommune']``) and decide the borders:
    as published (codes of each year) or current (codes of ``geography_year``)."""
    declared = indicator.borders
    note = ""
    has_data = obs[[c for c in ("numerator", "denominator", "value") if c in obs]].notna().any(
        axis=1)
    coded = obs["kommune"].notna() & ~named & has_data
    # codes as published: a code with data in a year it did not exist but valid in gy (a
    # code listed with status '.' in the years it did not exist says nothing)
    code_current = pd.Series(False, index=obs.index)
    if coded.any():
        ok = geography.valid_in_year(obs.loc[coded, "kommune"], obs.loc[coded, "year"])
        now = obs.loc[coded, "kommune"].isin(list(geography.valid_codes(gy)))
        code_current.loc[coded] = (~ok & now).to_numpy()
    if not named.any():
        if declared:
            return declared, f"borders: {declared} (declared)"
        if code_current.any():
            r = obs[code_current].iloc[0]
            return "current", (
                f"borders: current (detected: code {r['kommune']} is used for {r['year']} but "
                f"is {geography.validity_text(r['kommune'])}; the file publishes its history "
                f"on today's borders)")
        return "as_published", ""
    names, years = obs.loc[named, "kommune_name"], obs.loc[named, "year"]

    def run(mode: str):
        return geography.codes_for_names(names, years, borders=mode, geography_year=gy,
                                         fylker=fylker, kommuner=kommuner)

    if declared:
        mode = declared
        codes, unresolved, ambiguous = run(mode)
        note = f"borders: {declared} (declared)"
    else:
        codes, unresolved, ambiguous = run("as_published")
        mode = "as_published"
        if unresolved or code_current.any():
            c2, u2, a2 = run("current")
            if len(u2) < len(unresolved) or (code_current.any() and not u2):
                shown = geography.describe_unresolved(unresolved)[:2]
                mode, codes = "current", c2
                note = (f"borders: current (detected: {'; '.join(shown)}; the name exists in "
                        f"{gy}: the file publishes its history on today's borders)" if shown
                        else "borders: current (detected from the codes)")
                unresolved, ambiguous = u2, a2
    if unresolved:
        texts = geography.describe_unresolved(unresolved, gy)
        extra = ("; if the file publishes its history on today's borders, add "
                 "`borders: current` to the indicator" if mode == "as_published" else "")
        where = f"geography_year {gy}" if mode == "current" else "the period's year"
        raise RegistryFileError(
            path, f"kommune name(s) that are no kommune in {where} (borders: {mode}): "
            f"{'; '.join(texts[:5])}{extra}", column="kommune_name")
    if ambiguous:
        raise RegistryFileError(
            path, "kommune name(s) of several kommuner: " + "; ".join(ambiguous[:5])
            + ". The file has no fylke row that tells them apart and the study's network and "
            "comparison hold none (or several) of them: add the intended kommune (its "
            f"{gy} code) to the study's comparison or network", column="kommune_name")
    obs.loc[named, "kommune"] = codes.to_numpy()
    return mode, note


def _joined_status(statuses: pd.DataFrame) -> pd.Series:
    """Per row, the distinct non-missing status symbols of the columns, sorted and joined
    with ``,`` (missing when there is none); vectorised (this runs on every registry cell)."""
    cols = [statuses[c].astype("string") for c in statuses.columns]
    if not cols:
        return pd.Series(pd.NA, index=statuses.index, dtype="string")
    if len(cols) == 1:
        return cols[0]
    if len(cols) == 2:
        a, b = cols
        lo = a.where(a.isna() | b.isna() | (a <= b), b)  # the smaller of two present symbols
        hi = b.where(a.isna() | b.isna() | (a <= b), a)
        both = lo.str.cat(hi, sep=",")
        out = both.where(a.notna() & b.notna() & (a != b), a.fillna(b))
        return out.astype("string")
    frame = statuses.reset_index(drop=True)
    long = frame.stack().astype(str).rename("symbol").reset_index(level=1, drop=True)
    long = long.rename_axis("row").reset_index().drop_duplicates()
    joined = long.sort_values(["row", "symbol"]).groupby("row")["symbol"].agg(",".join)
    out = joined.reindex(range(len(frame))).astype("string")
    out.index = statuses.index
    return out


def _from_tidy(raw: pd.DataFrame, indicator_id: str, indicator: Indicator, path: str,
               study=None) -> IndicatorRead:
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
    sub["year"] = period_year(sub["period"], path).astype("int64")
    sub = sub[sub["kommune"].notna()]
    gy = study.geography_year if study is not None else 2024
    borders, note = _borders(sub, pd.Series(False, index=sub.index), indicator, gy,
                             frozenset(), (), path)
    sub["borders"] = borders
    sub["source_scale"] = "counts"
    empty = pd.DataFrame(columns=REFERENCE_COLUMNS)
    return IndicatorRead(sub[RAW_OBSERVATION_COLUMNS].reset_index(drop=True), empty,
                         [note] if note else [], borders, "counts")
