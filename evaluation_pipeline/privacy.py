"""Privacy: pseudonymisation of respondent/informant IDs at ingest, small-cell suppression of
everything published.

Pseudonyms are keyed HMAC-SHA256 digests: stable within a study (so panel respondents can be
linked across waves) but not reversible without the key. The key comes from the environment
variable ``EVALUATION_PSEUDONYM_KEY`` or, if unset, from ``<study>/.pseudonym_key`` (created on
first use with a random key, git-ignored, readable only by its owner). Python's ``hmac`` is the
standard tool for this; no extra library is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

KEY_ENV = "EVALUATION_PSEUDONYM_KEY"
SUPPRESSED = "prikket"  # marker written in place of a suppressed value in published tables


def pseudonym_key(study_root: str | Path) -> bytes:
    """The study's pseudonymisation key (env var, else ``.pseudonym_key`` in the study folder)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    path = Path(study_root) / ".pseudonym_key"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32), encoding="ascii")
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text(encoding="ascii").strip().encode("ascii")


def pseudonymise(values: pd.Series, key: bytes, prefix: str = "P") -> pd.Series:
    """Replace each ID by ``<prefix>-<12 hex digits>`` of HMAC-SHA256(key, id); NA stays NA."""
    uniq = pd.unique(values.dropna().astype(str))
    mapping = {
        v: f"{prefix}-{hmac.new(key, v.encode('utf-8'), hashlib.sha256).hexdigest()[:12]}"
        for v in uniq
    }
    out = values.astype("string").map(mapping)
    return out.astype("string")


def suppress_small_cells(
    table: pd.DataFrame,
    count_columns: list[str],
    threshold: int,
    value_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Blank every row whose count in any of ``count_columns`` is below ``threshold`` (but > 0 is
    not required: a zero count is not sensitive and is kept).

    The counts and the ``value_columns`` of such a row become NaN and the column ``suppressed``
    says True. Secondary suppression (stopping a hidden cell from being recovered from totals)
    is the job of the table builder, which knows the margins.
    """
    out = table.copy()
    counts = out[count_columns].apply(pd.to_numeric, errors="coerce")
    small = ((counts > 0) & (counts < threshold)).any(axis=1)
    cols = list(count_columns) + list(value_columns or [])
    for c in cols:
        out[c] = out[c].astype("float64") if pd.api.types.is_numeric_dtype(out[c]) else out[c]
        out.loc[small, c] = np.nan
    out["suppressed"] = small.to_numpy()
    return out
