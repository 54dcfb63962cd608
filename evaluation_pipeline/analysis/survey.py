"""Survey analyses per study: baseline vs follow-up differences of the scale scores and every
survey Effect of a study.

``wave_difference`` is Welch's t-test (scipy) with Hedges' g (pingouin); see Welch (1947),
Hedges (1981). ``pre_post`` chooses a paired analysis (panel respondents) or independent
samples, with Hedges' g_av / g and their CIs (:mod:`.effect_sizes`; Lakens 2013; Cumming 2012;
Hedges & Olkin 1985). ``survey_effects`` runs every scale × follow-up contrast of a study
(pre/post in network and comparison kommuner and the network DiD of :mod:`.survey_did`),
keeps them in a disk cache, and adjusts the p-values by family (:mod:`.multiplicity`; Holm
1979). The scores themselves are :mod:`.scales`'.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from .effect_sizes import hedges_g, hedges_g_av, wilcoxon_p
from .effects import Effect, insufficient_effect
from .multiplicity import adjust_p
from .scales import scores_by_scale
from .survey_did import BOOTSTRAP_DRAWS, network_effect

#: default smallest number of pairs for ``pre_post(paired="auto")`` to use the paired analysis
MIN_PAIRS = 10


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
            weighted[fu] = scores_by_scale(both.assign(weight=w))
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
    from . import composition, effect_sizes, effects, linear_model, scales, survey_did

    h = hashlib.sha256(content_cache.source_digest(
        sys.modules[__name__], survey_did, effect_sizes, linear_model, scales, composition,
        effects,
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
            for scale, sc in scores_by_scale(part).items():
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
