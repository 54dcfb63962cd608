"""Publication control of the collaboration network's tie tables (issue 25).

A tie table (:func:`evaluation_pipeline.analysis.collaboration.tie_table`) has one row per
directed tie A -> B and ``by`` group (kommune × wave, or group × wave pooled over the network
or the comparison kommuner): ``n`` respondents of service A answered how often they work with
B (``mean_frequency``, ``share_regular``, ``regular``), ``n_quality`` of them how well
(``mean_quality``).

The rule (:func:`suppress_ties`), with the study's ``small_cell_threshold`` ``k``:

* **Primary.** A tie with ``0 < n < k`` is hidden whole: ``n``, its frequency values,
  ``regular``, ``n_quality`` and ``mean_quality`` become missing and ``suppressed`` is True.
  A tie whose ``n`` is shown but ``0 < n_quality < k`` loses ``n_quality`` and
  ``mean_quality`` only (``quality_suppressed``). A zero is not sensitive: a tie nobody was
  asked about stays ``n = 0`` with no values (an *absent* tie, which figures leave out; a
  suppressed tie is *unknown*, which figures draw as such), and a zero ``n_quality`` is shown
  even in a hidden tie (nobody answered how well: there is no mean to hide).
* **Differencing.** Published next to a pooled table (``pooled``, by group × wave), the
  kommuner's ``n`` of a tie add up to the group's pooled ``n``, and the pooled mean times the
  pooled ``n`` is the sum of the kommuner's ``n`` × mean. With one kommune hidden, the reader
  gets its ``n`` as pooled ``n`` minus the others, and its mean from the weighted sums: the
  attack :func:`~evaluation_pipeline.publication.rules.suppress_scale_means` blocks for groups
  within a wave. Each tie × group × wave is therefore a line (the kommuner's ``n`` and the
  pooled ``n`` as its total) that goes through primary and secondary suppression
  (:func:`~evaluation_pipeline.publication.cells.suppress`): after it no hidden ``n`` is pinned
  down and none is proven below ``k`` by the informed attacker, and a hidden kommune's mean
  always shares the pooled remainder with at least one other hidden kommune (or the pooled
  tie is hidden too). The same is done for ``n_quality`` and ``mean_quality``, where a
  kommune whose tie is hidden counts as hidden already.
* **Same respondents, many ties.** A kommune's respondents of service A answer about every
  other service, so its ``n`` for A -> B and A -> C are nearly always equal, and a kommune
  hidden in one tie's line but shown in another would give its count away. As
  :func:`~evaluation_pipeline.publication.rules.survey_n_published` does across scales, a
  kommune hidden in one line of a wave and service A is hidden in every tie from A in that
  wave; lines left with a single hidden cell get another, until none is.
* **Kommuner not listed.** When the per-kommune table lacks some kommuner of a group (the
  pooled ``n`` is larger than the listed sum), the attacker is assumed to know their part
  (conservative): the listed kommuner add up to the pooled ``n`` minus it, and that line is
  protected (hiding the pooled tie when only it can protect the line).

The network measures of the groups of a published tie table
(:func:`~evaluation_pipeline.analysis.collaboration.collaboration_measures`) are published
with it by :func:`suppress_measures`: a measure is a function of the group's ties, so with
every other tie shown, a measure gives a hidden tie away (a density of 20/56 with 19 regular
ties shown says the hidden tie is regular). A group × wave whose tie is hidden therefore
loses every measure built from the ties' regular flags and frequencies, and one whose tie
quality is hidden loses ``mean_quality``; one with ``0 < n_respondents < k`` loses all.

Not modelled: the bound ``n_quality <= n`` across a tie's two lines, and the near-equality of
``n`` across ties from the same service beyond the rule above (an approximate, not an exact,
relation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import overload

import numpy as np
import pandas as pd

from .cells import TOTAL, DisclosureError, suppress

__all__ = ["TIE_COLUMNS", "suppress_measures", "suppress_ties"]

#: the columns of a tie table besides its ``by`` columns
TIE_COLUMNS = ("from_service", "to_service", "n", "mean_frequency", "share_regular", "regular",
               "n_quality", "mean_quality")
_TIE_VALUES = ["n", "mean_frequency", "share_regular", "n_quality", "mean_quality"]
_QUALITY_VALUES = ["n_quality", "mean_quality"]


def _check(ties: pd.DataFrame, what: str) -> list[str]:
    """The ``by`` columns of a tie table (a clear error when a column is missing)."""
    missing = [c for c in TIE_COLUMNS if c not in ties.columns]
    if missing:
        raise DisclosureError(
            f"{what}: no column(s) {missing}; expected a tie table with columns <by...>, "
            f"{', '.join(TIE_COLUMNS)} (evaluation_pipeline.analysis.collaboration.tie_table)")
    return [c for c in ties.columns if c not in TIE_COLUMNS
            and c not in ("suppressed", "quality_suppressed")]


def _counts(df: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(df[col], errors="coerce").fillna(0).round()


def _primary(ties: pd.DataFrame, k: int) -> pd.DataFrame:
    out = ties.copy()
    n, nq = _counts(out, "n"), _counts(out, "n_quality")
    out["suppressed"] = ((n > 0) & (n < k)).to_numpy()
    out["quality_suppressed"] = (out["suppressed"] | ((nq > 0) & (nq < k))).to_numpy()
    return out


def _blank(out: pd.DataFrame) -> pd.DataFrame:
    """Set the values of hidden ties (and hidden quality) to missing; a zero ``n_quality``
    stays (zeros are never hidden: the attacker takes a hidden count to be at least 1)."""
    zero_q = pd.to_numeric(out["n_quality"], errors="coerce") == 0
    for c in _TIE_VALUES:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out["regular"] = out["regular"].astype("boolean")
    out.loc[out["suppressed"], _TIE_VALUES] = np.nan
    out.loc[out["suppressed"], "regular"] = pd.NA
    out.loc[out["quality_suppressed"], _QUALITY_VALUES] = np.nan
    out.loc[zero_q, "n_quality"] = 0.0
    return out


def _protect_line(values: np.ndarray, k: int, forced: np.ndarray) -> tuple[np.ndarray, bool]:
    """Hidden cells (and whether the total is hidden) of a one-dimensional line whose total
    is published: :func:`suppress` of the line, then the cells in ``forced`` (hidden for
    another reason) hidden too, with one more cell (the smallest shown non-zero one, else
    the total) while a hidden cell is pinned down (a single hidden cell, or all of them 1)
    or a small one is provably below ``k`` (each hidden cell lies in
    ``[1, 1 + sum(x - 1)]`` over the hidden cells)."""
    cells = pd.DataFrame({"cell": np.arange(values.size), "n": values.astype("int64")})
    res = suppress(cells, "n", "cell", None, threshold=k, totals=True)
    hidden = res["suppressed"].iloc[:-1].notna().to_numpy() | (forced & (values > 0))
    if res["suppressed"].iloc[-1] is not None:
        return hidden, True
    while hidden.any():
        spread = float((values[hidden] - 1).sum())
        small = hidden & (values < k)
        if hidden.sum() >= 2 and spread >= 1 and (not small.any() or 1 + spread >= k):
            return hidden, False
        shown = np.flatnonzero(~hidden & (values > 0))
        if not shown.size:
            return hidden, True
        hidden[shown[np.argmin(values[shown])]] = True  # the first smallest
    return hidden, False


def _lines(kt: pd.DataFrame, pooled: pd.DataFrame, keys: list[str], count: str, k: int,
           forced: pd.Series, pooled_hidden: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Hidden rows of the per-kommune ties ``kt`` and of ``pooled`` after protecting every
    line of ``count`` (kommuner -> pooled total); ``forced`` rows of ``kt`` and
    ``pooled_hidden`` rows of ``pooled`` are hidden from the start. Kommuner hidden in one
    line are hidden in every tie from the same service in the same ``keys`` (wave), until
    no line changes."""
    hidden_k = forced.copy()
    hidden_p = pooled_hidden.copy()
    line_of = kt.groupby(["_group", *keys, "from_service", "to_service"], sort=False,
                         dropna=False).groups
    counts = _counts(kt, count)
    pooled_counts = _counts(pooled, count)
    same_source = [*keys, "from_service", "kommune"]
    while True:
        before = hidden_k.copy()
        for j, p in pooled.iterrows():
            if hidden_p.loc[j]:  # no published total: nothing to subtract from
                continue
            key = (p["group"], *(p[c] for c in keys), p["from_service"], p["to_service"])
            idx = line_of.get(key)
            if idx is None:
                continue
            vals = counts.loc[idx].to_numpy()
            rest = float(pooled_counts.loc[j]) - vals.sum()
            if rest < -1e-9:
                raise DisclosureError(
                    f"pooled tie table, row {j} ({p['group']}, "
                    f"{', '.join(str(p[c]) for c in keys)}, {p['from_service']} -> "
                    f"{p['to_service']}): pooled {count} = {pooled_counts.loc[j]:g} is smaller "
                    f"than the sum over its kommuner ({vals.sum():g}); pass the pooled table "
                    "computed from the same answers as the per-kommune table")
            # a kommune not listed is known to the attacker (conservative): the listed
            # kommuner add up to the pooled n minus them, a published total in effect
            hid, total_hidden = _protect_line(vals, k, hidden_k.loc[idx].to_numpy())
            hidden_k.loc[idx] = hid | hidden_k.loc[idx].to_numpy()
            hidden_p.loc[j] = hidden_p.loc[j] or total_hidden
        # the same respondents answer about every service: hide a kommune in every tie
        # from that service in that wave
        spread = hidden_k.groupby([kt[c] for c in same_source], dropna=False).transform("any")
        hidden_k = hidden_k | (spread & (counts > 0))
        if (hidden_k == before).all():
            return hidden_k, hidden_p


