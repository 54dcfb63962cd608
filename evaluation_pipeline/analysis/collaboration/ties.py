"""The tie table of the collaboration roster: one row per directed tie A -> B per group.

Respondents of service A (their ``role``) answer, for every other service B, how often they
collaborate with B (the frequency block of ``survey.collaboration`` in study.yaml) and
optionally how well it works (the quality block). A directed tie A -> B is **regular** when at
least ``regular_share`` of A's respondents who answered about B answer ``regular_from`` or more.

The respondent-level arrays (:func:`roster_matrix`) are shared with the bootstrap of
:mod:`.change`, so the point estimates and the bootstrap read the same answers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import AnalysisError

TIE_COLUMNS = ["from_service", "to_service", "n", "mean_frequency", "share_regular", "regular",
               "n_quality", "mean_quality"]
ANSWER_COLUMNS = ["respondent_id", "wave", "kommune", "role", "item", "value"]


class CollaborationWarning(UserWarning):
    """Answers of the collaboration roster that were left out (a respondent rating their own
    service, a respondent whose role is not a service)."""


@dataclass
class RosterMatrix:
    """The roster answers as arrays: one row per respondent × wave (``keys``: respondent_id,
    wave, kommune, role, group), one column per service (``services``); NaN = not answered."""

    keys: pd.DataFrame
    services: list[str]
    frequency: np.ndarray
    quality: np.ndarray
    self_ratings: int


def resolve_groups(groups) -> dict[str, str]:
    """Kommune code -> ``"network"`` / ``"comparison"`` from a mapping or a Study (its
    ``network`` and ``comparison``, as :func:`~..composition.study_groups`)."""
    if groups is None:
        return {}
    if isinstance(groups, Mapping):
        return {str(k): str(v) for k, v in groups.items()}
    from ..composition import study_groups

    return study_groups(groups)


def roster_matrix(answers: pd.DataFrame, collaboration, services: Sequence[str] | None = None,
                  groups=None) -> RosterMatrix:
    """The roster answers of ``answers`` (the long ``survey_answers`` table) as a
    :class:`RosterMatrix`.

    Raises :class:`~evaluation_pipeline.errors.AnalysisError` when a column is missing, a roster
    item of study.yaml has no row in ``answers`` at all, or an answer lies outside the block's
    ``range``. Answers about the respondent's own service are left out and counted
    (``self_ratings``; a :class:`CollaborationWarning` says how many).
    """
    missing_cols = [c for c in ANSWER_COLUMNS if c not in answers.columns]
    if missing_cols:
        raise AnalysisError(f"survey_answers: lacks column(s) {missing_cols} (expected "
                            f"{ANSWER_COLUMNS})")
    freq_items = dict(collaboration.frequency.items)
    qual_items = dict(collaboration.quality.items) if collaboration.quality else {}
    present = set(answers["item"].astype(str).unique())
    for block, items in (("frequency", freq_items), ("quality", qual_items)):
        absent = [i for i in items if i not in present]
        if absent:
            raise AnalysisError(
                f"survey_answers: no answers to roster item(s) {absent} declared in "
                f"survey.collaboration.{block}.items of study.yaml (items present: "
                f"{len(present)}); rename the item(s) in study.yaml to the survey's column "
                f"names, or remove them from survey.collaboration.{block}.items")
    services = list(services) if services is not None else collaboration.services()
    col = {s: j for j, s in enumerate(services)}
    rows = answers[answers["item"].astype(str).isin(set(freq_items) | set(qual_items))]
    rows = rows[ANSWER_COLUMNS].copy()
    rows["item"] = rows["item"].astype(str)
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce")
    rows = rows[rows["value"].notna()]
    for block, items, rng in (("frequency", freq_items, collaboration.frequency.range),
                              ("quality", qual_items,
                               collaboration.quality.range if collaboration.quality else None)):
        if not items:
            continue
        sub = rows[rows["item"].isin(items)]
        bad = sub[(sub["value"] < rng[0]) | (sub["value"] > rng[1])]
        if len(bad):
            r = bad.iloc[0]
            raise AnalysisError(
                f"survey_answers: respondent {r['respondent_id']} (wave {r['wave']}), item "
                f"{r['item']}: value {r['value']:g} is outside the range {list(rng)} of "
                f"survey.collaboration.{block} in study.yaml ({len(bad)} such answers); fix "
                f"the answers or the range")
    rows["block"] = np.where(rows["item"].isin(freq_items), "frequency", "quality")
    rows["service"] = rows["item"].map({**freq_items, **qual_items})
    rows["role"] = rows["role"].astype(object).where(rows["role"].notna(), "(missing)")
    rows["role"] = rows["role"].astype(str)
    own = rows["role"] == rows["service"]
    n_self = int(own.sum())
    if n_self:
        warnings.warn(f"collaboration roster: {n_self} answer(s) rate the respondent's own "
                      "service (role = service asked about); left out", CollaborationWarning,
                      stacklevel=3)
    rows = rows[~own & rows["service"].isin(col)]
    not_service = ~rows["role"].isin(col)
    if not_service.any():
        roles = sorted(rows.loc[not_service, "role"].unique())
        warnings.warn(f"collaboration roster: respondents of role(s) {roles} are not among the "
                      f"services {services}; their answers are left out", CollaborationWarning,
                      stacklevel=3)
        rows = rows[~not_service]
    rows["kommune"] = rows["kommune"].astype(str)
    rows["wave"] = rows["wave"].astype(str)
    rows["respondent_id"] = rows["respondent_id"].astype(str)
    key_cols = ["respondent_id", "wave"]
    keys = rows.drop_duplicates(key_cols)[["respondent_id", "wave", "kommune", "role"]]
    keys = keys.sort_values(["wave", "kommune", "role", "respondent_id"]).reset_index(drop=True)
    gmap = resolve_groups(groups)
    keys["group"] = keys["kommune"].map(gmap) if gmap else None
    index = pd.MultiIndex.from_frame(keys[key_cols])
    r_idx = index.get_indexer(pd.MultiIndex.from_frame(rows[key_cols]))
    s_idx = rows["service"].map(col).to_numpy(int)
    arrays = {}
    for block in ("frequency", "quality"):
        m = np.full((len(keys), len(services)), np.nan)
        b = (rows["block"] == block).to_numpy()
        m[r_idx[b], s_idx[b]] = rows["value"].to_numpy(float)[b]
        arrays[block] = m
    return RosterMatrix(keys, services, arrays["frequency"], arrays["quality"], n_self)


def tie_table(answers: pd.DataFrame, collaboration, by: Sequence[str] = ("kommune", "wave"),
              *, groups=None, services: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per directed tie A -> B per group of ``by``: columns ``<by...>, from_service,
    to_service, n, mean_frequency, share_regular, regular, n_quality, mean_quality``.

    ``answers``: the long ``survey_answers`` table (rows of other items are ignored; a NaN
    value is an item not answered). ``collaboration``: the study's ``survey.collaboration``
    (:class:`~evaluation_pipeline.study.Collaboration`). ``by``: columns of the answers
    (``kommune``, ``wave``, ``role``...) or ``group`` -- network / comparison, from ``groups``
    (a mapping kommune -> group, or the Study; kommuner in neither are left out).
    ``services``: the services (default: those the frequency items ask about).

    ``n`` counts A's respondents with a frequency answer about B, ``share_regular`` the share
    of them answering ``regular_from`` or more, ``regular`` is ``share_regular >=
    regular_share``; ``n_quality`` / ``mean_quality`` the same for the quality block (0 / NaN
    without one). Only ties with an answer appear. ``attrs["respondents"]``: the respondents
    with a roster answer, ``{(<by values...>, from_service): count}`` (a plain dict, which
    pandas can copy and compare).
    """
    by = list(by)
    if "group" in by and groups is None:
        raise AnalysisError("tie_table(by=('group', ...)): pass groups= (a mapping kommune -> "
                            "network/comparison, or the Study)")
    rm = roster_matrix(answers, collaboration, services, groups)
    return ties_from_matrix(rm, collaboration, by)


