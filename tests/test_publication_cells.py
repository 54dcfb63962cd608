"""Small-cell suppression of frequency tables (``evaluation_pipeline.publication.cells``),
checked by an independent LP attacker (``tests/sdc_attacker.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sdc_attacker import attack, exposed, grid_from_long

from evaluation_pipeline.publication import cells
from evaluation_pipeline.publication.cells import (
    TOTAL,
    DisclosureError,
    hidden_intervals,
    recoverable_cells,
    suppress,
    unprotected_cells,
)

# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def long_table(grid: dict[str, list[int]], cols: str = "abc") -> pd.DataFrame:
    """{row: counts} -> long table with columns r, c, n."""
    return pd.DataFrame(
        [(r, c, v) for r, vals in grid.items() for c, v in zip(cols, vals, strict=True)],
        columns=["r", "c", "n"],
    )


def matrix_table(counts: np.ndarray) -> pd.DataFrame:
    rows, cols = counts.shape
    return pd.DataFrame(
        [(f"r{i}", f"c{j}", int(counts[i, j])) for i in range(rows) for j in range(cols)],
        columns=["r", "c", "n"],
    )


def marks(out: pd.DataFrame, kind: str) -> set[tuple]:
    """(r, c) keys of the entries suppressed as ``kind``."""
    sel = out[out["suppressed"] == kind]
    return set(zip(sel["r"], sel["c"], strict=True))


def check_invariants(out: pd.DataFrame, threshold: int, two_d: bool = True) -> None:
    hidden = out["published"].isna()
    # every hidden entry is non-zero (zeros are never hidden), published entries are exact
    assert (out.loc[hidden, "n"] > 0).all()
    assert (out.loc[~hidden, "published"] == out.loc[~hidden, "n"]).all()
    assert (hidden == out["suppressed"].notna()).all()
    # primary == exactly the small non-zero entries (cells and totals)
    small = (out["n"] > 0) & (out["n"] < threshold)
    assert ((out["suppressed"] == "primary") == small).all()
    # every line holding a hidden entry holds at least two
    if two_d:
        for key in ("r", "c"):
            per_line = hidden.groupby(out[key]).sum()
            assert not (per_line == 1).any(), per_line[per_line == 1]
        inner = out[(out["r"] != TOTAL) & (out["c"] != TOTAL)]
        for key, other in (("r", "c"), ("c", "r")):
            sums = inner.groupby(key)["n"].sum()
            tot = out[(out[other] == TOTAL) & (out[key] != TOTAL)].set_index(key)["n"]
            assert (sums == tot.loc[sums.index]).all()
    else:
        assert hidden.sum() != 1


def attacked(out: pd.DataFrame, threshold: int) -> list[tuple]:
    """Hidden entries the independent attacker (tests/sdc_attacker.py) exposes, as keys."""
    meta = out.attrs["disclosure"]
    grid, present, r_lab, c_lab = grid_from_long(out, meta["rows"], meta["cols"], "published")
    found = exposed(grid, present, threshold)
    if meta["cols"] is None:
        return [(c_lab[j],) for _, j in found]
    return [(r_lab[i], c_lab[j]) for i, j in found]


# ------------------------------------------------------------------------------------------
# suppression: hand-made examples
# ------------------------------------------------------------------------------------------

# x: 10 30  2 | 42      (x, c) = 2 is small: the attacker must not be able to rule out
# y:  9 25 11 | 45      (x, c) >= 5, so the complements must let it rise by 3. By hand, the
# z: 18 22 40 | 80      cheapest cycle (cost = value + 1 per hidden entry) is the rectangle
#                       (x, a) = 10 down 3, (y, a) = 9 up 3, (y, c) = 11 down 3: cost 33; the
#                       rectangle through (z, a), (z, c) costs 71, one through column b more.
RECTANGLE = {"x": [10, 30, 2], "y": [9, 25, 11], "z": [18, 22, 40]}

# x: 20 15  3           (x, c) = 3 must be able to rise by 2. Rectangles through (x, c):
# y: 12 25 30           rows x, y / columns a, c: 21 + 13 + 31 = 65; rows x, y / b, c: 73;
# z: 18 22 40           rows x, z / a, c: 21 + 19 + 41 = 81; longer cycles and margins cost
#                       more. The old rule (two per line, close bridges) hid a 6-cycle (102).
SIX_CYCLE = {"x": [20, 15, 3], "y": [12, 25, 30], "z": [18, 22, 40]}

# the example of issue 23: each row says a + b = 2 with a, b >= 1, so the four 1s are exactly 1
ISSUE_23 = {"x": [1, 1, 10], "y": [1, 1, 10], "z": [5, 5, 0]}


def test_hand_example_rectangle():
    out = suppress(long_table(RECTANGLE), "n", "r", "c")
    assert marks(out, "primary") == {("x", "c")}
    assert marks(out, "secondary") == {("x", "a"), ("y", "a"), ("y", "c")}
    totals = out[(out["r"] == TOTAL) | (out["c"] == TOTAL)]
    assert len(totals) == 3 + 3 + 1 and totals["suppressed"].isna().all()
    grand = out[(out["r"] == TOTAL) & (out["c"] == TOTAL)]
    assert grand["published"].tolist() == [167.0]
    assert unprotected_cells(out, 5) == [] and attacked(out, 5) == []
    # by hand: (x, c) = 2 + d with (x, a) = 10 - d, (y, a) = 9 + d, (y, c) = 11 - d, all
    # >= 1: d from -1 to 9, so (x, c) is anything from 1 to 11
    iv = hidden_intervals(out).set_index("key")
    assert iv.loc[[("x", "c")], ["low", "high"]].to_numpy().tolist() == [[1.0, 11.0]]
    check_invariants(out, 5)


def test_hand_example_cheapest_cycle():
    out = suppress(long_table(SIX_CYCLE), "n", "r", "c")
    assert marks(out, "primary") == {("x", "c")}
    assert marks(out, "secondary") == {("x", "a"), ("y", "a"), ("y", "c")}
    assert unprotected_cells(out, 5) == [] and attacked(out, 5) == []


def test_issue_example_hidden_counts_are_at_least_one():
    """Hiding the four 1s with two per line was safe only for an attacker who thinks a hidden
    count can be 0; knowing it is >= 1, every one of them is exactly 1."""
    t = long_table(ISSUE_23)
    old = t.assign(published=t["n"].where(t["n"] != 1).astype(float))
    old = pd.concat([old, pd.DataFrame({"r": ["x", "y", "z", TOTAL, TOTAL, TOTAL, TOTAL],
                                        "c": [TOTAL] * 3 + ["a", "b", "c", TOTAL],
                                        "published": [12, 12, 10, 7, 7, 20, 34]})])
    four = [("x", "a"), ("x", "b"), ("y", "a"), ("y", "b")]
    assert recoverable_cells(old, "r", "c", hidden_min=0) == []  # the old attacker model
    assert recoverable_cells(old, "r", "c") == four
    assert unprotected_cells(old, 5, "r", "c") == four
    grid, present, _, _ = grid_from_long(old, "r", "c", "published")
    assert sorted(attack(grid, present).exact()) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    out = suppress(t, "n", "r", "c", threshold=5)
    assert marks(out, "primary") == set(four)
    assert unprotected_cells(out, 5) == [] and attacked(out, 5) == []
    # the 1s must be able to reach 5: (z, a) and (z, b) = 5 (down to 1) carry a change of 4
    # only with a third line to pass it on, here the row totals (column c has no room: 0)
    assert marks(out, "secondary") == {("z", "a"), ("z", "b"), ("x", TOTAL), ("y", TOTAL),
                                       ("z", TOTAL)}
    check_invariants(out, 5)


@pytest.mark.parametrize("grid", [RECTANGLE, SIX_CYCLE])
def test_primary_only_is_recoverable(grid):
    """Publishing the complements again: the checker finds the small cell (it works)."""
    out = suppress(long_table(grid), "n", "r", "c")
    primary_only = out.copy()
    second = primary_only["suppressed"] == "secondary"
    primary_only.loc[second, "published"] = primary_only.loc[second, "n"]
    assert recoverable_cells(primary_only) == [("x", "c")]
    assert attacked(primary_only, 5) == [("x", "c")]


def test_a_complement_too_small_to_protect():
    """Row x: 1 + 2 + 40. Hiding the 1 and the 2 (two per line) lets the attacker bound
    each by 2: a + b = 3, a, b >= 1. Both must be able to reach 5, so a third entry goes."""
    t = pd.DataFrame({"k": ["a", "b", "c"], "n": [1, 2, 40]})
    pair = suppress(t, "n", "k").assign(published=[np.nan, np.nan, 40.0, 43.0])
    assert unprotected_cells(pair, 5) == [("a",), ("b",)]
    out = suppress(t, "n", "k")
    assert out["suppressed"].tolist() == ["primary", "primary", "secondary", None]
    assert unprotected_cells(out, 5) == [] and attacked(out, 5) == []
    # three small cells: 1 + 2 + 3 = 6 with each >= 1 bounds each by 4, below 5
    t = pd.DataFrame({"k": ["a", "b", "c", "d"], "n": [1, 2, 3, 40]})
    primaries = t.assign(published=[np.nan, np.nan, np.nan, 40.0])
    primaries = pd.concat([primaries, pd.DataFrame({"k": [TOTAL], "published": [46.0]})])
    assert hidden_intervals(primaries, "k")["high"].tolist() == [4.0, 4.0, 4.0]
    assert unprotected_cells(primaries, 5, "k") == [("a",), ("b",), ("c",)]
    assert unprotected_cells(primaries, 4, "k") == []  # with threshold 4 they would be safe
    out = suppress(t, "n", "k")
    assert out["suppressed"].tolist() == ["primary", "primary", "primary", "secondary", None]
    assert unprotected_cells(out, 5) == [] and attacked(out, 5) == []
    # without the 40 no published cell is left: the total (6, not small) is hidden
    out = suppress(t.iloc[:3], "n", "k")
    assert out["suppressed"].tolist() == ["primary", "primary", "primary", "secondary"]
    assert unprotected_cells(out, 5) == [] and attacked(out, 5) == []


def test_threshold_3_ssb_vs_5():
    grid = {"x": [3, 20, 30], "y": [4, 25, 35], "z": [12, 22, 40]}
    ssb = suppress(long_table(grid), "n", "r", "c", threshold=3)
    assert ssb["suppressed"].isna().all()
    five = suppress(long_table(grid), "n", "r", "c", threshold=5)
    assert marks(five, "primary") == {("x", "a"), ("y", "a")}
    assert marks(five, "secondary") == {("x", "b"), ("y", "b")}
    assert recoverable_cells(five) == []
    grid["z"][0] = 2  # a 2 is small for SSB too
    ssb = suppress(long_table(grid), "n", "r", "c", threshold=3)
    assert marks(ssb, "primary") == {("z", "a")}
    assert recoverable_cells(ssb) == []


def test_no_small_cells_published_unchanged():
    grid = {"x": [10, 0, 7], "y": [5, 25, 11], "z": [18, 22, 0]}
    table = long_table(grid)
    out = suppress(table, "n", "r", "c")
    assert out["suppressed"].isna().all()
    assert (out["published"] == out["n"]).all()
    pd.testing.assert_frame_equal(out.iloc[: len(table)][["r", "c", "n"]], table)
    row_tot = out[out["c"] == TOTAL].set_index("r")["published"]
    assert row_tot.to_dict() == {"x": 17.0, "y": 41.0, "z": 40.0, TOTAL: 98.0}
    col_tot = out[(out["r"] == TOTAL) & (out["c"] != TOTAL)].set_index("c")["published"]
    assert col_tot.to_dict() == {"a": 33.0, "b": 47.0, "c": 18.0}


def test_row_with_single_nonzero_cell():
    """Row x has one non-zero cell, so its total equals it: both are hidden, the zeros stay."""
    grid = {"x": [0, 3, 0], "y": [10, 12, 14], "z": [11, 13, 15]}
    out = suppress(long_table(grid), "n", "r", "c")
    assert marks(out, "primary") == {("x", "b"), ("x", TOTAL)}
    assert marks(out, "secondary") == {("y", "b"), ("y", TOTAL)}
    x_zeros = out[(out["r"] == "x") & (out["n"] == 0)]
    assert x_zeros["published"].tolist() == [0.0, 0.0]
    assert recoverable_cells(out) == []


def test_complement_without_partner_hides_the_total():
    """(y, a) = 10 is hidden as a complement; the rest of row y is zero, so its total goes."""
    grid = {"x": [2, 0], "y": [10, 0], "z": [12, 0]}
    out = suppress(long_table(grid, cols="ab"), "n", "r", "c")
    assert marks(out, "primary") == {("x", "a"), ("x", TOTAL)}
    assert marks(out, "secondary") == {("y", "a"), ("y", TOTAL)}
    assert recoverable_cells(out) == []


def test_one_dimension():
    t = pd.DataFrame({"k": ["a", "b", "c", "d"], "n": [0, 8, 2, 0]})
    out = suppress(t, "n", "k")
    assert out["k"].tolist() == ["a", "b", "c", "d", TOTAL]
    assert out["suppressed"].tolist() == [None, "secondary", "primary", None, None]
    assert out["published"].tolist()[-1] == 10.0
    assert recoverable_cells(out) == []
    single = suppress(pd.DataFrame({"k": [1508, 1577, 1580], "n": [0, 3, 0]}), "n", "k")
    assert single["suppressed"].tolist() == [None, "primary", None, "primary"]
    primary_only = out.copy()
    primary_only.loc[1, "published"] = 8.0
    assert recoverable_cells(primary_only) == [("c",)]


def test_ties_are_broken_by_category_order():
    t = pd.DataFrame({"k": ["a", "b", "c", "d"], "n": [7, 2, 7, 7]})
    assert suppress(t, "n", "k")["suppressed"].tolist()[:4] == ["secondary", "primary", None, None]
    t = pd.DataFrame({"k": ["d", "c", "b", "a"], "n": [7, 7, 2, 7]})
    assert suppress(t, "n", "k")["suppressed"].tolist()[:4] == ["secondary", None, "primary", None]


def test_totals_false_primary_only():
    out = suppress(long_table(RECTANGLE), "n", "r", "c", totals=False)
    assert len(out) == 9 and TOTAL not in set(out["r"]) | set(out["c"])
    assert marks(out, "primary") == {("x", "c")} and marks(out, "secondary") == set()
    assert recoverable_cells(out) == []  # no margins, nothing to solve with
    assert out.attrs["disclosure"]["totals"] is False


def test_missing_combinations_count_as_zero_and_extra_columns_are_kept():
    t = long_table(RECTANGLE).drop(index=4).assign(label="x")  # (y, b) absent
    out = suppress(t, "n", "r", "c")
    assert len(out) == 8 + 7
    assert out.loc[: 7, "label"].eq("x").all() and out.loc[8:, "label"].isna().all()
    assert out[(out["r"] == "y") & (out["c"] == TOTAL)]["n"].tolist() == [20]
    assert recoverable_cells(out) == []


def test_recoverable_cells_without_attrs():
    t = pd.DataFrame({"k": ["a", "b", TOTAL], "published": [4.0, np.nan, 10.0]})
    assert recoverable_cells(t, rows="k") == [("b",)]
    with pytest.raises(DisclosureError):
        recoverable_cells(t)


def test_bad_input_is_refused():
    t = long_table(RECTANGLE)
    with pytest.raises(DisclosureError, match="more than one row"):
        suppress(pd.concat([t, t.iloc[:1]]), "n", "r", "c")
    with pytest.raises(DisclosureError, match="negative"):
        suppress(t.assign(n=-t["n"]), "n", "r", "c")
    with pytest.raises(DisclosureError, match="missing"):
        suppress(t.assign(n=t["n"].where(t["n"] > 2)), "n", "r", "c")
    with pytest.raises(DisclosureError, match="Total"):
        suppress(t.replace({"r": {"x": TOTAL}}), "n", "r", "c")


# ------------------------------------------------------------------------------------------
# suppression: random tables against the independent attacker
# ------------------------------------------------------------------------------------------


def random_counts(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Small counts with many zeros: Poisson with row and column effects, some cells zeroed."""
    lam = rng.uniform(0.3, 8, size=(shape[0], 1)) * rng.uniform(0.3, 2, size=(1, shape[-1]))
    counts = rng.poisson(lam.reshape(shape) if len(shape) == 2 else lam[0])
    return np.where(rng.uniform(size=counts.shape) < 0.15, 0, counts)


