"""Survey analyses: scale scores and baseline vs follow-up differences.

Scores follow the study's scale definitions (items, reverse-coded items, response range). The
wave difference is Welch's t-test (scipy) with Hedges' g (pingouin); see Welch (1947),
Hedges (1981).

``pre_post`` chooses a paired analysis (panel respondents) or independent samples, with
Hedges' g_av / g and their CIs (Lakens 2013; Cumming 2012; Hedges & Olkin 1985);
``adjust_p`` (from :mod:`.multiplicity`) adjusts p-values across a family of Effects (Holm
1979; Benjamini & Hochberg 1995); ``network_effect`` is the network-vs-comparison
difference-in-differences on a scale, with inference at the kommune level: the two-step
estimator on role-adjusted kommune × wave means, precision-weighted, with t(K - 2) (Donald &
Lang 2007; Wooldridge 2010, ch. 20) and a restricted wild cluster bootstrap check (MacKinnon &
Webb 2017).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from ..study import Scale
from .did import FEW_CLUSTERS, FEW_TREATED_CLUSTERS, wild_cluster_bootstrap
from .effects import Effect, insufficient_effect
from .multiplicity import adjust_p  # noqa: F401  (its home is .multiplicity; kept importable here)

SCORE_COLUMNS = [
    "respondent_id", "wave", "kommune", "role", "scale", "score", "n_items", "n_answered",
]


def reverse_coded(
    answers: pd.DataFrame, name: str, scale: Scale, keys: list[str]
) -> pd.DataFrame:
    """The answers (``keys`` + item, value) to the items of one scale, reverse-coded items as
    ``low + high - value``; an answer outside the scale's range is an error."""
    lo, hi = scale.range
    sub = answers.loc[answers["item"].isin(scale.items), keys + ["item", "value"]].copy()
    sub["value"] = pd.to_numeric(sub["value"], errors="coerce").astype(float)
    bad = sub["value"].notna() & ~sub["value"].between(lo, hi)
    if bad.any():
        row = sub[bad].iloc[0]
        where = ", ".join(f"{k} {row[k]}" for k in keys if k in ("respondent_id", "wave"))
        raise AnalysisError(
            f"scale {name}: item {row['item']} has value {row['value']:g} outside the range "
            f"{lo}-{hi} ({where})"
        )
    rev = sub["item"].isin(scale.reverse)
    sub.loc[rev, "value"] = lo + hi - sub.loc[rev, "value"]
    return sub


def score_scales(
    answers: pd.DataFrame, scales: dict[str, Scale], min_share: float | None = None
) -> pd.DataFrame:
    """One score per respondent × wave × scale: the mean of the answered items after reverse
    coding (``low + high - value``), kept when at least ``min_share`` (default: the scale's
    ``min_share_answered``, 0.5) of the items are answered; otherwise the score is NaN.
    """
    keys = ["respondent_id", "wave", "kommune", "role"]
    frames = []
    for name, scale in scales.items():
        sub = reverse_coded(answers, name, scale, keys)
        g = sub.groupby(keys, dropna=False, observed=True)["value"]
        agg = pd.DataFrame({"score": g.mean(), "n_answered": g.count()}).reset_index()
        agg["n_items"] = len(scale.items)
        share = min_share if min_share is not None else scale.min_share_answered
        agg.loc[agg["n_answered"] < share * len(scale.items), "score"] = np.nan
        agg["scale"] = name
        frames.append(agg)
    if not frames:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[SCORE_COLUMNS]
    out["n_items"] = out["n_items"].astype("int64")
    out["n_answered"] = out["n_answered"].astype("int64")
    return out


def wave_difference(
    scores: pd.DataFrame,
    scale: str,
    baseline: str,
    followup: str,
    *,
    group: str = "all",
    alpha: float = 0.05,
) -> Effect:
    """Follow-up minus baseline mean score of one scale, as independent samples: Welch's t-test,
    its (1 - alpha) CI for the mean difference, and Hedges' g (bias-corrected standardized mean
    difference, pooled SD).

    Respondents who answered both waves are counted in the note; a paired analysis of that
    panel belongs to ``pre_post``.
    """
    s = scores[(scores["scale"] == scale)].dropna(subset=["score"])
    fu, bl = s["wave"] == followup, s["wave"] == baseline
    return welch_difference(
        s.loc[fu, "score"].to_numpy(float), s.loc[bl, "score"].to_numpy(float),
        s.loc[fu, "respondent_id"].unique(), s.loc[bl, "respondent_id"].unique(),
        scale, baseline, followup, group=group, alpha=alpha)


