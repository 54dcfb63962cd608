"""The survey network DiD: network-vs-comparison difference-in-differences on a survey scale,
with inference at the kommune level -- the two-step estimator on role-adjusted kommune × wave
means (:func:`kommune_wave_means`), precision-weighted, with t(K - 2) (Donald & Lang 2007;
Wooldridge 2010, ch. 20), and a restricted wild cluster bootstrap check (MacKinnon & Webb
2017). The fits and the bootstrap are :mod:`.linear_model`'s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from .effects import Effect
from .linear_model import (
    FEW_CLUSTERS,
    FEW_TREATED_CLUSTERS,
    demean_oneway,
    wild_cluster_bootstrap,
    wls,
)
from .multiplicity import adjust_p
from .scales import scores_by_scale

#: the estimator of :func:`network_effect` (the Effect's ``estimator``)
DID_ESTIMATOR = "two-step DiD on kommune × wave means, t(K - 2)"
#: wild cluster bootstrap draws of :func:`network_effect`'s check
BOOTSTRAP_DRAWS = 9999


def _did_frame(
    scores: pd.DataFrame, outcome: str, study, baseline: str, followup: str, weighted: bool
) -> pd.DataFrame:
    s = scores[(scores["scale"] == outcome) & scores["wave"].isin([baseline, followup])]
    s = s.dropna(subset=["score"])
    s = s[s["kommune"].astype(str).isin([str(k) for k in study.kommuner])]
    cols = ["respondent_id", "wave", "kommune", "role", "score"] + (["weight"] if weighted else [])
    d = s[cols].copy()
    d["kommune"] = d["kommune"].astype(str).astype(object)
    d["role"] = d["role"].astype(object).where(d["role"].notna(), "(missing)").astype(str)
    d["post"] = (d["wave"].astype(str) == followup).astype(float)
    d["network"] = d["kommune"].isin([str(k) for k in study.network]).astype(float)
    d["score"] = d["score"].astype(float)
    if weighted:
        d["weight"] = pd.to_numeric(d["weight"], errors="coerce").astype(float)
        if d["weight"].isna().any() or (d["weight"] < 0).any():
            raise AnalysisError(f"network_effect({outcome}): missing or negative weights")
    return d.reset_index(drop=True)


def _role_dummies(d: pd.DataFrame) -> pd.DataFrame:
    """``C(role)`` as patsy codes it: one 0/1 column per role but the first in sorted order,
    named ``C(role)[T.<role>]``; no columns when every row has the same role."""
    levels = sorted(d["role"].unique())
    if len(levels) < 2:
        return pd.DataFrame(index=d.index)
    codes = pd.Categorical(d["role"], categories=levels).codes
    return pd.DataFrame({f"C(role)[T.{lev}]": (codes == i).astype(float)
                         for i, lev in enumerate(levels) if i > 0}, index=d.index)


def kommune_wave_means(d: pd.DataFrame, weighted: bool = False) -> pd.DataFrame:
    """Stage 1 of :func:`network_effect`: the role-adjusted mean score of every kommune × wave
    cell of a :func:`_did_frame` frame, with its sampling variance.

    ``score ~ C(cell) + C(role)`` (WLS with the ``weight`` column when ``weighted``): the role
    coefficients are estimated within cells (Frisch–Waugh–Lovell: scores and role dummies
    demeaned within each kommune × wave cell), and a cell's mean is its (weighted) mean score
    minus its (weighted) role mix times those coefficients -- the cell's mean as if every
    respondent had the first role, so a role mix that differs between kommuner or waves does
    not move it. Without role variation it is the plain cell mean. Cells whose weights are all 0
    are left out.

    Returns one row per cell: kommune, wave, post, network, mean, n (scores), n_eff (Kish's
    effective n, (sum w)² / sum w², = n unweighted) and var = s² / n_eff, the sampling variance
    of the mean from the respondents alone, s² the residual variance of the stage-1 fit (sum of
    squared residuals / (scores - cells - role columns)); ``attrs["residual_variance"]`` = s²
    (NaN without residual degrees of freedom).
    """
    cell = pd.MultiIndex.from_arrays([d["kommune"], d["wave"].astype(str)])
    codes, uniq = pd.factorize(cell)
    w = d["weight"].to_numpy(float) if weighted else np.ones(len(d))
    M = np.column_stack([d["score"].to_numpy(float), _role_dummies(d).to_numpy(float)])
    Mt, means, wc = demean_oneway(M, codes, w, len(uniq))
    rank = 0
    if M.shape[1] > 1:
        coef, rank = wls(Mt[:, 1:], Mt[:, 0], w)
        adjusted = means[:, 0] - means[:, 1:] @ coef
        resid = Mt[:, 0] - Mt[:, 1:] @ coef
    else:
        adjusted = means[:, 0]
        resid = Mt[:, 0]
    keep = wc > 0
    dof = int(np.count_nonzero(w > 0)) - int(keep.sum()) - int(rank)
    s2 = float(np.sum((resid * (w > 0)) ** 2) / dof) if dof > 0 else np.nan
    w2 = np.bincount(codes, weights=w * w, minlength=len(uniq))
    n_eff = np.divide(wc**2, w2, out=np.zeros_like(wc), where=w2 > 0)
    first = pd.Series(np.arange(len(d))).groupby(codes).first().to_numpy()
    out = pd.DataFrame({
        "kommune": d["kommune"].to_numpy()[first], "wave": d["wave"].astype(str).to_numpy()[first],
        "post": d["post"].to_numpy()[first], "network": d["network"].to_numpy()[first],
        "mean": adjusted, "n": np.bincount(codes, minlength=len(uniq)), "n_eff": n_eff,
    })
    out = out[keep].reset_index(drop=True)
    out["var"] = s2 / out["n_eff"]
    out.attrs["residual_variance"] = s2
    return out


def network_effect(
    scores: pd.DataFrame,
    outcome: str,
    study,
    *,
    baseline: str | None = None,
    followup: str | None = None,
    alpha: float = 0.05,
    weighted: bool = False,
    bootstrap: int | None = BOOTSTRAP_DRAWS,
    seed: int = 20131,
    return_details: bool = False,
) -> Effect | tuple[Effect, dict]:
    """Difference-in-differences on survey scale ``outcome``: the change from ``baseline``
    (default: the study's baseline wave) to ``followup`` (default: the last follow-up wave) in
    the network kommuner minus that in the comparison kommuner, with inference at the kommune
    level (Donald & Lang 2007's two-step estimator).

    Why at the kommune level: the network varies by kommune, and respondents of one kommune and
    wave share more than a kommune's lasting level (which a random kommune intercept or kommune
    fixed effects take out): a kommune's staff climate also moves between waves for local
    reasons (kommune × wave shocks). A model of respondents then treats hundreds of answers as
    independent evidence of what is a handful of kommune changes, and over-rejects: with 12
    kommuner (3 network) the earlier random-intercept model rejected a true null in 28 % of
    simulated studies at the 5 % level, and kommune-clustered CR1 SEs with t(G - 1) in 11 %
    with 9 kommuner (issue 23). See BENCHMARKS.md "Survey network DiD: simulation".

    1. **Stage 1** (:func:`kommune_wave_means`): the role-adjusted mean score of every kommune
       × wave cell (``score ~ C(kommune × wave) + C(role)``; WLS with ``weighted``), so a
       changed role mix does not fake a change.
    2. **Stage 2**: the cell means on kommune and wave fixed effects and ``network × post``
       by weighted least squares with classical inference. With two waves this is a weighted
       comparison of the kommuner's changes ``Δ_k = mean(followup) - mean(baseline)``: the
       estimate is the weighted mean change of the network kommuner minus that of the
       comparison kommuner, its SE ``s·sqrt(1/W1 + 1/W0)`` (W1, W0 the groups' summed
       weights, ``s²`` the weighted residual variance of the changes around their group
       means over K - 2), and the p-value and CI use **t(K - 2)**, K = K1 + K0 the kommuner
       with scores in both waves (the residual degrees of freedom of stage 2: 2K cells - K
       kommune - 2 wave/treatment parameters). Only kommuner with scores in both waves enter
       stage 2.

       The weights are the precisions ``1 / (tau² + v_k)`` (feasible GLS): ``v_k`` is the
       sampling variance of Δ_k from the respondents (stage 1's residual variance over each
       cell's effective n, summed over the two waves) and ``tau²`` the variance of the
       kommune × wave shocks in the changes, estimated by moments from the unweighted group
       means (``E[SS] = sum_k (1 - 1/K_g)(tau² + v_k)``, DerSimonian & Laird 1986; truncated
       at 0). With equal cell sizes the weights are equal and this is the pooled two-sample
       t-test on the changes; when shocks dominate they are nearly equal too. Why weights:
       without shocks a 30-respondent kommune's change is ten times noisier than a
       300-respondent one's, and an unweighted t-test with small network and large comparison
       kommuner rejected a true null in 21 % of simulated surveys, the weighted one in 5–6 %.
       If the network's effect differs between kommuner, the estimate weights the precisely
       measured (larger, or all alike when shocks dominate) kommuner more.

    The kommune × wave mean carries the kommune × wave shock and the respondents' noise alike,
    so the t-test is exact when the changes are normal with variances known up to a common
    factor, however few kommuner (in BENCHMARKS.md's simulation, from 2 network kommuner of 8 to
    10 of 40, with and without kommune × wave shocks: size 4.1–5.4 % and coverage 94.3–95.9 %
    with 25–60 respondents per kommune and wave; size 3.2–6.5 % with very unequal kommune
    sizes, where tau² and so the weights are estimated from few kommuner). Panel respondents (in
    both waves) only make a kommune's two means correlated, which the change takes out; the
    sampling variance v_k ignores that correlation (it overstates v_k a little, which only
    shifts weight towards equal weights).

    **Check**: with fewer than 50 kommuner or fewer than 10 network kommuner the restricted
    wild cluster bootstrap (WCR, :func:`~.linear_model.wild_cluster_bootstrap`: kommune
    clusters, Webb weights below 12 kommuner, ``bootstrap`` draws, ``seed``) on the stage-2
    cell means, with the stage-2 weights, is added to the note, p-value and CI by test
    inversion. It is not the primary inference: with very few network kommuner it is
    conservative (size about 2 % with 2 of 8 in the simulation; its CI may be unbounded;
    MacKinnon & Webb 2017).

    The note names the method and why, the degrees of freedom and the counts. n_treated /
    n_control are the network / comparison kommuner in stage 2 (as in the registry DiD), n_obs
    the scores of the two waves. With ``return_details=True`` returns ``(Effect, details)``
    with the stage-2 cell table (``cells``: mean, var, n, n_eff, kommune_weight), ``df``,
    ``t_stat``, ``tau2``, ``residual_variance`` and the bootstrap's ``boot_p``, ``boot_ci``,
    ``draws`` and ``weights`` (NaN / 0 / None when it did not run).
    """
    baseline = baseline or study.baseline_wave
    followup = followup or study.followup_waves[-1]
    if weighted and "weight" not in scores.columns:
        raise AnalysisError(f"network_effect({outcome}): weighted=True but no 'weight' column")
    d = _did_frame(scores, outcome, study, baseline, followup, weighted)
    contrast = f"{followup} - {baseline}, network - comparison"
    if len(d.groupby(["network", "post"]).size()) < 4:
        raise AnalysisError(
            f"network_effect({outcome}): need scores of network and comparison kommuner in "
            f"both {baseline} and {followup}"
        )
    cells = kommune_wave_means(d, weighted)
    resid_var = cells.attrs["residual_variance"]
    both = cells.groupby("kommune")["post"].transform("nunique") == 2
    dropped = sorted(set(cells["kommune"]) - set(cells.loc[both, "kommune"]))
    cells = cells[both].sort_values(["kommune", "post"]).reset_index(drop=True)
    wide = cells.pivot(index="kommune", columns="post", values="mean")
    change = (wide[1.0] - wide[0.0]) if len(wide) else pd.Series(dtype=float)
    net = cells.groupby("kommune")["network"].first().reindex(change.index) == 1
    k1, k0 = int(net.sum()), int((~net).sum())
    if k1 < 1 or k0 < 1 or k1 + k0 < 3:
        raise AnalysisError(
            f"network_effect({outcome}): need kommuner with scores in both {baseline} and "
            f"{followup}: at least 1 network and 1 comparison kommune and 3 in all (have "
            f"{k1} network, {k0} comparison)")
    df = k1 + k0 - 2
    is_net = net.to_numpy()
    var = cells.pivot(index="kommune", columns="post", values="var").sum(axis=1)
    var = var.reindex(change.index).to_numpy(float)
    if not np.all(np.isfinite(var)):
        var = np.zeros(len(change))  # no residual df in stage 1: equal weights
    dv = change.to_numpy(float)
    # the kommune × wave variance of the changes (beyond the respondents' sampling variance),
    # by moments from the unweighted group means: E[SS] = sum_k (1 - 1/K_g) (tau2 + var_k)
    k_g = np.where(is_net, k1, k0)
    ss0 = float(sum(((dv[m] - dv[m].mean()) ** 2).sum() for m in (is_net, ~is_net)))
    tau2 = max(0.0, (ss0 - float(np.sum((1 - 1 / k_g) * var))) / df) if df > 0 else 0.0
    total = tau2 + var
    wk = 1 / total if np.all(total > 0) else np.ones(len(dv))
    w1, w0 = float(wk[is_net].sum()), float(wk[~is_net].sum())
    m1 = float(wk[is_net] @ dv[is_net]) / w1
    m0 = float(wk[~is_net] @ dv[~is_net]) / w0
    est = m1 - m0
    ss = float(wk[is_net] @ (dv[is_net] - m1) ** 2 + wk[~is_net] @ (dv[~is_net] - m0) ** 2)
    se = float(np.sqrt(ss / df * (1 / w1 + 1 / w0))) if df > 0 else np.nan
    q = float(stats.t.ppf(1 - alpha / 2, df)) if df > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        t_stat = est / se if se > 0 else np.nan
    p = float(2 * stats.t.sf(abs(t_stat), df)) if np.isfinite(t_stat) else np.nan
    cells = cells.assign(kommune_weight=cells["kommune"].map(
        dict(zip(change.index, wk / wk.mean(), strict=True))))
    details: dict = {"cells": cells, "df": df, "t_stat": t_stat, "tau2": tau2,
                     "residual_variance": resid_var, "boot_p": np.nan,
                     "boot_ci": (np.nan, np.nan), "draws": 0, "weights": None}

    n_k = k1 + k0
    role_adj = "role-adjusted " if d["role"].nunique() > 1 else ""
    note = (f"two-step DiD on kommune × wave means (Donald & Lang 2007): {role_adj}mean "
            f"score per kommune and wave{' (WLS, weighted)' if weighted else ''}, then each "
            f"kommune's change {baseline} to {followup} compared between network and comparison "
            f"kommuner, weighted by precision (1 / (tau² + the change's sampling variance from "
            f"the respondents), tau² = {tau2:.3g} the variance of kommune × wave shocks in the "
            f"changes, by moments), t({df}) inference with df = kommuner - 2. Why: the network "
            f"varies by kommune and respondents of one kommune and wave share kommune × wave "
            f"shocks, so the kommune is the unit of inference; {n_k} kommuner ({k1} network, "
            f"{k0} comparison), {len(d)} scores ({int(d['post'].sum())} in {followup})")
    if dropped:
        note += (f"; {len(dropped)} kommune{'' if len(dropped) == 1 else 'r'} with scores in "
                 f"one wave only left out of stage 2 ({', '.join(dropped)})")
    few = n_k < FEW_CLUSTERS or k1 < FEW_TREATED_CLUSTERS
    if bootstrap and few and np.isfinite(t_stat):
        try:
            boot = wild_cluster_bootstrap(
                cells["mean"].to_numpy(float), (cells["post"] * cells["network"]).to_numpy(),
                cells["kommune"].to_numpy(), cells["post"].to_numpy(),
                cells["kommune"].to_numpy(), weights=cells["kommune_weight"].to_numpy(float),
                draws=int(bootstrap), seed=seed, alpha=alpha)
        except AnalysisError:
            boot = None
        if boot is not None:
            details.update({k: boot[k] for k in ("boot_p", "boot_ci", "draws", "weights")})
            lo, hi = boot["boot_ci"]
            kind = "Webb" if boot["weights"] == "webb" else "Rademacher"
            note += (f"; check, restricted wild cluster bootstrap on the weighted kommune × "
                     f"wave means (WCR, {kind} weights, {boot['draws']} draws, kommune clusters): "
                     f"p={boot['boot_p']:.3f}, CI [{lo:.4g}, {hi:.4g}]"
                     + (" (conservative with 2 or fewer network kommuner)" if k1 <= 2 else ""))
    effect = Effect(
        source="survey", outcome=outcome, contrast=contrast, estimator=DID_ESTIMATOR,
        estimate=est, se=se, ci_low=est - q * se, ci_high=est + q * se, p_value=p,
        n_treated=k1, n_control=k0, n_obs=len(d), note=note,
    )
    return (effect, details) if return_details else effect


def network_effects(
    scores: pd.DataFrame, study, *, alpha: float = 0.05, weighted: bool = False
) -> list[Effect]:
    """:func:`network_effect` for every scale × follow-up wave (against the baseline wave),
    with ``p_adjusted`` by Holm across them (the study's family for this contrast)."""
    by_scale = scores_by_scale(scores)
    effects = [
        network_effect(by_scale.get(scale, scores.iloc[0:0]), scale, study, followup=fu,
                       alpha=alpha, weighted=weighted)
        for scale in study.survey.scales
        for fu in study.followup_waves
    ]
    return adjust_p(effects, "holm")
