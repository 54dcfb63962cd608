"""Internal consistency of a survey scale: Cronbach's α with its CI, McDonald's ω, item analysis.

Methods
-------
- **Cronbach's α** (Cronbach 1951) from ``pingouin.cronbach_alpha`` on the wide respondent ×
  item matrix, after reverse coding (``low + high - value``, the scale's range) and listwise
  deletion (only respondents who answered every item of the scale). The (1 - ``alpha``) CI is
  Feldt's F-based interval (Feldt, Woodruff & Salih 1987) as pingouin implements it,
  ``1 - (1 - α) F(q; n - 1, (n - 1)(k - 1))``; pingouin rounds the bounds to 3 decimals.
- **McDonald's ω total** (McDonald 1999) from a one-factor model fitted by maximum likelihood
  to the item correlation matrix (``statsmodels.multivariate.factor.Factor``, ``method="ml"``):
  ``ω = (Σλ)² / ((Σλ)² + Σψ)`` with the standardized loadings λ and uniquenesses ψ. It is the
  reliability of the sum of the standardized items under a congeneric model (α equals ω only
  when every loading is the same: tau-equivalence). A one-factor model needs at least 3 items;
  with 2 items ω is NaN. A Heywood case (a uniqueness near 0) is reported as a warning.
- **Per item**: the corrected item–total correlation (the item against the sum of the *other*
  items) and α if the item is deleted, both on the listwise sample; ``mean``, ``sd`` and ``n``
  describe every answer to the item in the group (after reverse coding).

An item without variance in a group makes α (and ω) of that group NaN with the reason in
``warning``: a constant item contributes nothing to the true-score variance, so any α computed
with it is not a statement about the scale. α if that item is deleted is still given.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..study import Scale
from .scales import reverse_coded

SUMMARY_COLUMNS = [
    "group", "scale", "alpha", "alpha_ci_low", "alpha_ci_high", "omega", "n_used", "n_total",
    "warning",
]
ITEM_COLUMNS = [
    "group", "scale", "item", "item_total_r", "alpha_if_deleted", "mean", "sd", "n", "reversed",
]

#: Minimum of a standardized uniqueness below which the one-factor solution is a Heywood case.
HEYWOOD_UNIQUENESS = 1e-3


class ReliabilityWarning(UserWarning):
    """A reliability estimate is missing or shaky (constant item, heavy listwise deletion, ...)."""


@dataclass(frozen=True)
class ReliabilityResult:
    """``summary``: one row per group × scale (:data:`SUMMARY_COLUMNS`); ``items``: one row
    per group × scale × item (:data:`ITEM_COLUMNS`); ``warnings``: every warning raised."""

    summary: pd.DataFrame
    items: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def alpha_from_cov(cov: np.ndarray) -> float:
    """Cronbach's α from an item covariance matrix: ``k/(k-1) (1 - Σ var_i / var_total)``."""
    cov = np.asarray(cov, dtype=float)
    k = cov.shape[0]
    total = cov.sum()
    if k < 2 or not total > 0:
        return math.nan
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def omega_one_factor(corr: np.ndarray, nobs: int) -> tuple[float, np.ndarray, np.ndarray]:
    """McDonald's ω total from a one-factor ML fit to a correlation matrix.

    Returns ``(omega, loadings, uniquenesses)``; loadings are signed so that their sum is
    positive. Fit: ``statsmodels`` ``Factor(corr=..., n_factor=1, method="ml")`` with a fixed
    seed for its EM starting values (deterministic). A singular correlation matrix (linearly
    dependent items) or a fit that does not reproduce the unit diagonal (``λ² + ψ = 1``, which
    an ML solution on a correlation matrix satisfies) is an :class:`AnalysisError`.
    """
    from statsmodels.multivariate.factor import Factor

    corr = np.asarray(corr, dtype=float)
    if not np.isfinite(corr).all() or np.linalg.eigvalsh(corr).min() < 1e-10:
        raise AnalysisError("the item correlation matrix is singular (linearly dependent items)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Factor(corr=corr, n_factor=1, method="ml", nobs=nobs).fit(
            rng=0, opt={"gtol": 1e-8, "maxiter": 2000}
        )
    lam = np.asarray(res.loadings, dtype=float).ravel()
    psi = np.asarray(res.uniqueness, dtype=float).ravel()
    if not np.isfinite(lam).all() or np.abs(lam**2 + psi - 1).max() > 1e-3:
        raise AnalysisError(
            f"the one-factor ML fit did not converge ({res.mle_retvals.message})"
        )
    if lam.sum() < 0:
        lam = -lam
    common = lam.sum() ** 2
    return float(common / (common + psi.sum())), lam, psi


