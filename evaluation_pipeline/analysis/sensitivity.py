"""Parallel-trends sensitivity of an event study: Rambachan & Roth (2023, "A More Credible
Approach to Parallel Trends", Review of Economic Studies 90(5)).

The event study gives coefficients ``betahat`` = (β_pre, β_post) with covariance ``sigma``:
``n_pre`` pre-period coefficients (the reference period, normalised to 0, is not among them)
followed by ``n_post`` post-period coefficients (event time 0 = the first year in the network
is the first post period). The target is θ = l'τ_post, by default the average post-period
effect (``l_vec`` = 1/n_post each). Writing β = τ + δ (δ: the difference in trends that
parallel trends assumes away, δ_ref = 0), the sensitivity analysis asks which θ are
consistent with the data when δ is only known to lie in a set Δ:

- **Relative magnitudes** Δ^RM(M̄): every post-period change |δ_{t+1} − δ_t| is at most M̄
  times the largest pre-period change |δ_{s+1} − δ_s|. M̄ = 1: the trend violation after
  joining is no larger than the worst one seen before. Robust CI: the conditional moment-
  inequality test of Andrews, Roth & Pakes (ARP, 2023) with the least-favourable hybrid
  (``"C-LF"``, HonestDiD's default for Δ^RM) or without it (``"ARP"``), inverted over a
  grid of θ, and the union over which pre-period change is the largest and its sign (the
  set is a union of polyhedra).
- **Smoothness** Δ^SD(M): the slope of δ changes by at most M from one period to the next
  (M = 0: a linear trend, extrapolated exactly). Robust CI: the optimal fixed-length CI of
  Armstrong & Kolesár (2018; ``FLCI``, HonestDiD's default for Δ^SD), an affine estimator
  a'β̂ chosen to minimise the CI half-length cv_α(bias/sd)·sd over the worst-case bias on
  Δ^SD(M).
- **Breakdown value**: the largest M̄ (or M) at which the robust CI still excludes 0, found
  by bisection (the sets are nested in M̄, so the CIs are too).
- The **original CI** l'β̂_post ± z·sd (parallel trends exactly) and the **joint pre-trend
  Wald test** β̂_pre'Σ_pre⁻¹β̂_pre ~ χ²(n_pre).

Why our own code: the methods' reference implementation is the R package HonestDiD (and its
Stata port); the only Python port on PyPI (``honestdid``) depends on torch, too heavy for
this pipeline, and no other maintained, torch-free Python package implements them. This
module follows the published algorithms (ARP 2023 §3-5 and Appendix; Rambachan & Roth 2023
§4-5; Armstrong & Kolesár 2018) with scipy's HiGHS LPs and SLSQP. Differences from R, on
purpose: the folded-normal quantile of the FLCI is computed exactly (R simulates 10⁶ draws);
the FLCI's half-length is minimised over the estimator's sd by bounded Brent search (R:
bisection on numerical derivatives); the least-favourable critical value is simulated with
numpy's generator (R: ``set.seed(0)``), so C-LF intervals agree with R's to simulation
error, while ``"ARP"`` intervals on R's grid agree to the grid point. The tests check them
against R's published outputs (``tests/test_sensitivity.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = [
    "original_ci", "pretrend_wald", "rm_identified_set", "rm_ci", "sd_flci", "rm_breakdown",
    "sd_breakdown", "sensitivity_analysis", "SensitivityResult", "MBAR_GRID",
]

#: M̄ values of the relative-magnitudes table and figure
MBAR_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


# ---------------------------------------------------------------------------------------------
# Basics


def _split(betahat, sigma, n_pre: int, n_post: int):
    b = np.asarray(betahat, dtype=float).ravel()
    S = np.asarray(sigma, dtype=float)
    if b.size != n_pre + n_post or S.shape != (b.size, b.size):
        raise ValueError(f"betahat has {b.size} entries and sigma shape {S.shape}; expected "
                         f"{n_pre} pre + {n_post} post periods")
    if n_pre < 1 or n_post < 1:
        raise ValueError("need at least one pre-period and one post-period coefficient")
    return b, S


def _lvec(l_vec, n_post: int) -> np.ndarray:
    if l_vec is None:
        return np.full(n_post, 1.0 / n_post)
    lv = np.asarray(l_vec, dtype=float).ravel()
    if lv.size != n_post:
        raise ValueError(f"l_vec has {lv.size} entries, expected {n_post}")
    return lv


def original_ci(betahat, sigma, n_pre: int, n_post: int, l_vec=None,
                alpha: float = 0.05) -> tuple[float, float]:
    """l'β̂_post ± z_{1−α/2}·sd: the CI under exact parallel trends (HonestDiD's
    ``constructOriginalCS``)."""
    b, S = _split(betahat, sigma, n_pre, n_post)
    lv = _lvec(l_vec, n_post)
    est = float(lv @ b[n_pre:])
    sd = math.sqrt(float(lv @ S[n_pre:, n_pre:] @ lv))
    z = stats.norm.ppf(1 - alpha / 2)
    return est - z * sd, est + z * sd


def pretrend_wald(betahat, sigma, n_pre: int) -> dict[str, float]:
    """Joint Wald test that every pre-period coefficient is 0: W = β̂_pre'Σ_pre⁻¹β̂_pre,
    χ²(n_pre) p-value (a pseudo-inverse if Σ_pre is singular; then df is its rank)."""
    b = np.asarray(betahat, dtype=float).ravel()[:n_pre]
    S = np.asarray(sigma, dtype=float)[:n_pre, :n_pre]
    if n_pre < 1:
        return {"statistic": math.nan, "df": 0, "p_value": math.nan}
    stat = float(b @ np.linalg.pinv(S) @ b)
    df = int(np.linalg.matrix_rank(S))
    return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df))}


# ---------------------------------------------------------------------------------------------
# Δ^RM(M̄): constraint matrices and identified set


def _rm_A(n_pre: int, n_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """Rows a with a'δ <= 0 describing Δ^RM_{s,±}(M̄): the pre-period change from s−1 to s
    (s = −n_pre+1..0, period 0 = the reference) is the largest one and has sign ±; every
    first difference of δ is at most |that change| (times M̄ after the reference). Columns
    are δ without the reference period."""
    T = n_pre + n_post
    diffs = np.zeros((T, T + 1))  # first differences δ_{t+1} − δ_t over t = −n_pre..n_post−1
    for r in range(T):
        diffs[r, r], diffs[r, r + 1] = -1.0, 1.0
    vmax = np.zeros(T + 1)
    vmax[n_pre + s - 1], vmax[n_pre + s] = -1.0, 1.0
    if not positive:
        vmax = -vmax
    ub = np.vstack([np.tile(vmax, (n_pre, 1)), np.tile(mbar * vmax, (n_post, 1))])
    A = np.vstack([diffs - ub, -diffs - ub])
    A = A[(A * A).sum(axis=1) > 1e-10]
    return np.delete(A, n_pre, axis=1)


def _rm_pieces(n_pre: int, n_post: int, mbar: float):
    for s in range(-(n_pre - 1), 1):
        for positive in (True, False):
            yield _rm_A(n_pre, n_post, mbar, s, positive)


def rm_identified_set(betahat, n_pre: int, n_post: int, l_vec=None,
                      mbar: float = 1.0) -> tuple[float, float]:
    """The identified set of θ under Δ^RM(M̄) if β were known: the union over the pieces
    Δ^RM_{s,±} of [l'β_post − max l'δ_post, l'β_post − min l'δ_post] with δ_pre = β_pre."""
    b = np.asarray(betahat, dtype=float).ravel()
    lv = _lvec(l_vec, n_post)
    est = float(lv @ b[n_pre:])
    c = np.concatenate([np.zeros(n_pre), lv])
    eq = np.hstack([np.eye(n_pre), np.zeros((n_pre, n_post))])
    lo, hi = math.inf, -math.inf
    for A in _rm_pieces(n_pre, n_post, mbar):
        bounds = [(None, None)] * (n_pre + n_post)
        rmax = optimize.linprog(-c, A_ub=A, b_ub=np.zeros(len(A)), A_eq=eq,
                                b_eq=b[:n_pre], bounds=bounds, method="highs")
        rmin = optimize.linprog(c, A_ub=A, b_ub=np.zeros(len(A)), A_eq=eq,
                                b_eq=b[:n_pre], bounds=bounds, method="highs")
        if rmax.status == 0:
            lo = min(lo, est + rmax.fun)
        if rmin.status == 0:
            hi = max(hi, est - rmin.fun)
    return lo, hi


# ---------------------------------------------------------------------------------------------
# The ARP conditional test of E[y − Xδ] <= 0 with nuisance δ


def _eta_lp(y: np.ndarray, X: np.ndarray, sd: np.ndarray):
    """min η over (η, δ) s.t. y − Xδ <= η·sd; returns (η, λ) with λ the dual (λ >= 0,
    λ'sd = 1, λ'X = 0), or None if the LP fails."""
    k = X.shape[1]
    c = np.zeros(k + 1)
    c[0] = 1.0
    res = optimize.linprog(c, A_ub=-np.column_stack([sd, X]), b_ub=-y,
                           bounds=[(None, None)] * (k + 1), method="highs")
    if res.status != 0:
        return None
    return float(res.fun), -np.asarray(res.ineqlin.marginals, dtype=float)


def _trunc_cv(p: float, lo: float, hi: float) -> float:
    """The p-quantile of a standard normal truncated to [lo, hi]."""
    if not lo < hi:
        return lo
    return float(stats.truncnorm.ppf(p, lo, hi))


def _dual_bounds(eta: float, y: np.ndarray, X: np.ndarray, gamma: np.ndarray,
                 sigma: np.ndarray) -> tuple[float, float]:
    """v_lo, v_up of the dual approach (ARP Appendix, Algorithm 1): the range of c for which
    the vertex γ stays optimal, found where max_{γ'>=0, W'γ'=e1} (s + b·c)'γ' equals c."""
    sd = np.sqrt(np.diag(sigma))
    W = np.column_stack([sd, X])
    sg = sigma @ gamma
    gsg = float(gamma @ sg)
    b = sg / gsg
    s = y - b * float(gamma @ y)
    beq = np.zeros(W.shape[1])
    beq[0] = 1.0

    def lp(cval):
        res = optimize.linprog(-(s + b * cval), A_eq=W.T, b_eq=beq,
                               bounds=[(0, None)] * len(y), method="highs")
        if res.status != 0:
            return None, None
        return -float(res.fun), res.x

    def is_sol(cval):
        val, x = lp(cval)
        return (val is not None and abs(cval - val) <= 1e-6), x

    ok, _ = is_sol(eta)
    if not ok:
        return eta, math.inf
    sig_b = math.sqrt(gsg)
    out = []
    for start in (max(100.0, eta + 20 * sig_b), min(-100.0, eta - 20 * sig_b)):
        ok, x = is_sol(start)
        if ok:
            out.append(math.inf if start > eta else -math.inf)
            continue
        # g(c) = max_γ' (s + b·c)'γ' is convex, piecewise linear and >= c, with g = c exactly
        # on [v_lo, v_up]; from outside, the root of the optimal vertex's line (Newton's step)
        # moves monotonically towards the interval and reaches it in finitely many steps
        cval, bad = start, start
        for _ in range(100):
            if x is None or abs(1.0 - float(x @ b)) < 1e-12:
                break
            den = 1.0 - float(x @ b)
            nxt = float(x @ s) / den
            if not math.isfinite(nxt) or (nxt - eta) * (start - eta) < 0:
                break
            cval = nxt
            ok, x = is_sol(cval)
            if ok:
                break
            bad = cval
        if not ok:  # bisection between eta (a solution) and the last non-solution
            good = eta
            for _ in range(200):
                if abs(bad - good) <= 1e-6:
                    break
                m = 0.5 * (good + bad)
                if is_sol(m)[0]:
                    good = m
                else:
                    bad = m
            cval = good
        out.append(cval)
    return out[1], out[0]


def _arp_test(y: np.ndarray, X: np.ndarray, sigma: np.ndarray, alpha: float,
              lf_cv: float | None = None, kappa: float = 0.0) -> bool:
    """True if the ARP conditional test (with the least-favourable hybrid when ``lf_cv`` is
    given) rejects E[y − Xδ] <= 0 for every δ."""
    sd = np.sqrt(np.diag(sigma))
    k = X.shape[1]
    sol = _eta_lp(y, X, sd)
    if sol is None:
        return False
    eta, lam = sol
    if eta <= 0:  # the statistic is <= 0 <= the critical value
        return False
    if lf_cv is not None:
        if eta > lf_cv:
            return True
        size = (alpha - kappa) / (1 - kappa)
    else:
        size = alpha
    B = lam > 1e-6
    XB = X[B]
    degenerate = int(B.sum()) != k + 1
    full_rank = (k == 0) or (XB.shape[0] > 0 and np.linalg.matrix_rank(XB) == min(XB.shape))
    if degenerate or not full_rank:
        sig_b = math.sqrt(max(float(lam @ sigma @ lam), 0.0))
        if sig_b < 1e-10:
            return eta > 0
        vlo, vup = _dual_bounds(eta, y, X, lam, sigma)
        if lf_cv is not None:
            vup = min(vup, lf_cv)
        zlo, zup, stat = vlo / sig_b, vup / sig_b, eta / sig_b
    else:
        WB = np.column_stack([sd[B], XB])
        WBinv = np.linalg.inv(WB)
        M = len(y)
        SB = np.eye(M)[B]
        SBc = np.eye(M)[~B]
        Gamma_B = np.column_stack([sd[~B], X[~B]]) @ WBinv @ SB - SBc
        vB = (WBinv[0] @ SB)
        s2 = float(vB @ sigma @ vB)
        sig_b = math.sqrt(s2)
        rho = Gamma_B @ sigma @ vB / s2
        mm = (-Gamma_B @ y) / np.where(rho == 0, np.nan, rho) + float(vB @ y)
        vlo = float(np.max(mm[rho > 0])) if (rho > 0).any() else -math.inf
        vup = float(np.min(mm[rho < 0])) if (rho < 0).any() else math.inf
        if lf_cv is not None:
            vup = min(vup, lf_cv)
        zlo, zup, stat = vlo / sig_b, vup / sig_b, eta / sig_b
    if not zlo <= stat <= zup:
        return False
    return stat > max(0.0, _trunc_cv(1 - size, zlo, zup))


def _dual_vertices(X: np.ndarray, sd: np.ndarray, limit: int = 200_000) -> np.ndarray | None:
    """The vertices of {λ >= 0 : λ'sd = 1, λ'X = 0} (rows), by basic feasible solutions; None
    when there are more than ``limit`` bases to try. η(ξ) = max over them of λ'ξ (LP
    duality), so the least-favourable simulation needs no LP per draw."""
    from itertools import combinations

    W = np.column_stack([sd, X])
    m, r = W.shape
    if math.comb(m, r) > limit:
        return None
    e1 = np.zeros(r)
    e1[0] = 1.0
    out = []
    combos = np.array(list(combinations(range(m), r)))
    for chunk in np.array_split(combos, max(1, len(combos) // 20000)):
        WB = np.transpose(W[chunk], (0, 2, 1))  # W_B' per basis
        ok = np.abs(np.linalg.det(WB)) > 1e-12
        if not ok.any():
            continue
        lamB = np.linalg.solve(WB[ok], np.broadcast_to(e1, (int(ok.sum()), r))[..., None])[..., 0]
        feas = (lamB >= -1e-12).all(axis=1)
        full = np.zeros((int(feas.sum()), m))
        np.put_along_axis(full, chunk[ok][feas], np.clip(lamB[feas], 0, None), axis=1)
        out.append(full)
    return np.vstack(out) if out else None


def _lf_cv(X: np.ndarray, sigma: np.ndarray, kappa: float, sims: int, seed: int) -> float:
    """The least-favourable critical value: the 1−κ quantile of η(ξ) = min_δ max_j (ξ_j −
    X_jδ)/sd_j for ξ ~ N(0, Σ) (ARP §5.2), from ``sims`` seeded draws."""
    rng = np.random.default_rng(seed)
    xi = rng.multivariate_normal(np.zeros(len(sigma)), sigma, size=sims, method="svd")
    sd = np.sqrt(np.diag(sigma))
    if X.shape[1] == 0:
        etas = (xi / sd).max(axis=1)
    else:
        V = _dual_vertices(X, sd)
        if V is not None:
            etas = (xi @ V.T).max(axis=1)
        else:
            etas = np.array([(_eta_lp(x, X, sd) or (math.nan,))[0] for x in xi])
            etas = etas[np.isfinite(etas)]
    return float(np.quantile(etas, 1 - kappa))


@dataclass
class _Piece:
    """One polyhedron Δ^RM_{s,±}: the moments y(θ) = Y − a1·θ, nuisance matrix X."""

    Y: np.ndarray
    a1: np.ndarray
    X: np.ndarray
    sigma: np.ndarray
    lf_cv: float | None = None


def _gamma_inv(lv: np.ndarray) -> np.ndarray:
    """Γ⁻¹ for an invertible Γ whose first row is l' (the other rows: unit vectors)."""
    n = lv.size
    j = int(np.flatnonzero(lv)[0])
    rows = [lv] + [np.eye(n)[i] for i in range(n) if i != j]
    return np.linalg.inv(np.vstack(rows))


def _rm_setup(b, S, n_pre, n_post, lv, mbar, method, alpha, kappa, sims, seed,
              post_moments_only=True) -> list[_Piece]:
    pieces = []
    Ginv = _gamma_inv(lv)
    for i, A in enumerate(_rm_pieces(n_pre, n_post, mbar)):
        if post_moments_only and n_post > 1:
            A = A[np.abs(A[:, n_pre:]).sum(axis=1) > 0]
        AG = A[:, n_pre:] @ Ginv
        Y = A @ b
        sY = A @ S @ A.T
        X = AG[:, 1:] if n_post > 1 else np.zeros((len(A), 0))
        p = _Piece(Y=Y, a1=AG[:, 0], X=X, sigma=sY)
        if method == "C-LF":
            p.lf_cv = _lf_cv(X, sY, kappa, sims, seed + i)
        pieces.append(p)
    return pieces


def _accept(pieces: list[_Piece], theta: float, alpha: float, kappa: float) -> bool:
    for p in pieces:
        if not _arp_test(p.Y - p.a1 * theta, p.X, p.sigma, alpha, p.lf_cv, kappa):
            return True
    return False


def rm_ci(betahat, sigma, n_pre: int, n_post: int, l_vec=None, mbar: float = 1.0,
          alpha: float = 0.05, method: str = "C-LF", *, grid: tuple[float, float] | None = None,
          grid_points: int = 1000, refine: bool = False, sims: int = 1000,
          seed: int = 0) -> tuple[float, float]:
    """Robust CI for θ = l'τ_post under Δ^RM(M̄): the θ accepted by the ARP conditional test
    (``method="ARP"``) or its least-favourable hybrid (``"C-LF"``, κ = α/10, the default of
    HonestDiD) for some piece Δ^RM_{s,±}; only the moments involving post periods are tested
    when there is more than one post period (as HonestDiD).

    ``grid``: the θ range tested (default HonestDiD's, ±20 sd of l'β̂_post around 0) with
    ``grid_points`` points; the CI is [smallest, largest] accepted point (NaN if none).
    ``refine=True`` (the pipeline's choice: far fewer tests) tests ``grid_points`` points
    from the identified set's ends −/+ 10 sd (widened while an edge is accepted) and
    bisects each end of the accepted points to 0.001 sd; an end still at the grid's edge is
    returned as ±inf (the CI is open there). As HonestDiD, the CI is the hull of the
    accepted points.
    """
    b, S = _split(betahat, sigma, n_pre, n_post)
    lv = _lvec(l_vec, n_post)
    if method not in ("C-LF", "ARP"):
        raise ValueError("method must be 'C-LF' or 'ARP'")
    kappa = alpha / 10
    sd = math.sqrt(float(lv @ S[n_pre:, n_pre:] @ lv))
    pieces = _rm_setup(b, S, n_pre, n_post, lv, mbar, method, alpha, kappa, sims, seed)
    if grid is not None:
        lo, hi = grid
    elif refine:
        id_lo, id_hi = rm_identified_set(b, n_pre, n_post, lv, mbar)
        lo, hi = id_lo - 10 * sd, id_hi + 10 * sd
    else:
        lo, hi = -20 * sd, 20 * sd
    thetas = np.linspace(lo, hi, grid_points)
    acc = np.array([_accept(pieces, t, alpha, kappa) for t in thetas])
    if refine:  # widen while an edge is accepted (at most 4 times)
        for _ in range(4):
            if not (acc[0] or acc[-1]):
                break
            width = hi - lo
            lo, hi = (lo - width if acc[0] else lo), (hi + width if acc[-1] else hi)
            thetas = np.linspace(lo, hi, grid_points)
            acc = np.array([_accept(pieces, t, alpha, kappa) for t in thetas])
    if not acc.any():
        return math.nan, math.nan
    i0, i1 = int(np.argmax(acc)), int(len(acc) - 1 - np.argmax(acc[::-1]))
    if not refine:
        return float(thetas[i0]), float(thetas[i1])
    tol = 1e-3 * sd

    def bisect(good, bad):
        while abs(bad - good) > tol:
            m = 0.5 * (good + bad)
            if _accept(pieces, m, alpha, kappa):
                good = m
            else:
                bad = m
        return good

    left = -math.inf if i0 == 0 else bisect(thetas[i0], thetas[i0 - 1])
    right = math.inf if i1 == len(thetas) - 1 else bisect(thetas[i1], thetas[i1 + 1])
    return float(left), float(right)


# ---------------------------------------------------------------------------------------------
# Δ^SD(M): the optimal fixed-length CI


def _sd_D(n_pre: int, n_post: int) -> np.ndarray:
    """Second differences of δ over periods −n_pre..n_post (the reference, period 0, has
    δ = 0 and is dropped): rows of D with |Dδ| <= M."""
    T = n_pre + n_post + 1
    D = np.zeros((T - 2, T))
    for r in range(T - 2):
        D[r, r:r + 3] = (1.0, -2.0, 1.0)
    return np.delete(D, n_pre, axis=1)


def _folded_normal_quantile(p: float, mu: float) -> float:
    """c with P(|Z + μ| <= c) = p (exact; HonestDiD simulates it)."""
    mu = abs(mu)

    def f(c):
        return stats.norm.cdf(c - mu) - stats.norm.cdf(-c - mu) - p

    return float(optimize.brentq(f, 0.0, mu + 10.0, xtol=1e-12))


def sd_flci(betahat, sigma, n_pre: int, n_post: int, l_vec=None, m: float = 0.0,
            alpha: float = 0.05) -> dict[str, float]:
    """Optimal FLCI for θ under Δ^SD(M) (Armstrong & Kolesár 2018, as in HonestDiD's
    ``findOptimalFLCI``): among affine estimators a'β̂ with a = (v, l) whose bias vanishes on
    linear trends, the one minimising the half-length χ(h) = h·cv_{1−α}(M·B(h)/h), B(h) the
    smallest worst-case bias (per unit M) at sd h. B(h) comes from the dual of the bias LP:
    B = min 1'μ over μ >= 0 with D'μ = a (D the second-difference rows), a convex program
    solved by SLSQP; h runs from the smallest sd of an unbiased-under-linear-trends
    estimator to the sd of the extrapolation from the last pre-period (HonestDiD's range).

    Returns lb, ub, half_length, h, bias (M·B(h)) and the estimate a'β̂."""
    b, S = _split(betahat, sigma, n_pre, n_post)
    lv = _lvec(l_vec, n_post)
    D = _sd_D(n_pre, n_post)
    Dpre, Dpost = D[:, :n_pre], D[:, n_pre:]
    q = stats.norm.ppf(1 - alpha / 2)
    pre_t = -np.arange(n_pre, 0, -1, dtype=float)     # event times of the pre-periods
    post_t = np.arange(1, n_post + 1, dtype=float)    # (reference = 0)
    # smallest variance with the linear-trend constraint pre_t'v = −post_t'l
    Spp, Spq, Sqq = S[:n_pre, :n_pre], S[:n_pre, n_pre:], S[n_pre:, n_pre:]
    g = -float(post_t @ lv)
    Sinv = np.linalg.pinv(Spp)
    v0 = -Sinv @ Spq @ lv
    lam = (g - pre_t @ v0) / float(pre_t @ Sinv @ pre_t)
    v_min = v0 + lam * (Sinv @ pre_t)

    def var(v):
        return float(v @ Spp @ v + 2 * v @ Spq @ lv + lv @ Sqq @ lv)

    h_min = math.sqrt(max(var(v_min), 0.0))
    v_ext = np.zeros(n_pre)
    v_ext[-1] = -g  # all weight on the last pre-period: the linear extrapolation
    h_0 = math.sqrt(var(v_ext))
    nmu = D.shape[0]

    def bias_at(h, mu0):
        """min 1'(μ+ + μ−) s.t. Dpost'(μ+ − μ−) = l, var(Dpre'(μ+ − μ−)) <= h²."""
        def split(x):
            return x[:nmu] - x[nmu:]

        def var_grad(x):
            g_mu = Dpre @ (2 * Spp @ (Dpre.T @ split(x)) + 2 * Spq @ lv)
            return np.concatenate([g_mu, -g_mu])

        cons = [
            {"type": "eq", "fun": lambda x: Dpost.T @ split(x) - lv,
             "jac": lambda x: np.hstack([Dpost.T, -Dpost.T])},
            {"type": "ineq", "fun": lambda x: h * h - var(Dpre.T @ split(x)),
             "jac": lambda x: -var_grad(x)},
        ]
        res = optimize.minimize(lambda x: x.sum(), mu0, jac=lambda x: np.ones_like(x),
                                bounds=[(0, None)] * (2 * nmu), constraints=cons,
                                method="SLSQP", options={"maxiter": 500, "ftol": 1e-12})
        return float(res.fun), Dpre.T @ split(res.x)

    # a feasible start: μ for the extrapolation estimator (exact bias LP)
    def start_mu(v):
        a = np.concatenate([v, lv])
        res = optimize.linprog(np.ones(2 * nmu), A_eq=np.hstack([D.T, -D.T]), b_eq=a,
                               bounds=[(0, None)] * (2 * nmu), method="highs")
        return res.x

    mu_ext = start_mu(v_ext)

    def halflength(h):
        B, v = bias_at(h, mu_ext)
        return _folded_normal_quantile(1 - alpha, m * B / h) * h, m * B, v

    if m == 0:  # no bias: the shortest CI is the smallest-variance estimator's
        h_star, v_star, bias, half = h_min, v_min, 0.0, q * h_min
    elif h_0 <= h_min * (1 + 1e-9):  # nothing to trade: the extrapolation
        h_star, v_star = h_0, v_ext
        bias = m * float(mu_ext.sum())
        half = _folded_normal_quantile(1 - alpha, bias / h_0) * h_0
    else:
        r = optimize.minimize_scalar(lambda h: halflength(h)[0], bounds=(h_min, h_0),
                                     method="bounded", options={"xatol": 1e-10 * h_0})
        half, bias, v_star = halflength(float(r.x))
        h_star = float(r.x)
        at_ext = m * float(mu_ext.sum())
        half_ext = _folded_normal_quantile(1 - alpha, at_ext / h_0) * h_0
        if half_ext < half:  # the range's end (the bounded search stays inside it)
            h_star, v_star, bias, half = h_0, v_ext, at_ext, half_ext
    est = float(v_star @ b[:n_pre] + lv @ b[n_pre:])
    return {"lb": est - half, "ub": est + half, "half_length": half, "h": h_star,
            "bias": bias, "estimate": est}


def sd_m_upper(betahat, sigma, n_pre: int, alpha: float = 0.05) -> float:
    """HonestDiD's ``DeltaSD_upperBound_Mpre``: the largest one-sided (1−α) upper bound of
    the pre-period second differences ±(δ_{s−1} − 2δ_s + δ_{s+1}) (reference δ_0 = 0
    included): a data-based scale for M. Needs two pre-period coefficients."""
    if n_pre < 2:
        raise ValueError("an upper bound for M needs at least two pre-period coefficients")
    b = np.asarray(betahat, dtype=float).ravel()[:n_pre]
    S = np.asarray(sigma, dtype=float)[:n_pre, :n_pre]
    D = _sd_D(n_pre, 0)
    A = np.vstack([D, -D])
    se = np.sqrt(np.diag(A @ S @ A.T))
    return float(np.max(A @ b + stats.norm.ppf(1 - alpha) * se))


def _excludes_zero(lb: float, ub: float) -> bool:
    return bool(np.isfinite(lb) and np.isfinite(ub) and (lb > 0 or ub < 0))


def _breakdown(excludes, known: dict[float, bool], tol: float, start: float,
               limit: float) -> float:
    """The largest M at which ``excludes(M)`` holds, by bisection between the largest known
    M where it holds and the smallest where it does not (doubling ``start`` until it fails,
    up to ``limit``: then ``inf``). NaN if it fails at 0."""
    if not known.get(0.0, excludes(0.0)):
        return math.nan
    good = max((m for m, ok in known.items() if ok), default=0.0)
    bads = [m for m, ok in known.items() if not ok and m > good]
    bad = min(bads) if bads else None
    step = max(start, good)
    while bad is None:
        m = good + step
        if m > limit:
            return math.inf
        if excludes(m):
            good = m
        else:
            bad = m
        step *= 2
    while bad - good > tol:
        m = 0.5 * (good + bad)
        if excludes(m):
            good = m
        else:
            bad = m
    return good


def rm_breakdown(betahat, sigma, n_pre: int, n_post: int, l_vec=None, alpha: float = 0.05,
                 method: str = "C-LF", *, known: dict[float, tuple[float, float]] | None = None,
                 tol: float = 0.01, limit: float = 20.0, seed: int = 0) -> float:
    """Breakdown value of Δ^RM: the largest M̄ at which the robust CI (:func:`rm_ci`,
    refined) excludes 0, to ``tol``. ``known``: CIs already computed, M̄ -> (lb, ub). NaN when
    the CI at M̄ = 0 already includes 0; inf when it still excludes 0 at ``limit``."""
    def ci(m):
        return rm_ci(betahat, sigma, n_pre, n_post, l_vec, m, alpha, method, grid_points=30,
                     refine=True, seed=seed)

    done = {float(m): _excludes_zero(*v) for m, v in (known or {}).items()}
    return _breakdown(lambda m: _excludes_zero(*ci(m)), done, tol, 0.5, limit)


def sd_breakdown(betahat, sigma, n_pre: int, n_post: int, l_vec=None, alpha: float = 0.05,
                 *, scale: float, known: dict[float, tuple[float, float]] | None = None,
                 rel_tol: float = 0.01) -> float:
    """Breakdown value of Δ^SD: the largest M at which the FLCI (:func:`sd_flci`) excludes 0,
    to ``rel_tol``·``scale`` (``scale``: the M grid's top, e.g. :func:`sd_m_upper`). NaN
    when it includes 0 at M = 0; inf beyond 2¹⁰·scale."""
    def ex(m):
        r = sd_flci(betahat, sigma, n_pre, n_post, l_vec, m, alpha)
        return _excludes_zero(r["lb"], r["ub"])

    done = {float(m): _excludes_zero(*v) for m, v in (known or {}).items()}
    return _breakdown(ex, done, rel_tol * scale, scale / 4, 1024 * scale)


# ---------------------------------------------------------------------------------------------
# Everything for one event study


@dataclass
class SensitivityResult:
    """:func:`sensitivity_analysis`' output. ``table``: kind (``original``, ``RM``, ``SD``),
    m (M̄ or M; NaN for the original CI), lb, ub, method. ``breakdown_rm`` (M̄) and
    ``breakdown_sd`` (M): NaN when the original CI already includes 0, inf when the CI
    excludes 0 at every M tried. ``pretrend``: :func:`pretrend_wald`."""

    table: pd.DataFrame
    estimate: float
    original: tuple[float, float]
    breakdown_rm: float
    breakdown_sd: float
    pretrend: dict[str, float]
    m_scale: float
    n_pre: int
    n_post: int
    notes: list[str] = field(default_factory=list)


def sensitivity_analysis(betahat, sigma, n_pre: int, n_post: int, l_vec=None,
                         alpha: float = 0.05, *, mbar_grid=MBAR_GRID, m_grid=None,
                         method: str = "C-LF", seed: int = 0) -> SensitivityResult:
    """Rambachan & Roth sensitivity of θ = l'τ_post (default: the average post-period
    effect): the original CI, robust CIs under Δ^RM(M̄) for ``mbar_grid`` (``method``
    C-LF or ARP, refined grid) and under Δ^SD(M) (FLCI) for ``m_grid`` (default: 9 values
    from 0 to :func:`sd_m_upper`, or, with one pre-period, to the sd of the pre-period
    coefficient), both breakdown values and the pre-trend Wald test."""
    b, S = _split(betahat, sigma, n_pre, n_post)
    lv = _lvec(l_vec, n_post)
    notes = []
    orig = original_ci(b, S, n_pre, n_post, lv, alpha)
    rows = [{"kind": "original", "m": math.nan, "lb": orig[0], "ub": orig[1],
             "method": "parallel trends"}]
    rm_known = {}
    for mb in mbar_grid:
        lo, hi = rm_ci(b, S, n_pre, n_post, lv, float(mb), alpha, method, grid_points=30,
                       refine=True, seed=seed)
        rm_known[float(mb)] = (lo, hi)
        rows.append({"kind": "RM", "m": float(mb), "lb": lo, "ub": hi, "method": method})
    if m_grid is None:
        if n_pre >= 2:
            scale = max(sd_m_upper(b, S, n_pre, alpha), 0.0)
        else:
            scale = 0.0
        if scale <= 0:
            scale = math.sqrt(S[n_pre - 1, n_pre - 1])
            notes.append("M grid scaled by the sd of the last pre-period coefficient")
        m_grid = np.linspace(0, scale, 9)
    else:
        scale = float(max(m_grid)) or 1.0
    sd_known = {}
    for m in m_grid:
        r = sd_flci(b, S, n_pre, n_post, lv, float(m), alpha)
        sd_known[float(m)] = (r["lb"], r["ub"])
        rows.append({"kind": "SD", "m": float(m), "lb": r["lb"], "ub": r["ub"],
                     "method": "FLCI"})
    bd_rm = rm_breakdown(b, S, n_pre, n_post, lv, alpha, method, known=rm_known, seed=seed)
    bd_sd = sd_breakdown(b, S, n_pre, n_post, lv, alpha, scale=scale, known=sd_known)
    if not _excludes_zero(*orig):
        bd_rm = bd_sd = math.nan
        notes.append("the CI under parallel trends already includes 0: no breakdown value")
    return SensitivityResult(
        table=pd.DataFrame(rows), estimate=float(lv @ b[n_pre:]), original=orig,
        breakdown_rm=bd_rm, breakdown_sd=bd_sd, pretrend=pretrend_wald(b, S, n_pre),
        m_scale=scale, n_pre=n_pre, n_post=n_post, notes=notes)
