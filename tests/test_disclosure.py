"""Small-cell suppression (checked by an independent LP attacker) and personal-data screening."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from evaluation_pipeline import disclosure
from evaluation_pipeline.disclosure import (
    TOTAL,
    DisclosureError,
    find_personal_data,
    is_valid_fnr,
    recoverable_cells,
    suppress,
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


# ------------------------------------------------------------------------------------------
# suppression: hand-made examples
# ------------------------------------------------------------------------------------------

# x: 10 30  2 | 42      (x, c) = 2 is small. By hand (lines in order rows, then columns):
# y:  9 25 11 | 45      row x -> smallest other cell (x, a) = 10; column a -> (y, a) = 9;
# z: 18 22 40 | 80      column c -> (y, c) = 11; row y then has two. A 2 x 2 rectangle.
RECTANGLE = {"x": [10, 30, 2], "y": [9, 25, 11], "z": [18, 22, 40]}

# x: 20 15  3           row x -> (x, b) = 15; column b -> (z, b) = 22 (< 25);
# y: 12 25 30           column c -> (y, c) = 30 (< 40); then row y -> (y, a) = 12;
# z: 18 22 40           row z -> (z, a) = 18 (< 40). A cycle through all three rows.
SIX_CYCLE = {"x": [20, 15, 3], "y": [12, 25, 30], "z": [18, 22, 40]}


def test_hand_example_rectangle():
    out = suppress(long_table(RECTANGLE), "n", "r", "c")
    assert marks(out, "primary") == {("x", "c")}
    assert marks(out, "secondary") == {("x", "a"), ("y", "a"), ("y", "c")}
    totals = out[(out["r"] == TOTAL) | (out["c"] == TOTAL)]
    assert len(totals) == 3 + 3 + 1 and totals["suppressed"].isna().all()
    grand = out[(out["r"] == TOTAL) & (out["c"] == TOTAL)]
    assert grand["published"].tolist() == [167.0]
    assert recoverable_cells(out) == []
    check_invariants(out, 5)


def test_hand_example_six_cycle():
    out = suppress(long_table(SIX_CYCLE), "n", "r", "c")
    assert marks(out, "primary") == {("x", "c")}
    assert marks(out, "secondary") == {("x", "b"), ("z", "b"), ("y", "c"), ("y", "a"), ("z", "a")}
    assert recoverable_cells(out) == []


@pytest.mark.parametrize("grid", [RECTANGLE, SIX_CYCLE])
def test_primary_only_is_recoverable(grid):
    """Publishing the complements again: the checker finds the small cell (it works)."""
    out = suppress(long_table(grid), "n", "r", "c")
    primary_only = out.copy()
    second = primary_only["suppressed"] == "secondary"
    primary_only.loc[second, "published"] = primary_only.loc[second, "n"]
    assert recoverable_cells(primary_only) == [("x", "c")]


def test_two_per_line_alone_leaves_a_bridge(monkeypatch):
    """Step 1 gives every line two hidden cells, yet (r0, c6) = 1 is a difference of published
    sums; step 2 (closing bridges) protects it."""
    counts = np.array([
        [10, 1, 10, 10, 1, 14, 1],
        [8, 5, 12, 10, 3, 11, 9],
        [1, 0, 5, 2, 0, 3, 1],
        [5, 0, 6, 6, 0, 13, 2],
    ])
    full = suppress(matrix_table(counts), "n", "r", "c", threshold=3)
    assert recoverable_cells(full) == []
    check_invariants(full, 3)
    monkeypatch.setattr(disclosure, "_close_bridges", lambda *args: None)
    step1 = suppress(matrix_table(counts), "n", "r", "c", threshold=3)
    check_invariants(step1, 3)  # two per line everywhere ...
    assert recoverable_cells(step1) == [("r0", "c6")]  # ... and still recoverable
    assert full["published"].isna().sum() > step1["published"].isna().sum()


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
# suppression: random tables against the LP attacker
# ------------------------------------------------------------------------------------------


def test_random_tables_have_no_recoverable_cell():
    rng = np.random.default_rng(20240601)
    hidden = 0
    for _ in range(200):
        n_rows, n_cols = int(rng.integers(3, 7)), int(rng.integers(4, 9))
        lam = rng.uniform(0.5, 8, size=(n_rows, 1)) * rng.uniform(0.3, 2, size=(1, n_cols))
        counts = rng.poisson(lam)
        threshold = int(rng.choice([3, 5]))
        out = suppress(matrix_table(counts), "n", "r", "c", threshold=threshold)
        check_invariants(out, threshold)
        assert recoverable_cells(out) == [], counts
        hidden += int(out["published"].isna().sum())
    assert hidden > 1000  # the tables really had many small cells


def test_random_one_dimensional_tables():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(2, 11))
        counts = rng.poisson(rng.uniform(0.5, 8), size=n)
        t = pd.DataFrame({"r": [f"k{i}" for i in range(n)], "n": counts})
        threshold = int(rng.choice([3, 5]))
        out = suppress(t, "n", "r", threshold=threshold)
        check_invariants(out, threshold, two_d=False)
        assert recoverable_cells(out) == [], counts


# ------------------------------------------------------------------------------------------
# fødselsnummer
# ------------------------------------------------------------------------------------------


def _check(digits: list[int], weights: list[int]) -> int | None:
    rem = sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    return 0 if rem == 0 else None if rem == 1 else 11 - rem


def brute_force_fnr(date6: str, limit: int = 1000) -> list[str]:
    """Every valid number for a date (DDMMYY) by brute force over the individual number."""
    found = []
    for ind in range(limit):
        base = [int(ch) for ch in f"{date6}{ind:03d}"]
        k1 = _check(base, [3, 7, 6, 1, 8, 9, 4, 5, 2])
        if k1 is None:
            continue
        k2 = _check([*base, k1], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2])
        if k2 is not None:
            found.append(f"{date6}{ind:03d}{k1}{k2}")
    return found


VALID = brute_force_fnr("010190")  # born 1 January 1990


def test_fnr_check_digits():
    assert len(VALID) == 826  # (10/11)^2 of the individual numbers have valid check digits
    assert all(is_valid_fnr(f) for f in VALID)
    assert is_valid_fnr(VALID[0][:6] + " " + VALID[0][6:])
    for f in VALID[:50]:  # any other pair of check digits is wrong
        wrong = [f[:9] + f"{k:02d}" for k in range(100) if f"{k:02d}" != f[9:]]
        assert not any(is_valid_fnr(w) for w in wrong)
    # individual numbers with remainder 1 have no valid number at all
    prefixes = {f[:9] for f in VALID}
    missing = [f"010190{i:03d}" for i in range(1000) if f"010190{i:03d}" not in prefixes]
    assert missing and not any(is_valid_fnr(p + f"{k:02d}") for p in missing[:20]
                               for k in range(100))


def test_d_numbers_and_dates():
    d_numbers = brute_force_fnr("410190", 100)  # D-number: first digit + 4
    assert d_numbers and all(is_valid_fnr(d) for d in d_numbers)
    assert not any(is_valid_fnr(f) for f in brute_force_fnr("011390", 100))  # month 13
    assert not any(is_valid_fnr(f) for f in brute_force_fnr("000190", 100))  # day 0
    assert not any(is_valid_fnr(f) for f in brute_force_fnr("320190", 100))  # day 32
    assert all(is_valid_fnr(f) for f in brute_force_fnr("310290", 100))  # date not checked
    assert not is_valid_fnr("0101900008")  # 10 digits
    assert not is_valid_fnr("01019000083a")
    assert not is_valid_fnr("")


# ------------------------------------------------------------------------------------------
# personal data
# ------------------------------------------------------------------------------------------

NAMES = [
    f"{first} {last}"
    for first in ["Kari", "Ola", "Anne-Lise", "Øystein", "Åse", "Jens Petter"]
    for last in ["Nordmann", "Hansen", "Berg-Olsen", "Ødegård", "Ås"]
]  # 30 different


def pseudonyms(n: int) -> list[str]:
    return [f"R-{hashlib.sha256(str(i).encode()).hexdigest()[:12]}" for i in range(n)]


def test_column_names():
    cols = ["Navn", "E-post", "tlf_nr", "Fødselsnummer", "firstName", "mobil", "adresse",
            "email", "fnr", "Etternavn", "phone_number", "D-nummer",
            "kommune_name", "item_navn", "sam3", "kommunenavn", "value"]
    df = pd.DataFrame({c: [1, 2] for c in cols})
    found = find_personal_data(df)
    assert set(found) == set(cols[:12])
    assert "e-mail" in found["E-post"] and "identity" in found["fnr"]


def test_values_are_recognised():
    n = 40
    df = pd.DataFrame({
        "a": [f"person{i}@example.no" for i in range(n)],
        "b": (["912 34 567", "+47 41234567", "22 33 44 55", "0047 93456789"] * 10),
        "c": VALID[:n],
        "d": [int(f) for f in VALID[:n]],  # integers: the leading zero is lost
        "e": [float(f) for f in VALID[:n]],
        "f": NAMES + NAMES[:10],
        "g": pd.Categorical([f"x{i}@kommune.no" for i in range(n)]),
    })
    found = find_personal_data(df)
    assert set(found) == set(df.columns)
    assert found["a"].startswith("e-mail") and found["g"].startswith("e-mail")
    assert found["b"].startswith("Norwegian phone")
    assert all(found[c].startswith("national identity") for c in "cde")
    assert found["f"].startswith("personal names")


def test_share_rules():
    base = [f"svar {i}" for i in range(100)]
    # a single e-mail address or fødselsnummer inside a text is enough
    one_mail = base[:99] + ["kontakt meg på kari.nordmann@example.no"]
    one_fnr = base[:99] + [f"mitt fnr er {VALID[3][:6]} {VALID[3][6:]}, takk"]
    # phone numbers and names need 20 % of the values
    few_phones = base[:90] + ["912 34 567"] * 10
    many_phones = base[:70] + [f"9{i:07d}" for i in range(30)]
    few_names = base[:90] + NAMES[:10]
    df = pd.DataFrame({"m": one_mail, "f": one_fnr, "p1": few_phones, "p2": many_phones,
                       "n1": few_names})
    assert set(find_personal_data(df)) == {"m", "f", "p2"}
    # a short list of people is found; the same three names repeated is not
    assert "n" in find_personal_data(pd.DataFrame({"n": NAMES[:6]}))
    assert find_personal_data(pd.DataFrame({"n": NAMES[:3] * 50})) == {}
    # missing values do not count
    assert "p" in find_personal_data(pd.DataFrame({"p": ["912 34 567", None, None, None]}))


def test_text_columns_limit_the_value_scan():
    df = pd.DataFrame({"x": [f"p{i}@example.no" for i in range(10)], "y": ["ok"] * 10,
                       "z": [int(f) for f in VALID[:10]]})
    assert set(find_personal_data(df)) == {"x", "z"}
    found = find_personal_data(df, text_columns=["y"])
    assert set(found) == {"z"}  # numbers that are fødselsnumre are found in every column
    with pytest.raises(DisclosureError):
        find_personal_data(df, text_columns=["nope"])


def test_no_false_positives():
    rng = np.random.default_rng(3)
    n = 3000
    codes = ["Felles rutiner", "Barrierer", "Tillit", "Samarbeid på tvers", "Tidlig innsats"]
    roles = ["Rektor", "Helsesykepleier", "Leder barnevern", "SLT-koordinator",
             "Kommuneoverlege", "Miljøarbeider", "Barnevernsleder"]
    df = pd.DataFrame({
        "likert": rng.integers(1, 6, n),
        "likert_text": rng.integers(1, 6, n).astype(str),
        "likert_float": rng.integers(1, 6, n).astype(float),
        "kommune": rng.choice(["1508", "1577", "1520", "1515", "0301"], n),
        "kommune_int": rng.choice([1508, 1577, 1520, 1515, 301], n),
        "respondent_id": rng.choice(pseudonyms(800), n),
        "period": rng.choice(["2023M01", "2023K1", "2019", "2015-2017", "2024M12"], n),
        "code": rng.choice(codes, n),
        "code_title_case": rng.choice(["Felles Rutiner", "Tidlig Innsats", "Tillit"], n),
        "role": rng.choice(roles, n),
        "kommune_name": rng.choice(["Ålesund", "Ørsta", "Volda", "Hareid", "Sande"], n),
        "date": rng.choice(["20230115", "20191231", "20240229"], n),
        "amount": rng.integers(10_000_000, 99_999_999, n),
        "case_number": [f"{x:011d}" for x in rng.integers(10**10, 10**11 - 1, n)],
        "case_int": rng.integers(10**10, 10**11 - 1, n),
        "wave": rng.choice(["w2012", "w2016"], n),
        "share": rng.uniform(0, 1, n),
        "flag": rng.integers(0, 2, n).astype(bool),
        "empty": [None] * n,
    })
    assert find_personal_data(df) == {}


def test_long_table_has_no_false_positives():
    """3 million answers of pseudonymised respondents with short comments: nothing is
    flagged (the time this takes is measured in benchmarks/micro.py, not asserted here)."""
    rng = np.random.default_rng(5)
    n = 3_000_000
    df = pd.DataFrame({
        "respondent_id": np.repeat(pseudonyms(5000), n // 5000),
        "comment": rng.choice(["bra", "Felles rutiner", "ok", None], n),
    })
    assert find_personal_data(df) == {}