def ties_from_matrix(rm: RosterMatrix, collaboration, by: Sequence[str]) -> pd.DataFrame:
    """:func:`tie_table` from a :class:`RosterMatrix`."""
    by = list(by)
    unknown = [b for b in by if b not in rm.keys.columns]
    if unknown:
        raise AnalysisError(f"tie_table: cannot group by {unknown} (columns: "
                            f"{list(rm.keys.columns)})")
    keys = rm.keys
    if "group" in by:
        keep = keys["group"].notna().to_numpy()
        keys = keys[keep]
        F, Q = rm.frequency[keep], rm.quality[keep]
    else:
        F, Q = rm.frequency, rm.quality
    S = len(rm.services)
    r_from = keys["role"].to_numpy()
    regular_from = collaboration.frequency.regular_from
    long = pd.DataFrame({
        **{b: np.repeat(keys[b].to_numpy(), S) for b in by},
        "respondent_id": np.repeat(keys["respondent_id"].to_numpy(), S),
        "from_service": np.repeat(r_from, S),
        "to_service": np.tile(np.array(rm.services, dtype=object), len(keys)),
        "f": F.ravel(), "q": Q.ravel(),
    })
    answered = long["f"].notna() | long["q"].notna()
    resp = (long[answered].groupby(by + ["from_service"], sort=False)["respondent_id"]
            .nunique().rename("n_respondents").reset_index())
    long["reg"] = np.where(long["f"].notna(), long["f"] >= regular_from, np.nan)
    g = long[answered].groupby(by + ["from_service", "to_service"], sort=False)
    out = g.agg(n=("f", "count"), mean_frequency=("f", "mean"), share_regular=("reg", "mean"),
                n_quality=("q", "count"), mean_quality=("q", "mean")).reset_index()
    out["regular"] = (out["share_regular"] >= collaboration.regular_share).fillna(False)
    out["regular"] = out["regular"].astype(bool)
    order = {s: i for i, s in enumerate(rm.services)}
    out = out.assign(_a=out["from_service"].map(order), _b=out["to_service"].map(order))
    out = out.sort_values(by + ["_a", "_b"]).drop(columns=["_a", "_b"])
    out = out[by + TIE_COLUMNS].reset_index(drop=True)
    for c in ("n", "n_quality"):
        out[c] = out[c].astype("int64")
    out.attrs["respondents"] = {tuple(r[:-1]): int(r[-1]) for r in resp.itertuples(index=False)}
    return out
