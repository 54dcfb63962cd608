"""Publication tables: rounded, small cells suppressed, written atomically as CSV."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd


def round_for_publication(df: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Round float columns to ``digits`` significant decimals (counts stay integers)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(digits)
    return out


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` to ``path`` (UTF-8, comma-separated) via a temporary file, so a failed
    write never leaves a half-written table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False, encoding="utf-8")
    tmp.replace(path)
    return path


_BOOT = re.compile(  # the note did_twfe writes when it ran the wild cluster bootstrap
    r"wild cluster bootstrap \([^)]*\): p=([0-9.]+), [0-9.]+% CI \[([^,]+), ([^\]]+)\]"
)


def registry_did_table(effects: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Registry effects with the two estimators side by side, one row per indicator: TWFE
    (CR1 CI, and the wild cluster bootstrap p and CI read from the Effect's note when it was
    run) and Callaway & Sant'Anna's simple ATT with its CI."""
    reg = effects[effects["source"] == "registry"]
    rows = []
    for ind, grp in reg.groupby("outcome", sort=False):
        twfe = grp[grp["estimator"].str.startswith("TWFE")]
        cs = grp[grp["estimator"].str.startswith("Callaway")]
        row = {"indicator": names.get(ind, ind)}
        if len(twfe):
            e = twfe.iloc[0]
            row |= {"twfe": e["estimate"], "twfe_ci_low": e["ci_low"],
                    "twfe_ci_high": e["ci_high"], "twfe_p": e["p_value"]}
            m = _BOOT.search(str(e["note"]))
            row |= ({"boot_p": float(m[1]), "boot_ci_low": float(m[2]),
                     "boot_ci_high": float(m[3])} if m else {})
        if len(cs):
            e = cs.iloc[0]
            row |= {"cs": e["estimate"], "cs_ci_low": e["ci_low"], "cs_ci_high": e["ci_high"],
                    "cs_p": e["p_value"]}
        rows.append(row)
    return pd.DataFrame(rows)