def _group_label(key: object) -> str:
    if isinstance(key, tuple):
        return " / ".join(str(k) for k in key)
    return str(key)


def _wide(answers: pd.DataFrame, scale: Scale, name: str, by: list[str]) -> pd.DataFrame:
    """Respondent (× wave) rows, one column per item, reverse coded; ``by`` columns kept."""
    missing_cols = {"respondent_id", "item", "value", *by} - set(answers.columns)
    if missing_cols:
        raise AnalysisError(f"scale {name}: answers lack column(s) {sorted(missing_cols)}")
    keys = ["respondent_id"] + (["wave"] if "wave" in answers.columns else [])
    keys += [c for c in by if c not in keys]
    sub = reverse_coded(answers, name, scale, keys)
    for c in keys:
        sub[c] = sub[c].astype(object)
    dup = sub.duplicated(keys + ["item"])
    if dup.any():
        row = sub[dup].iloc[0]
        raise AnalysisError(
            f"scale {name}: respondent {row['respondent_id']} answered item {row['item']} "
            f"more than once in the same {' × '.join(keys)} cell"
        )
    wide = sub.set_index(keys + ["item"])["value"].unstack("item")
    wide = wide.reindex(columns=scale.items)
    wide.columns.name = None
    return wide.reset_index()


def _group_stats(
    x: pd.DataFrame, scale: Scale, name: str, label: str, ci: float
) -> tuple[dict, list[dict], list[str]]:
    items = scale.items
    k = len(items)
    n_total = len(x)
    notes: list[str] = []
    complete = x[items].dropna(axis=0, how="any")
    n_used = len(complete)
    where = f"scale {name}, group {label}"
    if n_total and n_total - n_used > n_total / 2:
        notes.append(
            f"{where}: listwise deletion dropped {n_total - n_used} of {n_total} respondents "
            f"(more than half)"
        )
    row = {
        "group": label, "scale": name, "alpha": math.nan, "alpha_ci_low": math.nan,
        "alpha_ci_high": math.nan, "omega": math.nan, "n_used": n_used, "n_total": n_total,
    }
    item_rows = []
    answered = x[items]
    for it in items:
        item_rows.append({
            "group": label, "scale": name, "item": it, "item_total_r": math.nan,
            "alpha_if_deleted": math.nan, "mean": float(answered[it].mean()),
            "sd": float(answered[it].std(ddof=1)), "n": int(answered[it].notna().sum()),
            "reversed": it in scale.reverse,
        })
    unanswered = [r["item"] for r in item_rows if r["n"] == 0]
    if unanswered:
        notes.append(f"{where}: nobody answered item(s) {', '.join(unanswered)}")
    if k < 2:
        notes.append(f"{where}: α needs at least 2 items, the scale has {k}")
        return row, item_rows, notes
    if n_used < 2:
        notes.append(f"{where}: {n_used} respondent(s) answered every item; α needs at least 2")
        return row, item_rows, notes

    arr = complete.to_numpy(float)
    cov = np.cov(arr, rowvar=False, ddof=1)
    var = np.diag(cov)
    constant = [it for it, v in zip(items, var, strict=True) if not v > 0]
    if constant:
        vals = ", ".join(f"{it} (all {complete[it].iloc[0]:g})" for it in constant)
        notes.append(
            f"{where}: item(s) without variance among the {n_used} complete respondents: {vals}; "
            "α and ω are not computed"
        )
    # per item: corrected item-total r and α if deleted (listwise sample)
    total_cov = cov.sum()
    for i, r in enumerate(item_rows):
        rest_cov = cov[i].sum() - cov[i, i]
        rest_var = total_cov - 2 * cov[i].sum() + cov[i, i]
        if cov[i, i] > 0 and rest_var > 0:
            r["item_total_r"] = float(rest_cov / math.sqrt(cov[i, i] * rest_var))
        keep = [j for j in range(k) if j != i]
        sub_const = [items[j] for j in keep if items[j] in constant]
        if len(keep) >= 2 and not sub_const:
            r["alpha_if_deleted"] = alpha_from_cov(cov[np.ix_(keep, keep)])
    if constant:
        return row, item_rows, notes
    if not total_cov > 0:
        notes.append(f"{where}: the variance of the sum score is 0; α is not defined")
        return row, item_rows, notes

    import pingouin as pg  # imported on use: ~1 s per process (profile workers never need it)

    a, bounds = pg.cronbach_alpha(data=complete.astype(float), nan_policy="listwise", ci=ci)
    row["alpha"] = float(a)
    row["alpha_ci_low"], row["alpha_ci_high"] = (float(b) for b in bounds)

    if k < 3:
        notes.append(f"{where}: ω needs a one-factor model with at least 3 items (has {k})")
    elif n_used <= k:
        notes.append(f"{where}: ω needs more complete respondents ({n_used}) than items ({k})")
    else:
        corr = np.corrcoef(arr, rowvar=False)
        try:
            omega, _lam, psi = omega_one_factor(corr, n_used)
        except (AnalysisError, np.linalg.LinAlgError, ValueError) as exc:
            notes.append(f"{where}: ω not computed: {exc}")
        else:
            row["omega"] = omega
            if psi.min() < HEYWOOD_UNIQUENESS:
                heywood = [it for it, p in zip(items, psi, strict=True) if p < HEYWOOD_UNIQUENESS]
                notes.append(
                    f"{where}: Heywood case in the one-factor model (uniqueness ~0 for "
                    f"{', '.join(heywood)}); ω is an upper bound"
                )
    return row, item_rows, notes