@overload
def suppress_ties(ties: pd.DataFrame, k: int, *, pooled: None = None,
                  group_of: Mapping[str, str] | None = None) -> pd.DataFrame: ...


@overload
def suppress_ties(ties: pd.DataFrame, k: int, *, pooled: pd.DataFrame,
                  group_of: Mapping[str, str] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]: ...


def suppress_ties(ties, k, *, pooled=None, group_of=None):
    """Small-cell suppression of a tie table; with ``pooled``, of a per-kommune tie table
    and the pooled (group × wave) table published with it.

    ``ties``: a tie table (``<by...>, from_service, to_service, n, mean_frequency,
    share_regular, regular, n_quality, mean_quality``). ``k``: the study's
    ``small_cell_threshold``. ``pooled``: the same ties by ``group`` (``"network"`` /
    ``"comparison"``) and the other by columns of ``ties`` except ``kommune`` (e.g.
    ``wave``); then ``ties`` must have a ``kommune`` column and each kommune's group comes
    from ``group_of`` (kommune -> group) or a ``group`` column of ``ties``.

    Returns the table(s) with ``suppressed`` (the tie is unknown: its n and every value
    hidden) and ``quality_suppressed`` (``n_quality`` and ``mean_quality`` hidden) and the
    hidden values missing; ``regular`` becomes a nullable boolean. ``attrs["small_cell_
    threshold"]`` holds ``k`` (figures say "n < k"). See the module docstring for the rule
    and the attack it blocks.
    """
    by = _check(ties, "tie table")
    out = _primary(ties, k)
    if pooled is None:
        out = _blank(out)
        out.attrs["small_cell_threshold"] = int(k)
        return out
    pby = _check(pooled, "pooled tie table")
    if "group" not in pby:
        raise DisclosureError("pooled tie table: no column 'group' (tie_table(..., by=("
                              "'group', 'wave')) gives one)")
    if "kommune" not in by:
        raise DisclosureError("tie table: no column 'kommune'; with pooled=, pass the ties "
                              "by kommune (tie_table(..., by=('kommune', 'wave')))")
    keys = [c for c in pby if c != "group"]
    if any(c not in by for c in keys):
        raise DisclosureError(f"tie table: the pooled table's columns {keys} must be "
                              f"columns of the per-kommune table too (it has {by})")
    if group_of is not None:
        group = out["kommune"].map(dict(group_of))
    elif "group" in out:
        group = out["group"]
    else:
        raise DisclosureError("tie table: pass group_of= (kommune -> 'network' / "
                              "'comparison') or a 'group' column")
    if str(TOTAL) in set(out["kommune"].astype(str)):
        raise DisclosureError(f"tie table: kommune {TOTAL!r} is reserved")
    kt = out.assign(_group=group.to_numpy())
    pout = _primary(pooled, k)

    hidden_n, pooled_n = _lines(kt, pout, keys, "n", k, kt["suppressed"], pout["suppressed"])
    kt["suppressed"] = hidden_n.to_numpy()
    pout["suppressed"] = (pout["suppressed"] | pooled_n).to_numpy()
    forced = kt["suppressed"] | kt["quality_suppressed"]
    hidden_q, pooled_q = _lines(kt, pout, keys, "n_quality", k, forced,
                                pout["suppressed"] | pout["quality_suppressed"])
    kt["quality_suppressed"] = (hidden_q | kt["suppressed"]).to_numpy()
    pout["quality_suppressed"] = (pout["quality_suppressed"] | pooled_q
                                  | pout["suppressed"]).to_numpy()
    kt = _blank(kt.drop(columns=["_group"]))
    pout = _blank(pout)
    for frame in (kt, pout):
        frame.attrs["small_cell_threshold"] = int(k)
    return kt, pout


