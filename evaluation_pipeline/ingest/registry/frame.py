"""The registry frame every reader returns: its columns, dtypes and kommune codes.

What lives here: ``REGISTRY_COLUMNS`` (and the status symbols that stand for a missing value),
:func:`finish_frame` (column order and dtypes of every registry frame) and
:func:`normalize_kommune_codes`, shared by the JSON-stat reader and the table layouts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

REGISTRY_COLUMNS = [
    "kommune",
    "kommune_name",
    "period",
    "indicator",
    "indicator_label",
    "value",
    "status",
]
STR_COLUMNS = ["kommune", "kommune_name", "period", "indicator", "indicator_label", "status"]

#: SSB symbols (and Udir's "*" for suppressed cells) that stand for a missing value.
STATUS_SYMBOLS = frozenset({".", "..", "...", ":", "-", "*", "x", "…"})

_NA_FREE = {"kommune_name", "period", "indicator", "indicator_label"}


def normalize_kommune_codes(codes: pd.Series) -> pd.Series:
    """'K-3001' -> '3001', '301'/'301.0' -> '0301'; other codes are kept as they are."""
    s = codes.astype("string").str.strip()
    s = s.str.replace(r"^K-", "", regex=True)
    s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    three = s.str.fullmatch(r"\d{3}").fillna(False)
    s = s.mask(three, s.str.zfill(4))
    return s.mask(s == "", pd.NA)


def string_series(values: Any, index: pd.Index | None = None) -> pd.Series:
    """``values`` as a pandas "string" Series."""
    return pd.Series(values, index=index, dtype="string")


def finish_frame(cols: dict[str, Any] | pd.DataFrame) -> pd.DataFrame:
    """Column order and dtypes of every registry frame (str columns as pandas "string")."""
    if isinstance(cols, pd.DataFrame):
        cols = {c: cols[c].to_numpy(dtype=object) for c in cols.columns}
    extra = [c for c in cols if c not in REGISTRY_COLUMNS]
    out: dict[str, Any] = {}
    for c in REGISTRY_COLUMNS + extra:
        v = cols[c]
        if c in ("value", "numerator", "denominator"):
            out[c] = pd.to_numeric(pd.Series(v), errors="coerce").to_numpy(dtype=np.float64)
        else:
            arr = np.asarray(v, dtype=object)
            if arr.ndim == 0:
                arr = np.full(_length(cols), arr.item(), dtype=object)
            out[c] = pd.array(arr, dtype="string")
    df = pd.DataFrame(out)
    blank = df["status"] == ""
    if blank.any():
        df["status"] = df["status"].mask(blank.fillna(False), pd.NA)
    return df


def _length(cols: dict[str, Any]) -> int:
    return max((len(v) for v in cols.values() if np.ndim(v) == 1), default=0)
