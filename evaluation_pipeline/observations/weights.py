"""What the registry DiD notes say about an indicator: its weights (:func:`did_weights`:
unweighted, packaged population or a population file) and how its periods were published."""

from __future__ import annotations

import re

import pandas as pd

from .. import geography
from ..errors import RegistryFileError
from .periods import period_notes

# ---- what the registry DiD notes say about an indicator ---------------------------------------
_POP_COL_RE = re.compile(r"^(population|befolkning|folkemengde|personer|pop|value|verdi)$",
                         re.I)


def _weights_file(path, study) -> pd.DataFrame:
    """kommune, year, population from a CSV the study names (columns kommune/kommunenummer,
    year/år, population/befolkning/personer)."""
    p = study.path(path)
    if not p.is_file():
        raise RegistryFileError(p, "weights: file not found (expected a CSV with kommune, "
                                   "year and population columns)")
    df = pd.read_csv(p, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    cols = {c.strip().casefold(): c for c in df.columns}
    kom = next((cols[c] for c in cols if c in ("kommune", "kommunenummer", "kommune_code",
                                                "region")), None)
    yr = next((cols[c] for c in cols if c in ("year", "år", "aar", "period")), None)
    pop = next((cols[c] for c in cols if _POP_COL_RE.match(c)), None)
    if not (kom and yr and pop):
        raise RegistryFileError(
            p, f"weights: expected columns kommune, year and population; found "
            f"{', '.join(df.columns)}")
    out = pd.DataFrame({
        "kommune": df[kom].str.strip().str.extract(r"(\d{3,4})")[0].str.zfill(4),
        "year": pd.to_numeric(df[yr].str.strip().str[:4], errors="coerce"),
        "population": pd.to_numeric(df[pop].str.replace(r"[\s\u00a0]", "", regex=True)
                                    .str.replace(",", "."), errors="coerce"),
    }).dropna()
    out["year"] = out["year"].astype(int)
    return out


def did_weights(panel: pd.DataFrame, study, indicator_id: str
                ) -> tuple[pd.DataFrame, str | None, str]:
    """(panel, weight column or None, note) for the TWFE DiD of one indicator.

    ``weights: population`` weighs each kommune-year by the packaged population of the
    indicator's ``age_group`` (SSB 07459 via FHI, 2024 borders); ``weights: <file>`` by the
    population in a CSV the study names (kommune, year, population). Without ``weights`` the
    DiD is unweighted (each kommune counts equally), which the note says — for a published
    rate without counts (``value:``) that is the only choice the file allows."""
    cfg = study.registry.indicators[indicator_id]
    rate_only = cfg.value is not None and cfg.numerator is None
    if not cfg.weights:
        why = ("a published rate without counts" if rate_only else "rates of kommuner")
        return panel, None, (f"TWFE unweighted: each kommune counts equally ({why}; "
                             "`weights: population` with age_group weighs by population)")
    if cfg.weights == "population":
        pop = geography.population_for(cfg.age_group)
        what = f"population {', '.join(cfg.age_group)} (SSB 07459 via FHI, packaged)"
    else:
        pop = _weights_file(cfg.weights, study)
        what = f"population from {cfg.weights}"
    out = panel.merge(pop.rename(columns={"population": "_weight"}), on=["kommune", "year"],
                      how="left")
    missing = out["_weight"].isna() & out["value"].notna()
    note = f"TWFE weighted by {what}"
    if missing.any():
        cells = out.loc[missing, ["kommune", "year"]].astype(str).agg(" ".join, axis=1)
        note += (f"; {int(missing.sum())} kommune-year(s) without population left out "
                 f"(e.g. {', '.join(cells.head(3))})")
        out = out[~missing]
    return out.reset_index(drop=True), "_weight", note


def indicator_notes(observations: pd.DataFrame, indicator_id: str) -> list[str]:
    """Notes on how an indicator's values were published (rolling averages, school years),
    from the periods kept in the (harmonized) observations."""
    if "period" not in observations.columns:
        return []
    periods = observations.loc[observations["indicator"] == indicator_id, "period"]
    return period_notes(periods.drop_duplicates())