#: the measures built from the ties' frequencies (regular flags, mean frequency); the rest
#: (``mean_quality``) from the quality answers
_FREQUENCY_MEASURES = ("density", "centralization", "reciprocity", "asymmetry", "isolated")


def suppress_measures(measures: pd.DataFrame, ties: pd.DataFrame, k: int) -> pd.DataFrame:
    """Small-cell suppression of network measures published with the tie table they come
    from (see the module docstring).

    ``measures``: long ``<by...>, measure, value, n_respondents`` (from
    :func:`~evaluation_pipeline.analysis.collaboration.collaboration_measures`); ``ties``: the
    same groups' tie table after :func:`suppress_ties` (its ``by`` columns include those of
    ``measures``). Returns the measures with ``suppressed`` True and ``value`` missing where
    hidden; ``n_respondents`` is missing where it is in ``(0, k)``."""
    by = [c for c in measures.columns
          if c not in ("measure", "value", "n_respondents", "suppressed")]
    for need in ("suppressed", "quality_suppressed"):
        if need not in ties.columns:
            raise DisclosureError(f"tie table: no column {need!r}; pass the tie table after "
                                  "suppress_ties")
    missing = [c for c in by if c not in ties.columns]
    if missing:
        raise DisclosureError(f"measures: column(s) {missing} are not columns of the tie "
                              f"table (it has {list(ties.columns)})")
    out = measures.copy()
    hidden = ties.groupby(by, dropna=False)[["suppressed", "quality_suppressed"]].agg(
        lambda s: bool(s.fillna(False).astype(bool).any()))
    key = pd.MultiIndex.from_frame(out[by]) if len(by) > 1 else pd.Index(out[by[0]])
    tie_hidden = hidden["suppressed"].reindex(key, fill_value=False).to_numpy(bool)
    quality_hidden = hidden["quality_suppressed"].reindex(key, fill_value=False).to_numpy(bool)
    n = pd.to_numeric(out["n_respondents"], errors="coerce")
    small = ((n > 0) & (n < k)).to_numpy()
    measure = out["measure"].astype(str)
    hide = small | (tie_hidden & measure.isin(_FREQUENCY_MEASURES).to_numpy()) | (
        quality_hidden & (measure == "mean_quality").to_numpy())
    if "suppressed" in out:
        hide |= out["suppressed"].fillna(False).astype(bool).to_numpy()
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    out["n_respondents"] = n.astype("float64")
    out.loc[hide, "value"] = np.nan
    out.loc[small, "n_respondents"] = np.nan
    out["n_respondents"] = out["n_respondents"].round().astype("Int64")  # whole numbers
    out["suppressed"] = hide
    return out
