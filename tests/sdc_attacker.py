"""An informed attacker on published frequency tables, written for the tests apart from
``evaluation_pipeline.publication`` (it imports nothing from it).

The attacker knows what is published — every shown cell and total, which entries are hidden —,
that counts are whole numbers, that a hidden entry is at least 1 (the pipeline publishes every
zero) and the small-cell threshold. For each hidden entry it computes the smallest and the
largest value consistent with all of that: a linear programme (``scipy.optimize.linprog``) per
bound, or with ``integer=True`` a mixed-integer programme (``scipy.optimize.milp``) that needs
no argument about the LP's vertices being whole numbers.

A table is given as a grid: a 2-D float array of the extended table (rows × columns, the last
row the column totals and the last column the row totals; a single row is a one-dimensional
table, its cells and their total), NaN where hidden; ``present`` marks the entries that are
published at all (a margin that is not shown carries no equation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

BIG = 10**7  # the integer attacker's box; no count of the tests comes near it


@dataclass
class Attack:
    """The attacker's interval of every hidden entry (grid positions in row-major order)."""

    positions: list[tuple[int, int]]
    low: np.ndarray
    high: np.ndarray

    def exact(self) -> list[tuple[int, int]]:
        """Hidden entries whose value is determined."""
        return [p for p, lo, hi in zip(self.positions, self.low, self.high, strict=True)
                if hi - lo < 0.5]

    def below(self, threshold: float) -> list[tuple[int, int]]:
        """Hidden entries proven to be below the threshold (a small count is exposed)."""
        return [p for p, hi in zip(self.positions, self.high, strict=True)
                if hi < threshold - 0.5]

    def exposed(self, threshold: float) -> list[tuple[int, int]]:
        return sorted(set(self.exact()) | set(self.below(threshold)))


def _equations(grid: np.ndarray, present: np.ndarray | None
               ) -> tuple[list[tuple[int, int]], np.ndarray | None, np.ndarray | None]:
    """(hidden positions, A, b): ``A x = b`` for the hidden values ``x``, one equation per
    line (row or column with its margin) that is published whole and holds a hidden entry."""
    g = np.asarray(grid, dtype=float)
    present = np.ones(g.shape, dtype=bool) if present is None else np.asarray(present, bool)
    hidden = np.isnan(g) & present
    positions = [tuple(int(x) for x in p) for p in np.argwhere(hidden)]
    index = {p: n for n, p in enumerate(positions)}
    n_var = len(positions)
    eqs, rhs = [], []
    n_r, n_c = g.shape
    lines = [[(i, j) for j in range(n_c)] for i in range(n_r)]
    if n_r > 1:  # one row: a one-dimensional table, no column margins
        lines += [[(i, j) for i in range(n_r)] for j in range(n_c)]
    for line in lines:
        *parts, total = line
        if not all(present[p] for p in line):
            continue
        row = np.zeros(n_var)
        b = 0.0
        for p, sign in [*((q, 1.0) for q in parts), (total, -1.0)]:
            if p in index:
                row[index[p]] += sign
            else:
                b -= sign * g[p]
        if row.any():
            eqs.append(row)
            rhs.append(b)
    if not eqs:
        return positions, None, None
    return positions, np.array(eqs), np.array(rhs)


def exposed(grid: np.ndarray, present: np.ndarray | None, threshold: float
            ) -> list[tuple[int, int]]:
    """The hidden entries the attacker pins down exactly or proves to be below
    ``threshold`` (what ``attack(...).exposed(threshold)`` returns), with fewer LPs: every LP
    solution is a table the attacker cannot rule out, so an entry already seen at a value >=
    ``threshold`` and at two values at least 1 apart needs no LP of its own."""
    positions, a, b = _equations(grid, present)
    n_var = len(positions)
    if a is None:
        return []
    bounds = [(1, None)] * n_var
    seen_lo = np.full(n_var, np.inf)
    seen_hi = np.full(n_var, -np.inf)
    out = []

    def safe(n: int) -> bool:
        return bool(seen_hi[n] >= threshold - 1e-6 and np.isfinite(seen_lo[n])
                    and seen_hi[n] - seen_lo[n] >= 1 - 1e-6)

    for n in range(n_var):
        for sign in (-1.0, 1.0):  # the maximum first: it is what protects a small entry
            if safe(n):
                break
            c = np.zeros(n_var)
            c[n] = sign
            res = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
            assert res.status in (0, 3), f"no table fits what is published: {res.message}"
            if res.status == 3:  # unbounded above
                seen_hi[n] = np.inf
                continue
            seen_lo = np.minimum(seen_lo, res.x)
            seen_hi = np.maximum(seen_hi, res.x)
        if not safe(n):
            out.append(positions[n])
    return out


def attack(grid: np.ndarray, present: np.ndarray | None = None, *,
           integer: bool = False) -> Attack:
    """Intervals of the hidden (NaN) entries of an extended table ``grid`` whose last row and
    last column are the margins. Equations: for each row, the entries left of the last column
    add up to the last column; for each column, the entries above the last row add up to the
    last row — whenever all of them are ``present``."""
    positions, a, b = _equations(grid, present)
    n_var = len(positions)
    low = np.ones(n_var)
    high = np.full(n_var, np.inf)
    if a is None:
        return Attack(positions, low, high)
    for n in range(n_var):
        c = np.zeros(n_var)
        c[n] = 1.0
        for sign in (1.0, -1.0):
            if integer:  # a finite box: an attacker's bound of BIG means "unbounded"
                res = milp(sign * c, constraints=[LinearConstraint(a, b, b)],
                           integrality=np.ones(n_var), bounds=Bounds(1, BIG),
                           options={"mip_rel_gap": 0.0})
            else:
                res = linprog(sign * c, A_eq=a, b_eq=b, bounds=[(1, None)] * n_var,
                              method="highs")
            assert res.status in (0, 3), f"no table fits what is published: {res.message}"
            if sign > 0:
                low[n] = res.fun
            else:
                high[n] = np.inf if res.status == 3 or -res.fun > BIG / 2 else -res.fun
    return Attack(positions, low, high)


def grid_from_long(table: pd.DataFrame, rows: str, cols: str | None, value: str,
                   total: str = "Total") -> tuple[np.ndarray, np.ndarray, list, list]:
    """A long published table (``total`` labels its margins) -> (grid, present, row labels,
    column labels); a combination missing from the table is a published zero, a missing
    margin is not present. With ``cols=None`` the table is one row of cells and its total."""
    t = table.copy()
    if cols is None:
        t = t.assign(_row="r")
        rows, cols = "_row", rows
    r_lab = [r for r in dict.fromkeys(t[rows]) if r != total] + [total]
    c_lab = [c for c in dict.fromkeys(t[cols]) if c != total] + [total]
    grid = np.zeros((len(r_lab), len(c_lab)))
    present = np.zeros(grid.shape, dtype=bool)
    present[:-1, :-1] = True  # inner combinations missing from the table are zeros
    r_pos = {r: i for i, r in enumerate(r_lab)}
    c_pos = {c: j for j, c in enumerate(c_lab)}
    for r, c, v in zip(t[rows], t[cols], pd.to_numeric(t[value], errors="coerce"),
                       strict=True):
        grid[r_pos[r], c_pos[c]] = v
        present[r_pos[r], c_pos[c]] = True
    if rows == "_row":
        grid, present = grid[:1], present[:1]  # no column margins in one dimension
        r_lab = r_lab[:1]
    return grid, present, r_lab, c_lab