def welch_difference(
    x: np.ndarray,
    y: np.ndarray,
    ids_x,
    ids_y,
    scale: str,
    baseline: str,
    followup: str,
    *,
    group: str = "all",
    alpha: float = 0.05,
) -> Effect:
    """:func:`wave_difference` from the follow-up scores ``x`` and baseline scores ``y``
    (without missing values) and the distinct respondent ids of each wave: for callers that
    split the scores by wave once and compare several follow-ups with one baseline."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 2 or len(y) < 2:
        raise AnalysisError(
            f"scale {scale} ({group}): need at least 2 scores in each of {baseline} and "
            f"{followup}, got {len(y)} and {len(x)}"
        )
    res = stats.ttest_ind(x, y, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    diff = float(x.mean() - y.mean())
    se = float(diff / res.statistic) if res.statistic != 0 else float(
        np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    )
    import pingouin as pg  # imported on use: ~1 s per process

    g = float(pg.compute_effsize(x, y, paired=False, eftype="hedges"))
    both = pd.Index(ids_x).intersection(pd.Index(ids_y))
    return Effect(
        source="survey",
        outcome=scale,
        contrast=f"{followup} - {baseline}",
        group=group,
        estimator="Welch t-test (independent samples)",
        estimate=diff,
        se=se,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        p_value=float(res.pvalue),
        effect_size=g,
        effect_size_kind="hedges_g",
        n_treated=len(x),
        n_control=len(y),
        n_obs=len(x) + len(y),
        note=f"{len(both)} respondents answered both waves; treated as independent samples",
    )


def wave_differences(scores: pd.DataFrame, study) -> list[Effect]:
    """Every scale × follow-up wave, for network and comparison kommuner separately."""
    effects = []
    base = study.baseline_wave
    groups = {"network": set(study.network), "comparison": set(study.comparison)}
    for scale in study.survey.scales:
        for fu in study.followup_waves:
            for gname, codes in groups.items():
                sub = scores[scores["kommune"].isin(codes)]
                if sub.empty:
                    continue
                effects.append(wave_difference(sub, scale, base, fu, group=gname))
    return effects


def scale_summary(scores: pd.DataFrame, study, alpha: float = 0.05) -> pd.DataFrame:
    """Mean score per scale × wave × group (network / comparison) with a t-based CI and n."""
    s = scores.dropna(subset=["score"]).copy()
    s["group"] = np.where(s["kommune"].isin(list(study.network)), "network", "comparison")
    g = s.groupby(["scale", "wave", "group"], observed=True)["score"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    half = stats.t.ppf(1 - alpha / 2, out["n"] - 1) * out["sd"] / np.sqrt(out["n"])
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    order = {w: i for i, w in enumerate(study.wave_ids)}
    out = out.sort_values(
        ["scale", "group", "wave"], key=lambda c: c.map(order) if c.name == "wave" else c
    )
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Pre/post effects with a choice of paired or independent analysis, multiplicity adjustment,
# and the network-vs-comparison difference-in-differences on a survey scale.

#: default smallest number of pairs for ``pre_post(paired="auto")`` to use the paired analysis
MIN_PAIRS = 10
#: the estimator of :func:`network_effect` (the Effect's ``estimator``)
DID_ESTIMATOR = "two-step DiD on kommune × wave means, t(K - 2)"
#: wild cluster bootstrap draws of :func:`network_effect`'s check
BOOTSTRAP_DRAWS = 9999


def _hedges_j(df: float) -> float:
    """Hedges' small-sample correction J(df) = 1 - 3 / (4 df - 1) (Hedges 1981; Borenstein et
    al. 2009, p. 27): df = n1 + n2 - 2 for two independent groups, n - 1 for n pairs."""
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def _nct_limits(t_obs: float, df: float, alpha: float) -> tuple[float, float]:
    """(1 - alpha) CI for the noncentrality parameter lambda of a t statistic: the lambdas for
    which the observed t is the upper / lower alpha/2 quantile of t(df, lambda)
    (Steiger & Fouladi 1997; Cumming & Finch 2001)."""
    from scipy.optimize import brentq

    def limit(target: float) -> float:
        # nct.cdf(t_obs; df, lambda) falls monotonically in lambda: bracket, then solve
        def f(lam: float) -> float:
            return float(stats.nct.cdf(t_obs, df, lam)) - target

        # lambda's large-sample SD is about s = sqrt(1 + t^2 / (2 df)): widen the bracket in
        # steps of s (far out in the tails scipy's nct.cdf can return NaN)
        s = np.sqrt(1 + t_obs**2 / (2 * df))
        k_lo = k_hi = 3
        while f(t_obs - k_lo * s) < 0 and k_lo < 40:
            k_lo += 1
        while f(t_obs + k_hi * s) > 0 and k_hi < 40:
            k_hi += 1
        return float(brentq(f, t_obs - k_lo * s, t_obs + k_hi * s, xtol=1e-12, rtol=1e-12))

    return limit(1 - alpha / 2), limit(alpha / 2)


def hedges_g(x, y, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Hedges' g of ``x`` minus ``y`` (independent samples) and its (1 - alpha) CI.

    g = (mean x - mean y) / pooled SD × J(n1 + n2 - 2) (Hedges 1981). CI: the Hedges & Olkin
    (1985, p. 86) large-sample SE sqrt((n1 + n2) / (n1 n2) + g² / (2 (n1 + n2))) with a
    t(n1 + n2 - 2) quantile -- the interval ``pingouin.compute_esci`` gives.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n1, n2 = len(x), len(y)
    sp = np.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    if not sp > 0:
        return float("nan"), float("nan"), float("nan")
    g = float((x.mean() - y.mean()) / sp * _hedges_j(n1 + n2 - 2))
    se = np.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))
    q = stats.t.ppf(1 - alpha / 2, n1 + n2 - 2)
    return g, float(g - q * se), float(g + q * se)


def hedges_g_av(followup, baseline, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Hedges' g_av of paired scores (``followup[i]`` and ``baseline[i]`` from one respondent)
    and its (1 - alpha) CI.

    g_av = mean difference / ((SD_followup + SD_baseline) / 2) × J(n - 1): Lakens (2013)'s
    d_av with Hedges' correction, df = n - 1 for n pairs (Borenstein et al. 2009, p. 27).
    CI: the noncentral-t CI of lambda = delta_z sqrt(n) from the paired t statistic, rescaled
    to the SD_av metric by sd_diff / (SD_av sqrt(n)) with that ratio treated as known, then
    times J (Algina & Keselman 2003; Cumming 2012, ch. 11: the approximate interval of ESCI).
    """
    x = np.asarray(followup, float)
    y = np.asarray(baseline, float)
    n = len(x)
    d = x - y
    s_av = (x.std(ddof=1) + y.std(ddof=1)) / 2
    if not s_av > 0:
        return float("nan"), float("nan"), float("nan")
    j = _hedges_j(n - 1)
    g = float(d.mean() / s_av * j)
    sd_d = d.std(ddof=1)
    if not sd_d > 0:
        return g, float("nan"), float("nan")
    t_obs = d.mean() / (sd_d / np.sqrt(n))
    lam_lo, lam_hi = _nct_limits(float(t_obs), n - 1, alpha)
    scale = sd_d / (s_av * np.sqrt(n)) * j
    return g, float(lam_lo * scale), float(lam_hi * scale)


