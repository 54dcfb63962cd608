"""Smoothness Δ^SD(M): the optimal fixed-length CI of Armstrong & Kolesár (2018), the
data-based scale for M (HonestDiD's ``DeltaSD_upperBound_Mpre``) and the breakdown M."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from .core import bisect_breakdown, excludes_zero, split_estimates, target_weights


def _sd_D(n_pre: int, n_post: int) -> np.ndarray:
    """Second differences of δ over periods −n_pre..n_post (the reference, period 0, has
    δ = 0 and is dropped): rows of D with |Dδ| <= M."""
    T = n_pre + n_post + 1
    D = np.zeros((T - 2, T))
    for r in range(T - 2):
        D[r, r:r + 3] = (1.0, -2.0, 1.0)
    return np.delete(D, n_pre, axis=1)


def _folded_normal_quantile(p: float, mu: float) -> float:
    """c with P(|Z + μ| <= c) = p (exact; HonestDiD simulates it). Φ is ``special.ndtr``,
    what ``stats.norm.cdf`` computes, without its per-call argument handling."""
    mu = abs(mu)

    def f(c):
        return special.ndtr(c - mu) - special.ndtr(-c - mu) - p

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
    b, S = split_estimates(betahat, sigma, n_pre, n_post)
    lv = target_weights(l_vec, n_post)
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


# ---------------------------------------------------------------------------------------------
# Breakdown value


def sd_breakdown(betahat, sigma, n_pre: int, n_post: int, l_vec=None, alpha: float = 0.05,
                 *, scale: float, known: dict[float, tuple[float, float]] | None = None,
                 rel_tol: float = 0.01) -> float:
    """Breakdown value of Δ^SD: the largest M at which the FLCI (:func:`sd_flci`) excludes 0,
    to ``rel_tol``·``scale`` (``scale``: the M grid's top, e.g. :func:`sd_m_upper`). NaN
    when it includes 0 at M = 0; inf beyond 2¹⁰·scale."""
    def ex(m):
        r = sd_flci(betahat, sigma, n_pre, n_post, l_vec, m, alpha)
        return excludes_zero(r["lb"], r["ub"])

    done = {float(m): excludes_zero(*v) for m, v in (known or {}).items()}
    return bisect_breakdown(ex, done, rel_tol * scale, scale / 4, 1024 * scale)
