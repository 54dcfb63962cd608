"""Network vs comparison difference-in-differences of the collaboration measures, with
inference over kommuner that holds with 2–10 network kommuner.

Each kommune's change of a measure (or a pair's mean frequency) from the baseline to a
follow-up, ``Δ_k``, is one observation; the estimate is the mean change of the network
kommuner minus that of the comparison kommuner (kommuner weighted equally: a density or a
centralization has no sampling variance formula to weight by).

**Primary: randomization inference over kommune labels** (Fisher 1935; Imbens & Rubin 2015,
ch. 5; for DiD with few treated clusters, MacKinnon & Webb 2020). Under the sharp null of no
effect in any kommune the labels are exchangeable, so the observed difference is compared with
its value under every other choice of K1 network kommuner among the K (all ``C(K, K1)`` when
there are at most ``max_enumerate``, else ``n_perm`` random choices plus the observed one).
The p-value is exact under that null, however few network kommuner -- but its smallest value
is ``1 / C(K, K1)``: with 2 network kommuner of 8 it is 1/28. The CI inverts the test under a
constant effect ``δ`` (``Δ_k - δ·D_k`` tested for no effect, δ kept where p > alpha): it is
the set of constant effects the data do not reject, and unbounded when ``C(K, K1)`` is too
small for any rejection at ``alpha``. Why not a t-test on the changes (as the survey DiD):
measures like density or the number of isolated services move in steps and are far from
normal in a small kommune.

**Check** (in the note): the restricted wild cluster bootstrap of :mod:`..linear_model`
(:func:`~..linear_model.wild_cluster_bootstrap`) on the kommune × wave values with kommune and
wave fixed effects, kommune clusters, as :mod:`..survey_did` does.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...errors import AnalysisError
from ..effects import Effect, insufficient_effect
from ..linear_model import invert_pvalue, wild_cluster_bootstrap
from ..multiplicity import adjust_p
from .change import MIN_RESPONDENTS, kommune_values, study_setup
from .measures import MEASURES

#: the estimator of :func:`collaboration_did`
RI_ESTIMATOR = "randomization inference over kommune labels, difference in mean changes"
#: the largest number of label assignments enumerated exactly
MAX_ENUMERATE = 50_000


def assignments(k: int, k1: int, *, max_enumerate: int = MAX_ENUMERATE, n_perm: int = 9999,
                seed: int = 20251) -> tuple[np.ndarray, bool]:
    """``(m × k)`` 0/1 matrix of network labels: every choice of ``k1`` of ``k`` (in
    ``itertools.combinations`` order) when ``C(k, k1) <= max_enumerate`` (second value True),
    else the first ``k1`` labelled plus ``n_perm`` random choices (False)."""
    if math.comb(k, k1) <= max_enumerate:
        return _all_assignments(k, k1), True
    return _sampled_assignments(k, k1, n_perm, seed), False


@functools.lru_cache(maxsize=16)
def _sampled_assignments(k: int, k1: int, n_perm: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    keys = rng.random((n_perm, k))
    rows = np.zeros((n_perm + 1, k))
    rows[0, :k1] = 1.0
    picks = np.argsort(keys, axis=1)[:, :k1]
    rows[np.arange(1, n_perm + 1)[:, None], picks] = 1.0
    rows.flags.writeable = False
    return rows


@functools.lru_cache(maxsize=16)
def _all_assignments(k: int, k1: int) -> np.ndarray:
    m = math.comb(k, k1)
    idx = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(k), k1)),
                      dtype=np.intp, count=m * k1).reshape(m, k1)
    rows = np.zeros((m, k))
    rows[np.arange(m)[:, None], idx] = 1.0
    rows.flags.writeable = False
    return rows


def randomization_test(delta: np.ndarray, treated: np.ndarray, *, alpha: float = 0.05,
                       max_enumerate: int = MAX_ENUMERATE, n_perm: int = 9999,
                       seed: int = 20251) -> dict:
    """Randomization inference for the difference in mean ``delta`` between ``treated`` and
    the rest: ``estimate``, ``p_value`` (two-sided, ``|T_m| >= |T_obs|``), ``ci`` (test
    inversion under a constant effect), ``se`` (SD of the statistic over the assignments under
    the sharp null), ``n_assignments`` and ``enumerated``. With sampled assignments the
    observed one is counted among them (p >= 1 / (n_perm + 1))."""
    delta = np.asarray(delta, float)
    d = np.asarray(treated, bool)
    k, k1 = len(delta), int(d.sum())
    order = np.r_[np.flatnonzero(d), np.flatnonzero(~d)]  # observed labels first
    y, dd = delta[order], d[order].astype(float)
    A, enumerated = assignments(k, k1, max_enumerate=max_enumerate, n_perm=n_perm, seed=seed)
    P = A / k1 - (1 - A) / (k - k1)             # difference-in-means weights per assignment
    a, b = P @ y, P @ dd                          # T_m(δ) = a_m - δ b_m
    est = float(y[:k1].mean() - y[k1:].mean())
    scale = max(float(np.abs(y).max()), 1.0)

    def pvalue(delta0: float) -> float:
        t_obs = abs(est - delta0)
        return float(np.mean(np.abs(a - delta0 * b) >= t_obs - 1e-10 * scale))

    spread = float(np.std(a)) or scale
    # (first step: one spread of the assignment distribution)
    ci = (invert_pvalue(pvalue, est, spread / 2, alpha, -1),
          invert_pvalue(pvalue, est, spread / 2, alpha, +1))
    return {"estimate": est, "p_value": pvalue(0.0), "ci": ci, "se": float(np.std(a)),
            "n_assignments": len(A), "enumerated": enumerated}


def _wcr_note(cells: pd.DataFrame, draws: int, seed: int, alpha: float) -> str:
    try:
        boot = wild_cluster_bootstrap(
            cells["value"].to_numpy(float), (cells["post"] * cells["network"]).to_numpy(float),
            cells["kommune"].to_numpy(), cells["post"].to_numpy(), cells["kommune"].to_numpy(),
            draws=draws, seed=seed, alpha=alpha)
    except AnalysisError:
        return ""
    lo, hi = boot["boot_ci"]
    kind = "Webb" if boot["weights"] == "webb" else "Rademacher"
    return (f"; check, wild cluster bootstrap (WCR on the kommune × wave values, {kind} "
            f"weights, {boot['draws']} draws, kommune clusters): p={boot['boot_p']:.3f}, "
            f"{100 * (1 - alpha):g}% CI [{lo:.4g}, {hi:.4g}]")


def collaboration_did(answers: pd.DataFrame, collaboration, study_or_groups, *,
                      baseline: str | None = None, followups: Sequence[str] | None = None,
                      services: Sequence[str] | None = None,
                      outcomes: Sequence[str] | None = None, alpha: float = 0.05,
                      max_enumerate: int = MAX_ENUMERATE, n_perm: int = 9999,
                      wild_bootstrap: int | None = 9999, seed: int = 20251,
                      min_respondents: int = MIN_RESPONDENTS) -> list[Effect]:
    """Network vs comparison DiD of every network measure and pair mean frequency (outcomes as
    :func:`~.change.collaboration_change`) for each follow-up against the baseline: Effect
    rows with source ``network``, contrast ``<followup> - <baseline>, network - comparison``,
    group ``all``, estimator :data:`RI_ESTIMATOR`, CI by test inversion, n_treated /
    n_control the network / comparison kommuner used (``n_unit`` kommuner), n_obs their
    respondents in the two waves; ``p_adjusted`` by Holm across the measures × follow-ups and,
    separately, across the pairs × follow-ups.

    Only kommuner with at least ``min_respondents`` respondents and 2 services with
    respondents in both waves, and the outcome defined in both, enter; an outcome without a
    network and a comparison kommune and 3 kommuner in all gives an
    :func:`~..effects.insufficient_effect` row. ``wild_bootstrap``: draws of the check in the
    note (None or 0: no check). ``outcomes``: only these (measure names or ``tie:<A>-<B>``).
    """
    setup = study_setup(study_or_groups, collaboration, answers, baseline=baseline,
                        followups=followups, services=services)
    vals = kommune_values(answers, collaboration, setup)
    vals = vals[vals["kommune"].isin(setup.groups)]
    if outcomes is not None:
        unknown = sorted(set(outcomes) - set(vals["outcome"]))
        if unknown:
            raise AnalysisError(f"collaboration_did: unknown outcome(s) {unknown} (measures "
                                f"{MEASURES} or tie:<A>-<B> with A before B in {setup.services})")
        vals = vals[vals["outcome"].isin(outcomes)]
    vals = vals.assign(ok=(vals["n_respondents"] >= min_respondents) & (vals["n_senders"] >= 2)
                       & np.isfinite(vals["value"]))
    base = setup.baseline
    measures, pairs = [], []
    for fu in setup.followups:
        contrast = f"{fu} - {base}, network - comparison"
        two = vals[vals["wave"].isin([base, fu])]
        for outcome, v in two.groupby("outcome", sort=False):
            wide = v.pivot(index="kommune", columns="wave", values="value")
            ok = v.groupby("kommune")["ok"].agg(lambda s: bool(s.all()) and len(s) == 2)
            nresp = v.groupby("kommune")["n_respondents"].sum()
            used = ok[ok].index
            change = (wide.loc[used, fu] - wide.loc[used, base]) if len(used) else \
                pd.Series(dtype=float)
            net = np.array([setup.groups[k] == "network" for k in change.index], bool)
            k1, k0 = int(net.sum()), int((~net).sum())
            target = measures if outcome in MEASURES else pairs
            if k1 < 1 or k0 < 1 or k1 + k0 < 3:
                target.append(insufficient_effect(
                    "network", outcome, contrast, RI_ESTIMATOR,
                    f"network:{outcome}: need kommuner with the outcome defined and at least "
                    f"{min_respondents} respondents in both {base} and {fu}: at least 1 network "
                    f"and 1 comparison kommune and 3 in all (have {k1} network, {k0} "
                    "comparison)", n_obs=int(nresp.reindex(used).sum())))
                continue
            ri = randomization_test(change.to_numpy(float), net, alpha=alpha,
                                    max_enumerate=max_enumerate, n_perm=n_perm, seed=seed)
            lo, hi = ri["ci"]
            how = (f"all {ri['n_assignments']} choices of {k1} of {k1 + k0} kommuner"
                   if ri["enumerated"] else f"{ri['n_assignments'] - 1} random choices of "
                   f"{k1} of {k1 + k0} kommuner and the observed one")
            note = (f"each kommune's change {base} to {fu} of {outcome}, mean of the "
                    f"{k1} network kommuner minus mean of the {k0} comparison kommuner; "
                    f"randomization inference over kommune labels ({how}), exact p under the "
                    f"sharp null of no effect (smallest possible p "
                    f"{1 / ri['n_assignments']:.3g}), CI by test inversion under a constant "
                    f"effect, se = SD of the difference over the label choices; "
                    f"{int(nresp.reindex(used).sum())} respondents")
            dropped = sorted(set(v["kommune"]) - set(used))
            if dropped:
                note += (f"; {len(dropped)} kommune(r) without enough respondents or the "
                         f"outcome in both waves left out ({', '.join(dropped)})")
            if wild_bootstrap:
                cells = v[v["kommune"].isin(used)]
                cells = cells.assign(
                    post=(cells["wave"] == fu).astype(float),
                    network=(cells["kommune"].map(setup.groups) == "network").astype(float))
                note += _wcr_note(cells, int(wild_bootstrap), seed, alpha)
            target.append(Effect(
                source="network", outcome=outcome, contrast=contrast, estimator=RI_ESTIMATOR,
                estimate=ri["estimate"], se=ri["se"], ci_low=lo, ci_high=hi,
                p_value=ri["p_value"], n_treated=k1, n_control=k0,
                n_obs=int(nresp.reindex(used).sum()), note=note, n_unit="kommuner"))
    return adjust_p(measures, "holm") + adjust_p(pairs, "holm")
