"""The interview frame every reader returns, and what the readers share.

What lives here: ``INTERVIEW_COLUMNS`` and :func:`finish_frame` (column order and dtypes),
``UNKNOWN_CODE``, the attribute names read as kommune/role/wave (``VARIABLE_SYNONYMS``), the
warnings of the QDA readers and :func:`warn_caller`, which points a warning at the line that
called the reader.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd

#: how many problems a message lists before "(and N more)"
MAX_LISTED = 5
_PACKAGE_DIR = os.path.dirname(__file__)


class QDAReadWarning(UserWarning):
    """A QDA project was read, but something in it deserves a look (see the message)."""


class QDASchemaWarning(QDAReadWarning):
    """A REFI-QDA project deviates from the REFI-QDA Project XSD but was read anyway."""


def warn_caller(message: str, category: type[Warning]) -> None:
    """Warn at the first caller outside this package (the line that called the reader)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _PACKAGE_DIR:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


INTERVIEW_COLUMNS = [
    "project",
    "source",
    "source_guid",
    "segment_id",
    "coder",
    "code",
    "code_guid",
    "code_path",
    "theme",
    "start",
    "end",
    "text_length",
    "kommune",
    "role",
    "wave",
]
INT_COLUMNS = ("start", "end", "text_length")
UNKNOWN_CODE = "<unknown code GUID>"

VARIABLE_SYNONYMS = {
    "kommune": {"kommune", "municipality", "kommunenummer", "kommunenr"},
    "role": {"role", "sector", "sektor", "rolle"},
    "wave": {"wave", "round", "runde"},
}


def empty_frame() -> pd.DataFrame:
    return finish_frame({c: [] for c in INTERVIEW_COLUMNS})


def finish_frame(cols: dict[str, Any]) -> pd.DataFrame:
    out: dict[str, Any] = {}
    for c in INTERVIEW_COLUMNS:
        v = cols[c]
        if c in INT_COLUMNS:
            out[c] = pd.array(pd.to_numeric(pd.Series(v, dtype=object)), dtype="Int64")
        else:
            arr = np.asarray(v, dtype=object)
            out[c] = pd.array(np.where(pd.isna(arr), None, arr), dtype="string")
    df = pd.DataFrame(out)
    df["text_length"] = df["end"] - df["start"]
    return df
