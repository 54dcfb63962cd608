"""The collaboration network (issue 25): the tie table, the network measures (against networkx
and hand computations), the change with respondent-bootstrap CIs and the network vs
comparison DiD with randomization inference (against scipy's exact permutation test), on
small answer frames made here with planted changes."""

import itertools
import math
import warnings
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation_pipeline.analysis.collaboration import (
    CollaborationWarning,
    collaboration_change,
    collaboration_did,
    collaboration_measures,
    degree_centralization,
    randomization_test,
    tie_table,
)
from evaluation_pipeline.analysis.collaboration.measures import measures_from_sums
from evaluation_pipeline.analysis.effects import effects_frame
from evaluation_pipeline.errors import AnalysisError
from evaluation_pipeline.study import Collaboration

SERVICES = ["skole", "barnehage", "PPT", "barnevern", "helsestasjon", "NAV", "politi", "BUP"]
#: the ties strengthened in the network kommuner at follow-up (both directions)
CLUSTER = {"skole", "barnevern", "PPT", "helsestasjon"}


def collaboration(quality: bool = True, services=SERVICES) -> Collaboration:
    block = {"frequency": {"items": {f"ofte_{s}": s for s in services}, "range": [1, 5],
                           "regular_from": 4}}
    if quality:
        block["quality"] = {"items": {f"godt_{s}": s for s in services}, "range": [1, 5]}
    return Collaboration(**block)


def simulate(seed: int = 7, n_net: int = 5, n_comp: int = 15, waves=("b", "f"),
             per_role=(4, 8), cluster_effect: float = 1.2, pair_effect: float = 1.5):
    """Long survey answers of the roster: every respondent of service A answers 1 + Binomial(4,
    expit(kommune + pair + planted)) about each other service, and a quality answer. Planted
    in the network kommuner at the follow-up only: ``cluster_effect`` on the ties among
    :data:`CLUSTER` and ``pair_effect`` more on skole–barnevern."""
    rng = np.random.default_rng(seed)
    kom = [f"{1500 + i}" for i in range(n_net)] + [f"{1600 + i}" for i in range(n_comp)]
    S = len(SERVICES)
    pair = rng.normal(-0.3, 0.8, (S, S))
    pair = (pair + pair.T) / 2
    rows, rid = [], 0
    for ki, k in enumerate(kom):
        level = rng.normal(0, 0.3)
        for wi, w in enumerate(waves):
            for ai, a in enumerate(SERVICES):
                for _ in range(rng.integers(per_role[0], per_role[1] + 1)):
                    rid += 1
                    for bi, b in enumerate(SERVICES):
                        if a == b:
                            continue
                        x = level + pair[ai, bi]
                        if ki < n_net and wi > 0:
                            x += cluster_effect * ({a, b} <= CLUSTER)
                            x += pair_effect * ({a, b} == {"skole", "barnevern"})
                        v = 1 + rng.binomial(4, 1 / (1 + math.exp(-x)))
                        rows.append((str(rid), w, k, a, f"ofte_{b}", float(v)))
                        rows.append((str(rid), w, k, a, f"godt_{b}",
                                     float(1 + rng.binomial(4, 0.6))))
    answers = pd.DataFrame(rows, columns=["respondent_id", "wave", "kommune", "role", "item",
                                          "value"])
    groups = {k: "network" if i < n_net else "comparison" for i, k in enumerate(kom)}
    return answers, groups


@pytest.fixture(scope="module")
def planted():
    return simulate()


# ---- degree centralization -------------------------------------------------------------------

