"""Publication control of the collaboration network's tie tables
(``evaluation_pipeline.publication.ties``), checked by hand-made cases and by the independent
attacker of ``tests/sdc_attacker.py`` on every line a per-kommune tie table and its pooled
table publish together.

The tie tables are computed here from made-up answers with pandas (one row per respondent
and service asked about), not by the pipeline's ``tie_table``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sdc_attacker import attack, exposed, grid_from_long

from evaluation_pipeline.publication import suppress_ties
from evaluation_pipeline.publication.cells import DisclosureError

K = 5
SERVICES = ["skole", "barnevern", "NAV", "politi"]
VALUE_COLUMNS = ["n", "mean_frequency", "share_regular", "n_quality", "mean_quality"]
HIDDEN_WITH_TIE = ["n", "mean_frequency", "share_regular", "mean_quality"]


def answers(sizes: dict[tuple[str, str, str], int], seed: int = 0,
            quality_skip: float = 0.2) -> pd.DataFrame:
    """One row per respondent × service asked about: (kommune, wave, role) -> number of
    respondents; frequency 1-5, quality 1-5 or missing (skipped)."""
    rng = np.random.default_rng(seed)
    rows = []
    rid = 0
    for (kom, wave, role), size in sizes.items():
        for _ in range(size):
            rid += 1
            for other in SERVICES:
                if other == role:
                    continue
                q = float(rng.integers(1, 6)) if rng.random() > quality_skip else np.nan
                rows.append((rid, kom, wave, role, other, float(rng.integers(1, 6)), q))
    return pd.DataFrame(rows, columns=["respondent_id", "kommune", "wave", "from_service",
                                       "to_service", "frequency", "quality"])


def ties_of(a: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The tie table by ``by`` (regular: frequency >= 4 for at least half)."""
    g = a.assign(reg=a["frequency"] >= 4).groupby([*by, "from_service", "to_service"],
                                                  sort=False)
    out = g.agg(n=("frequency", "count"), mean_frequency=("frequency", "mean"),
                share_regular=("reg", "mean"), n_quality=("quality", "count"),
                mean_quality=("quality", "mean")).reset_index()
    out["regular"] = out["share_regular"] >= 0.5
    return out[[*by, "from_service", "to_service", "n", "mean_frequency", "share_regular",
                "regular", "n_quality", "mean_quality"]]


def lines(per: pd.DataFrame, pooled: pd.DataFrame, group_of: dict[str, str], count: str
          ) -> list[tuple[tuple, pd.DataFrame]]:
    """Every published line: the kommuner's ``count`` of a tie in a group and wave with the
    pooled ``count`` as its total, as the attacker reads them (NaN = hidden)."""
    per = per.assign(group=per["kommune"].map(group_of))
    out = []
    for _, p in pooled.iterrows():
        cells = per[(per["group"] == p["group"]) & (per["wave"] == p["wave"])
                    & (per["from_service"] == p["from_service"])
                    & (per["to_service"] == p["to_service"])]
        line = pd.DataFrame({"cell": [*cells["kommune"], "Total"],
                             "published": [*cells[count].astype(float), float(p[count])]})
        out.append(((p["group"], p["wave"], p["from_service"], p["to_service"]), line))
    return out


def attacked(per, pooled, group_of, count) -> tuple[list, int]:
    """(exposed entries, lines attacked) over every line whose total is published."""
    bad, n = [], 0
    for key, line in lines(per, pooled, group_of, count):
        if line["published"].iloc[-1] != line["published"].iloc[-1]:  # total hidden
            continue
        if not line["published"].isna().any():
            continue
        grid, present, _, cols = grid_from_long(line, "cell", None, "published")
        n += 1
        bad += [(key, cols[j]) for _, j in exposed(grid, present, K)]
    return bad, n


# ------------------------------------------------------------------------------------------
# primary suppression, by hand
# ------------------------------------------------------------------------------------------


