"""Relative magnitudes Δ^RM(M̄): its constraint matrices (a union of polyhedra Δ^RM_{s,±}),
the identified set, the robust CI by inverting the ARP / C-LF test (:mod:`.arp`) over a grid
of θ, and the breakdown M̄."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .arp import arp_test, least_favourable_cv
from .core import bisect_breakdown, excludes_zero, split_estimates, target_weights


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
    lv = target_weights(l_vec, n_post)
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
# The robust CI: the ARP / C-LF test inverted over θ


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
            p.lf_cv = least_favourable_cv(X, sY, kappa, sims, seed + i)
        pieces.append(p)
    return pieces


def _accept(pieces: list[_Piece], theta: float, alpha: float, kappa: float) -> bool:
    for p in pieces:
        if not arp_test(p.Y - p.a1 * theta, p.X, p.sigma, alpha, p.lf_cv, kappa):
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
    b, S = split_estimates(betahat, sigma, n_pre, n_post)
    lv = target_weights(l_vec, n_post)
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
# Breakdown value


def rm_breakdown(betahat, sigma, n_pre: int, n_post: int, l_vec=None, alpha: float = 0.05,
                 method: str = "C-LF", *, known: dict[float, tuple[float, float]] | None = None,
                 tol: float = 0.01, limit: float = 20.0, seed: int = 0) -> float:
    """Breakdown value of Δ^RM: the largest M̄ at which the robust CI (:func:`rm_ci`,
    refined) excludes 0, to ``tol``. ``known``: CIs already computed, M̄ -> (lb, ub). NaN when
    the CI at M̄ = 0 already includes 0; inf when it still excludes 0 at ``limit``."""
    def ci(m):
        return rm_ci(betahat, sigma, n_pre, n_post, l_vec, m, alpha, method, grid_points=30,
                     refine=True, seed=seed)

    done = {float(m): excludes_zero(*v) for m, v in (known or {}).items()}
    return bisect_breakdown(lambda m: excludes_zero(*ci(m)), done, tol, 0.5, limit)
