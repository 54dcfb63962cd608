"""Survey analyses: scale scores and baseline vs follow-up differences.

Scores follow the study's scale definitions (items, reverse-coded items, response range). The
wave difference is Welch's t-test (scipy) with Hedges' g (pingouin); see Welch (1947),
Hedges (1981).

``pre_post`` chooses a paired analysis (panel respondents) or independent samples, with
Hedges' g_av / g and their CIs (Lakens 2013; Cumming 2012; Hedges & Olkin 1985);
``adjust_p`` (from :mod:`.multiplicity`) adjusts p-values across a family of Effects (Holm
1979; Benjamini & Hochberg 1995); ``network_effect`` is the network-vs-comparison
difference-in-differences on a scale
(a mixed model with a random kommune intercept, or OLS with kommune fixed effects and
cluster-robust SEs; Cameron & Miller 2015).
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
#: fewer kommuner than this: ``network_effect`` uses OLS with kommune fixed effects (a random
#: intercept variance is poorly estimated from a handful of clusters)
MIN_KOMMUNER_MIXED = 10
#: a random intercept SD below this fraction of the residual SD counts as a singular fit (the
#: tolerance of lme4's ``isSingular``, Bates et al. 2015)
SINGULAR_TOL = 1e-4


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


def _fit_mixed(d: pd.DataFrame):
    """REML fit of score ~ post * network + C(role) + (1 | kommune) (see
    :func:`_random_intercept_reml`); returns (fit, problem) where ``problem`` is None or why the
    fit is not usable."""
    try:
        res, problems = _random_intercept_reml(_fixed_design(d), d["score"], d["kommune"])
    except np.linalg.LinAlgError as err:
        return None, f"the mixed model failed ({err})"
    var_re = float(np.asarray(res.cov_re)[0, 0])
    if not np.isfinite(var_re) or var_re <= 0 or np.sqrt(var_re / res.scale) < SINGULAR_TOL:
        problems.insert(0, f"the mixed model is singular: kommune random-intercept variance "
                           f"{var_re:.2g} is ~0")
    if not np.isfinite(res.bse["post:network"]):
        problems.append("the mixed model's Hessian is not positive definite (no SE)")
    return res, ("; ".join(problems) or None)


class _MixedFit:
    """The part of statsmodels' ``MixedLMResults`` that :func:`network_effect` reads (params,
    bse, pvalues, conf_int with normal inference, cov_re, scale, converged)."""

    def __init__(self, names: list[str], beta: np.ndarray, se: np.ndarray, var_re: float,
                 scale: float, converged: bool) -> None:
        self.params = pd.Series(beta, index=names)
        self.bse = pd.Series(se, index=names)
        self.cov_re = np.array([[var_re]])
        self.scale = scale
        self.converged = converged
        with np.errstate(divide="ignore", invalid="ignore"):
            self.pvalues = pd.Series(2 * stats.norm.sf(np.abs(beta / se)), index=names)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        q = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame({0: self.params - q * self.bse, 1: self.params + q * self.bse})


#: the relative kommune variance (tau2 / sigma2) is searched on a log grid over this range
#: before the final bounded search; the lower end counts as 0 (singular by SINGULAR_TOL)
_GAMMA_RANGE = (1e-12, 1e4)


def _random_intercept_reml(X: pd.DataFrame, y: pd.Series, groups: pd.Series
                           ) -> tuple[_MixedFit, list[str]]:
    """REML fit of the linear mixed model y = X·beta + u_kommune + e with one random intercept
    per group, from per-group sums; returns the fit and what makes it unusable (empty: fine).

    Why not statsmodels' ``MixedLM`` (the reference in the tests): it evaluates the likelihood
    group by group on the rows (about 10 s per fit at national size, 200,000 scores in 357
    kommuner, 15 fits per study). With a random intercept only, V_g = sigma2 (I + gamma 11')
    and V_g^-1 = (I - c_g 11') / sigma2 with c_g = gamma / (1 + n_g gamma), so X'V^-1X, X'V^-1y
    and y'V^-1y need only X'X, X'y, y'y and each group's n_g and column sums. The criterion is
    statsmodels' profile REML log-likelihood (sigma2 and beta profiled out)

        l(gamma) = -(N-p)/2 log Q - 1/2 sum_g log(1 + n_g gamma) - 1/2 log|X'H^-1X|,

    Q = r'H^-1r at the GLS beta, maximised over log gamma (a log grid, then Brent's bounded
    method); sigma2 = Q / (N - p). The SEs come, as in statsmodels, from the inverse of the
    analytic Hessian of the profile log-likelihood in (beta, gamma) (not the gamma-conditional
    sigma2 (X'H^-1X)^-1 of lme4). Problems mirror the warnings statsmodels gives: no interior
    optimum, a kommune variance below 0.01 (statsmodels' boundary warning), a Hessian that is
    not negative definite.
    """
    from scipy.optimize import minimize_scalar

    Xv = X.to_numpy(float)
    yv = np.asarray(y, float)
    codes, _ = pd.factorize(groups)
    G = int(codes.max()) + 1
    n = np.bincount(codes, minlength=G).astype(float)
    N, p = Xv.shape
    fac = N - p
    XX, Xy, yy = Xv.T @ Xv, Xv.T @ yv, float(yv @ yv)
    S = np.column_stack([np.bincount(codes, weights=Xv[:, j], minlength=G) for j in range(p)])
    Sy = np.bincount(codes, weights=yv, minlength=G)

    def gls(gamma: float):
        c = gamma / (1 + n * gamma)
        A = XX - (S * c[:, None]).T @ S
        b = Xy - S.T @ (c * Sy)
        beta = np.linalg.solve(A, b)
        return A, beta, yy - float(c @ Sy**2) - float(b @ beta)

    def neg_loglike(u: float) -> float:
        gamma = np.exp(u)
        A, _, Q = gls(gamma)
        sign, logdet = np.linalg.slogdet(A)
        if Q <= 0 or sign <= 0:
            return np.inf
        return 0.5 * (fac * np.log(Q) + np.log1p(n * gamma).sum() + logdet)

    grid = np.linspace(*np.log(_GAMMA_RANGE), 49)
    values = [neg_loglike(u) for u in grid]
    i = int(np.argmin(values))
    problems = []
    if i == len(grid) - 1 or not np.isfinite(values[i]):
        converged, u = False, grid[i]
    elif i == 0:  # the optimum is at gamma = 0 (or below the grid): singular
        converged, u = True, grid[0]
    else:
        opt = minimize_scalar(neg_loglike, bounds=(grid[i - 1], grid[i + 1]),
                              method="bounded", options={"xatol": 1e-10})
        converged, u = bool(opt.success), float(opt.x)
    gamma = float(np.exp(u))
    A, beta, Q = gls(gamma)
    scale = Q / fac
    var_re = gamma * scale
    # the Hessian of l in (beta, gamma) at the optimum (d l / d beta = 0 there)
    e = Sy - S @ beta
    c1 = 1 / (1 + n * gamma) ** 2  # d c_g / d gamma
    c2 = -2 * n / (1 + n * gamma) ** 3
    dQ, d2Q = -float(c1 @ e**2), -float(c2 @ e**2)
    A1, A2 = -(S * c1[:, None]).T @ S, -(S * c2[:, None]).T @ S
    Ai = np.linalg.inv(A)
    h_bb = -fac * A / Q
    h_bg = -fac * (S.T @ (c1 * e)) / Q
    h_gg = (-fac / 2 * (d2Q / Q - dQ**2 / Q**2) + 0.5 * float(np.sum(n**2 * c1))
            - 0.5 * (np.trace(Ai @ A2) - np.trace(Ai @ A1 @ Ai @ A1)))
    H = np.zeros((p + 1, p + 1))
    H[:p, :p], H[:p, p], H[p, :p], H[p, p] = h_bb, h_bg, h_bg, h_gg
    with np.errstate(invalid="ignore"):
        try:
            se = np.sqrt(np.diag(np.linalg.inv(-H)))[:p]
        except np.linalg.LinAlgError:
            se = np.full(p, np.nan)
    if not converged:
        problems.append("the mixed model did not converge (no interior REML optimum)")
    if var_re < 0.01:
        problems.append(f"the kommune intercept variance {var_re:.2g} is below 0.01: the "
                        "REML optimum may be on the boundary of the parameter space")
    if np.any(np.diag(H) >= 0):
        problems.append("the Hessian at the REML optimum is not negative definite")
    return _MixedFit(list(X.columns), beta, se, var_re, scale, converged), problems


def _role_dummies(d: pd.DataFrame) -> pd.DataFrame:
    """``C(role)`` as patsy codes it: one 0/1 column per role but the first in sorted order,
    named ``C(role)[T.<role>]``; no columns when every row has the same role."""
    levels = sorted(d["role"].unique())
    if len(levels) < 2:
        return pd.DataFrame(index=d.index)
    codes = pd.Categorical(d["role"], categories=levels).codes
    return pd.DataFrame({f"C(role)[T.{lev}]": (codes == i).astype(float)
                         for i, lev in enumerate(levels) if i > 0}, index=d.index)


def _fixed_design(d: pd.DataFrame) -> pd.DataFrame:
    """The fixed-effects design of ``score ~ post * network + C(role)`` (the columns patsy
    builds from that formula), built directly: patsy spends over a second per fit checking a
    national survey's role strings one by one for missing values."""
    return pd.concat([
        pd.DataFrame({"Intercept": 1.0}, index=d.index), _role_dummies(d),
        d[["post", "network"]], (d["post"] * d["network"]).rename("post:network"),
    ], axis=1)


class _ClusteredFit:
    """The part of a statsmodels results object :func:`_interaction_effect` reads (params,
    bse, pvalues, conf_int) for :func:`_fit_ols_fe`: t(``df``) inference."""

    def __init__(self, names: list[str], beta: np.ndarray, se: np.ndarray, df: int) -> None:
        self.params = pd.Series(beta, index=names)
        self.bse = pd.Series(se, index=names)
        self.df = df
        with np.errstate(divide="ignore", invalid="ignore"):
            self.pvalues = pd.Series(2 * stats.t.sf(np.abs(beta / se), df), index=names)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        q = stats.t.ppf(1 - alpha / 2, self.df)
        return pd.DataFrame({0: self.params - q * self.bse, 1: self.params + q * self.bse})


def _fit_ols_fe(d: pd.DataFrame, weighted: bool) -> _ClusteredFit:
    """OLS (WLS with weights) of score ~ post + post:network + C(role) + C(kommune), with
    kommune-clustered CR1 SEs and t(G - 1) inference. ``network`` is constant within kommune,
    so the kommune fixed effects absorb it.

    Computed by Frisch–Waugh–Lovell: the kommune means (weighted) are subtracted from the score
    and the regressors, and the slopes come from the demeaned data; the CR1 factor
    G/(G-1)·(N-1)/(N-K) counts K as the columns of the dummy design statsmodels would fit
    (constant, regressors, kommuner - 1). Equal to ``smf.ols``/``smf.wls`` on that formula with
    ``cov_type="cluster"`` (tests), without its N × kommuner dummy matrix: at national scale
    (200,000 scores, 357 kommuner) that matrix is 570 MB and its QR a minute per fit.
    """
    X = pd.concat([d[["post"]], (d["post"] * d["network"]).rename("post:network"),
                   _role_dummies(d)], axis=1)
    names = list(X.columns)
    g = pd.factorize(d["kommune"])[0]
    w = d["weight"].to_numpy(float) if weighted else np.ones(len(d))
    M = np.column_stack([d["score"].to_numpy(float), X.to_numpy(float)])
    wg = np.bincount(g, weights=w)
    for j in range(M.shape[1]):  # one-way fixed effects: one pass of weighted demeaning
        sums = np.bincount(g, weights=w * M[:, j])
        # a kommune whose weights are all 0 carries no weight in the fit: its mean is moot
        M[:, j] -= np.divide(sums, wg, out=np.zeros_like(sums), where=wg > 0)[g]
    yt, Xt = M[:, 0], M[:, 1:]
    A_inv = np.linalg.pinv(Xt.T @ (w[:, None] * Xt))
    beta = A_inv @ (Xt.T @ (w * yt))
    e = yt - Xt @ beta
    n, G = len(yt), int(g.max()) + 1
    k = 1 + len(names) + (G - 1)
    scores = np.column_stack([np.bincount(g, weights=w * e * Xt[:, j], minlength=G)
                              for j in range(Xt.shape[1])])
    V = G / (G - 1) * (n - 1) / (n - k) * (A_inv @ (scores.T @ scores) @ A_inv)
    return _ClusteredFit(names, beta, np.sqrt(np.diag(V)), G - 1)


def network_effect(
    scores: pd.DataFrame,
    outcome: str,
    study,
    *,
    baseline: str | None = None,
    followup: str | None = None,
    alpha: float = 0.05,
    weighted: bool = False,
) -> Effect:
    """Difference-in-differences on survey scale ``outcome``: the change from ``baseline``
    (default: the study's baseline wave) to ``followup`` (default: the last follow-up wave) in
    the network kommuner minus that in the comparison kommuner.

    Model: ``score ~ C(wave) * network + C(role) + (1 | kommune)`` on the scores of the two
    waves (``C(wave)`` is the 0/1 ``post`` indicator), fitted by REML (statsmodels ``MixedLM``'s
    profile likelihood and Hessian, evaluated from per-kommune sums by
    :func:`_random_intercept_reml`; checked against ``MixedLM`` in the tests); ``network`` = 1
    for the study's network kommuner. The Effect is the
    ``post:network`` coefficient with its SE, Wald (normal) CI and p
    (estimator ``"mixed model (random kommune intercept)"``); the note gives the random
    intercept variance and the ICC. ``C(role)`` adjusts for a changed role mix.

    **Fallback** to OLS with kommune fixed effects (``C(kommune)``, which absorbs ``network``)
    and kommune-clustered CR1 SEs (G/(G-1)·(N-1)/(N-K)) with t(G - 1) inference (Cameron &
    Miller 2015; estimator ``"OLS with kommune fixed effects, cluster-robust SE"``) when

    - fewer than :data:`MIN_KOMMUNER_MIXED` (10) kommuner have scores: a variance component is
      poorly estimated from a handful of clusters;
    - the mixed model does not converge, or is singular: random-intercept SD below
      :data:`SINGULAR_TOL` × residual SD (lme4's ``isSingular`` rule), has a Hessian that is not
      negative definite, or a kommune variance below 0.01 (where statsmodels warns that the
      optimum may be on the boundary);
    - ``weighted=True``: the scores' ``weight`` column (post-stratification weights) is used
      with WLS; the mixed model (like statsmodels' ``MixedLM``) takes no weights, so the
      weighted analysis always uses the OLS path.

    The note says which path was taken and why. In both paths panel respondents (in both waves)
    are two rows: the cluster-robust SE allows for that (respondents are nested in kommuner);
    the mixed model's random kommune intercept does not model the respondent correlation.
    n_treated / n_control are the network / comparison kommuner with scores (as in the
    registry DiD), n_obs the scores used.
    """
    baseline = baseline or study.baseline_wave
    followup = followup or study.followup_waves[-1]
    if weighted and "weight" not in scores.columns:
        raise AnalysisError(f"network_effect({outcome}): weighted=True but no 'weight' column")
    d = _did_frame(scores, outcome, study, baseline, followup, weighted)
    contrast = f"{followup} - {baseline}, network - comparison"
    cells = d.groupby(["network", "post"]).size()
    if len(cells) < 4:
        raise AnalysisError(
            f"network_effect({outcome}): need scores of network and comparison kommuner in "
            f"both {baseline} and {followup}"
        )
    n_k = int(d["kommune"].nunique())
    n_net = int(d.loc[d["network"] == 1, "kommune"].nunique())
    counts = (f"{n_k} kommuner ({n_net} network, {n_k - n_net} comparison), {len(d)} scores "
              f"({int(d['post'].sum())} in {followup})")
    reason = None
    if weighted:
        reason = ("weighted=True: the mixed model (like statsmodels' MixedLM) is unweighted, "
                  "so the post-stratification weights use WLS")
    elif n_k < MIN_KOMMUNER_MIXED:
        reason = f"fewer than {MIN_KOMMUNER_MIXED} kommuner ({n_k})"
    else:
        res, problem = _fit_mixed(d)
        if problem is None:
            var_re = float(np.asarray(res.cov_re)[0, 0])
            note = (f"REML, Wald z CI; kommune intercept variance {var_re:.4g}, ICC "
                    f"{var_re / (var_re + res.scale):.3f}; {counts}")
            return _interaction_effect(res, alpha, outcome, contrast,
                                       "mixed model (random kommune intercept)", note,
                                       n_net, n_k, len(d))
        reason = problem
    fit = _fit_ols_fe(d, weighted)
    note = (f"fallback from the mixed model ({reason}). "
            f"{'WLS' if weighted else 'OLS'} with kommune FE, CR1 SE clustered by kommune, "
            f"t({n_k - 1}) inference; {counts}")
    return _interaction_effect(fit, alpha, outcome, contrast,
                               "OLS with kommune fixed effects, cluster-robust SE", note,
                               n_net, n_k, len(d))


def _interaction_effect(fit, alpha: float, outcome: str, contrast: str, estimator: str,
                        note: str, n_net: int, n_k: int, n_obs: int) -> Effect:
    """The wave × network term of a fitted model as an Effect."""
    term = "post:network"
    lo, hi = fit.conf_int(alpha).loc[term]
    return Effect(
        source="survey", outcome=outcome, contrast=contrast, estimator=estimator,
        estimate=float(fit.params[term]), se=float(fit.bse[term]), ci_low=float(lo),
        ci_high=float(hi), p_value=float(fit.pvalues[term]), n_treated=n_net,
        n_control=n_k - n_net, n_obs=n_obs, note=note,
    )


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
    - network vs comparison (:func:`network_effects`, mixed model or its fallback), once as
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
    from . import composition, effects

    h = hashlib.sha256(content_cache.source_digest(
        sys.modules[__name__], composition, effects,
        packages=("numpy", "pandas", "scipy", "statsmodels", "pingouin")))
    h.update(json.dumps({
        "network": {str(k): v for k, v in study.network.items()},
        "comparison": sorted(map(str, study.comparison)),
        "kommuner": sorted(map(str, study.kommuner)), "baseline": study.baseline_wave,
        "alpha": alpha, "min_pairs": MIN_PAIRS, "min_kommuner_mixed": MIN_KOMMUNER_MIXED,
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