def hand_table() -> pd.DataFrame:
    return pd.DataFrame({
        "kommune": ["1507", "1507", "1507", "1507"],
        "wave": ["2020"] * 4,
        "from_service": ["skole", "skole", "NAV", "politi"],
        "to_service": ["NAV", "politi", "skole", "skole"],
        "n": [3, 7, 0, 12],
        "mean_frequency": [2.0, 3.5, np.nan, 4.1],
        "share_regular": [1 / 3, 0.5, np.nan, 0.75],
        "regular": [False, True, False, True],
        "n_quality": [3, 2, 0, 12],
        "mean_quality": [3.0, 4.5, np.nan, 3.9],
    })


def test_small_ties_are_hidden_whole_and_marked_unknown():
    out = suppress_ties(hand_table(), K)
    small = out.iloc[0]
    assert bool(small["suppressed"]) and bool(small["quality_suppressed"])
    assert small[VALUE_COLUMNS].isna().all() and pd.isna(small["regular"])
    # n = 7 shown with its frequency; its quality (2 answers) hidden
    mid = out.iloc[1]
    assert not mid["suppressed"] and mid["quality_suppressed"]
    assert (mid["n"], mid["mean_frequency"], mid["share_regular"]) == (7, 3.5, 0.5)
    assert pd.isna(mid["n_quality"]) and pd.isna(mid["mean_quality"])
    assert bool(mid["regular"]) is True
    # a zero is not sensitive: an absent tie stays n = 0 and is not "unknown"
    absent = out.iloc[2]
    assert absent["n"] == 0 and not absent["suppressed"]
    big = out.iloc[3]
    assert not big["suppressed"] and not big["quality_suppressed"]
    assert big[VALUE_COLUMNS].tolist() == [12, 4.1, 0.75, 12, 3.9]
    assert out.attrs["small_cell_threshold"] == K


def test_threshold_is_the_studys_k():
    out = suppress_ties(hand_table(), 3)
    assert not out.iloc[0]["suppressed"] and out.iloc[0]["n"] == 3
    assert out.iloc[1]["quality_suppressed"]  # n_quality = 2 < 3


# ------------------------------------------------------------------------------------------
# the differencing attack on a pooled table
# ------------------------------------------------------------------------------------------


def three_kommuner() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """One tie in three network kommuner (n 3, 10, 12) and its pooled row."""
    per = pd.DataFrame({
        "kommune": ["k1", "k2", "k3"], "wave": ["2020"] * 3,
        "from_service": ["skole"] * 3, "to_service": ["NAV"] * 3,
        "n": [3, 10, 12], "mean_frequency": [2.0, 4.0, 3.0],
        "share_regular": [0.0, 0.8, 0.5], "regular": [False, True, True],
        "n_quality": [3, 10, 12], "mean_quality": [1.0, 4.0, 3.5],
    })
    pooled = pd.DataFrame({
        "group": ["network"], "wave": ["2020"], "from_service": ["skole"],
        "to_service": ["NAV"], "n": [25], "mean_frequency": [(6 + 40 + 36) / 25],
        "share_regular": [(0 + 8 + 6) / 25], "regular": [True], "n_quality": [25],
        "mean_quality": [(3 + 40 + 42) / 25],
    })
    return per, pooled, {"k1": "network", "k2": "network", "k3": "network"}


def test_primary_suppression_alone_gives_the_small_kommune_away():
    """The attack the rule blocks (hand computation): with only k1 hidden, pooled n minus
    the others is its n, and the weighted sums give its mean."""
    per, pooled, _ = three_kommuner()
    naive = suppress_ties(per, K)
    shown = naive[~naive["suppressed"]]
    n1 = pooled["n"].iloc[0] - shown["n"].sum()
    mean1 = (pooled["n"].iloc[0] * pooled["mean_frequency"].iloc[0]
             - (shown["n"] * shown["mean_frequency"]).sum()) / n1
    assert n1 == 3 and mean1 == pytest.approx(2.0)


