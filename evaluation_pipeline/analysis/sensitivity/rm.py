"""Relative magnitudes Δ^RM(M̄): its constraint matrices (a union of polyhedra Δ^RM_{s,±}),
the identified set, the robust CI by inverting the ARP / C-LF test (:mod:`.arp`) over a grid
of θ, and the breakdown M̄."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .arp import ARPTest
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
    Δ^RM_{s,±} of [l'β_post − max l'δ_post, l'β_post − min l'δ_post] with δ_pre = β_pre.

    In closed form (the LPs over the pieces solve to it; the tests check it against them):
    with δ_pre = β_pre fixed, only the pieces whose change is the largest pre-period change
    in absolute value, c = max_s |β_s − β_{s−1}| (β at the reference = 0), are feasible, and
    in them each post-period first difference d_u = δ_u − δ_{u−1} is free in [−M̄c, M̄c].
    As l'δ_post = Σ_u L_u·d_u with L_u = Σ_{t>=u} l_t, it ranges over ±M̄c·Σ_u |L_u|."""
    b = np.asarray(betahat, dtype=float).ravel()
    lv = target_weights(l_vec, n_post)
    est = float(lv @ b[n_pre:])
    c = float(np.max(np.abs(np.diff(np.append(b[:n_pre], 0.0)))))
    half = mbar * c * float(np.abs(np.cumsum(lv[::-1])).sum())
    return est - half, est + half


# ---------------------------------------------------------------------------------------------
# The robust CI: the ARP / C-LF test inverted over θ


@dataclass
class _Piece:
    """One polyhedron Δ^RM_{s,±}: the moments y(θ) = Y − a1·θ and their ARP test (nuisance
    matrix X, covariance of y), with the least-favourable critical value for C-LF."""

    Y: np.ndarray
    a1: np.ndarray
    test: ARPTest
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
        p = _Piece(Y=Y, a1=AG[:, 0], test=ARPTest(X, sY))
        if method == "C-LF":
            p.lf_cv = p.test.least_favourable_cv(kappa, sims, seed + i)
        pieces.append(p)
    return pieces


class _Inversion:
    """The test inverted over θ at one M̄: the pieces and :meth:`accepts`."""

    def __init__(self, b, S, n_pre, n_post, lv, mbar, alpha, method, sims, seed):
        if method not in ("C-LF", "ARP"):
            raise ValueError("method must be 'C-LF' or 'ARP'")
        self.alpha, self.kappa = alpha, alpha / 10
        self.pieces = _rm_setup(b, S, n_pre, n_post, lv, mbar, method, alpha, self.kappa,
                                sims, seed)

    def accepts(self, theta: float) -> bool:
        """θ is in the confidence set: some piece's test does not reject it."""
        for p in self.pieces:
            if not p.test.rejects(p.Y - p.a1 * theta, self.alpha, p.lf_cv, self.kappa):
                return True
        return False

    def ends(self, thetas: np.ndarray) -> tuple[int, int] | None:
        """(i0, i1): the first and the last accepted point of ``thetas`` (None if none),
        testing from each end inwards: the points between them do not change the hull."""
        n = len(thetas)
        i0 = next((i for i in range(n) if self.accepts(thetas[i])), None)
        if i0 is None:
            return None
        i1 = next(i for i in range(n - 1, i0 - 1, -1) if i == i0 or self.accepts(thetas[i]))
        return i0, i1

    def bisect(self, good: float, bad: float, tol: float, decided=None) -> float:
        """Bisection between an accepted θ (``good``) and a rejected one (``bad``) down to
        ``tol``; the last accepted θ. ``decided(good, bad)``: stop early when True."""
        while abs(bad - good) > tol and not (decided and decided(good, bad)):
            m = 0.5 * (good + bad)
            if self.accepts(m):
                good = m
            else:
                bad = m
        return good