def scale_reliability(
    answers: pd.DataFrame,
    scale: Scale,
    *,
    by: str | Sequence[str] | None = "wave",
    name: str | None = None,
    alpha: float = 0.05,
) -> ReliabilityResult:
    """Cronbach's α (with Feldt's (1 - ``alpha``) CI), McDonald's ω and item statistics of one
    scale per group of ``by`` (column name(s) of the long answers; ``None`` pools every row).

    A row of the respondent × item matrix is a respondent × wave (so a panel respondent pooled
    over waves counts once per wave). ``name`` is the scale's name in the output (default: its
    bokmål label, else ``"scale"``). Warnings are returned in the result, written to the
    ``warning`` column of their group and raised as :class:`ReliabilityWarning`.
    """
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be between 0 and 1, got {alpha}")
    name = name or (scale.label.nb if scale.label else "scale")
    by_cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    wide = _wide(answers, scale, name, by_cols)
    if by_cols:
        groups = [
            (_group_label(key if len(by_cols) > 1 else key[0]), g)
            for key, g in wide.groupby(by_cols, sort=True, dropna=False)
        ]
    else:
        groups = [("all", wide)]
    rows, item_rows, notes = [], [], []
    for label, g in groups:
        row, its, msgs = _group_stats(g, scale, name, label, 1 - alpha)
        row["warning"] = "; ".join(msgs)
        rows.append(row)
        item_rows += its
        notes += msgs
    for msg in notes:
        warnings.warn(msg, ReliabilityWarning, stacklevel=2)
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    items = pd.DataFrame(item_rows, columns=ITEM_COLUMNS)
    for frame, cols in ((summary, ["n_used", "n_total"]), (items, ["n"])):
        for c in cols:
            frame[c] = frame[c].astype("int64")
    return ReliabilityResult(summary=summary, items=items, warnings=notes)


def scales_reliability(
    answers: pd.DataFrame,
    scales: dict[str, Scale],
    *,
    by: str | Sequence[str] | None = "wave",
    alpha: float = 0.05,
) -> ReliabilityResult:
    """:func:`scale_reliability` for every scale of a study (``study.survey.scales``), stacked."""
    results = [scale_reliability(answers, s, by=by, name=n, alpha=alpha) for n, s in scales.items()]
    if not results:
        return ReliabilityResult(
            pd.DataFrame(columns=SUMMARY_COLUMNS), pd.DataFrame(columns=ITEM_COLUMNS), []
        )
    return ReliabilityResult(
        summary=pd.concat([r.summary for r in results], ignore_index=True),
        items=pd.concat([r.items for r in results], ignore_index=True),
        warnings=[w for r in results for w in r.warnings],
    )