def test_pooled_table_gets_a_complement_hidden():
    per, pooled, group_of = three_kommuner()
    out, pout = suppress_ties(per, K, pooled=pooled, group_of=group_of)
    # k1 (3) primary, k2 (10) the smallest complement; k3 and the pooled tie shown
    assert out["suppressed"].tolist() == [True, True, False]
    assert not pout["suppressed"].iloc[0] and pout["n"].iloc[0] == 25
    assert out.loc[2, "mean_frequency"] == 3.0
    # the attacker (independent LP, and an integer programme) learns only 1 <= n1 <= 12
    line = lines(out, pout, group_of, "n")[0][1]
    grid, present, _, _ = grid_from_long(line, "cell", None, "published")
    res = attack(grid, present, integer=True)
    assert res.exposed(K) == []
    assert res.low.tolist() == [1, 1] and res.high.tolist() == [12, 12]
    # and the two hidden means are tied to one equation in two unknowns: (n1, n2) = (3, 10)
    # and (10, 3) both fit, so the weighted sum does not give mean1
    assert out["n"].isna().sum() == 2


def test_pooled_tie_hidden_when_no_kommune_can_protect_it():
    per, pooled, group_of = three_kommuner()
    per = per.iloc[:1].assign(n=2, n_quality=2)  # the only kommune listed, n = 2
    pooled = pooled.assign(n=3, n_quality=3)  # 1 more answer in a kommune not listed
    out, pout = suppress_ties(per, K, pooled=pooled, group_of=group_of)
    assert out["suppressed"].all() and pout["suppressed"].all()
    assert pout[VALUE_COLUMNS].isna().all(axis=None)


def test_kommuner_not_listed_are_taken_as_known():
    """k3 (12) is not in the per-kommune table: the attacker is assumed to know its n anyway
    (from elsewhere), so k1 and k2 must protect each other against pooled n minus 12."""
    per, pooled, group_of = three_kommuner()
    out, pout = suppress_ties(per.iloc[:2], K, pooled=pooled, group_of=group_of)
    assert out["suppressed"].tolist() == [True, True] and not pout["suppressed"].any()
    line = pd.DataFrame({"cell": ["k1", "k2", "k3", "Total"],
                         "published": [*out["n"], 12.0, pout["n"].iloc[0]]})
    grid, present, _, _ = grid_from_long(line, "cell", None, "published")
    assert exposed(grid, present, K) == []


def test_inconsistent_pooled_table_is_refused():
    per, pooled, group_of = three_kommuner()
    with pytest.raises(DisclosureError, match=r"row 0 \(network, 2020, skole -> NAV\).*"
                                              r"smaller than the sum"):
        suppress_ties(per, K, pooled=pooled.assign(n=20), group_of=group_of)


def test_missing_columns_and_groups_are_said():
    per, pooled, _ = three_kommuner()
    with pytest.raises(DisclosureError, match="no column.*mean_quality"):
        suppress_ties(per.drop(columns=["mean_quality"]), K)
    with pytest.raises(DisclosureError, match="group_of="):
        suppress_ties(per, K, pooled=pooled)
    with pytest.raises(DisclosureError, match="no column 'group'"):
        suppress_ties(per, K, pooled=pooled.drop(columns=["group"]), group_of={})


