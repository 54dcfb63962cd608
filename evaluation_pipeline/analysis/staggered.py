"""Group-time difference-in-differences for staggered adoption (Callaway & Sant'Anna 2021).

``staggered_att`` estimates the group-time average treatment effects ATT(g,t) of Callaway &
Sant'Anna (2021), "Difference-in-Differences with multiple time periods", *Journal of
Econometrics* 225(2), 200-230, without covariates, and aggregates them (overall, by event time,
by group) into :class:`~.effects.Effect` rows. Unlike two-way fixed effects (``did.did_twfe``)
it never uses already-treated units as controls, so it is not biased by effects that differ
between cohorts or grow with exposure (Goodman-Bacon 2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from .effects import Effect, effects_frame

ATT_GT_COLUMNS = [
    "group", "time", "att", "se", "ci_low", "ci_high", "n_treated", "n_control", "note",
]
_BOOT_CHUNK = 4_000_000  # bootstrap draws x units held in memory at once


@dataclass
class StaggeredResult:
    """The result of :func:`staggered_att`.

    ``att_gt`` has one row per (group, time) cell: group, time, att, se, ci_low, ci_high,
    n_treated, n_control, note (why a cell is NaN, else empty). ``simple`` is the overall ATT,
    ``dynamic`` the event-study effects (contrast ``event time e``, e = t - g, pre-treatment
    placebos included), ``by_group`` the average effect of each cohort (contrast ``group g``).
    ``crit_value`` is the multiplier-bootstrap critical value of the simultaneous band over the
    dynamic effects and ``dynamic_band`` that band (event_time, estimate, band_low, band_high).
    """

    att_gt: pd.DataFrame
    simple: Effect
    dynamic: list[Effect]
    by_group: list[Effect]
    crit_value: float = math.nan
    dynamic_band: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["event_time", "estimate", "band_low", "band_high"]
        )
    )

    def to_frame(self) -> pd.DataFrame:
        """Every Effect (simple, dynamic, by group) as one table."""
        return effects_frame([self.simple, *self.dynamic, *self.by_group])


def staggered_att(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    control: str = "never",
    *,
    alpha: float = 0.05,
    bootstrap: int = 999,
    seed: int = 20131,
    min_group_size: int = 2,
    anticipation: int = 0,
) -> StaggeredResult:
    """Callaway & Sant'Anna (2021) group-time ATT(g,t) and its aggregations, no covariates.

    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple time
    periods. *Journal of Econometrics* 225(2), 200-230. The numbers agree with the ``did`` R
    package and its Python port ``csdid`` (unconditional estimator, varying base period).

    **Assumptions.** (1) Parallel trends conditional on nothing: without treatment, the average
    outcome of every cohort would have moved like that of the comparison units (never-treated,
    or never- and not-yet-treated). (2) No anticipation: units do not react before their
    first treated period, except for ``anticipation`` periods if set. (3) Irreversible treatment
    (staggered adoption): once treated, a unit stays treated; ``first_treated`` is constant
    within a unit.

    **Data.** ``panel`` is long (one row per unit and period); ``time`` and ``first_treated``
    are numeric on the same scale (years). ``first_treated`` is the first treated period;
    never-treated units have 0 or NaN. The method needs a **balanced panel**: a unit without a
    row for some period, a duplicated (unit, period) row and a **missing (or infinite)
    outcome value** are errors (:class:`AnalysisError` naming the unit and period); drop such
    units or impute before calling. Units first treated after the last period (+
    ``anticipation``) count as never treated; units treated already in the first period have no
    pre-treatment period and are dropped (both said in the notes), as in ``did``/``csdid``.

    **ATT(g,t).** For cohort g and period t, the 2x2 DiD ``mean(Y_t - Y_b | G = g) -
    mean(Y_t - Y_b | comparison)``. Base period b is "varying" (the ``did`` default): for
    t < g - anticipation it is the period before t; otherwise it is the last period before
    g - anticipation (g - 1 - anticipation in yearly data). Comparison units:
    ``control="never"`` the never-treated; ``control="notyet"`` the never-treated plus units
    with g' > t + anticipation, excluding cohort g itself.

    **Aggregations** (Effect rows, source ``registry``): ``simple``, the average of ATT(g,t)
    over t >= g weighted by cohort size; ``dynamic``, by event time e = t - g, weighted by
    cohort size; ``by_group``, the average over t >= g of each cohort.

    **Inference.** Standard errors come from the influence functions of the ATT(g,t), combined
    as in the paper (including the estimation of the cohort-size weights), which is clustering
    at the unit level: SE = sqrt(sum_i psi_i^2) / n. Pointwise CIs and p-values are normal.
    A multiplier bootstrap (``bootstrap`` Rademacher draws, ``seed``) gives the critical value
    of the simultaneous (uniform) 1 - alpha band over all dynamic effects (the sup-t band with
    the analytic SEs), reported in each dynamic Effect's note and in ``dynamic_band``;
    ``bootstrap=0`` skips it.

    **Degenerate cells never crash.** A cell whose cohort has fewer than ``min_group_size``
    units, or that has no comparison unit, is NaN with the reason in ``att_gt.note``; the
    aggregations leave such cells out and say so in their note (NaN when nothing is left).
    """
    label = f"staggered_att({outcome})"
    if control not in ("never", "notyet"):
        raise AnalysisError(f"{label}: control must be 'never' or 'notyet', not {control!r}")
    if not 0 < alpha < 1:
        raise AnalysisError(f"{label}: alpha must lie strictly between 0 and 1, not {alpha}")
    if int(bootstrap) != bootstrap or bootstrap < 0:
        raise AnalysisError(f"{label}: bootstrap must be a whole number >= 0, not {bootstrap}")
    if int(min_group_size) != min_group_size or min_group_size < 1:
        raise AnalysisError(f"{label}: min_group_size must be a whole number >= 1")
    if int(anticipation) != anticipation or anticipation < 0:
        raise AnalysisError(f"{label}: anticipation must be a whole number >= 0")

    periods, Y, G = _balanced_panel(panel, outcome, unit, time, first_treated, label)
    a = float(anticipation)
    pt = periods.astype(float)
    notes: list[str] = []
    late = (G > pt[-1] + a)
    if late.any():
        G = np.where(late, 0.0, G)
        notes.append(f"{int(late.sum())} unit(s) first treated after the last period "
                     "counted as never treated")
    early = (G > 0) & (G <= pt[0] + a)
    if early.any():
        notes.append(f"{int(early.sum())} unit(s) treated in the first period dropped "
                     "(no pre-treatment period)")
        Y, G = Y[~early], G[~early]
    n, T = Y.shape
    z = float(stats.norm.ppf(1 - alpha / 2))
    ctx = _Context(label, outcome, control, alpha, z, n, T, notes)

    glist = np.unique(G[G > 0])
    if len(glist) == 0 or T < 2:
        return _empty_result(ctx, "no treated cohort with a pre-treatment period in the panel")

    # -- the (g, t) cells: every cohort x every period but the first ------------------------
    cg = np.repeat(glist, T - 1)
    ct = np.tile(np.arange(1, T), len(glist))
    long_diff = pt[ct] >= cg - a
    base_long = np.searchsorted(pt, cg - a, side="left") - 1  # last period before g - a
    cb = np.where(long_diff, base_long, ct - 1)

    treated = G[:, None] == cg[None, :]  # n x C
    if control == "never":
        comp = np.broadcast_to((G == 0)[:, None], treated.shape)
    else:
        comp = (G == 0)[:, None] | (
            (G[:, None] > (pt[ct] + a)[None, :]) & (G[:, None] != cg[None, :])
        )
    n1 = treated.sum(axis=0)
    n0 = comp.sum(axis=0)
    dY = Y[:, ct] - Y[:, cb]

    with np.errstate(divide="ignore", invalid="ignore"):
        mu1 = np.where(treated, dY, 0.0).sum(axis=0) / n1
        mu0 = np.where(comp, dY, 0.0).sum(axis=0) / n0
        att = mu1 - mu0
        # influence function of each ATT(g,t), scaled to the whole sample of n units
        inf = n * (np.where(treated, dY - mu1, 0.0) / n1 - np.where(comp, dY - mu0, 0.0) / n0)
    cell_note = np.full(len(cg), "", dtype=object)
    small = n1 < min_group_size
    none = n0 == 0
    what = "never-treated" if control == "never" else "never- or not-yet-treated"
    for j in np.flatnonzero(small | none):
        if small[j]:
            cell_note[j] = (f"group {_fmt(cg[j])} has {n1[j]} unit(s), fewer than "
                            f"min_group_size={min_group_size}")
        else:
            cell_note[j] = f"no {what} comparison units"
    bad = small | none
    att[bad] = np.nan
    inf[:, bad] = np.nan
    se = _se(inf, n)
    zero_var = np.isfinite(att) & ~np.isfinite(se)
    cell_note[zero_var] = "zero variance: standard error not identified"

    att_gt = pd.DataFrame({
        "group": _as_periods(cg, periods),
        "time": periods[ct],
        "att": att,
        "se": se,
        "ci_low": att - z * se,
        "ci_high": att + z * se,
        "n_treated": n1.astype("int64"),
        "n_control": n0.astype("int64"),
        "note": cell_note.astype(str),
    })[ATT_GT_COLUMNS]

    cells = _Cells(cg=cg, t=pt[ct], att=att, inf=inf, treated=treated, comp=comp,
                   note=cell_note, labels=[f"ATT({_fmt(g)},{_fmt(t)})"
                                           for g, t in zip(cg, pt[ct], strict=True)])
    pg = (G[:, None] == glist[None, :]).mean(axis=0)  # cohort shares P(G = g)
    pg_cell = pg[np.searchsorted(glist, cg)]
    post = cells.t >= cg

    simple_est, simple_if = _aggregate(cells, np.flatnonzero(post), pg_cell, G, weights=True)
    simple = ctx.effect("simple", "network - comparison (after joining)", "all",
                        simple_est, simple_if, cells, np.flatnonzero(post))

    event = cells.t - cg
    dynamic, dyn_ifs = [], []
    for e in np.unique(event):
        idx = np.flatnonzero(event == e)
        est, psi = _aggregate(cells, idx, pg_cell, G, weights=True)
        extra = "pre-treatment (placebo) estimate" if e < 0 else ""
        dynamic.append(ctx.effect("dynamic", f"event time {_fmt(e)}", "all", est, psi, cells,
                                  idx, extra))
        dyn_ifs.append(psi)

    by_group = []
    for g in glist:
        idx = np.flatnonzero((cg == g) & post)
        est, psi = _aggregate(cells, idx, pg_cell, G, weights=False)
        by_group.append(ctx.effect("group", f"group {_fmt(g)}", _fmt(g), est, psi, cells, idx))

    events = _as_periods(np.unique(event), periods)
    crit, dynamic, band = _uniform_band(ctx, dynamic, dyn_ifs, events, bootstrap, seed)
    return StaggeredResult(att_gt=att_gt, simple=simple, dynamic=dynamic, by_group=by_group,
                           crit_value=crit, dynamic_band=band)


# -- panel --------------------------------------------------------------------------------


def _balanced_panel(
    panel: pd.DataFrame, outcome: str, unit: str, time: str, first_treated: str, label: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """periods (sorted), Y (units x periods), G (first treated per unit, 0 = never)."""
    missing_cols = [c for c in (outcome, unit, time, first_treated) if c not in panel.columns]
    if missing_cols:
        raise AnalysisError(f"{label}: column(s) {', '.join(missing_cols)} not in the panel")
    d = panel[[unit, time, outcome, first_treated]]
    if len(d) == 0:
        raise AnalysisError(f"{label}: the panel has no rows")
    if d[unit].isna().any():
        raise AnalysisError(f"{label}: {int(d[unit].isna().sum())} row(s) have no {unit}")
    for col in (time, first_treated):
        if not pd.api.types.is_numeric_dtype(d[col]) or pd.api.types.is_bool_dtype(d[col]):
            raise AnalysisError(f"{label}: column {col} must be numeric (periods such as years)")
    if not pd.api.types.is_numeric_dtype(d[outcome]) or pd.api.types.is_bool_dtype(d[outcome]):
        raise AnalysisError(f"{label}: outcome column {outcome} must be numeric")
    if d[time].isna().any():
        raise AnalysisError(f"{label}: {int(d[time].isna().sum())} row(s) have no {time}")

    dup = d.duplicated([unit, time], keep=False)
    if dup.any():
        r = d[dup].iloc[0]
        raise AnalysisError(f"{label}: unit {r[unit]} has more than one row for {time} "
                            f"{_fmt(r[time])}")
    y = d[outcome].to_numpy(dtype=float, na_value=np.nan)
    bad_y = ~np.isfinite(y)
    if bad_y.any():
        r = d[bad_y].iloc[0]
        raise AnalysisError(
            f"{label}: missing {outcome} for unit {r[unit]} in {time} {_fmt(r[time])} "
            f"({int(bad_y.sum())} missing value(s)); the method needs a balanced panel with "
            "every outcome observed: drop or impute those units first"
        )

    g = d[first_treated].to_numpy(dtype=float, na_value=np.nan)
    g = np.where(np.isnan(g) | np.isposinf(g), 0.0, g)
    if (g < 0).any():
        r = d[g < 0].iloc[0]
        raise AnalysisError(f"{label}: unit {r[unit]} has {first_treated} = {r[first_treated]};"
                            " use the first treated period, or 0/NaN for never treated")
    ui, units = pd.factorize(d[unit], sort=True)
    tv = d[time]
    tv = tv.astype("int64" if pd.api.types.is_integer_dtype(tv) else "float64")
    ti, periods = pd.factorize(tv, sort=True)
    periods = np.asarray(periods)
    n, T = len(units), len(periods)

    G = np.full(n, np.nan)
    G[ui] = g
    varying = g != G[ui]
    if varying.any():
        u = units[ui[np.flatnonzero(varying)[0]]]
        raise AnalysisError(f"{label}: {first_treated} changes over time for unit {u}; "
                            "treatment must be irreversible with one first treated period")

    Y = np.full((n, T), np.nan)
    Y[ui, ti] = y
    gaps = np.isnan(Y)
    if gaps.any():
        i, j = np.argwhere(gaps)[0]
        raise AnalysisError(
            f"{label}: unbalanced panel: unit {units[i]} has no row for {time} "
            f"{_fmt(periods[j])} ({int(gaps.sum())} unit-period(s) missing); the method "
            "needs a balanced panel"
        )
    return periods, Y, G


# -- aggregation --------------------------------------------------------------------------


@dataclass
class _Cells:
    cg: np.ndarray
    t: np.ndarray
    att: np.ndarray
    inf: np.ndarray
    treated: np.ndarray
    comp: np.ndarray
    note: np.ndarray
    labels: list[str]


def _se(inf: np.ndarray, n: int) -> np.ndarray:
    """SE from influence functions (n rows): sqrt(sum psi^2) / n; NaN unless positive."""
    se = np.sqrt(np.sum(inf**2, axis=0)) / n
    return np.where(np.isfinite(se) & (se > 0), se, np.nan)


def _aggregate(
    cells: _Cells, idx: np.ndarray, pg_cell: np.ndarray, G: np.ndarray, *, weights: bool
) -> tuple[float, np.ndarray | None]:
    """Weighted average of the estimable cells ``idx`` (weights P(G = g)) and its influence
    function; with ``weights`` the influence of estimating the weights is added (Callaway &
    Sant'Anna 2021, as in ``did::compute.aggte``)."""
    keep = idx[np.isfinite(cells.att[idx])]
    if len(keep) == 0:
        return math.nan, None
    w = pg_cell[keep]
    s = w.sum()
    att = cells.att[keep]
    est = float(att @ w / s)
    psi = cells.inf[:, keep] @ (w / s)
    if weights:
        A = (G[:, None] == cells.cg[keep][None, :]) - w[None, :]
        psi = psi + (A @ att) / s - A.sum(axis=1) * float(w @ att) / s**2
    return est, psi


@dataclass
class _Context:
    label: str
    outcome: str
    control: str
    alpha: float
    z: float
    n: int
    T: int
    notes: list[str]

    def estimator(self, kind: str) -> str:
        ctrl = "never-treated" if self.control == "never" else "not-yet-treated"
        return f"Callaway-Sant'Anna group-time DiD, {kind} aggregation ({ctrl} controls)"

    def base_note(self) -> str:
        parts = [f"{self.n} units x {self.T} periods (balanced panel); influence-function SE "
                 f"clustered by unit, pointwise normal {100 * (1 - self.alpha):g}% CI"]
        return "; ".join(parts + self.notes)

    def effect(self, kind: str, contrast: str, group: str, est: float,
               psi: np.ndarray | None, cells: _Cells, idx: np.ndarray, extra: str = "") -> Effect:
        keep = idx[np.isfinite(cells.att[idx])]
        excluded = _excluded_note(cells, idx)
        note = "; ".join(p for p in (extra, self.base_note(), excluded) if p)
        if psi is None:
            if len(idx) == 0:
                note = "; ".join(p for p in ("no ATT(g,t) cell to aggregate", note) if p)
            return Effect(source="registry", outcome=self.outcome, contrast=contrast,
                          estimator=self.estimator(kind), estimate=math.nan,
                          n_obs=self.n * self.T, note=note, group=group)
        se = float(_se(psi[:, None], self.n)[0])
        if not math.isfinite(se):
            note += "; zero variance: standard error not identified"
        p = float(2 * stats.norm.sf(abs(est / se))) if math.isfinite(se) else math.nan
        return Effect(
            source="registry", outcome=self.outcome, contrast=contrast,
            estimator=self.estimator(kind), estimate=est, se=se,
            ci_low=est - self.z * se, ci_high=est + self.z * se, p_value=p,
            n_treated=int(cells.treated[:, keep].any(axis=1).sum()),
            n_control=int(cells.comp[:, keep].any(axis=1).sum()),
            n_obs=self.n * self.T, note=note, group=group,
        )


def _excluded_note(cells: _Cells, idx: np.ndarray) -> str:
    """Which cells of an aggregation are NaN, grouped by reason."""
    out: dict[str, list[str]] = {}
    for j in idx:
        if not np.isfinite(cells.att[j]):
            out.setdefault(str(cells.note[j]), []).append(cells.labels[j])
    return "; ".join(f"left out {', '.join(labs)}: {reason}" for reason, labs in out.items())


def _uniform_band(ctx: _Context, dynamic: list[Effect], ifs: list[np.ndarray | None],
                  events: np.ndarray, bootstrap: int, seed: int
                  ) -> tuple[float, list[Effect], pd.DataFrame]:
    """Multiplier bootstrap (Rademacher) critical value of the sup-t band over the dynamic
    effects: the 1 - alpha quantile of max_e |psi_e' V / n| / se_e over the draws."""
    ok = [k for k, e in enumerate(dynamic) if ifs[k] is not None and math.isfinite(e.se)]
    band = pd.DataFrame({
        "event_time": events,
        "estimate": [e.estimate for e in dynamic],
        "band_low": math.nan, "band_high": math.nan,
    })
    if bootstrap == 0 or not ok:
        return math.nan, dynamic, band
    psi = np.column_stack([ifs[k] for k in ok])  # n x E
    se = np.array([dynamic[k].se for k in ok])
    rng = np.random.default_rng(seed)
    n = psi.shape[0]
    tmax = np.empty(bootstrap)
    step = max(1, _BOOT_CHUNK // n)
    for start in range(0, bootstrap, step):
        b = min(step, bootstrap - start)
        v = rng.integers(0, 2, size=(b, n), dtype=np.int8) * 2.0 - 1.0
        tmax[start:start + b] = np.max(np.abs(v @ psi) / n / se, axis=1)
    crit = float(np.quantile(tmax, 1 - ctx.alpha, method="inverted_cdf"))
    pct = f"{100 * (1 - ctx.alpha):g}%"
    how = f"multiplier bootstrap, {bootstrap} Rademacher draws, critical value {crit:.3f}"
    if crit < ctx.z:  # cannot happen in theory; mirrors did/csdid's fallback
        how += "; smaller than the pointwise value, so the pointwise CI is used"
        crit = ctx.z
    out = list(dynamic)
    for k in ok:
        e = dynamic[k]
        lo, hi = e.estimate - crit * e.se, e.estimate + crit * e.se
        band.loc[k, ["band_low", "band_high"]] = [lo, hi]
        out[k] = _with_note(e, f"simultaneous {pct} band {lo:.4g} to {hi:.4g} ({how})")
    return crit, out, band


def _with_note(effect: Effect, text: str) -> Effect:
    return replace(effect, note=f"{effect.note}; {text}" if effect.note else text)


def _empty_result(ctx: _Context, reason: str) -> StaggeredResult:
    simple = Effect(source="registry", outcome=ctx.outcome,
                    contrast="network - comparison (after joining)",
                    estimator=ctx.estimator("simple"), estimate=math.nan,
                    n_obs=ctx.n * ctx.T, note=f"{reason}; {ctx.base_note()}")
    return StaggeredResult(att_gt=pd.DataFrame(columns=ATT_GT_COLUMNS), simple=simple,
                           dynamic=[], by_group=[])


# -- formatting ---------------------------------------------------------------------------


def _fmt(x) -> str:
    """A period as text: 2013, not 2013.0."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def _as_periods(values: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Cohorts in the dtype of the time column when they are whole numbers."""
    if np.issubdtype(periods.dtype, np.integer) and np.all(np.mod(values, 1) == 0):
        return values.astype(periods.dtype)
    return values
