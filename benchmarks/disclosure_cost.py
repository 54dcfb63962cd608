"""Cost of small-cell suppression against an informed attacker (issue 23), on random tables.

    python -m benchmarks.disclosure_cost [--tables 250] [--seed 23] [--write]

Random frequency tables with their totals, as the tests draw them (Poisson counts with row and
column effects, about 15 % of the cells zeroed): one-dimensional lines of 3-12 cells and
two-way tables of 2-6 × 2-8 cells, each with thresholds 3 and 5. Each table is suppressed
twice:

- **old rule**: the secondary suppression of `evaluation_pipeline.disclosure` (now
  `evaluation_pipeline.publication.cells`) before issue 23
  (every line with one hidden entry gets a second, the smallest; hidden entries that are
  bridges are closed into cycles), copied here unchanged;
- **new rule**: `suppress` as it is (every primary cell protected in turn by a small
  mixed-integer programme until the attacker's maximum reaches the threshold).

and attacked with `evaluation_pipeline.publication.cells.hidden_intervals` (hidden entries >= 1,
whole numbers). Reported per case and rule: the share of tables where the attacker pins down a
hidden entry or proves a primary cell below the threshold, the cells hidden (primary +
secondary, totals included) and the value hidden (sum of the hidden counts) per table, and the
time of `suppress` per table.

Prints a Markdown section; ``--write`` puts it into BENCHMARKS.md under
"## Disclosure control: cost of protection against an informed attacker".
"""

from __future__ import annotations

import argparse
import heapq
import math
import platform
import sys
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

from benchmarks.sections import write_section
from evaluation_pipeline.publication import cells
from evaluation_pipeline.publication.cells import hidden_intervals, suppress

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Disclosure control: cost of protection against an informed attacker"
_NONE, _SECONDARY = cells._NONE, cells._SECONDARY  # the status codes of suppress

# ------------------------------------------------------------------------------------------
# the old rule (evaluation_pipeline/disclosure.py at commit df92503), for comparison only
# ------------------------------------------------------------------------------------------

def _complete_lines(values: np.ndarray, status: np.ndarray, lines) -> None:
    """Step 1: every line with exactly one hidden entry gets a second (in place)."""
    changed = True
    while changed:
        changed = False
        for interior, total in lines:
            entries = [*interior, total]
            if sum(status[k] != _NONE for k in entries) != 1:
                continue
            cands = [k for k in interior if status[k] == _NONE and values[k] > 0]
            if cands:
                pick = min(cands, key=lambda k: (values[k], k))
            elif status[total] == _NONE and values[total] > 0:
                pick = total
            else:  # pragma: no cover - a hidden entry > 0 implies a non-zero partner
                continue
            status[pick] = _SECONDARY
            changed = True


def _bridges(edges: list[tuple[int, int, int]]) -> list[int]:
    """Entries whose edge (u, v) is a bridge of the graph of the given edges (k, u, v)."""
    adj: dict[int, list[tuple[int, int]]] = {}
    for k, u, v in edges:
        adj.setdefault(u, []).append((v, k))
        adj.setdefault(v, []).append((u, k))
    out = []
    for k, u, v in edges:
        seen = {u}
        queue = deque([u])
        while queue and v not in seen:
            node = queue.popleft()
            for nxt, kk in adj[node]:
                if kk != k and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        if v not in seen:
            out.append(k)
    return out