def test_centralization_star_complete_and_hand_computations():
    assert degree_centralization(nx.star_graph(7)) == pytest.approx(1.0)
    assert degree_centralization(nx.complete_graph(8)) == pytest.approx(0.0)
    assert degree_centralization(nx.cycle_graph(6)) == pytest.approx(0.0)
    # path a-b-c-d: degrees 1, 2, 2, 1 -> (1 + 0 + 0 + 1) / (3 * 2)
    assert degree_centralization(nx.path_graph(4)) == pytest.approx(2 / 6)
    # Zachary's karate club: n = 34, max degree 17, 78 edges; sum(max - deg) = n·max - 2m
    # (Freeman 1979's numerator written with the edge count) = 578 - 156 = 422
    assert degree_centralization(nx.karate_club_graph()) == pytest.approx(422 / (33 * 32))
    # a directed graph counts a tie when either direction is present
    g = nx.DiGraph([(1, 0), (0, 2), (2, 0), (0, 3)])
    assert degree_centralization(g) == pytest.approx(1.0)
    # in-star: every tie points to the centre -> in-centralization 1, out: (1 - 0) / (n-1)²
    instar = nx.DiGraph([(i, 0) for i in range(1, 5)])
    assert degree_centralization(instar, "in") == pytest.approx(1.0)
    assert degree_centralization(instar, "out") == pytest.approx(1 / 16)


# ---- measures against networkx ---------------------------------------------------------------

def _ties_from_adjacency(adj: np.ndarray, mf: np.ndarray, services) -> pd.DataFrame:
    rows = [(services[i], services[j], 3, mf[i, j], 1.0 if adj[i, j] else 0.0, bool(adj[i, j]),
             3, 3.0 + i / 10) for i, j in itertools.permutations(range(len(services)), 2)]
    return pd.DataFrame(rows, columns=["from_service", "to_service", "n", "mean_frequency",
                                       "share_regular", "regular", "n_quality",
                                       "mean_quality"]).assign(kommune="1")[
        ["kommune", "from_service", "to_service", "n", "mean_frequency", "share_regular",
         "regular", "n_quality", "mean_quality"]]


@pytest.mark.parametrize("seed", range(6))
def test_measures_equal_networkx_and_the_numpy_version(seed):
    rng = np.random.default_rng(seed)
    S = 7
    services = [f"s{i}" for i in range(S)]
    adj = rng.random((S, S)) < rng.uniform(0.1, 0.7)
    np.fill_diagonal(adj, False)
    adj[seed % S] = False
    adj[:, seed % S] = False  # one isolated service
    mf = rng.uniform(1, 5, (S, S))
    ties = _ties_from_adjacency(adj, mf, services)
    m = collaboration_measures(ties, services).set_index("measure")["value"]
    g = nx.from_numpy_array(adj.astype(int), create_using=nx.DiGraph)
    assert m["density"] == pytest.approx(nx.density(g))
    assert m["reciprocity"] == pytest.approx(nx.reciprocity(g))
    assert m["isolated"] == len(list(nx.isolates(g)))
    und = (adj | adj.T).sum(1)
    assert m["centralization"] == pytest.approx((S * und.max() - und.sum()) / ((S - 1) * (S - 2)))
    iu = np.triu_indices(S, 1)
    assert m["asymmetry"] == pytest.approx(np.mean(np.abs(mf[iu] - mf.T[iu])))
    assert m["mean_quality"] == pytest.approx(np.mean([3.0 + i / 10 for i in range(S)]))
    # the vectorised version of the bootstrap: 3 answers per tie, all regular or none
    count = np.where(np.eye(S, dtype=bool), 0, 3.0)
    v = measures_from_sums(count, count * mf, count * adj, count, count * ties.pivot(
        index="from_service", columns="to_service", values="mean_quality").reindex(
        index=services, columns=services).fillna(0).to_numpy(), np.ones(S, bool), 0.5)
    for name in m.index:
        assert float(v[name]) == pytest.approx(m[name], nan_ok=True), name
    assert v["pairs"] == pytest.approx((mf[iu] + mf.T[iu]) / 2)


def test_density_counts_only_pairs_whose_sender_has_respondents():
    services = ["a", "b", "c"]
    # c has no respondents: of the 2 senders' 4 ordered pairs, a->b and b->c are regular
    ties = pd.DataFrame({
        "from_service": ["a", "a", "b", "b"], "to_service": ["b", "c", "a", "c"],
        "n": [2, 2, 2, 2], "mean_frequency": [4.5, 2.0, 3.0, 4.0],
        "share_regular": [1.0, 0.0, 0.5, 1.0], "regular": [True, False, False, True],
        "n_quality": [0] * 4, "mean_quality": [np.nan] * 4})
    m = collaboration_measures(ties, services).set_index("measure")
    assert m.loc["density", "value"] == pytest.approx(2 / 4)
    assert m.loc["reciprocity", "value"] == pytest.approx(0.0)
    # undirected a-b, b-c: degrees 1, 2, 1 -> (1 + 0 + 1) / (2 * 1)
    assert m.loc["centralization", "value"] == pytest.approx(1.0)
    # only a <-> b is observed in both directions: |4.5 - 3.0|
    assert m.loc["asymmetry", "value"] == pytest.approx(1.5)
    assert m.loc["isolated", "value"] == 0
    assert np.isnan(m.loc["mean_quality", "value"])
    assert (m["n_respondents"] == 4).all()  # largest n per sender without attrs: 2 + 2


