"""Publication tables: rounded, small cells suppressed, written atomically as CSV."""

from __future__ import annotations

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