def test_random_two_way_tables_are_protected():
    rng = np.random.default_rng(20240601)
    hidden = primaries = 0
    for _ in range(220):
        shape = (int(rng.integers(2, 6)), int(rng.integers(2, 7)))
        counts = random_counts(rng, shape)
        threshold = int(rng.choice([3, 4, 5]))
        out = suppress(matrix_table(counts), "n", "r", "c", threshold=threshold)
        check_invariants(out, threshold)
        assert attacked(out, threshold) == [], counts
        hidden += int(out["published"].isna().sum())
        primaries += int((out["suppressed"] == "primary").sum())
        if primaries % 7 == 0:  # deterministic: the same table gives the same pattern
            again = suppress(matrix_table(counts), "n", "r", "c", threshold=threshold)
            assert again["suppressed"].tolist() == out["suppressed"].tolist()
    assert hidden > 1300 and primaries > 700  # the tables really had many small cells


def test_random_one_dimensional_tables_are_protected():
    rng = np.random.default_rng(7)
    hidden = 0
    for _ in range(330):
        n = int(rng.integers(2, 11))
        counts = random_counts(rng, (n,))
        t = pd.DataFrame({"r": [f"k{i}" for i in range(n)], "n": counts})
        threshold = int(rng.choice([3, 4, 5]))
        out = suppress(t, "n", "r", threshold=threshold)
        check_invariants(out, threshold, two_d=False)
        assert attacked(out, threshold) == [], counts
        hidden += int(out["published"].isna().sum())
    assert hidden > 400