def test_a_kommune_hidden_in_one_tie_is_hidden_in_every_tie_from_that_service():
    """k1's teachers answered about NAV 4 times and about politi 6 times (one skipped): its
    n for skole -> politi would otherwise give away about how many answered about NAV."""
    per, pooled, group_of = three_kommuner()
    other = per.assign(to_service="politi", n=[6, 10, 12], n_quality=[6, 10, 12])
    per = pd.concat([per.assign(n=[4, 10, 12], n_quality=[4, 10, 12]), other],
                    ignore_index=True)
    pooled = pd.concat([pooled.assign(n=26, n_quality=26),
                        pooled.assign(to_service="politi", n=28, n_quality=28)],
                       ignore_index=True)
    out, pout = suppress_ties(per, K, pooled=pooled, group_of=group_of)
    hidden = out.groupby("kommune")["suppressed"].agg(["all", "any"])
    assert (hidden["all"] == hidden["any"]).all()
    assert out.loc[out["kommune"] == "k1", "suppressed"].all()
    assert attacked(out, pout, group_of, "n")[0] == []


# ------------------------------------------------------------------------------------------
# the independent attacker on many random tables
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_attacker_learns_nothing_from_kommune_and_pooled_ties(seed):
    rng = np.random.default_rng(seed)
    kommuner = [f"k{i}" for i in range(7)]
    group_of = {k: ("network" if i < 4 else "comparison") for i, k in enumerate(kommuner)}
    # many small services: 1-4 respondents are common, some 0 (no such service there)
    sizes = {(k, w, r): int(rng.choice([0, 1, 2, 3, 4, 6, 9, 15]))
             for k, w, r in itertools.product(kommuner, ["2019", "2023"], SERVICES)}
    a = answers(sizes, seed=seed, quality_skip=0.3)
    per = ties_of(a, ["kommune", "wave"])
    pooled = ties_of(a.assign(group=a["kommune"].map(group_of)), ["group", "wave"])
    out, pout = suppress_ties(per, K, pooled=pooled, group_of=group_of)

    # nothing from fewer than k respondents is shown
    raw = per.set_index(["kommune", "wave", "from_service", "to_service"])
    pub = out.set_index(["kommune", "wave", "from_service", "to_service"])
    small = (raw["n"] > 0) & (raw["n"] < K)
    assert pub.loc[small, HIDDEN_WITH_TIE].isna().all(axis=None)
    assert pub.loc[small, "suppressed"].all()
    # ... but for a zero n_quality (nobody answered how well: zeros are never hidden)
    assert (pub.loc[small, "n_quality"].isna() | (raw.loc[small, "n_quality"] == 0)).all()
    small_q = (raw["n_quality"] > 0) & (raw["n_quality"] < K)
    assert pub.loc[small_q, ["n_quality", "mean_quality"]].isna().all(axis=None)
    praw = pooled.set_index(["group", "wave", "from_service", "to_service"])
    ppub = pout.set_index(["group", "wave", "from_service", "to_service"])
    psmall = (praw["n"] > 0) & (praw["n"] < K)
    assert ppub.loc[psmall, HIDDEN_WITH_TIE].isna().all(axis=None)
    # what is shown is the true value
    shown = ~pub["suppressed"]
    assert (pub.loc[shown, "n"] == raw.loc[shown, "n"]).all()
    assert np.allclose(pub.loc[shown, "mean_frequency"], raw.loc[shown, "mean_frequency"],
                       equal_nan=True)

    # no hidden n or n_quality is pinned down or proven small from the pooled totals
    bad_n, lines_n = attacked(out, pout, group_of, "n")
    bad_q, lines_q = attacked(out, pout, group_of, "n_quality")
    assert bad_n == [] and bad_q == []
    assert lines_n > 5 and lines_q > 5  # the tables really have lines with hidden cells

    # a hidden tie's n_quality and mean_quality are hidden with it
    hid = out[out["suppressed"]]
    assert hid["mean_quality"].isna().all()
    assert (hid["n_quality"].isna() | (hid["n_quality"] == 0)).all()
    # same respondents, every tie: a kommune is hidden in all ties from a service or none
    nz = out[raw["n"].to_numpy() > 0]
    agg = nz.groupby(["kommune", "wave", "from_service"])["suppressed"].agg(["all", "any"])
    assert (agg["all"] == agg["any"]).all()