# ---- tie table -------------------------------------------------------------------------------

def _tiny_answers():
    rows = [
        # respondent, wave, kommune, role, item, value
        ("1", "b", "1500", "skole", "ofte_barnevern", 5),
        ("1", "b", "1500", "skole", "ofte_NAV", 2),
        ("1", "b", "1500", "skole", "godt_barnevern", 4),
        ("2", "b", "1500", "skole", "ofte_barnevern", 3),
        ("2", "b", "1500", "skole", "ofte_NAV", 4),
        ("2", "b", "1500", "skole", "godt_barnevern", np.nan),
        ("3", "b", "1500", "skole", "ofte_barnevern", 4), ("3", "b", "1500", "skole", "ofte_NAV",
                                                           np.nan),
        ("3", "b", "1500", "skole", "ofte_skole", 5),  # own service: left out
        ("4", "b", "1500", "barnevern", "ofte_skole", 2), ("4", "b", "1500", "barnevern",
                                                            "ofte_NAV", 1),
        ("5", "b", "1600", "barnevern", "ofte_skole", 5), ("5", "b", "1600", "barnevern",
                                                            "scale_item", 3),
    ]
    return pd.DataFrame(rows, columns=["respondent_id", "wave", "kommune", "role", "item",
                                       "value"])


def _tiny_collaboration():
    return Collaboration(
        frequency={"items": {"ofte_skole": "skole", "ofte_barnevern": "barnevern",
                             "ofte_NAV": "NAV"}, "range": [1, 5], "regular_from": 4},
        quality={"items": {"godt_barnevern": "barnevern"}, "range": [1, 5]})


def test_tie_table_by_hand():
    c = _tiny_collaboration()
    with pytest.warns(CollaborationWarning, match="1 answer"):
        t = tie_table(_tiny_answers(), c)
    t = t.set_index(["kommune", "wave", "from_service", "to_service"])
    sb = t.loc[("1500", "b", "skole", "barnevern")]
    assert (sb["n"], sb["mean_frequency"], sb["share_regular"], bool(sb["regular"])) == \
        (3, pytest.approx(4.0), pytest.approx(2 / 3), True)
    assert (sb["n_quality"], sb["mean_quality"]) == (1, 4.0)
    sn = t.loc[("1500", "b", "skole", "NAV")]
    assert (sn["n"], sn["mean_frequency"], sn["share_regular"], bool(sn["regular"])) == \
        (2, 3.0, 0.5, True)  # share 0.5 >= regular_share 0.5
    assert np.isnan(sn["mean_quality"]) and sn["n_quality"] == 0
    bn = t.loc[("1500", "b", "barnevern", "NAV")]
    assert bool(bn["regular"]) is False and bn["share_regular"] == 0
    assert ("1500", "b", "skole", "skole") not in t.index
    assert len(t) == 5
    with pytest.warns(CollaborationWarning):
        g = tie_table(_tiny_answers(), c, by=("group", "wave"),
                      groups={"1500": "network", "1600": "comparison"})
    g = g.set_index(["group", "from_service", "to_service"])
    assert g.loc[("comparison", "barnevern", "skole"), "mean_frequency"] == 5
    # a Study-like object gives the groups as study_groups does
    st = SimpleNamespace(network={"1600": 2013}, comparison=["1500"])
    with pytest.warns(CollaborationWarning):
        g2 = tie_table(_tiny_answers(), c, by=("group", "wave"), groups=st)
    assert set(g2.loc[g2["from_service"] == "skole", "group"]) == {"comparison"}


