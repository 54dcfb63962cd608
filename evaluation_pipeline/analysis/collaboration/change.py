"""Change in the collaboration network from the baseline wave to each follow-up, per kommune
and pooled over the network and the comparison kommuner, with respondent-bootstrap CIs.

Why a bootstrap: the measures (density, centralization, ...) are non-smooth functions of all
the answers of a kommune, with no usable standard error formula. The respondents of a kommune
and wave are a sample of its staff; resampling them **within kommune × wave × role** keeps the
role mix (who can report which ties) fixed, as in the survey design (stratified by service).
With a handful of respondents per role the plain bootstrap understates the variance by the
factor (n - 1) / n, so each draw is Rao & Wu's (1988) rescaled bootstrap for stratified
samples: n - 1 of a stratum's n respondents drawn with replacement, weighted n / (n - 1).
The percentile interval of the bootstrap changes is the CI (Efron & Tibshirani 1993, ch. 13);
it describes sampling uncertainty of the staff answers within the kommuner surveyed, not
uncertainty about kommuner that were not surveyed (that is the job of :mod:`.did`).

The measures of every draw come from :func:`~.measures.measures_from_sums` on bootstrap-
weighted sums of the answers (all draws at once in numpy), checked against the networkx
definitions of :func:`~.measures.collaboration_measures` in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import AnalysisError
from ..effects import Effect, insufficient_effect
from .measures import MEASURES, measures_from_sums
from .ties import RosterMatrix, roster_matrix

#: the estimator of :func:`collaboration_change`
BOOT_ESTIMATOR = ("respondent bootstrap (Rao–Wu rescaled, within kommune × wave × role), "
                  "percentile CI")
#: the fewest respondents a kommune × wave needs for its network measures
MIN_RESPONDENTS = 5


@dataclass
class StudySetup:
    """What the collaboration analyses read of a study: kommune -> group, baseline and
    follow-up waves, services (the nodes, in roles order)."""

    groups: dict[str, str]
    baseline: str
    followups: list[str]
    services: list[str]


def study_setup(study_or_groups, collaboration, answers: pd.DataFrame, *,
                baseline: str | None = None, followups: Sequence[str] | None = None,
                services: Sequence[str] | None = None) -> StudySetup:
    """Groups, waves and services from a Study (its network/comparison, baseline and follow-up
    waves, ``survey.roles``) or from a mapping kommune -> ``network``/``comparison`` (then
    ``baseline`` is required and the follow-ups default to the other waves, sorted)."""
    from .ties import resolve_groups

    groups = resolve_groups(study_or_groups)
    is_study = hasattr(study_or_groups, "baseline_wave")
    if is_study:
        baseline = baseline or study_or_groups.baseline_wave
        followups = list(followups or study_or_groups.followup_waves)
        roles = study_or_groups.survey.roles if study_or_groups.survey else None
        if services is None and roles:
            services = [r for r in roles if r in set(collaboration.services())] or None
    if baseline is None:
        raise AnalysisError("collaboration: pass baseline= (the baseline wave) with a groups "
                            "mapping, or pass the Study")
    if followups is None:
        followups = sorted(set(answers["wave"].astype(str)) - {str(baseline)})
    return StudySetup(groups, str(baseline), [str(f) for f in followups],
                      list(services) if services is not None else collaboration.services())


def pair_names(services: Sequence[str]) -> list[str]:
    """``tie:<A>-<B>`` for every pair, A before B in ``services`` order."""
    iu = np.triu_indices(len(services), 1)
    return [f"tie:{services[i]}-{services[j]}" for i, j in zip(*iu, strict=True)]


def _draw_counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """``(1 + n_boot) × n`` respondent weights: row 0 all ones (the data), then ``n_boot``
    Rao–Wu rescaled draws -- ``n - 1`` of the ``n`` drawn with replacement, each count times
    ``n / (n - 1)`` -- whose variance of a stratum mean is the unbiased ``s² / n`` (the plain
    bootstrap's ``s² (n - 1) / n²`` is too small with a handful of respondents per role). A
    stratum of one respondent keeps weight 1 (no variance of its own)."""
    if n < 2 or n_boot == 0:
        return np.ones((1 + n_boot, n))
    m = n - 1
    idx = rng.integers(0, n, size=(n_boot, m)) + n * np.arange(n_boot)[:, None]
    c = np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n) * (n / m)
    return np.vstack([np.ones((1, n)), c])


def kommune_sums(rm: RosterMatrix, waves: Sequence[str], regular_from: float, n_boot: int,
                 seed: int):
    """Per kommune (sorted): ``(kommune, sums, senders, n_resp)`` with ``sums`` of shape
    ``(1 + n_boot, W, 5, S, S)`` -- (weighted) frequency answers, their sum, regular
    answers, quality answers, their sum, by sender × receiver; row 0 the data, rows 1..
    bootstrap draws resampling respondents within kommune × wave × role. ``senders``
    ``(W, S)``, ``n_resp`` ``(W,)``. Draws: :func:`_draw_counts`; one random stream
    (``seed``) in kommune, wave, role order."""
    rng = np.random.default_rng(seed)
    S = len(rm.services)
    F, Q = rm.frequency, rm.quality
    X = np.concatenate([~np.isnan(F), np.nan_to_num(F), np.nan_to_num(F) >= regular_from,
                        ~np.isnan(Q), np.nan_to_num(Q)], axis=1).astype(float)
    keys = rm.keys
    role_idx = pd.Index(rm.services).get_indexer(keys["role"])
    kom = keys["kommune"].to_numpy()
    wav = keys["wave"].to_numpy()
    for k in sorted(set(kom)):
        sums = np.zeros((1 + n_boot, len(waves), 5, S, S))
        senders = np.zeros((len(waves), S), bool)
        n_resp = np.zeros(len(waves), int)
        in_k = kom == k
        for wi, w in enumerate(waves):
            in_kw = in_k & (wav == w)
            n_resp[wi] = int(in_kw.sum())
            for a in np.unique(role_idx[in_kw]):
                rows = np.flatnonzero(in_kw & (role_idx == a))
                c = _draw_counts(rng, len(rows), n_boot)
                sums[:, wi, :, a, :] = (c @ X[rows]).reshape(1 + n_boot, 5, S)
                senders[wi, a] = True
        yield k, sums, senders, n_resp


def _measures(sums: np.ndarray, senders: np.ndarray, regular_share: float) -> np.ndarray:
    """``(..., outcomes)``: the measures, then the pair means, of summed answers."""
    m = measures_from_sums(sums[..., 0, :, :], sums[..., 1, :, :], sums[..., 2, :, :],
                           sums[..., 3, :, :], sums[..., 4, :, :], senders, regular_share)
    return np.concatenate([np.stack([m[x] for x in MEASURES], -1), m["pairs"]], -1)


def _effects(values: np.ndarray, n_resp: np.ndarray, outcomes: list[str], setup: StudySetup,
             group: str, alpha: float, n_boot: int, seed: int, min_respondents: int,
             few_senders: np.ndarray) -> list[Effect]:
    """Effects of one kommune or group: ``values`` ``(1 + n_boot, W, outcomes)``."""
    out = []
    base = setup.baseline
    for fi, fu in enumerate(setup.followups, start=1):
        contrast = f"{fu} - {base}"
        n0, n1 = int(n_resp[0]), int(n_resp[fi])
        thin = [w for w, n, few in ((base, n0, few_senders[0]), (fu, n1, few_senders[fi]))
                if n < min_respondents or few]
        for oi, outcome in enumerate(outcomes):
            def missing(reason: str, _o=outcome, _c=contrast, _n=n0 + n1) -> Effect:
                return insufficient_effect("network", _o, _c, BOOT_ESTIMATOR,
                                           f"network:{_o}, {group}: {reason}", group=group,
                                           n_obs=_n)
            if thin:
                out.append(missing(f"fewer than {min_respondents} respondents or fewer than 2 "
                                   f"services with respondents in wave(s) {', '.join(thin)}"))
                continue
            d = values[:, fi, oi] - values[:, 0, oi]
            est = float(d[0])
            if not np.isfinite(est):
                undefined = [w for w, v in ((base, values[0, 0, oi]), (fu, values[0, fi, oi]))
                             if not np.isfinite(v)]
                out.append(missing(f"undefined in wave(s) {', '.join(undefined)} (no regular "
                                   "tie, or no answers in both directions of the pair)"))
                continue
            boot = d[1:][np.isfinite(d[1:])]
            if len(boot) < max(20, n_boot // 2):
                out.append(missing(f"defined in only {len(boot)} of {n_boot} bootstrap draws"))
                continue
            lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
            p = min(1.0, 2 * min(np.mean(boot <= 0), np.mean(boot >= 0)))
            dropped = n_boot - len(boot)
            what = "pair mean frequency" if outcome.startswith("tie:") else "network measure"
            note = (f"change {contrast} of the {what} in {group}; Rao–Wu rescaled "
                    f"respondent bootstrap within kommune × wave × role "
                    f"({n_boot} draws, seed {seed}), percentile CI, p = twice the smaller tail "
                    f"share of the draws at 0; {n0} respondents in {base}, {n1} in {fu}"
                    + (f"; {dropped} draws where the measure is undefined left out"
                       if dropped else ""))
            out.append(Effect(
                source="network", outcome=outcome, contrast=contrast, estimator=BOOT_ESTIMATOR,
                estimate=est, se=float(np.std(boot, ddof=1)), ci_low=float(lo),
                ci_high=float(hi), p_value=float(p), n_treated=n1, n_control=n0,
                n_obs=n0 + n1, note=note, group=group, n_unit="respondents"))
    return out


def collaboration_change(answers: pd.DataFrame, collaboration, study_or_groups, *,
                         baseline: str | None = None, followups: Sequence[str] | None = None,
                         services: Sequence[str] | None = None, n_boot: int = 999,
                         seed: int = 20251, alpha: float = 0.05,
                         min_respondents: int = MIN_RESPONDENTS) -> list[Effect]:
    """Change of every network measure (:data:`~.measures.MEASURES`) and every pair's mean
    frequency (outcome ``tie:<A>-<B>``, the mean of the two directed mean frequencies, A before
    B in the services' order) from the baseline to each follow-up wave, per kommune (group =
    kommune code) and pooled over the network and the comparison kommuner (group ``network``
    / ``comparison``; the pooled tie table of all their respondents). Effect rows: source
    ``network``, contrast ``<followup> - <baseline>``, estimator :data:`BOOT_ESTIMATOR`,
    n_treated / n_control the respondents in the follow-up / baseline (``n_unit``
    respondents).

    ``study_or_groups``: the Study (groups, waves and services from it) or a mapping kommune ->
    ``network``/``comparison`` (then pass ``baseline``). CI: percentile interval of ``n_boot``
    bootstrap changes (respondents resampled within kommune × wave × role, one random stream
    from ``seed``). A kommune with fewer than ``min_respondents`` respondents or fewer than 2
    services with respondents in a wave, or a measure undefined in a wave (reciprocity without
    regular ties), gives :func:`~..effects.insufficient_effect` rows; the rest go on.
    """
    setup = study_setup(study_or_groups, collaboration, answers, baseline=baseline,
                        followups=followups, services=services)
    rm = roster_matrix(answers, collaboration, setup.services, setup.groups)
    waves = [setup.baseline, *setup.followups]
    outcomes = MEASURES + pair_names(setup.services)
    S = len(setup.services)
    share = collaboration.regular_share
    pooled: dict[str, list] = {}
    effects: list[Effect] = []
    for k, sums, senders, n_resp in kommune_sums(rm, waves, collaboration.frequency.regular_from,
                                                 n_boot, seed):
        values = _measures(sums, senders[None], share)
        effects += _effects(values, n_resp, outcomes, setup, k, alpha, n_boot, seed,
                            min_respondents, senders.sum(-1) < 2)
        g = setup.groups.get(k)
        if g is None:
            continue
        if g not in pooled:
            pooled[g] = [np.zeros_like(sums), np.zeros((len(waves), S), bool),
                         np.zeros(len(waves), int)]
        pooled[g][0] += sums
        pooled[g][1] |= senders
        pooled[g][2] += n_resp
    for g in ("network", "comparison"):
        if g in pooled:
            sums, senders, n_resp = pooled[g]
            values = _measures(sums, senders[None], share)
            effects += _effects(values, n_resp, outcomes, setup, g, alpha, n_boot, seed,
                                min_respondents, senders.sum(-1) < 2)
    return effects


def kommune_values(answers: pd.DataFrame, collaboration, setup: StudySetup) -> pd.DataFrame:
    """The measures and pair means of every kommune × wave (no bootstrap): columns kommune,
    wave, outcome, value, n_respondents, n_senders."""
    rm = roster_matrix(answers, collaboration, setup.services, setup.groups)
    waves = [setup.baseline, *setup.followups]
    outcomes = MEASURES + pair_names(setup.services)
    rows = []
    for k, sums, senders, n_resp in kommune_sums(rm, waves, collaboration.frequency.regular_from,
                                                 0, 0):
        values = _measures(sums[0], senders, collaboration.regular_share)
        for wi, w in enumerate(waves):
            for oi, o in enumerate(outcomes):
                rows.append((k, w, o, float(values[wi, oi]), int(n_resp[wi]),
                             int(senders[wi].sum())))
    return pd.DataFrame(rows, columns=["kommune", "wave", "outcome", "value", "n_respondents",
                                       "n_senders"])