def wilcoxon_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired ``x``, ``y``: exactly
    ``scipy.stats.wilcoxon(x, y).pvalue`` (zeros dropped, method "auto"), faster.

    For 13 pairs or fewer with ties or zero differences scipy's "auto" runs an exact
    permutation test over all 2^n sign flips, calling its statistic once per flip (about a
    second per call; a study has one per kommune × scale × wave pair). Here the same
    ``scipy.stats.permutation_test`` gets a vectorised statistic: the signed-rank sum r+
    with the ranks of |d|, which sign flips do not change. Every other case goes to
    ``scipy.stats.wilcoxon`` itself.
    """
    d = np.asarray(x, float) - np.asarray(y, float)
    nonzero = d[d != 0]
    if len(nonzero) == 0:
        raise ValueError("every difference is zero")
    ties = len(np.unique(np.abs(nonzero))) < len(nonzero)
    if len(d) > 13 or not (ties or len(nonzero) < len(d)):
        return float(stats.wilcoxon(x, y).pvalue)
    ranks = np.full(len(d), 0.0)
    ranks[d != 0] = stats.rankdata(np.abs(nonzero))

    def r_plus(flipped: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sum((flipped > 0) * ranks, axis=axis)

    res = stats.permutation_test((d,), r_plus, permutation_type="samples", vectorized=True,
                                 alternative="two-sided", axis=-1)
    return float(res.pvalue)


def _paired_effect(
    x: pd.Series, y: pd.Series, *, outcome: str, contrast: str, group: str, alpha: float,
    unpaired: tuple[int, int],
) -> Effect:
    """Paired analysis of follow-up ``x`` and baseline ``y`` (indexed by respondent_id)."""
    ids = x.index.intersection(y.index)
    xf = x.loc[ids].to_numpy(float)
    yb = y.loc[ids].to_numpy(float)
    n = len(ids)
    d = xf - yb
    diff = float(d.mean())
    sd_d = float(d.std(ddof=1))
    se = sd_d / np.sqrt(n)
    res = stats.ttest_rel(xf, yb)
    ci = res.confidence_interval(1 - alpha)
    try:
        w_p = wilcoxon_p(xf, yb)
    except ValueError:  # every difference is zero
        w_p = float("nan")
    g, g_lo, g_hi = hedges_g_av(xf, yb, alpha=alpha)
    only_base, only_fu = unpaired
    note = (
        f"paired on {n} respondents who answered both waves; left out as unpaired: "
        f"{only_base} baseline-only and {only_fu} follow-up-only respondents; "
        f"Wilcoxon signed-rank p={w_p:.3g}; "
        f"hedges_g_av {1 - alpha:.0%} CI {g_lo:.4g} to {g_hi:.4g} (noncentral t, approximate)"
    )
    return Effect(
        source="survey",
        outcome=outcome,
        contrast=contrast,
        group=group,
        estimator=f"paired t-test ({n} pairs)",
        estimate=diff,
        se=float(se),
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        p_value=float(res.pvalue),
        effect_size=float(g),
        effect_size_kind="hedges_g_av",
        n_treated=n,
        n_control=n,
        n_obs=2 * n,
        note=note,
    )


def _independent_effect(
    x: pd.Series, y: pd.Series, *, outcome: str, contrast: str, group: str, alpha: float,
    reason: str,
) -> Effect:
    """Welch analysis of follow-up ``x`` vs baseline ``y`` as independent samples."""
    xf = x.to_numpy(float)
    yb = y.to_numpy(float)
    n1, n2 = len(xf), len(yb)
    res = stats.ttest_ind(xf, yb, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    diff = float(xf.mean() - yb.mean())
    se = float(np.sqrt(xf.var(ddof=1) / n1 + yb.var(ddof=1) / n2))
    mw_p = float(stats.mannwhitneyu(xf, yb, alternative="two-sided").pvalue)
    g, g_lo, g_hi = hedges_g(xf, yb, alpha=alpha)
    both = len(x.index.intersection(y.index))
    note = (
        f"{both} respondents answered both waves; treated as independent samples ({reason}); "
        f"Mann-Whitney U p={mw_p:.3g}; "
        f"hedges_g {1 - alpha:.0%} CI {g_lo:.4g} to {g_hi:.4g} "
        f"(Hedges & Olkin normal approximation)"
    )
    return Effect(
        source="survey",
        outcome=outcome,
        contrast=contrast,
        group=group,
        estimator="Welch t-test (independent samples)",
        estimate=diff,
        se=se,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        p_value=float(res.pvalue),
        effect_size=float(g),
        effect_size_kind="hedges_g",
        n_treated=n1,
        n_control=n2,
        n_obs=n1 + n2,
        note=note,
    )


def _pre_post_one(
    s: pd.DataFrame, outcome: str, baseline: str, followup: str, group: str, *, alpha: float,
    paired: bool | str, min_pairs: int, strict: bool,
) -> Effect:
    contrast = f"{followup} - {baseline}"
    waves = {}
    for w in (baseline, followup):
        sub = s[s["wave"] == w]
        dup = sub["respondent_id"][sub["respondent_id"].duplicated()]
        if len(dup):
            raise AnalysisError(
                f"scale {outcome} ({group}): respondent {dup.iloc[0]} has more than one score "
                f"in wave {w}"
            )
        waves[w] = pd.Series(sub["score"].to_numpy(float), index=sub["respondent_id"].to_numpy())
    x, y = waves[followup], waves[baseline]
    if len(x) < 2 or len(y) < 2:
        msg = (f"scale {outcome} ({group}): need at least 2 scores in each of {baseline} and "
               f"{followup}, got {len(y)} and {len(x)}")
        if strict:
            raise AnalysisError(msg)
        return Effect(
            source="survey", outcome=outcome, contrast=contrast, group=group,
            estimator="not estimated", estimate=float("nan"), n_treated=len(x),
            n_control=len(y), n_obs=len(x) + len(y), note=msg,
        )
    n_pairs = len(x.index.intersection(y.index))
    if paired is True and n_pairs < 2:
        raise AnalysisError(
            f"scale {outcome} ({group}): paired=True but only {n_pairs} respondents answered "
            f"both {baseline} and {followup}"
        )
    use_pairs = paired is True or (paired == "auto" and n_pairs >= min_pairs)
    if use_pairs:
        unpaired = (len(y) - n_pairs, len(x) - n_pairs)
        return _paired_effect(x, y, outcome=outcome, contrast=contrast, group=group,
                              alpha=alpha, unpaired=unpaired)
    reason = ("paired=False" if paired is False
              else f"{n_pairs} pairs, fewer than min_pairs={min_pairs}")
    return _independent_effect(x, y, outcome=outcome, contrast=contrast, group=group,
                               alpha=alpha, reason=reason)


def pre_post(
    scores: pd.DataFrame,
    outcome: str,
    baseline: str,
    followup: str,
    by: str | None = None,
    *,
    alpha: float = 0.05,
    paired: bool | str = "auto",
    min_pairs: int = MIN_PAIRS,
) -> list[Effect]:
    """Follow-up minus baseline on scale ``outcome``: paired when the waves share respondents,
    independent samples otherwise.

    **Paired** (``estimator`` ``"paired t-test (n pairs)"``, ``effect_size_kind``
    ``"hedges_g_av"``), on the respondents with a score in both waves: mean difference with its
    t(n - 1) CI and the paired t-test (``scipy.stats.ttest_rel``); the Wilcoxon signed-rank
    p-value (``scipy.stats.wilcoxon``, zero differences dropped) in the note; Hedges' g_av =
    mean difference / ((SD_baseline + SD_followup) / 2) × J(n - 1) (Lakens 2013, d_av with
    Hedges' correction J(df) = 1 - 3/(4 df - 1)). Its CI (in the note; see
    :func:`hedges_g_av`) inverts the noncentral t of the paired t statistic and rescales it
    by sd_diff / s_av, treating that ratio as known (Algina & Keselman 2003; Cumming 2012,
    ch. 11) -- approximate. n_treated = n_control = n pairs, n_obs = 2 × n pairs (scores used).

    **Independent** (``"Welch t-test (independent samples)"``, ``"hedges_g"``): Welch's
    t-test and CI (``scipy.stats.ttest_ind(equal_var=False)``), the Mann-Whitney U p-value in
    the note, Hedges' g with the pooled SD and J(n1 + n2 - 2); its CI is the Hedges & Olkin
    (1985) normal approximation with a t(n1 + n2 - 2) quantile, as ``pingouin.compute_esci``
    (in the note; see :func:`hedges_g`).
    n_treated / n_control = n follow-up / n baseline.

    ``paired``: ``"auto"`` (default) uses the paired analysis when at least ``min_pairs``
    respondent_ids have a score in both waves, even when fresh respondents were added (a panel
    subset plus a new sample): the pairs are analysed and the note counts the unpaired
    respondents left out. Auto prefers the pairs because (a) within-person change removes
    stable person differences, so a changed mix of respondents (roles, attrition) cannot fake
    a change, and (b) the two waves are then not independent samples, so Welch's SE would be
    wrong. The price is a smaller n and a panel that may not represent everyone;
    ``paired=False`` forces the independent analysis on every score (the note counts the
    respondents in both waves, whose correlation it ignores -- with positively correlated
    answers the Welch SE is then conservative). ``paired=True`` forces pairs (at least 2).

    ``by=None`` gives one Effect on all scores (group ``"all"``); ``by="kommune"`` (or another
    column) gives one Effect per value (group = the value) after the pooled one; pairing is
    within a group, so a respondent who changed kommune is unpaired there. A group with fewer
    than 2 scores in a wave gets an Effect with a NaN estimate saying so; the pooled analysis
    raises ``AnalysisError`` instead. With ``"auto"`` each group chooses for itself.
    """
    if paired not in ("auto", True, False):
        raise ValueError(f"pre_post: paired={paired!r}; use 'auto', True or False")
    s = scores[scores["scale"] == outcome].dropna(subset=["score"])
    s = s[s["wave"].isin([baseline, followup])]
    kw = dict(alpha=alpha, paired=paired, min_pairs=min_pairs)
    effects = [_pre_post_one(s, outcome, baseline, followup, "all", strict=True, **kw)]
    if by is not None:
        if by not in s.columns:
            raise AnalysisError(f"pre_post: no column {by!r} in the scores")
        rows = s.groupby(by, sort=False, dropna=True, observed=True).indices  # split once
        for value in sorted(rows, key=str):
            effects.append(_pre_post_one(s.iloc[rows[value]], outcome, baseline, followup,
                                         str(value), strict=False, **kw))
    return effects


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
    wc = np.bincount(codes, weights=w, minlength=len(uniq))
    M = np.column_stack([d["score"].to_numpy(float), _role_dummies(d).to_numpy(float)])
    means = np.column_stack([np.bincount(codes, weights=w * M[:, j], minlength=len(uniq))
                             for j in range(M.shape[1])])
    means = np.divide(means, wc[:, None], out=np.zeros_like(means), where=wc[:, None] > 0)
    Mt = M - means[codes]
    rank = 0
    if M.shape[1] > 1:
        sw = np.sqrt(w)
        coef, _, rank, _ = np.linalg.lstsq(sw[:, None] * Mt[:, 1:], sw * Mt[:, 0], rcond=None)
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
    wild cluster bootstrap (WCR, :func:`~.did.wild_cluster_bootstrap`: kommune clusters, Webb
    weights below 12 kommuner, ``bootstrap`` draws, ``seed``) on the stage-2 cell means, with
    the stage-2 weights, is
    added to the note, p-value and CI by test inversion. It is not the primary inference: with
    very few network kommuner it is conservative (size about 2 % with 2 of 8 in the simulation; its
    CI may be unbounded; MacKinnon & Webb 2017).

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
    by_scale = _by_scale(scores)
    effects = [
        network_effect(by_scale.get(scale, scores.iloc[0:0]), scale, study, followup=fu,
                       alpha=alpha, weighted=weighted)
        for scale in study.survey.scales
        for fu in study.followup_waves
    ]
    return adjust_p(effects, "holm")


def _by_scale(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The scores split by scale once (each analysis of a scale then filters its own rows,
    not the whole table: a national study has 2.5 million scores, 6 scales × 4 follow-ups)."""
    if scores.empty:
        return {}
    return {str(k): v for k, v in scores.groupby(scores["scale"].astype(str), sort=False)}