def test_one_line_closed_form_is_the_mixed_integer_programme(monkeypatch):
    """A one-dimensional table is protected in closed form; the general mixed-integer
    programme (the same line given twice, so the closed form is not taken) hides the same."""
    rng = np.random.default_rng(23)
    tables = []
    for _ in range(150):
        n = int(rng.integers(2, 9))
        t = pd.DataFrame({"r": [f"k{i}" for i in range(n)], "n": random_counts(rng, (n,))})
        tables.append((t, int(rng.choice([3, 4, 5]))))
    fast = [suppress(t, "n", "r", threshold=k)["suppressed"].tolist() for t, k in tables]
    generic = cells._secondary

    def twice(values, status, exists, lines, threshold):
        generic(values, status, exists, lines * 2, threshold)

    monkeypatch.setattr(cells, "_secondary", twice)
    slow = [suppress(t, "n", "r", threshold=k)["suppressed"].tolist() for t, k in tables]
    assert slow == fast
    assert sum(s.count("secondary") for s in fast) > 30


def test_attacker_bounds_are_whole_number_bounds():
    """The LP attacker's intervals equal those of an integer programme (the tables are
    networks, so the LP's vertices are whole-number tables), for random hiding patterns
    (not suppress's) and for suppress's outputs; and the library's checks agree with the
    independent attacker."""
    rng = np.random.default_rng(11)
    compared = 0
    for it in range(40):
        shape = (int(rng.integers(2, 5)), int(rng.integers(2, 5)))
        counts = random_counts(rng, shape) + (it % 2)
        t = matrix_table(counts)
        if it % 3 == 0:
            out = suppress(t, "n", "r", "c")
        else:  # hide random non-zero entries
            out = suppress(t, "n", "r", "c", threshold=0)
            pick = (out["n"] > 0) & (rng.uniform(size=len(out)) < 0.35)
            out.loc[pick, "published"] = np.nan
        grid, present, r_lab, c_lab = grid_from_long(out, "r", "c", "published")
        lp = attack(grid, present)
        ip = attack(grid, present, integer=True)
        np.testing.assert_allclose(lp.low, ip.low, atol=1e-6)
        np.testing.assert_allclose(lp.high, ip.high, atol=1e-6)
        keys = [(r_lab[i], c_lab[j]) for i, j in lp.positions]
        iv = hidden_intervals(out, "r", "c").set_index("key").loc[keys]
        np.testing.assert_allclose(iv["low"], lp.low, atol=1e-6)
        np.testing.assert_allclose(iv["high"], lp.high, atol=1e-6)
        assert sorted(unprotected_cells(out, 5, "r", "c")) == sorted(
            (r_lab[i], c_lab[j]) for i, j in lp.exposed(5))
        assert sorted(exposed(grid, present, 5)) == lp.exposed(5)
        compared += len(keys)
    assert compared > 150
