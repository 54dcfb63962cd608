"""Rambachan & Roth sensitivity (analysis/sensitivity/) against the R package HonestDiD's
outputs and against hand computations.

Inputs: ``BCdata_EventStudy`` of the R package HonestDiD (Benzarti & Carloni 2019; 4 pre-
and 4 post-period coefficients), as printed to 10 significant digits in
eohne/HonestDiD.jl, test/reference.jl (commit 8179fe811b5e4e2296ad65e14568049e7bed2eda:
"Auto-generated reference values from the R HonestDiD package (BCdata_EventStudy)").

Outputs of R HonestDiD (l_vec = first post period, alpha = 0.05):
- R1: anzonyquispe/honestdid, tests/r_test_results.json (commit
  8551df55f650882df46aaacf7427592528e5efe0), written by tests/test_honestdid.R (commit
  c58bc9a66034b574747fd89f6ebd4df112878d5b): ``constructOriginalCS``,
  ``createSensitivityResults`` (Δ^SD, FLCI) for M = 0, 0.01, 0.02, 0.03,
  ``createSensitivityResults_relativeMagnitudes`` (Δ^RM, C-LF, 1000 grid points on
  ±20 sd) for M̄ = 0.5, 1, 1.5, 2, and ``DeltaSD_upperBound_Mpre``.
- R2: eohne/HonestDiD.jl, test/reference.jl (commit above): the FLCI for M = 0.1, 0.2
  (``FLCI_BC``) and the ARP CI of Δ^RM(M̄ = 1) on a 200-point grid (``CCS_RM_ARP``).

Tolerances: the original CI, the M upper bound and the deterministic ARP CI agree to the
inputs' rounding (1e-9). R's FLCI uses a folded-normal quantile simulated from 10⁶ draws
(sd of that quantile ≈ 0.1 %) where we compute it exactly, so FLCI ends agree to 1e-3
(half-length 0.04-0.25). R's Δ^RM CIs are grid points (step 0.00076) and its C-LF critical
value is simulated with R's RNG: on R's own grid our C-LF ends at M̄ = 1 are R's grid
points exactly; our refined C-LF ends (the pipeline's search) agree to 1.5 grid steps, except
M̄ = 2, whose lower end (1000 LF draws: ours and R's differ) agrees to 0.002 and whose
upper end R cut at its grid's edge (20 sd).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from evaluation_pipeline.analysis import sensitivity as se

BC_BETAHAT = np.array([0.006696351804, 0.02934503369, -0.006472972222, 0.0730149895,
                       0.1959611177, 0.3120639026, 0.2395415455, 0.1260425001])
BC_SIGMA = np.array([
    [0.0008428358124, 0.0004768686777, 0.0002618051076, 0.0002354220342, 0.0001676371467,
     0.0001128707663, 1.992816215e-05, -0.0001368265366],
    [0.0004768686777, 0.0006425420288, 0.0003987425007, 0.0002435515198, 0.0002201960306,
     0.0001804591157, 3.84376508e-05, -2.960421989e-05],
    [0.0002618051076, 0.0003987425007, 0.0005229949602, 0.000211768609, 0.0001840722252,
     0.000145852784, 7.005197403e-05, 5.952994979e-05],
    [0.0002354220342, 0.0002435515198, 0.000211768609, 0.0003089595411, 0.0001197866077,
     0.0001334081317, 0.0001016335009, 0.0001079051726],
    [0.0001676371467, 0.0002201960306, 0.0001840722252, 0.0001197866077, 0.000359970436,
     0.0002478818642, 0.0001749579242, 0.0001654256921],
    [0.0001128707663, 0.0001804591157, 0.000145852784, 0.0001334081317, 0.0002478818642,
     0.0004263949813, 0.0002171437809, 0.0002892747871],
    [1.992816215e-05, 3.84376508e-05, 7.005197403e-05, 0.0001016335009, 0.0001749579242,
     0.0002171437809, 0.0004886697861, 0.0003805322049],
    [-0.0001368265366, -2.960421989e-05, 5.952994979e-05, 0.0001079051726, 0.0001654256921,
     0.0002892747871, 0.0003805322049, 0.000761739444]])
E1 = [1.0, 0.0, 0.0, 0.0]
#: R's Δ^RM grid: 1000 points on ±20·sd(β̂_post,1)
R_GRID_STEP = 40 * math.sqrt(BC_SIGMA[4, 4]) / 999


def test_original_ci_matches_r():
    lb, ub = se.original_ci(BC_BETAHAT, BC_SIGMA, 4, 4, E1)
    assert lb == pytest.approx(0.15877494280765034, abs=1e-9)      # R1
    assert ub == pytest.approx(0.23314729268124126, abs=1e-9)


def test_m_upper_bound_matches_r():
    assert se.sd_m_upper(BC_BETAHAT, BC_SIGMA, 4) == pytest.approx(0.20216986929706898,
                                                                   abs=1e-9)   # R1


@pytest.mark.parametrize("m, lb, ub", [
    (0.0, 0.13141131596381356, 0.216169648209591),       # R1 (and R2 FLCI_BC)
    (0.01, 0.1549652670807741, 0.2703845303265206),      # R1
    (0.02, 0.17730108790014376, 0.31595646819476952),    # R1
    (0.03, 0.18940446443439926, 0.34854775003919292),    # R1
    (0.1, 0.1194440001, 0.4185082143),                   # R2
    (0.2, 0.01944400015, 0.5185082143),                  # R2
])
def test_flci_matches_r(m, lb, ub):
    r = se.sd_flci(BC_BETAHAT, BC_SIGMA, 4, 4, E1, m)
    assert r["lb"] == pytest.approx(lb, abs=1e-3)
    assert r["ub"] == pytest.approx(ub, abs=1e-3)
    assert r["half_length"] == pytest.approx((ub - lb) / 2, rel=2e-3)


def test_flci_m0_half_length_matches_r():
    # R1 optimalHalfLength at M = 0: 0.042379166122888709 = (simulated 1.96)·h_min
    r = se.sd_flci(BC_BETAHAT, BC_SIGMA, 4, 4, E1, 0.0)
    assert r["half_length"] == pytest.approx(0.042379166122888709, rel=2e-3)


def test_rm_arp_on_r_grid_matches_r_exactly():
    # R2 CCS_RM_ARP: computeConditionalCS_DeltaRM(Mbar = 1, hybrid_flag = "ARP",
    # gridPoints = 200): the CI ends are R's grid points; ours are the same points
    lb, ub = se.rm_ci(BC_BETAHAT, BC_SIGMA, 4, 4, E1, 1.0, method="ARP", grid_points=200)
    assert lb == pytest.approx(0.07055244362, abs=1e-9)
    assert ub == pytest.approx(0.3184394077, abs=1e-9)


@pytest.mark.parametrize("mbar, lb, ub", [
    (0.5, 0.11812948578177346, 0.27158386602562062),
    (1.0, 0.06723125075039843, 0.31868372530838568),
    (1.5, 0.013294315120135292, 0.36958196033976071),
])
def test_rm_clf_matches_r(mbar, lb, ub):
    # R1 deltaRM (createSensitivityResults_relativeMagnitudes, method C-LF)
    r = se.rm_ci(BC_BETAHAT, BC_SIGMA, 4, 4, E1, mbar, method="C-LF", grid_points=30,
                 refine=True)
    assert r[0] == pytest.approx(lb, abs=1.5 * R_GRID_STEP)
    assert r[1] == pytest.approx(ub, abs=1.5 * R_GRID_STEP)


def test_rm_clf_on_r_grid_matches_r_exactly():
    # R1 deltaRM at M̄ = 1 on R's own grid (1000 points, ±20 sd): our least-favourable
    # critical values are simulated with other draws than R's, yet every grid point is
    # accepted or rejected as in R, so the ends are the same grid points
    lb, ub = se.rm_ci(BC_BETAHAT, BC_SIGMA, 4, 4, E1, 1.0, method="C-LF", grid_points=1000)
    assert lb == pytest.approx(0.06723125075039843, abs=1e-9)
    assert ub == pytest.approx(0.31868372530838568, abs=1e-9)


def test_rm_clf_mbar2_matches_r_where_r_is_not_cut():
    lb_r, ub_r = -0.042161970809571847, 0.3794577372861469      # R1
    assert ub_r == pytest.approx(20 * math.sqrt(BC_SIGMA[4, 4]), abs=1e-9)  # R's grid edge
    lb, ub = se.rm_ci(BC_BETAHAT, BC_SIGMA, 4, 4, E1, 2.0, method="C-LF", grid_points=30,
                      refine=True)
    assert lb == pytest.approx(lb_r, abs=0.002)
    assert ub > ub_r


def test_bc_breakdown_values():
    # R1's C-LF CIs exclude 0 at M̄ = 1.5 and include it at 2 (the Stata README reads the
    # same from its example: "breakdown M̄ ≈ 2"); the FLCI at M = 0.2 still excludes 0 (R2)
    res = se.sensitivity_analysis(BC_BETAHAT, BC_SIGMA, 4, 4, E1)
    assert 1.5 < res.breakdown_rm < 2.0
    rm = res.table[res.table["kind"] == "RM"].set_index("m")
    assert rm.loc[1.5, "lb"] > 0 > rm.loc[2.0, "lb"]
    # the breakdown M̄ is where the lower end crosses 0: the CI just above it includes 0
    lo, _ = se.rm_ci(BC_BETAHAT, BC_SIGMA, 4, 4, E1, res.breakdown_rm + 0.02, refine=True,
                     grid_points=30)
    assert lo <= 0
    assert res.breakdown_sd > 0.2
    r = se.sd_flci(BC_BETAHAT, BC_SIGMA, 4, 4, E1, res.breakdown_sd * 1.02)
    assert r["lb"] <= 0


# ---------------------------------------------------------------------------------------------
# Hand computations: one pre-period (event time −2, reference −1) and one post-period


def test_rm_identified_set_one_pre_one_post():
    # Δ^RM(M̄): |δ_1 − δ_0| <= M̄·|δ_0 − δ_−1| with δ_0 = 0, so θ = β_1 − δ_1 lies in
    # [β_1 − M̄|β_−1|, β_1 + M̄|β_−1|]
    for b_pre, b_post, mbar in ((-0.3, 1.0, 0.5), (0.2, -0.4, 2.0), (0.0, 0.7, 1.0)):
        lo, hi = se.rm_identified_set([b_pre, b_post], 1, 1, None, mbar)
        assert lo == pytest.approx(b_post - mbar * abs(b_pre), abs=1e-9)
        assert hi == pytest.approx(b_post + mbar * abs(b_pre), abs=1e-9)


def test_rm_arp_ci_mbar0_is_the_two_sided_ci():
    # M̄ = 0: δ_1 = 0; the moments ±(β_1 − θ) are perfectly negatively correlated, so the
    # conditional test truncates the max at 0: critical value Φ⁻¹(1 − α/2), CI β_1 ± 1.96σ
    s1 = 0.1
    b = [-0.5, 0.3]
    S = np.diag([0.05 ** 2, s1 ** 2])      # |β_pre|/σ_pre = 10: the other sign is rejected
    lo, hi = se.rm_ci(b, S, 1, 1, None, 0.0, method="ARP", refine=True, grid_points=30)
    z = stats.norm.ppf(0.975)
    assert lo == pytest.approx(0.3 - z * s1, abs=2e-3 * s1)
    assert hi == pytest.approx(0.3 + z * s1, abs=2e-3 * s1)


def test_rm_arp_ci_long_identified_set_is_one_sided():
    # a pre-period coefficient known almost exactly and M̄|β_−1| = 10σ_1: at each end one
    # moment binds, the other is 10 sd away, so the critical value is the truncated normal
    # quantile Φ⁻¹ on [−10, ∞) ≈ z_0.95: CI [β_1 − M̄|β_−1| − 1.645σ_1, ... + 1.645σ_1]
    s1, mbar, b_pre, b_post = 0.1, 2.0, -0.5, 0.3
    S = np.diag([(1e-4 * s1) ** 2, s1 ** 2])
    lo, hi = se.rm_ci([b_pre, b_post], S, 1, 1, None, mbar, method="ARP", refine=True,
                      grid_points=30)
    c = stats.truncnorm.ppf(0.95, -mbar * abs(b_pre) / s1, np.inf)
    assert c == pytest.approx(1.6448536, abs=1e-6)
    assert lo == pytest.approx(b_post - mbar * abs(b_pre) - c * s1, abs=2e-3 * s1)
    assert hi == pytest.approx(b_post + mbar * abs(b_pre) + c * s1, abs=2e-3 * s1)
    # breakdown: the lower end reaches 0 at M̄ = (β_1 − 1.645σ_1)/|β_−1|
    b_post = 2.0
    bd = se.rm_breakdown([b_pre, b_post], S, 1, 1, None, method="ARP", tol=0.001)
    assert bd == pytest.approx((b_post - c * s1) / abs(b_pre), abs=0.003)


def test_flci_one_pre_one_post_closed_form():
    # the only estimator unbiased under linear trends is β_1 + β_−1 (the extrapolation);
    # its worst-case bias on Δ^SD(M) is M (one second difference δ_−1 − 2δ_0 + δ_1), so the
    # FLCI is β_1 + β_−1 ± h·cv, cv the 95 % quantile of |N(M/h, 1)|, h = sd(β_1 + β_−1)
    b = [0.05, 0.4]
    S = np.array([[0.01, 0.004], [0.004, 0.02]])
    h = math.sqrt(0.01 + 0.02 + 2 * 0.004)
    def folded_cv(m):
        return optimize.brentq(lambda c: stats.norm.cdf(c - m / h)
                               - stats.norm.cdf(-c - m / h) - 0.95, 0, 50)

    for m in (0.0, 0.05, 0.2):
        cv = folded_cv(m)
        r = se.sd_flci(b, S, 1, 1, None, m)
        assert r["lb"] == pytest.approx(0.45 - h * cv, abs=1e-7)
        assert r["ub"] == pytest.approx(0.45 + h * cv, abs=1e-7)
    # the breakdown M solves 0.45 = h·cv(M/h)
    m_star = optimize.brentq(lambda m: h * folded_cv(m) - 0.45, 0, 1)
    bd = se.sd_breakdown(b, S, 1, 1, None, scale=0.1, rel_tol=1e-4)
    assert bd == pytest.approx(m_star, abs=2e-5)


def test_pretrend_wald_by_hand():
    # diagonal Σ_pre: W = Σ β²/σ², χ²(2)
    b = [0.2, -0.1, 5.0]
    S = np.diag([0.01, 0.04, 1.0])
    w = se.pretrend_wald(b, S, 2)
    assert w["statistic"] == pytest.approx(0.04 / 0.01 + 0.01 / 0.04)
    assert w["df"] == 2
    assert w["p_value"] == pytest.approx(math.exp(-(4.25) / 2))   # χ²(2) survival: e^{−w/2}


def test_default_target_is_the_average_post_effect():
    lb, ub = se.original_ci(BC_BETAHAT, BC_SIGMA, 4, 4)
    lv = np.full(4, 0.25)
    est = lv @ BC_BETAHAT[4:]
    sd = math.sqrt(lv @ BC_SIGMA[4:, 4:] @ lv)
    assert (lb + ub) / 2 == pytest.approx(est)
    assert (ub - lb) / 2 == pytest.approx(stats.norm.ppf(0.975) * sd)


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        se.original_ci([1.0, 2.0], np.eye(2), 0, 2)
    with pytest.raises(ValueError):
        se.rm_ci([1.0, 2.0, 3.0], np.eye(2), 1, 1)


# ---------------------------------------------------------------------------------------------
# The shortcuts of the implementation against the LPs they replace


def _rm_set_by_lps(b, n_pre, n_post, lv, mbar):
    """The identified set under Δ^RM(M̄) from its definition: per pre-period change s and
    sign, max and min l'δ_post by LP with δ_pre = β_pre, |every pre change| <= ±Δδ_s and
    |every post change| <= M̄·(±Δδ_s) (δ at the reference = 0); the union of the pieces."""
    n = n_pre + n_post + 1                        # δ over −n_pre..n_post, reference at n_pre
    D = np.diff(np.eye(n), axis=0)                # first differences
    lo, hi = math.inf, -math.inf
    c = np.zeros(n)
    c[n_pre + 1:] = lv
    eq = np.eye(n)[:n_pre + 1]
    beq = np.append(b[:n_pre], 0.0)
    for s in range(n_pre):
        for sign in (1.0, -1.0):
            cap = sign * D[s]                     # the largest pre change, with its sign
            A = np.array([r - f * cap for f, d in ((1.0, D[:n_pre]), (mbar, D[n_pre:]))
                          for r in (*d, *(-d))])
            res = [optimize.linprog(sg * c, A_ub=A, b_ub=np.zeros(len(A)), A_eq=eq, b_eq=beq,
                                    bounds=[(None, None)] * n, method="highs")
                   for sg in (-1.0, 1.0)]
            if res[0].status == 0:
                lo = min(lo, lv @ b[n_pre:] + res[0].fun)
                hi = max(hi, lv @ b[n_pre:] - res[1].fun)
    return lo, hi


def test_rm_identified_set_closed_form_matches_the_lps():
    rng = np.random.default_rng(7)
    for i in range(60):
        n_pre, n_post = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        b = rng.normal(size=n_pre + n_post)
        lv = rng.normal(size=n_post) if i % 2 else np.full(n_post, 1 / n_post)
        mbar = float(rng.uniform(0, 3))
        want = _rm_set_by_lps(b, n_pre, n_post, lv, mbar)
        got = se.rm_identified_set(b, n_pre, n_post, lv, mbar)
        assert got == pytest.approx(want, abs=1e-9)


def test_arp_statistic_by_dual_vertices_matches_the_lp():
    # η(y) = min_δ max_j (y − Xδ)_j/sd_j: the largest λ'y over the dual polytope's vertices
    from evaluation_pipeline.analysis.sensitivity.arp import ARPTest, eta_lp

    rng = np.random.default_rng(3)
    seen = 0
    for _ in range(40):
        m, k = int(rng.integers(4, 12)), int(rng.integers(0, 4))
        X = rng.normal(size=(m, k))
        L = rng.normal(size=(m, m))
        sigma = L @ L.T + 0.1 * np.eye(m)
        y = rng.normal(size=m)
        test = ARPTest(X, sigma)
        lp, got = eta_lp(y, X, test.sd), test.eta(y)
        if lp is None:  # the dual is infeasible (the LP unbounded): no vertex
            assert got is None
            continue
        assert got[0] == pytest.approx(lp[0], abs=1e-9)
        np.testing.assert_allclose(got[1], lp[1], atol=1e-7)
        seen += 1
    assert seen >= 20


def test_rm_breakdown_shortcut_decides_as_the_full_ci():
    # the breakdown search's test "the refined CI excludes 0" stops the bisection of an end
    # early; it must decide as the full CI does, on both sides of the breakdown value
    from evaluation_pipeline.analysis.sensitivity.core import excludes_zero
    from evaluation_pipeline.analysis.sensitivity.rm import _rm_excludes_zero

    lv = np.full(4, 0.25)
    seen = set()
    for mbar in (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.9, 1.5):
        full = se.rm_ci(BC_BETAHAT, BC_SIGMA, 4, 4, lv, mbar, grid_points=30, refine=True)
        short = _rm_excludes_zero(BC_BETAHAT, BC_SIGMA, 4, 4, lv, mbar, 0.05, "C-LF", 0)
        assert short == excludes_zero(*full)
        seen.add(short)
    assert seen == {True, False}
