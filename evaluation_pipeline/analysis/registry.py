"""Registry effects: network vs comparison kommuner on registry outcomes.

The estimators live in ``did`` (two-way fixed effects, event study) and ``staggered``
(Callaway & Sant'Anna group-time ATT); this module builds the study's panels and runs them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .did import did_twfe
from .effects import Effect

__all__ = ["did_twfe", "registry_panel", "registry_effects", "group_means"]


def registry_panel(observations: pd.DataFrame, study, indicator: str) -> pd.DataFrame:
    """The kommune × year panel of one indicator for the study's network and comparison
    kommuner, with ``network`` (0/1), ``join_year`` and ``treated`` (network and year >= join)."""
    obs = observations[
        (observations["indicator"] == indicator) & observations["kommune"].isin(study.kommuner)
    ].copy()
    obs["network"] = obs["kommune"].isin(list(study.network)).astype(int)
    obs["join_year"] = obs["kommune"].map(study.network).astype("Float64")
    obs["treated"] = ((obs["network"] == 1) & (obs["year"] >= obs["join_year"])).astype(int)
    obs["treated"] = obs["treated"].fillna(0).astype(int)
    return obs.sort_values(["kommune", "year"]).reset_index(drop=True)


def registry_effects(observations: pd.DataFrame, study) -> list[Effect]:
    """TWFE DiD of every registry indicator of the study (rates as outcome)."""
    effects = []
    for ind, cfg in study.registry.indicators.items():
        panel = registry_panel(observations, study, ind)
        if panel["value"].notna().sum() == 0:
            continue
        e = did_twfe(panel, "value", "kommune", "year", "treated", label=ind)
        effects.append(_with_break_note(e, panel, cfg.breaks))
    return effects


def _with_break_note(effect: Effect, panel: pd.DataFrame, breaks: list[int]) -> Effect:
    """Say so when the panel straddles a definition break of the indicator."""
    inside = [b for b in breaks if panel["year"].min() < b <= panel["year"].max()]
    if not inside:
        return effect
    note = (f"{effect.note}; definition break in {', '.join(map(str, inside))} inside the "
            "panel: year effects absorb a shift common to all kommuner, not one that differs "
            "between network and comparison")
    return replace(effect, note=note)


def group_means(observations: pd.DataFrame, study) -> pd.DataFrame:
    """Mean rate per indicator × year for network and comparison kommuner (from summed
    numerators and denominators, so larger kommuner weigh more, as a pooled rate should)."""
    obs = observations[observations["kommune"].isin(study.kommuner)].copy()
    obs["group"] = np.where(obs["kommune"].isin(list(study.network)), "network", "comparison")
    ok = obs.dropna(subset=["numerator", "denominator"])
    g = ok.groupby(["indicator", "year", "group"], as_index=False)[
        ["numerator", "denominator"]
    ].sum()
    per = {k: v.per for k, v in study.registry.indicators.items()}
    g["value"] = g["numerator"] / g["denominator"] * g["indicator"].map(per)
    g["n_kommuner"] = (
        ok.groupby(["indicator", "year", "group"])["kommune"].nunique().to_numpy()
    )
    return g