def survey_effects(scores: pd.DataFrame, study, *, alpha: float = 0.05,
                   cache_dir: Path | str | None = None) -> list[Effect]:
    """Every survey Effect of a study, as the report shows them:

    - baseline → each follow-up (:func:`pre_post`) in the network kommuner, pooled (group
      ``network``) and per kommune, and in the comparison kommuner pooled (group
      ``comparison``); Holm-adjusted p-values across the pooled network outcomes (every scale ×
      follow-up), since those are the study's family of survey outcomes;
    - network vs comparison (:func:`network_effects`, the two-step DiD on kommune × wave
      means), once as
      answered and once with follow-up waves reweighted to the baseline role mix
      (post-stratification), so a change in who answered can be told from a change in answers.

    Each scale × follow-up contrast is computed from the scores of its two waves only (with
    their post-stratification weights). ``cache_dir``: the contrasts are kept there
    (:class:`~evaluation_pipeline.content_cache.DiskCache`) by a digest of those scores, of
    what the two waves' weights are computed from (:func:`_contrast_keys`), the study's
    kommuner and network, ``alpha`` and the analysis code, and taken from there when nothing
    of that changed -- when a new wave arrives only its own contrasts (and its weights) are
    computed.
    The Holm adjustments run on every call, over the whole family.
    """
    from .composition import poststratification_weights, study_groups

    base = study.baseline_wave
    groups = study_groups(study)
    cache = _contrast_cache(cache_dir, study, alpha)
    keys = _contrast_keys(scores, study, cache)
    weighted: dict[str, dict[str, pd.DataFrame]] = {}

    def pair(scale: str, fu: str) -> pd.DataFrame:
        # a follow-up wave's post-stratification weights depend on the rows of the baseline
        # and that wave only (poststratification_weights), so they are computed per
        # follow-up, and only for a follow-up with a contrast not in the cache
        if fu not in weighted:
            both = scores[scores["wave"].isin([base, fu])]
            w = poststratification_weights(both, base, ("role",), groups=groups)
            weighted[fu] = _by_scale(both.assign(weight=w))
        sc = weighted[fu].get(scale)
        return sc if sc is not None else \
            scores.iloc[0:0].assign(weight=pd.Series(dtype=float))

    parts = []
    for scale in study.survey.scales:
        for fu in study.followup_waves:
            key = keys.get((scale, fu)) if keys else None
            kept = cache[0].get(key, tuple) if key else None
            if kept is None:
                kept = _contrast(pair(scale, fu), scale, fu, study, alpha)
                if key:
                    cache[0].put(key, kept)
            parts.append(kept)
    pooled = [e for p in parts for e in p[0]]
    per_kommune = [e for p in parts for e in p[1]]
    comp = [e for p in parts for e in p[2]]
    out = adjust_p(pooled, "holm") + adjust_p(comp, "holm") + per_kommune
    out += adjust_p([p[3] for p in parts], "holm")
    out += [
        replace(e, estimator=f"{e.estimator}, reweighted to the baseline role mix",
                note=f"post-stratified to the baseline role mix within network and comparison; "
                     f"{e.note}")
        for e in adjust_p([p[4] for p in parts], "holm")
    ]
    return out