def test_missing_roster_item_names_item_and_study_key():
    c = collaboration()
    answers = _tiny_answers()
    with pytest.raises(AnalysisError, match=r"ofte_PPT.*survey\.collaboration\.frequency\.items"):
        tie_table(answers, c)


def test_value_outside_range_names_respondent_item_and_range():
    c = _tiny_collaboration()
    answers = _tiny_answers()
    answers.loc[0, "value"] = 7
    with pytest.raises(AnalysisError, match=r"respondent 1 .*ofte_barnevern: value 7 is outside "
                                            r"the range \[1, 5\]"):
        tie_table(answers, c)


# ---- change with bootstrap CIs ---------------------------------------------------------------

def _row(frame, outcome, group, contrast="f - b"):
    r = frame[(frame["outcome"] == outcome) & (frame["group"] == group)
              & (frame["contrast"] == contrast)]
    assert len(r) == 1, (outcome, group, contrast)
    return r.iloc[0]


def test_change_point_estimates_equal_the_networkx_measures(planted):
    answers, groups = planted
    c = collaboration()
    eff = effects_frame(collaboration_change(answers, c, groups, baseline="b", n_boot=50))
    m = collaboration_measures(tie_table(answers, c), SERVICES)
    pooled = collaboration_measures(tie_table(answers, c, ("group", "wave"), groups=groups),
                                    SERVICES)
    for measure in ["density", "centralization", "reciprocity", "asymmetry", "isolated",
                    "mean_quality"]:
        for k in ["1500", "1607"]:
            v = m[(m["kommune"] == k) & (m["measure"] == measure)].set_index("wave")["value"]
            assert _row(eff, measure, k)["estimate"] == pytest.approx(v["f"] - v["b"]), measure
        v = pooled[(pooled["group"] == "network") & (pooled["measure"] == measure)]
        v = v.set_index("wave")["value"]
        assert _row(eff, measure, "network")["estimate"] == pytest.approx(v["f"] - v["b"])
    t = tie_table(answers, c).set_index(["kommune", "wave", "from_service", "to_service"])
    mf = t["mean_frequency"]
    pair = {w: (mf[("1500", w, "skole", "NAV")] + mf[("1500", w, "NAV", "skole")]) / 2
            for w in "bf"}
    assert _row(eff, "tie:skole-NAV", "1500")["estimate"] == pytest.approx(pair["f"] - pair["b"])


def test_change_recovers_the_planted_strengthening(planted):
    answers, groups = planted
    eff = effects_frame(collaboration_change(answers, collaboration(), groups, baseline="b",
                                             n_boot=999, seed=3))
    for outcome in ["tie:skole-barnevern", "density"]:
        net = _row(eff, outcome, "network")
        assert net["estimate"] > 0 and net["ci_low"] > 0, outcome
        comp = _row(eff, outcome, "comparison")
        assert comp["ci_low"] < 0 < comp["ci_high"], outcome
    # a pair outside the planted cluster: no change in the network kommuner
    other = _row(eff, "tie:NAV-politi", "network")
    assert other["ci_low"] < 0 < other["ci_high"]
    # and within one network kommune the planted pair rises too
    k = _row(eff, "tie:skole-barnevern", "1500")
    assert k["ci_low"] > 0
    assert (k["source"], k["estimator"], k["n_unit"]) == (
        "network",
        "respondent bootstrap (Rao–Wu rescaled, within kommune × wave × role), percentile CI",
        "respondents")
    assert k["n_treated"] == answers[(answers["kommune"] == "1500") & (answers["wave"] == "f")][
        "respondent_id"].nunique()


def test_bootstrap_resamples_within_kommune_wave_and_role():
    """Role mix kept: with one respondent per role every draw reproduces the data exactly."""
    answers, groups = simulate(seed=2, n_net=1, n_comp=2, per_role=(1, 1))
    eff = effects_frame(collaboration_change(answers, collaboration(), groups, baseline="b",
                                             n_boot=200, min_respondents=1))
    ok = eff[eff["estimate"].notna()]
    assert len(ok) > 0
    assert np.allclose(ok["ci_low"], ok["estimate"]) and np.allclose(ok["ci_high"],
                                                                     ok["estimate"])


