"""What the logic-chain rooms share: the chain's levels, the verdicts, the columns of the
evidence and element tables, the thresholds, the wild-cluster-bootstrap pattern of an
Effect's note, and the small readers and formatters of Effect rows."""

from __future__ import annotations

import math
import re

import pandas as pd

LEVELS = ("goal", "intervention", "output", "outcome", "impact")
VERDICTS = ("supports", "no_clear_change", "contrary", "insufficient_data")
#: element and link verdicts add this one: nothing bound to measure
NOT_MEASURED = "not_measured"
EVIDENCE_COLUMNS = [
    "level", "element", "indicator", "source", "estimate", "ci_low", "ci_high", "expected",
    "verdict", "caveat", "basis", "note",
    # multiplicity (see "Multiplicity" in the package docstring)
    "p_value", "p_adjusted", "sim_ci_low", "sim_ci_high", "adjustment",
]
#: the caveat of an evidence row whose primary Effect compares few network kommuner
FEW_KOMMUNER_CAVEAT = "few_kommuner"
#: a comparison across kommuner needs at least this many kommuner in each group
MIN_KOMMUNER = 2
ELEMENT_COLUMNS = [
    "kind", "level", "element", "from_level", "from_element", "to_level", "to_element",
    "verdict", "n_indicators", "n_supports", "n_no_clear_change", "n_contrary",
    "n_insufficient_data", "reason",
]

_NUM = r"[-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|inf|nan)"
WCR = re.compile(
    rf"wild cluster bootstrap \([^)]*\): p=(?P<p>{_NUM}), (?P<level>{_NUM})% CI "
    rf"\[(?P<lo>{_NUM}), (?P<hi>{_NUM})\]"
)


def isnan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def hidden(row: pd.Series) -> bool:
    return bool(row.get("suppressed", False))


def unit_of(row: pd.Series) -> str:
    unit = row.get("n_unit")
    return str(unit) if isinstance(unit, str) else ""


def fmt_count(x) -> str:
    return "?" if isnan(x) else str(int(x))


def fmt_num(x, digits: int = 4) -> str:
    return "NA" if isnan(x) else f"{float(x):.{digits}g}"