def _close_bridges(values: np.ndarray, status: np.ndarray, n_rows: int, n_cols: int) -> None:
    """Step 2: hide the cheapest path around every hidden entry that is a bridge (in place)."""
    width = n_cols + 1
    col0 = n_rows + 1  # node id of column j is col0 + j; row i is node i
    all_edges = [
        (k, k // width, col0 + k % width) for k in range(values.size) if values[k] > 0
    ]
    adj: dict[int, list[tuple[int, int]]] = {}
    for k, u, v in all_edges:
        adj.setdefault(u, []).append((v, k))
        adj.setdefault(v, []).append((u, k))
    while True:
        hidden = [e for e in all_edges if status[e[0]] != _NONE]
        bridges = _bridges(hidden)
        if not bridges:
            return
        k0 = bridges[0]
        u, v = k0 // width, col0 + k0 % width
        # Dijkstra from u to v without edge k0; cost = (counts newly hidden, cells newly hidden)
        best: dict[int, tuple[float, int]] = {u: (0.0, 0)}
        prev: dict[int, tuple[int, int]] = {}
        heap: list[tuple[float, int, int]] = [(0.0, 0, u)]
        while heap:
            cost, n_new, node = heapq.heappop(heap)
            if node == v:
                break
            if (cost, n_new) > best[node]:
                continue
            for nxt, k in adj.get(node, []):
                if k == k0:
                    continue
                step = (0.0, 0) if status[k] != _NONE else (float(values[k]), 1)
                cand = (cost + step[0], n_new + step[1])
                if cand < best.get(nxt, (math.inf, 0)):
                    best[nxt] = cand
                    prev[nxt] = (node, k)
                    heapq.heappush(heap, (cand[0], cand[1], nxt))
        if v not in prev:  # pragma: no cover - margins always give a path (see docstring)
            raise RuntimeError("cannot protect a hidden cell: no complementary path")
        node = v
        while node != u:
            node, k = prev[node]
            if status[k] == _NONE:
                status[k] = _SECONDARY


def _old_secondary(values, status, exists, lines, threshold) -> None:
    if len(lines) == 1:
        _complete_lines(values, status, lines)
        return
    n_cols = len(lines[0][0])
    n_rows = len(lines) - (n_cols + 1) - 1
    _complete_lines(values, status, lines)
    _close_bridges(values, status, n_rows, n_cols)


@contextmanager
def old_rule():
    new = cells._secondary
    cells._secondary = _old_secondary
    try:
        yield
    finally:
        cells._secondary = new


# ------------------------------------------------------------------------------------------
# the measurement
# ------------------------------------------------------------------------------------------


def random_table(rng: np.random.Generator, two_way: bool) -> tuple[pd.DataFrame, str | None]:
    if two_way:
        shape = (int(rng.integers(2, 7)), int(rng.integers(2, 9)))
    else:
        shape = (1, int(rng.integers(3, 13)))
    lam = rng.uniform(0.3, 8, size=(shape[0], 1)) * rng.uniform(0.3, 2, size=(1, shape[1]))
    counts = rng.poisson(lam)
    counts = np.where(rng.uniform(size=counts.shape) < 0.15, 0, counts)
    if two_way:
        t = pd.DataFrame([(f"r{i}", f"c{j}", int(counts[i, j])) for i in range(shape[0])
                          for j in range(shape[1])], columns=["r", "c", "n"])
        return t, "c"
    return pd.DataFrame({"r": [f"k{j}" for j in range(shape[1])], "n": counts[0]}), None


def measure(out: pd.DataFrame, threshold: int) -> dict:
    iv = hidden_intervals(out)
    exact = bool((iv["high"] - iv["low"] < 1 - 1e-6).any())
    below = bool((iv["high"] < threshold - 1e-6).any())
    hidden = out["published"].isna()
    return {"exposed": exact or below, "exact": exact, "below": below,
            "cells": int(hidden.sum()), "secondary": int((out["suppressed"] == "secondary").sum()),
            "value": float(out.loc[hidden, "n"].sum())}


def run(tables: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    rows = []
    start = time.perf_counter()
    for two_way in (False, True):
        for threshold in (3, 5):
            for _ in range(tables):
                t, cols = random_table(rng, two_way)
                for rule in ("old", "new"):
                    t0 = time.perf_counter()
                    if rule == "old":
                        with old_rule():
                            out = suppress(t, "n", "r", cols, threshold=threshold)
                    else:
                        out = suppress(t, "n", "r", cols, threshold=threshold)
                    ms = 1000 * (time.perf_counter() - t0)
                    rows.append({"table": "2-way" if two_way else "1-way",
                                 "threshold": threshold, "rule": rule, "ms": ms,
                                 "any_primary": bool((out["suppressed"] == "primary").any()),
                                 **measure(out, threshold)})
    elapsed = time.perf_counter() - start
    df = pd.DataFrame(rows)
    df = df[df["any_primary"]]  # tables without a small cell cost nothing under either rule
    summary = df.groupby(["table", "threshold", "rule"], sort=False).agg(
        tables=("exposed", "size"),
        exposed=("exposed", "mean"),
        exact=("exact", "mean"),
        below=("below", "mean"),
        cells=("cells", "mean"),
        secondary=("secondary", "mean"),
        value=("value", "mean"),
        ms=("ms", "median"),
    ).reset_index()
    fmt = summary.rename(columns={
        "table": "tables", "tables": "with a small cell",
        "exposed": "exposed (any)", "exact": "a hidden entry pinned down",
        "below": "a primary proven < threshold", "cells": "cells hidden",
        "secondary": "of them secondary", "value": "value hidden",
        "ms": "ms per table (median)"})
    fmt.insert(0, "case", fmt.pop("tables") + ", threshold " + fmt.pop("threshold").astype(str))
    for c in ("exposed (any)", "a hidden entry pinned down", "a primary proven < threshold"):
        fmt[c] = fmt[c].map(lambda x: f"{100 * x:.1f} %")
    for c in ("cells hidden", "of them secondary", "value hidden"):
        fmt[c] = fmt[c].map(lambda x: f"{x:.2f}")
    fmt["ms per table (median)"] = fmt["ms per table (median)"].map(lambda x: f"{x:.1f}")
    machine = (f"{platform.system()} {platform.machine()}, Python {platform.python_version()},"
               f" numpy {np.__version__}, pandas {pd.__version__}, scipy {scipy.__version__}")
    lines = [
        SECTION,
        "",
        f"`python -m benchmarks.disclosure_cost --tables {tables} --seed {seed}` "
        f"({elapsed:.0f} s on {machine}).",
        "",
        f"{tables} random tables per case with their totals (one-way: 3-12 cells; two-way: "
        "2-6 × 2-8 cells; Poisson counts with row and column effects, about 15 % zeroed), each "
        "suppressed by the old rule (two hidden entries per line, bridges closed) and the new "
        "one (every primary protected until the attacker's maximum reaches the threshold), "
        "then attacked by `hidden_intervals` (hidden entries >= 1, whole numbers). Rows count "
        "only the tables with at least one small cell. 'Exposed': the attacker pins down a "
        "hidden entry or proves a primary cell below the threshold. Cells and value hidden "
        "include the totals; value hidden is the sum of the hidden counts. Times are medians "
        "of single calls of `suppress` (the new rule's two-way tables solve an LP and a small "
        "mixed-integer programme per unprotected primary; one-way tables are solved in closed "
        "form) and depend on what else runs on the host.",
        "",
        fmt.to_markdown(index=False),
        "",
    ]
    return "\n".join(lines)



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", type=int, default=250, help="tables per case (default 250)")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--write", action="store_true",
                    help=f"also write the section '{SECTION}' into BENCHMARKS.md")
    a = ap.parse_args(argv)
    text = run(a.tables, a.seed)
    print(text)
    if a.write:
        write_section(text, ROOT / "BENCHMARKS.md", SECTION)
        print(f"written to {ROOT / 'BENCHMARKS.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