def test_thin_kommune_gives_insufficient_rows_and_the_rest_goes_on(planted):
    answers, groups = planted
    thin = answers[~((answers["kommune"] == "1501") & (answers["wave"] == "f")
                     & (answers["role"] != "skole"))]
    thin = thin[~((thin["kommune"] == "1501") & (thin["wave"] == "f")
                  & (thin["respondent_id"].astype(int) % 3 > 0))]
    eff = effects_frame(collaboration_change(thin, collaboration(), groups, baseline="b",
                                             n_boot=50))
    rows = eff[eff["group"] == "1501"]
    assert rows["estimate"].isna().all()
    assert rows["note"].str.startswith("insufficient data: network:").all()
    assert (rows["n_unit"] == "respondents").all()  # effects.count_unit for source network
    assert eff[eff["group"] == "1500"]["estimate"].notna().any()
    did = effects_frame(collaboration_did(thin, collaboration(), groups, baseline="b",
                                          wild_bootstrap=0))
    d = did[did["outcome"] == "density"].iloc[0]
    assert (d["n_treated"], d["n_control"]) == (4, 15)
    assert "1501" in d["note"]


# ---- randomization inference -----------------------------------------------------------------

@pytest.mark.parametrize("k1,k0,seed", [(2, 6, 0), (3, 9, 1), (3, 5, 2)])
def test_randomization_test_equals_scipy_exact_permutation_test(k1, k0, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0.8, 1, k1), rng.normal(0, 1, k0)
    ri = randomization_test(np.r_[x, y], np.r_[np.ones(k1), np.zeros(k0)].astype(bool))
    assert ri["enumerated"] and ri["n_assignments"] == math.comb(k1 + k0, k1)

    def absdiff(a, b, axis):
        return np.abs(np.mean(a, axis=axis) - np.mean(b, axis=axis))

    def scipy_p(shift):
        return stats.permutation_test((x - shift, y), absdiff, permutation_type="independent",
                                      alternative="greater", n_resamples=np.inf,
                                      vectorized=True).pvalue

    assert ri["estimate"] == pytest.approx(x.mean() - y.mean())
    assert ri["p_value"] == pytest.approx(scipy_p(0.0))
    lo, hi = ri["ci"]
    if math.comb(k1 + k0, k1) * 0.05 < 1:
        assert (lo, hi) == (-math.inf, math.inf)
        return
    eps = 1e-6 * (hi - lo)
    assert scipy_p(lo + eps) > 0.05 >= scipy_p(lo - eps)
    assert scipy_p(hi - eps) > 0.05 >= scipy_p(hi + eps)


def test_did_recovers_the_planted_effect(planted):
    answers, groups = planted
    did = effects_frame(collaboration_did(answers, collaboration(), groups, baseline="b",
                                          wild_bootstrap=999))
    for outcome in ["tie:skole-barnevern", "density"]:
        r = _row(did, outcome, "all", "f - b, network - comparison")
        assert r["estimate"] > 0 and r["ci_low"] > 0 and r["p_value"] < 0.05, outcome
        assert (r["n_treated"], r["n_control"], r["n_unit"]) == (5, 15, "kommuner")
    r = _row(did, "tie:NAV-politi", "all", "f - b, network - comparison")
    assert r["ci_low"] < 0 < r["ci_high"]
    assert "wild cluster bootstrap" in r["note"]
    # the planted pair's DiD equals the difference of the mean kommune changes, computed from
    # the tie table
    t = tie_table(answers, collaboration())
    t = t[t["from_service"].isin(["skole", "barnevern"]) & t["to_service"].isin(
        ["skole", "barnevern"])]
    pm = t.groupby(["kommune", "wave"])["mean_frequency"].mean().unstack()
    change = pm["f"] - pm["b"]
    net = change.index.map(groups) == "network"
    r = _row(did, "tie:skole-barnevern", "all", "f - b, network - comparison")
    assert r["estimate"] == pytest.approx(change[net].mean() - change[~net].mean())


