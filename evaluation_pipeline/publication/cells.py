"""Cell suppression of frequency tables (the engine of publication control) and the attacker
who checks it.

Small-cell suppression (``suppress``)
-------------------------------------
Frequency tables are protected by *primary* and *secondary cell suppression*, the standard
method of national statistical institutes, Statistics Norway (SSB, "prikking") included; see
Hundepool et al. (2012), *Statistical Disclosure Control*, Wiley, ch. 4 (sensitivity rules,
secondary cell suppression) and ch. 5 (frequency tables).

* **Primary suppression.** A cell with ``0 < count < threshold`` is sensitive and hidden.
  SSB often uses threshold 3, many others 5. When totals are published, a *total* (row,
  column or grand total) is a cell of the published table too and the same rule applies to it
  (a row total of 3 tells that the group has 3 members).
* **Zeros.** A zero is never sensitive: it is published as 0. Zeros are never used as
  complements either. A hidden zero gives real protection only if the reader cannot know it is
  empty, but empty cells are very often known to be empty from the structure of the data (no
  pupils of that age in that kommune, an answer category nobody could pick), so statistical
  offices do not count on them; and hiding a true zero as "prikket" would mislead. Because
  only non-zero cells are ever hidden, a hidden cell is at least 1 (counts are assumed to be
  whole numbers).
* **The attacker** (``hidden_intervals``, ``recoverable_cells``, ``unprotected_cells``) knows
  the published table and its totals, that counts are whole numbers, that every hidden entry
  is at least 1 (zeros are published) and the threshold. For each hidden entry it finds the
  smallest and largest value consistent with that, by linear programming. The LP bounds are
  whole-number bounds: a one- or two-way table with its margins is a network (every entry
  lies in two lines of the extended table; rows and the column of row totals on one side,
  columns and the row of column totals on the other), so its constraint matrix is totally
  unimodular and every vertex of the LP is a whole-number table.
* **Protection** (as tau-ARGUS and sdcTable define it for frequency tables): no hidden entry
  may be pinned down (``max - min >= 1``), and for every primary cell ``x`` the attacker's
  maximum must reach ``threshold`` (its upper protection level ``threshold - x``): otherwise
  the attacker proves that a small count is there. Example (issue 23): rows ``1 1 10``,
  ``1 1 10``, ``5 5 0`` with threshold 5; hiding the four 1s leaves ``a + b = 2`` with
  ``a, b >= 1`` in each row, so all four are 1, although every line holds two hidden cells.
* **Secondary suppression** (``totals=True``: row totals, column totals and the grand total are
  published). The table is treated as the extended table with its margins: each row together
  with its row total is a *line*, each column with its column total is a line, and so are the
  row of column totals and the column of row totals (both ending in the grand total). The
  primary cells are protected in turn, the smallest first (ties: table order): when the
  attacker's maximum of a primary cell ``x`` (an LP over the entries hidden so far) is below
  ``threshold``, a small mixed-integer programme (``scipy.optimize.milp``, HiGHS) hides the
  cheapest set of further entries that lets ``x`` rise by ``threshold - x``: a change of the
  hidden entries that keeps every line sum and every hidden entry >= 1. The cost of hiding an
  entry is its value plus one (value hidden, then cells; ties: earlier in table order); hiding
  a line's total is allowed and is sometimes the only way (a line of small cells only). Each
  choice comes with that change as a certificate, and hiding more only widens what the
  attacker must allow, so a primary protected once stays protected and a secondary entry
  (which moves in the change that made it hidden) is never pinned down. A one-dimensional
  table is solved in closed form: with its total published, the attacker's maximum of any
  hidden cell is ``1 + sum(x - 1)`` over the hidden cells; when that is below ``threshold``
  the smallest published cell is hidden too (it is >= ``threshold`` and suffices), or the
  total when there is none. The choice is optimal for each primary in turn, not for the whole
  table at once; ``benchmarks/disclosure_cost.py`` measures its cost against the rule used
  before issue 23 (two hidden entries per line, bridges closed), which left many tables
  exposed to this attacker (BENCHMARKS.md).
* Not modelled: an attacker who reasons about the suppression algorithm itself (which
  pattern it would have chosen) or links this table to other tables with shared cells; the
  caller publishes a hidden total nowhere else (the report hides it where it stands).
* ``totals=False`` means that no margin is published anywhere: nothing can be recovered from
  sums and only primary suppression is applied. If the margins are published elsewhere (the
  number of respondents in the text, another table), call with ``totals=True`` and drop the
  ``Total`` rows afterwards: their ``suppressed`` marks say which margins must not appear.

Why hand-written: no maintained pure-Python package does secondary cell suppression. The
reference tools are R (sdcTable; SSB's own GaussSuppression/SSBtools) or the Java/C++ program
tau-ARGUS. On PyPI (checked in the package list of this workplace) there are ``piargus`` (a
wrapper that drives an installed tau-ARGUS program, which cannot be installed from a package
registry), ``ssbkonf`` (wraps R methods, needs R), ``acro`` (SACRO's output checker: threshold
and dominance checks of cells, no secondary suppression as far as we know) and ``pytauargus``
(a new, unreviewed package). None is worth a heavy or unreviewed dependency for a short
algorithm built on scipy's HiGHS solvers (``linprog``, ``milp``) and verified by an independent
attacker written apart from it (``tests/sdc_attacker.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..errors import PipelineError

__all__ = [
    "TOTAL",
    "DisclosureError",
    "hidden_intervals",
    "recoverable_cells",
    "suppress",
    "unprotected_cells",
]

TOTAL = "Total"  # category value of total rows/columns in the output of ``suppress``

_NONE, _PRIMARY, _SECONDARY = 0, 1, 2
_LABELS = {_NONE: None, _PRIMARY: "primary", _SECONDARY: "secondary"}


class DisclosureError(PipelineError, ValueError):
    """A table cannot be protected as asked (duplicate cells, negative or missing counts)."""


# --------------------------------------------------------------------------------------------
# Cell suppression
# --------------------------------------------------------------------------------------------


def _categories(table: pd.DataFrame, column: str) -> list[Any]:
    if table[column].isna().any():
        raise DisclosureError(f"column {column!r} has missing categories")
    cats = list(pd.unique(table[column]))
    if any(isinstance(c, str) and c == TOTAL for c in cats):
        raise DisclosureError(f"column {column!r} already holds the category {TOTAL!r}")
    return cats


def _lines(n_rows: int, n_cols: int, totals: bool) -> list[tuple[list[int], int]]:
    """(interior entries, total entry) of every line of the extended (R+1) x (C+1) table, as
    flat indices ``i * (C + 1) + j``. Without totals there are no lines."""
    if not totals:
        return []
    width = n_cols + 1
    lines = []
    for i in range(n_rows + 1):  # rows, then the row of column totals
        lines.append(([i * width + j for j in range(n_cols)], i * width + n_cols))
    for j in range(n_cols + 1):  # columns, then the column of row totals
        lines.append(([i * width + j for i in range(n_rows)], n_rows * width + j))
    return lines


def _line_matrix(lines: list[tuple[list[int], int]], size: int) -> np.ndarray:
    """One row per line of the extended table: +1 for its interior entries, -1 for its total
    (a table is consistent iff ``A @ values == 0``)."""
    a = np.zeros((len(lines), size))
    for n, (interior, total) in enumerate(lines):
        a[n, interior] = 1.0
        a[n, total] = -1.0
    return a


def _max_increase(values: np.ndarray, hidden: np.ndarray, a: np.ndarray, k: int
                  ) -> tuple[float, np.ndarray | None]:
    """How far above its true value the attacker's maximum of entry ``k`` lies: the LP
    ``max d_k`` over changes ``d`` of the hidden entries that keep every line sum
    (``A d = 0``) and every hidden entry >= 1 (``values + d >= 1``). Also returns the
    maximising change (over all entries; None when unbounded)."""
    idx = np.flatnonzero(hidden)
    sub = a[:, idx]
    sub = sub[np.abs(sub).sum(axis=1) > 0]
    c = np.zeros(idx.size)
    c[np.searchsorted(idx, k)] = -1.0
    if sub.shape[0] == 0:
        return math.inf, None
    res = linprog(c, A_eq=sub, b_eq=np.zeros(sub.shape[0]),
                  bounds=list(zip(1.0 - values[idx], [None] * idx.size, strict=True)),
                  method="highs")
    if res.status == 3:
        return math.inf, None
    if res.status != 0:  # pragma: no cover - d = 0 is always feasible and HiGHS is exact here
        raise DisclosureError(f"the protection check failed: {res.message}")
    change = np.zeros(values.size)
    change[idx] = res.x
    return -float(res.fun), change


def _protect(values: np.ndarray, status: np.ndarray, candidates: np.ndarray, a: np.ndarray,
             k: int, need: float) -> np.ndarray:
    """Hide the cheapest set of further entries (in place) after which the attacker's maximum
    of entry ``k`` lies at least ``need`` above its true value; returns the change of the
    entries that shows it (a certificate: it keeps every line sum and every hidden entry >= 1).

    A mixed-integer programme (``scipy.optimize.milp``, HiGHS): over the non-zero entries
    ``candidates``, increases ``u`` and decreases ``v`` (both <= ``need``; a decrease keeps the
    entry >= 1) that keep every line sum, with ``u_k = need``; a published entry may change
    only when it is hidden (binary ``h``), and hiding entry e costs ``values[e] + 1`` (the
    value hidden plus one cell; between equal costs the entries earlier in table order).
    Entries already hidden cost nothing. A change of ``need`` is
    enough: a larger feasible change contains one of exactly ``need`` (flow decomposition)."""
    m = candidates.size
    vals = values[candidates]
    hidden = status[candidates] != _NONE
    sub = a[:, candidates]
    sub = sub[np.abs(sub).sum(axis=1) > 0]
    cap_up = np.full(m, need)
    cap_down = np.clip(np.minimum(vals - 1.0, need), 0.0, None)
    pos = int(np.searchsorted(candidates, k))
    lo = np.zeros(3 * m)
    hi = np.concatenate([cap_up, cap_down, np.ones(m)])
    lo[pos], hi[m + pos] = need, 0.0  # entry k goes up by need
    lo[2 * m:][hidden] = 1.0  # h = 1 for the entries already hidden
    eye = np.eye(m)
    link = np.block([[eye, np.zeros((m, m)), -np.diag(cap_up)],
                     [np.zeros((m, m)), eye, -np.diag(cap_down)]])
    flow = np.hstack([sub, -sub, np.zeros_like(sub)])
    # ties between sets of equal cost: the entries earlier in table order (the ranks add up
    # to less than 1, the smallest difference of two costs)
    tie = np.arange(m) * (0.5 / (m * m))
    cost = np.concatenate([np.zeros(2 * m), np.where(hidden, 0.0, vals + 1.0 + tie)])
    res = milp(cost,
               constraints=[LinearConstraint(flow, 0.0, 0.0),
                            LinearConstraint(link, -np.inf, 0.0)],
               integrality=np.concatenate([np.zeros(2 * m), np.ones(m)]),
               bounds=Bounds(lo, hi), options={"mip_rel_gap": 0.0, "presolve": False})
    if res.status != 0:  # pragma: no cover - hiding a line's margins always works (docstring)
        raise DisclosureError(f"cannot protect a hidden cell: {res.message}")
    status[candidates[(res.x[2 * m:] > 0.5) & ~hidden]] = _SECONDARY
    change = np.zeros(values.size)
    change[candidates] = np.round(res.x[:m] - res.x[m:2 * m])
    return change


def _is_certificate(change: np.ndarray, values: np.ndarray, hidden: np.ndarray,
                    a: np.ndarray) -> bool:
    """Whether ``change`` moves only hidden entries, keeps every line sum and every hidden
    entry >= 1 (then the attacker cannot rule out ``values + change``)."""
    return bool(np.all(change[~hidden] == 0) and np.allclose(a @ change, 0.0)
                and np.all(values[hidden] + change[hidden] >= 1 - 1e-9))


def _secondary_line(values: np.ndarray, status: np.ndarray, line: tuple[list[int], int],
                    threshold: float) -> None:
    """Secondary suppression of a one-dimensional table (one line), in closed form.

    With its total published, the hidden cells H add up to a known S; each is >= 1, so the
    attacker's maximum of any hidden cell is ``S - (|H| - 1) = 1 + sum(x - 1 over H)`` and
    its minimum 1. Every primary cell is protected iff that maximum reaches ``threshold``.
    If it does not, one more cell is enough: a published non-zero cell is >= ``threshold``
    and adds ``x - 1 >= threshold - 1`` to the sum. The cheapest is the smallest (ties: the
    first in table order); without one, the total is hidden (nothing is then bounded). This
    is what the mixed-integer programme of :func:`_protect` finds for a single line."""
    interior, total = line
    if status[total] != _NONE or not (status[interior] == _PRIMARY).any():
        return
    hidden = [k for k in interior if status[k] != _NONE]
    if 1 + sum(values[k] - 1 for k in hidden) >= threshold:
        return
    cands = [k for k in interior if status[k] == _NONE and values[k] > 0]
    pick = min(cands, key=lambda k: (values[k], k)) if cands else total
    status[pick] = _SECONDARY


def _secondary(values: np.ndarray, status: np.ndarray, exists: np.ndarray,
               lines: list[tuple[list[int], int]], threshold: float) -> None:
    """Secondary suppression (in place): every primary entry is protected in turn, the
    smallest first (ties: table order), by :func:`_protect` when the attacker's maximum does
    not yet reach ``threshold``. Hiding more only widens what the attacker must allow, so a
    change shown feasible once (an LP solution, a certificate of :func:`_protect`) stays
    feasible and protects every primary it raises far enough."""
    if len(lines) == 1:
        _secondary_line(values, status, lines[0], threshold)
        return
    a = _line_matrix(lines, values.size)
    candidates = np.flatnonzero(exists & (values > 0))
    primaries = sorted(np.flatnonzero(status == _PRIMARY), key=lambda k: (values[k], k))
    shown: list[np.ndarray] = []  # feasible changes found so far
    for k in primaries:
        need = threshold - values[k]
        if any(ch[k] >= need - 1e-7 for ch in shown):
            continue
        top, change = _max_increase(values, status != _NONE, a, k)
        if change is not None:
            shown.append(change)
        if top >= need - 1e-7:
            continue
        change = _protect(values, status, candidates, a, k, need)
        if not (_is_certificate(change, values, status != _NONE, a)
                and change[k] >= need - 1e-7):  # pragma: no cover - the MILP's constraints
            raise DisclosureError("secondary suppression left a primary cell unprotected")
        shown.append(change)


def suppress(
    table: pd.DataFrame,
    count: str,
    rows: str,
    cols: str | None = None,
    threshold: int = 5,
    totals: bool = True,
) -> pd.DataFrame:
    """Primary and secondary small-cell suppression of a frequency table in long form.

    ``table`` has one row per cell: its ``rows`` category, optionally its ``cols`` category
    and its ``count``. Returns the input rows with ``published`` (the count, or NaN when
    hidden) and ``suppressed`` ("primary", "secondary" or None), followed, when ``totals``, by
    the row totals (``cols == "Total"``), the column totals (``rows == "Total"``) and the grand
    total; with ``cols=None`` by one total row (``rows == "Total"``). Combinations missing from
    the input count as 0. See the module docstring for the method.
    """
    for c in [count, rows] + ([cols] if cols is not None else []):
        if c not in table.columns:
            raise DisclosureError(f"no column {c!r} in the table")
    counts = pd.to_numeric(table[count], errors="coerce")
    if counts.isna().any():
        raise DisclosureError(f"column {count!r} has missing or non-numeric counts")
    if (counts < 0).any():
        raise DisclosureError(f"column {count!r} has negative counts")
    keys = [rows] if cols is None else [rows, cols]
    if table.duplicated(keys).any():
        raise DisclosureError(f"more than one row per cell of {keys}")

    row_cats = _categories(table, rows)
    col_cats = _categories(table, cols) if cols is not None else None
    if col_cats is None:  # one dimension: a single row of cells
        n_rows, n_cols = 1, len(row_cats)
        r_idx = np.zeros(len(table), dtype=int)
        c_idx = pd.Index(row_cats).get_indexer(table[rows])
    else:
        n_rows, n_cols = len(row_cats), len(col_cats)
        r_idx = pd.Index(row_cats).get_indexer(table[rows])
        c_idx = pd.Index(col_cats).get_indexer(table[cols])

    width = n_cols + 1
    grid = np.zeros((n_rows + 1, n_cols + 1))
    grid[r_idx, c_idx] = counts.to_numpy(dtype=float)
    grid[:n_rows, n_cols] = grid[:n_rows, :n_cols].sum(axis=1)
    grid[n_rows, :] = grid[:n_rows, :].sum(axis=0)
    values = grid.ravel()

    # which entries exist in the published table: cells, and with totals the margins
    exists = np.zeros_like(grid, dtype=bool)
    exists[r_idx, c_idx] = True
    if totals:
        if col_cats is None:
            exists[0, n_cols] = True
        else:
            exists[:, n_cols] = True
            exists[n_rows, :] = True
    exists = exists.ravel()

    status = np.full(values.size, _NONE, dtype=int)
    status[exists & (values > 0) & (values < threshold)] = _PRIMARY
    if totals:
        lines = [(list(range(n_cols)), n_cols)] if col_cats is None else \
            _lines(n_rows, n_cols, totals)
        _secondary(values, status, exists, lines, threshold)

    out = table.copy().reset_index(drop=True)
    cell_k = r_idx * width + c_idx
    out["published"] = np.where(status[cell_k] == _NONE, values[cell_k], np.nan)
    out["suppressed"] = pd.Series([_LABELS[s] for s in status[cell_k]], dtype=object)

    if totals:
        extra = []

        def add(row_value: Any, col_value: Any, k: int) -> None:
            rec = {rows: row_value, count: values[k]}
            if col_cats is not None:
                rec[cols] = col_value
            rec["published"] = values[k] if status[k] == _NONE else np.nan
            rec["suppressed"] = _LABELS[int(status[k])]
            extra.append(rec)

        if col_cats is None:
            add(TOTAL, None, n_cols)
        else:
            for i, r in enumerate(row_cats):
                add(r, TOTAL, i * width + n_cols)
            for j, c in enumerate(col_cats):
                add(TOTAL, c, n_rows * width + j)
            add(TOTAL, TOTAL, n_rows * width + n_cols)
        tot = pd.DataFrame(extra)
        if pd.api.types.is_integer_dtype(table[count]):
            tot[count] = tot[count].round().astype(table[count].dtype)
        out = pd.concat([out, tot], ignore_index=True)
        out["suppressed"] = out["suppressed"].astype(object).where(out["suppressed"].notna(), None)
    out["published"] = out["published"].astype("float64")
    out.attrs["disclosure"] = {
        "count": count, "rows": rows, "cols": cols, "threshold": threshold, "totals": totals,
    }
    return out


# --------------------------------------------------------------------------------------------
# The attacker: what can be recovered from a published table
# --------------------------------------------------------------------------------------------


def _published_system(
    published_table: pd.DataFrame, rows: str | None, cols: str | None, published: str,
) -> tuple[list[tuple[Any, ...]], np.ndarray | None, np.ndarray | None]:
    """The attacker's equations: (keys of the hidden entries in table order, A_eq, b_eq) with
    one equation per line whose total and cells are all in the table."""
    if rows is None:
        meta = published_table.attrs.get("disclosure")
        if not meta:
            raise DisclosureError("pass rows= (and cols=) for a table not made by suppress()")
        rows, cols = meta["rows"], meta["cols"]
    t = published_table
    two_d = cols is not None
    rkey = t[rows].tolist()
    ckey = t[cols].tolist() if two_d else [None] * len(t)

    def is_total(v: Any) -> bool:
        return isinstance(v, str) and v == TOTAL

    if two_d:
        r_cats = list(dict.fromkeys(r for r in rkey if not is_total(r)))
        c_cats = list(dict.fromkeys(c for c in ckey if not is_total(c)))
    else:
        r_cats, c_cats = [None], list(dict.fromkeys(r for r in rkey if not is_total(r)))
    n_rows, n_cols = len(r_cats), len(c_cats)
    r_pos = {r: i for i, r in enumerate(r_cats)}
    c_pos = {c: j for j, c in enumerate(c_cats)}

    # entry (i, j) of the extended table -> published value (NaN hidden), absent -> not in dict
    entries: dict[tuple[int, int], float] = {}
    labels: dict[tuple[int, int], tuple[Any, ...]] = {}
    pub = pd.to_numeric(t[published], errors="coerce").to_numpy(dtype=float)
    for r, c, p in zip(rkey, ckey, pub, strict=True):
        if two_d:
            i = n_rows if is_total(r) else r_pos[r]
            j = n_cols if is_total(c) else c_pos[c]
            lab: tuple[Any, ...] = (r, c)
        else:
            i, j = 0, (n_cols if is_total(r) else c_pos[r])
            lab = (r,)
        entries[(i, j)] = p
        labels[(i, j)] = lab
    for i in range(n_rows):
        for j in range(n_cols):
            entries.setdefault((i, j), 0.0)

    hidden = [e for e in entries if np.isnan(entries[e])]
    var = {e: n for n, e in enumerate(hidden)}
    lines: list[tuple[list[tuple[int, int]], tuple[int, int]]] = []
    row_range = [0] if not two_d else list(range(n_rows + 1))
    for i in row_range:
        lines.append(([(i, j) for j in range(n_cols)], (i, n_cols)))
    if two_d:
        for j in range(n_cols + 1):
            lines.append(([(i, j) for i in range(n_rows)], (n_rows, j)))

    a_rows, b = [], []
    for interior, total in lines:
        if total not in entries or any(e not in entries for e in interior):
            continue  # that margin is not published: no equation
        coef = np.zeros(len(hidden))
        rhs = 0.0
        for e in interior:
            if e in var:
                coef[var[e]] += 1.0
            else:
                rhs -= entries[e]
        if total in var:
            coef[var[total]] -= 1.0
        else:
            rhs += entries[total]
        if coef.any():
            a_rows.append(coef)
            b.append(rhs)
    a_eq = np.array(a_rows) if a_rows else None
    b_eq = np.array(b) if b else None
    order = {e: n for n, e in enumerate(labels)}
    keys = [labels[e] for e in sorted(hidden, key=order.__getitem__)]
    perm = [var[e] for e in sorted(hidden, key=order.__getitem__)]
    if a_eq is not None:
        a_eq = a_eq[:, perm]
    return keys, a_eq, b_eq


def hidden_intervals(
    published_table: pd.DataFrame,
    rows: str | None = None,
    cols: str | None = None,
    *,
    published: str = "published",
    hidden_min: float = 1,
) -> pd.DataFrame:
    """What an informed attacker knows about each hidden entry (cell or total): the smallest
    and largest value it can take.

    The attacker knows the published table and its totals (``published``, NaN = hidden, any
    ``"Total"`` rows; missing combinations are published zeros), that counts are whole
    numbers, and that every hidden entry is at least ``hidden_min`` (1: ``suppress``
    publishes every zero, so a hidden count is never 0). ``scipy.optimize.linprog`` minimises
    and maximises each hidden entry subject to every published total being the sum of its
    line. The LP bounds are whole-number bounds too: a one- or two-way table with its margins
    is a network (each entry lies in two lines, a row and a column of the extended table, with
    opposite or equal signs that split the lines into two classes), so its constraint matrix
    is totally unimodular and with whole published values every vertex of the LP is a
    whole-number table.

    Independent of how the table was suppressed: reads only the categories and ``published``.
    ``rows``/``cols`` default to those recorded by ``suppress`` in ``published_table.attrs``.
    Returns one row per hidden entry in table order: ``key`` ((row, col) or (row,)), ``low``,
    ``high`` (``inf`` when no published total bounds it).
    """
    keys, a_eq, b_eq = _published_system(published_table, rows, cols, published)
    low = np.full(len(keys), float(hidden_min))
    high = np.full(len(keys), math.inf)
    if keys and a_eq is not None:
        bounds = [(hidden_min, None)] * len(keys)
        for n in range(len(keys)):
            c = np.zeros(len(keys))
            c[n] = 1.0
            lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if lo.status == 2 or hi.status == 2:
                raise DisclosureError("the published values are inconsistent (no feasible "
                                      f"table with hidden entries >= {hidden_min})")
            low[n] = lo.fun
            high[n] = math.inf if hi.status == 3 else -hi.fun
    return pd.DataFrame({"key": pd.Series(keys, dtype=object), "low": low, "high": high})


def recoverable_cells(
    published_table: pd.DataFrame,
    rows: str | None = None,
    cols: str | None = None,
    *,
    published: str = "published",
    hidden_min: float = 1,
) -> list[tuple[Any, ...]]:
    """Hidden entries (cells or totals) whose value the informed attacker of
    :func:`hidden_intervals` pins down exactly (``high - low < 1``), in table order: keys
    ``(row, col)`` (two dimensions) or ``(row,)`` (one)."""
    iv = hidden_intervals(published_table, rows, cols, published=published,
                          hidden_min=hidden_min)
    return iv.loc[iv["high"] - iv["low"] < 1 - 1e-6, "key"].tolist()


def unprotected_cells(
    published_table: pd.DataFrame,
    threshold: float,
    rows: str | None = None,
    cols: str | None = None,
    *,
    published: str = "published",
    hidden_min: float = 1,
) -> list[tuple[Any, ...]]:
    """Hidden entries the informed attacker of :func:`hidden_intervals` learns too much
    about: those pinned down exactly, and those provably below ``threshold`` (``high <
    threshold``: the attacker knows a small cell is there). ``suppress`` leaves none; a
    primary cell ``x`` is protected when its maximum reaches ``threshold``, i.e. its upper
    protection level ``threshold - x`` is met, as tau-ARGUS and sdcTable define it for
    frequency tables. In table order."""
    iv = hidden_intervals(published_table, rows, cols, published=published,
                          hidden_min=hidden_min)
    bad = (iv["high"] - iv["low"] < 1 - 1e-6) | (iv["high"] < threshold - 1e-6)
    return iv.loc[bad, "key"].tolist()