#: one contrast's Effects before the Holm adjustments: network pooled, network per kommune,
#: comparison pooled, network vs comparison as answered, and reweighted
_Contrast = tuple[list[Effect], list[Effect], list[Effect], Effect, Effect]


def _survey_where(study, scale: str, waves: list[str]) -> str:
    """``survey:<scale> (<wave> <file>, ...)``: how a reason names the scale and its files."""
    files = []
    for w in waves:
        try:
            files.append(f"{w} {study.wave_file(w).name}")
        except Exception:  # noqa: BLE001 - the file is named when it can be found
            files.append(w)
    return f"survey:{scale} ({', '.join(files)})"


def _contrast(pair: pd.DataFrame, scale: str, fu: str, study, alpha: float) -> _Contrast:
    """The Effects of one scale × follow-up contrast from the scores of its two waves.

    A part that cannot be estimated (no answers to the scale in a wave, too few respondents,
    no comparison kommune, no variation, ...) is an Effect row without an estimate whose note
    says ``insufficient data: survey:<scale> (<waves and files>): <what is missing>``; the
    other parts (and the other scales and waves) are estimated as usual."""
    network, comparison = set(study.network), set(study.comparison)
    base = study.baseline_wave
    where = _survey_where(study, scale, [base, fu])
    prepost = f"{fu} - {base}"

    def missing(contrast: str, estimator: str, err: Exception, group: str = "all") -> Effect:
        return insufficient_effect("survey", scale, contrast, estimator, f"{where}: {err}",
                                   group=group, n_obs=len(pair))

    net = pair[pair["kommune"].isin(network)]
    try:
        effs = pre_post(net, scale, base, fu, by="kommune", alpha=alpha)
    except (AnalysisError, np.linalg.LinAlgError) as err:
        effs = [missing(prepost, "pre/post", err)]
    pooled = [replace(e, group="network") for e in effs if e.group == "all"]
    per_kommune = [e for e in effs if e.group != "all"]
    cmp_scores = pair[pair["kommune"].isin(comparison)]
    try:
        comp = ([replace(e, group="comparison")
                 for e in pre_post(cmp_scores, scale, base, fu, alpha=alpha)]
                if len(cmp_scores) else [])
    except (AnalysisError, np.linalg.LinAlgError) as err:
        comp = [missing(prepost, "pre/post", err, group="comparison")]
    did = f"{prepost}, network - comparison"
    out = []
    for weighted in (False, True):
        try:
            out.append(network_effect(pair, scale, study, followup=fu, alpha=alpha,
                                      weighted=weighted))
        except (AnalysisError, np.linalg.LinAlgError) as err:
            out.append(missing(did, "network vs comparison", err))
    return (pooled, per_kommune, comp, out[0], out[1])