def test_did_with_one_network_kommune_left_is_insufficient_not_an_error():
    answers, groups = simulate(seed=4, n_net=2, n_comp=3)
    answers = answers[~((answers["kommune"] == "1501") & (answers["wave"] == "f"))]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollaborationWarning)
        eff = collaboration_did(answers, collaboration(), groups, baseline="b", wild_bootstrap=0)
    f = effects_frame(eff)
    # 1 network + 3 comparison kommuner: estimable, but the RI CI is unbounded (C(4,1) = 4)
    d = _row(f, "density", "all", "f - b, network - comparison")
    assert d["n_treated"] == 1 and np.isinf(d["ci_low"]) and np.isinf(d["ci_high"])
    answers = answers[answers["kommune"] != "1500"]
    f = effects_frame(collaboration_did(answers, collaboration(), groups, baseline="b",
                                        wild_bootstrap=0))
    assert f["estimate"].isna().all()
    assert f["note"].str.contains("have 0 network, 3 comparison").all()
    assert (f["n_unit"] == "kommuner").all()


def test_sampled_randomization_test_is_close_to_the_exact_one():
    rng = np.random.default_rng(11)
    delta = np.r_[rng.normal(0.7, 1, 4), rng.normal(0, 1, 10)]
    treated = np.r_[np.ones(4), np.zeros(10)].astype(bool)
    exact = randomization_test(delta, treated)
    sampled = randomization_test(delta, treated, max_enumerate=10, n_perm=20000, seed=5)
    assert exact["enumerated"] and not sampled["enumerated"]
    assert sampled["n_assignments"] == 20001
    # Monte Carlo SE of a p near 0.05 with 20000 draws is about 0.0015
    assert sampled["p_value"] == pytest.approx(exact["p_value"], abs=0.006)
    assert sampled["ci"] == pytest.approx(exact["ci"], rel=0.1)


def test_did_rejects_an_unknown_outcome(planted):
    answers, groups = planted
    with pytest.raises(AnalysisError, match=r"unknown outcome\(s\) \['tie:barnevern-skole'\]"):
        collaboration_did(answers, collaboration(), groups, baseline="b",
                          outcomes=["density", "tie:barnevern-skole"])


def test_study_gives_groups_waves_and_the_roles_order_of_pair_names(planted):
    answers, groups = planted
    roles = list(reversed(SERVICES))
    study = SimpleNamespace(
        network={k: 2020 for k, g in groups.items() if g == "network"},
        comparison=[k for k, g in groups.items() if g == "comparison"],
        baseline_wave="b", followup_waves=["f"], survey=SimpleNamespace(roles=roles))
    eff = effects_frame(collaboration_change(answers, collaboration(), study, n_boot=20))
    assert set(eff["contrast"]) == {"f - b"}
    assert {"network", "comparison", "1500"} <= set(eff["group"])
    assert "tie:barnevern-skole" in set(eff["outcome"])  # BUP ... skole: roles order
    assert "tie:skole-barnevern" not in set(eff["outcome"])
    by_mapping = effects_frame(collaboration_change(answers, collaboration(), groups,
                                                    baseline="b", n_boot=20))
    a = eff.set_index(["outcome", "group"])["estimate"]
    b = by_mapping.set_index(["outcome", "group"])["estimate"]
    assert a[("tie:barnevern-skole", "network")] == pytest.approx(
        b[("tie:skole-barnevern", "network")])


def test_rao_wu_draws_give_the_unbiased_variance_of_a_stratum_mean():
    """Rao & Wu (1988): n - 1 of n drawn, weighted n / (n - 1): the draws' variance of the mean
    is s² / n (s² with n - 1), where the plain bootstrap gives s² (n - 1) / n²."""
    from evaluation_pipeline.analysis.collaboration.change import _draw_counts

    x = np.array([1.0, 2.0, 2.0, 4.0, 5.0])
    w = _draw_counts(np.random.default_rng(0), len(x), 200_000)
    assert np.allclose(w[0], 1) and np.allclose(w.sum(1), len(x))
    means = w[1:] @ x / len(x)
    assert means.mean() == pytest.approx(x.mean(), abs=0.005)
    assert means.var() == pytest.approx(x.var(ddof=1) / len(x), rel=0.02)
    assert np.allclose(_draw_counts(np.random.default_rng(0), 1, 10), 1)
