"""The conditional moment-inequality test of Andrews, Roth & Pakes (2023) of E[y − Xδ] <= 0
with nuisance δ, with or without the least-favourable hybrid, and the least-favourable
critical value: the test :mod:`.rm` inverts for the Δ^RM robust CI.

:class:`ARPTest` holds what does not depend on y (the moments' sd, the vertices of the dual
polytope {λ >= 0 : λ'sd = 1, λ'X = 0}, the conditioning quantities of each optimal vertex), so
that testing many y (a θ grid and its bisection) costs no LP: the test statistic η(y) =
min_δ max_j (y − Xδ)_j/sd_j is, by LP duality, the largest λ'y over the vertices, and the
optimal vertex is the LP's dual solution. The LPs (scipy's HiGHS) remain for a polytope with
too many vertices to list.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats


def eta_lp(y: np.ndarray, X: np.ndarray, sd: np.ndarray):
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


def _dual_vertices(X: np.ndarray, sd: np.ndarray, limit: int = 200_000) -> np.ndarray | None:
    """The vertices of {λ >= 0 : λ'sd = 1, λ'X = 0} (rows), by basic feasible solutions (none:
    the polytope is empty); None when there are more than ``limit`` bases to try or no basis
    is regular. η(ξ) = max over them of λ'ξ (LP duality), so neither the test nor the
    least-favourable simulation needs an LP."""
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


class ARPTest:
    """The ARP conditional test of E[y − Xδ] <= 0 for every δ, for one nuisance matrix ``X``
    (moments × k) and covariance ``sigma`` of y, at any number of y (:meth:`rejects`)."""

    def __init__(self, X: np.ndarray, sigma: np.ndarray) -> None:
        self.X, self.sigma = X, sigma
        self.sd = np.sqrt(np.diag(sigma))
        self.vertices = _dual_vertices(X, self.sd)
        self._basis: dict[bytes, tuple] = {}

    def _max_vertex(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        """max over the dual polytope of λ'v and its argmax (a vertex)."""
        vals = self.vertices @ v
        i = int(np.argmax(vals))
        return float(vals[i]), self.vertices[i]

    def eta(self, y: np.ndarray):
        """(η, λ): the test statistic and the optimal dual vertex, or None (LP failed; no
        vertex: the dual is infeasible, the LP unbounded)."""
        if self.vertices is None:
            return eta_lp(y, self.X, self.sd)
        if not len(self.vertices):
            return None
        return self._max_vertex(y)

    def _conditioning(self, B: np.ndarray) -> tuple:
        """Per basis B (the optimal vertex's support), what the conditional test needs
        apart from y: degenerate (not k+1 rows, or X_B not of full rank) or (sig_b, ρ,
        Γ_B, v_B) of ARP's Appendix."""
        key = B.tobytes()
        got = self._basis.get(key)
        if got is not None:
            return got
        X, sd, sigma = self.X, self.sd, self.sigma
        k = X.shape[1]
        XB = X[B]
        degenerate = int(B.sum()) != k + 1
        full_rank = (k == 0) or (XB.shape[0] > 0 and np.linalg.matrix_rank(XB) == min(XB.shape))
        if degenerate or not full_rank:
            got = (True,)
        else:
            WB = np.column_stack([sd[B], XB])
            WBinv = np.linalg.inv(WB)
            M = len(sd)
            SB = np.eye(M)[B]
            SBc = np.eye(M)[~B]
            Gamma_B = np.column_stack([sd[~B], X[~B]]) @ WBinv @ SB - SBc
            vB = (WBinv[0] @ SB)
            s2 = float(vB @ sigma @ vB)
            sig_b = math.sqrt(s2)
            rho = Gamma_B @ sigma @ vB / s2
            got = (False, sig_b, rho, np.where(rho == 0, np.nan, rho), Gamma_B, vB)
        self._basis[key] = got
        return got

    def rejects(self, y: np.ndarray, alpha: float, lf_cv: float | None = None,
                kappa: float = 0.0) -> bool:
        """True if the ARP conditional test (with the least-favourable hybrid when ``lf_cv``
        is given) rejects E[y − Xδ] <= 0 for every δ."""
        sol = self.eta(y)
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
        cond = self._conditioning(lam > 1e-6)
        if cond[0]:
            sigma = self.sigma
            sig_b = math.sqrt(max(float(lam @ sigma @ lam), 0.0))
            if sig_b < 1e-10:
                return eta > 0
            vlo, vup = self._dual_bounds(eta, y, lam)
        else:
            _, sig_b, rho, rho_nan, Gamma_B, vB = cond
            mm = (-Gamma_B @ y) / rho_nan + float(vB @ y)
            vlo = float(np.max(mm[rho > 0])) if (rho > 0).any() else -math.inf
            vup = float(np.min(mm[rho < 0])) if (rho < 0).any() else math.inf
        if lf_cv is not None:
            vup = min(vup, lf_cv)
        zlo, zup, stat = vlo / sig_b, vup / sig_b, eta / sig_b
        if not zlo <= stat <= zup:
            return False
        return stat > max(0.0, _trunc_cv(1 - size, zlo, zup))

    def _dual_bounds(self, eta: float, y: np.ndarray, gamma: np.ndarray
                     ) -> tuple[float, float]:
        """v_lo, v_up of the dual approach (ARP Appendix, Algorithm 1): the range of c for
        which the vertex γ stays optimal, found where max_{γ'>=0, W'γ'=e1} (s + b·c)'γ'
        equals c."""
        X, sigma, sd = self.X, self.sigma, self.sd
        W = np.column_stack([sd, X])
        sg = sigma @ gamma
        gsg = float(gamma @ sg)
        b = sg / gsg
        s = y - b * float(gamma @ y)
        beq = np.zeros(W.shape[1])
        beq[0] = 1.0

        def lp(cval):
            if self.vertices is not None:
                return self._max_vertex(s + b * cval)
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
            # g(c) = max_γ' (s + b·c)'γ' is convex, piecewise linear and >= c, with g = c
            # exactly on [v_lo, v_up]; from outside, the root of the optimal vertex's line
            # (Newton's step) moves monotonically towards the interval and reaches it in
            # finitely many steps
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

    def least_favourable_cv(self, kappa: float, sims: int, seed: int) -> float:
        """The least-favourable critical value: the 1−κ quantile of η(ξ) = min_δ max_j (ξ_j −
        X_jδ)/sd_j for ξ ~ N(0, Σ) (ARP §5.2), from ``sims`` seeded draws."""
        sigma, X, sd = self.sigma, self.X, self.sd
        rng = np.random.default_rng(seed)
        xi = rng.multivariate_normal(np.zeros(len(sigma)), sigma, size=sims, method="svd")
        if X.shape[1] == 0:
            etas = (xi / sd).max(axis=1)
        elif self.vertices is not None:
            etas = (xi @ self.vertices.T).max(axis=1)
        else:
            etas = np.array([(eta_lp(x, X, sd) or (math.nan,))[0] for x in xi])
            etas = etas[np.isfinite(etas)]
        return float(np.quantile(etas, 1 - kappa))


def arp_test(y: np.ndarray, X: np.ndarray, sigma: np.ndarray, alpha: float,
             lf_cv: float | None = None, kappa: float = 0.0) -> bool:
    """:meth:`ARPTest.rejects` for one y."""
    return ARPTest(X, sigma).rejects(y, alpha, lf_cv, kappa)


def least_favourable_cv(X: np.ndarray, sigma: np.ndarray, kappa: float, sims: int,
                        seed: int) -> float:
    """:meth:`ARPTest.least_favourable_cv` for one (X, Σ)."""
    return ARPTest(X, sigma).least_favourable_cv(kappa, sims, seed)