def _contrast_cache(cache_dir, study, alpha: float):
    """(cache, digest of everything but the scores a contrast depends on), or None."""
    if cache_dir is None:
        return None
    import json
    import sys

    from .. import content_cache
    from . import composition, did, effects

    h = hashlib.sha256(content_cache.source_digest(
        sys.modules[__name__], composition, did, effects,
        packages=("numpy", "pandas", "scipy", "statsmodels", "pingouin")))
    h.update(json.dumps({
        "network": {str(k): v for k, v in study.network.items()},
        "comparison": sorted(map(str, study.comparison)),
        "kommuner": sorted(map(str, study.kommuner)), "baseline": study.baseline_wave,
        "alpha": alpha, "min_pairs": MIN_PAIRS, "bootstrap_draws": BOOTSTRAP_DRAWS,
    }, sort_keys=True, default=str).encode())
    # every contrast of a study is kept: 6 scales × 4 follow-ups use 24 files
    keep = 4 * max(1, len(study.survey.scales) * len(study.followup_waves))
    return content_cache.DiskCache(cache_dir, "survey-contrast", keep=keep), h.digest()


def _contrast_keys(scores: pd.DataFrame, study, cache) -> dict[tuple[str, str], str] | None:
    """The cache key of each scale × follow-up contrast, or None without a cache (or when
    pandas cannot hash the cells): a digest of the settings (:func:`_contrast_cache`), of the
    scale's rows in the baseline and the follow-up, and of what the post-stratification
    weights of those two waves are computed from (every scale's respondent, kommune and role
    columns of the two waves). Each wave is hashed once, not once per contrast."""
    if cache is None:
        return None
    from ..content_cache import frame_digest

    _disk, settings = cache
    base = study.baseline_wave
    waves = [base, *study.followup_waves]
    sub = scores[scores["wave"].isin(waves)]
    # (a missing column is the weights' error to report, when the contrast is computed)
    weight_cols = [c for c in ("respondent_id", "wave", "kommune", "role") if c in sub]
    try:
        rows, cells = {}, {}
        for w, part in sub.groupby(sub["wave"].astype(str), sort=False):
            cells[w] = frame_digest(part[weight_cols])
            for scale, sc in _by_scale(part).items():
                rows[(scale, w)] = frame_digest(sc)
    except TypeError:  # cells pandas cannot hash: compute every time
        return None
    none = b"(no rows)"
    return {
        (scale, fu): hashlib.sha256(
            settings + rows.get((scale, base), none) + rows.get((scale, fu), none)
            + cells.get(base, none) + cells.get(fu, none) + repr((scale, fu)).encode()
        ).hexdigest()
        for scale in study.survey.scales for fu in study.followup_waves
    }