def _rm_grid(b, S, n_pre, n_post, lv, mbar, alpha, method, grid, grid_points, refine, sims,
             seed):
    """(inversion, θ grid, its first and last accepted index or None, tolerance of the
    refinement): the grid part of :func:`rm_ci`."""
    inv = _Inversion(b, S, n_pre, n_post, lv, mbar, alpha, method, sims, seed)
    sd = math.sqrt(float(lv @ S[n_pre:, n_pre:] @ lv))
    if grid is not None:
        lo, hi = grid
    elif refine:
        id_lo, id_hi = rm_identified_set(b, n_pre, n_post, lv, mbar)
        lo, hi = id_lo - 10 * sd, id_hi + 10 * sd
    else:
        lo, hi = -20 * sd, 20 * sd
    thetas = np.linspace(lo, hi, grid_points)
    ends = inv.ends(thetas)
    if refine:  # widen while an edge is accepted (at most 4 times)
        for _ in range(4):
            if ends is None or not (ends[0] == 0 or ends[1] == grid_points - 1):
                break
            width = hi - lo
            lo, hi = (lo - width if ends[0] == 0 else lo), \
                (hi + width if ends[1] == grid_points - 1 else hi)
            thetas = np.linspace(lo, hi, grid_points)
            ends = inv.ends(thetas)
    return inv, thetas, ends, 1e-3 * sd


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
    accepted points (so the grid is tested from each end inwards only up to the first
    accepted point).
    """
    b, S = split_estimates(betahat, sigma, n_pre, n_post)
    lv = target_weights(l_vec, n_post)
    inv, thetas, ends, tol = _rm_grid(b, S, n_pre, n_post, lv, mbar, alpha, method, grid,
                                      grid_points, refine, sims, seed)
    if ends is None:
        return math.nan, math.nan
    i0, i1 = ends
    if not refine:
        return float(thetas[i0]), float(thetas[i1])
    left = -math.inf if i0 == 0 else inv.bisect(thetas[i0], thetas[i0 - 1], tol)
    right = math.inf if i1 == len(thetas) - 1 else inv.bisect(thetas[i1], thetas[i1 + 1], tol)
    return float(left), float(right)


def _rm_excludes_zero(b, S, n_pre, n_post, lv, mbar, alpha, method, seed) -> bool:
    """``excludes_zero(*rm_ci(..., grid_points=30, refine=True))`` without the bisection
    steps that cannot change the answer: an end's bisection stops once its bracket no longer
    contains 0 (the end lies strictly inside the bracket, between the accepted θ and the
    rejected one), and the upper end is not needed when the lower one is above 0."""
    inv, thetas, ends, tol = _rm_grid(b, S, n_pre, n_post, lv, mbar, alpha, method, None, 30,
                                      True, 1000, seed)
    if ends is None or ends[0] == 0 or ends[1] == len(thetas) - 1:
        return False  # NaN or an infinite end
    i0, i1 = ends
    left = inv.bisect(thetas[i0], thetas[i0 - 1], tol,
                      decided=lambda good, bad: bad >= 0 or good <= 0)
    if left > 0:
        return True
    right = inv.bisect(thetas[i1], thetas[i1 + 1], tol,
                       decided=lambda good, bad: bad <= 0 or good >= 0)
    return right < 0


# ---------------------------------------------------------------------------------------------
# Breakdown value


def rm_breakdown(betahat, sigma, n_pre: int, n_post: int, l_vec=None, alpha: float = 0.05,
                 method: str = "C-LF", *, known: dict[float, tuple[float, float]] | None = None,
                 tol: float = 0.01, limit: float = 20.0, seed: int = 0) -> float:
    """Breakdown value of Δ^RM: the largest M̄ at which the robust CI (:func:`rm_ci`,
    refined) excludes 0, to ``tol``. ``known``: CIs already computed, M̄ -> (lb, ub). NaN when
    the CI at M̄ = 0 already includes 0; inf when it still excludes 0 at ``limit``."""
    b, S = split_estimates(betahat, sigma, n_pre, n_post)
    lv = target_weights(l_vec, n_post)

    def excludes(m):
        return _rm_excludes_zero(b, S, n_pre, n_post, lv, m, alpha, method, seed)

    done = {float(m): excludes_zero(*v) for m, v in (known or {}).items()}
    return bisect_breakdown(excludes, done, tol, 0.5, limit)
