"""Who answered: response rates, panel retention, role mix, post-stratification weights and
item response distributions of the survey waves.

Follow-up waves answered by a different mix of roles (or by fewer of the baseline respondents)
can fake a change in a scale score; these tables show the composition of every wave, and
:func:`poststratification_weights` reweights follow-up respondents to the baseline role mix
(cell weighting, the simplest post-stratification; Kalton & Flores-Cervantes 2003, "Weighting
methods", J. Off. Stat. 19(2)). Likert answers are ordinal, so :func:`item_distributions` gives
the share of every response category, not only means.

A *respondent* is a ``respondent_id`` × ``wave`` with at least one row in the long answers
table (``read_survey`` writes a row for every item of everyone in the file, answered or not).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..study import Scale, Study

ALL = "all"
MISSING = "(missing)"

RESPONSE_RATE_COLUMNS = ["wave", "level", "kommune", "role", "respondents", "invited", "rate"]
RETENTION_COLUMNS = [
    "followup", "kommune", "n_baseline", "n_followup", "retained", "share_of_baseline",
    "moved", "panel_in_followup", "share_of_followup",
]
ROLE_MIX_COLUMNS = ["wave", "level", "unit", "role", "respondents", "share"]
CELL_COLUMNS = [
    "wave", "group", "cell", "n_baseline", "share_baseline", "n", "share", "weight", "note",
]
DISTRIBUTION_COLUMNS = [
    "wave", "group", "scale", "item", "reversed", "category", "count", "share", "n_answered",
    "n_missing",
]

_INVITED_KEY = re.compile(r"^(?P<kommune>\d{1,4})(?:/(?P<role>.+))?$")


class CompositionWarning(UserWarning):
    """A composition table or weight cannot be what it is meant to be (e.g. a role missing)."""


def _warn(msg: str) -> None:
    warnings.warn(msg, CompositionWarning, stacklevel=3)


def study_groups(study: Study) -> dict[str, str]:
    """Kommune code → ``"network"`` / ``"comparison"`` for the ``groups`` parameters."""
    out = {k: "network" for k in study.network}
    out.update({k: "comparison" for k in study.comparison})
    return out


def _need(frame: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise AnalysisError(f"{what}: the table lacks column(s) {missing}")


def _respondents(answers: pd.DataFrame, cols: Sequence[str], what: str) -> pd.DataFrame:
    """One row per respondent × wave with ``cols``; an error if a respondent's ``cols`` differ
    between the rows of one wave."""
    keys = ["respondent_id", "wave"]
    _need(answers, keys + list(cols), what)
    sub = answers[keys + list(cols)].astype(object)
    sub = sub.where(sub.notna(), None)
    uniq = sub.drop_duplicates()
    dup = uniq.duplicated(keys, keep=False)
    if dup.any():
        row = uniq[dup].iloc[0]
        raise AnalysisError(
            f"{what}: respondent {row['respondent_id']} has more than one value of "
            f"{'/'.join(cols)} in wave {row['wave']}"
        )
    return uniq.reset_index(drop=True)


def _with_group(frame: pd.DataFrame, groups: dict[str, str] | None, what: str) -> pd.DataFrame:
    """Add ``group`` from a kommune → group mapping (if given); unmapped kommuner are errors."""
    if groups is None:
        return frame
    _need(frame, ["kommune"], what)
    out = frame.copy()
    out["group"] = out["kommune"].astype(object).map(groups)
    unmapped = sorted({str(k) for k in out.loc[out["group"].isna(), "kommune"]})
    if unmapped:
        raise AnalysisError(f"{what}: kommune(s) {unmapped} are not in the groups mapping")
    return out


def _wave_order(waves: Sequence[str], study: Study | None = None) -> list[str]:
    present = list(dict.fromkeys(str(w) for w in waves))
    if study is None:
        return sorted(present)
    order = {w: i for i, w in enumerate(study.wave_ids)}
    unknown = [w for w in present if w not in order]
    if unknown:
        raise AnalysisError(f"the answers hold wave(s) {unknown} not declared in the study")
    return sorted(present, key=order.__getitem__)


# ---- response rates ----------------------------------------------------------------------


def parse_invited(
    invited: dict[str, int] | None, *, kommuner: Sequence[str], roles: Sequence[str] | None
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Split a wave's ``invited`` mapping into kommune totals and kommune × role counts.

    Keys are ``"KKKK"`` (everyone invited in the kommune) or ``"KKKK/role"`` (that role in
    the kommune); ``KKKK`` is the 4-digit kommune code in the study's geography (leading zeros
    may be left out). A kommune that is not in the study, a role not among ``survey.roles`` (when
    declared) or a negative count is an error naming the key.
    """
    totals: dict[str, int] = {}
    cells: dict[tuple[str, str], int] = {}
    for key, n in (invited or {}).items():
        m = _INVITED_KEY.match(str(key).strip())
        if not m:
            raise AnalysisError(
                f"invited: key {key!r} is not 'KKKK' or 'KKKK/role' (kommune code, role)"
            )
        kommune, role = m["kommune"].zfill(4), m["role"]
        if kommune not in kommuner:
            raise AnalysisError(f"invited: key {key!r} names kommune {kommune}, not in the study")
        if role is not None and roles is not None and role not in roles:
            raise AnalysisError(f"invited: key {key!r} names role {role!r}, not in survey.roles")
        if n is None or int(n) < 0:
            raise AnalysisError(f"invited: key {key!r} has a negative count {n}")
        if role is None:
            totals[kommune] = int(n)
        else:
            cells[(kommune, role)] = int(n)
    return totals, cells


def response_rates(answers: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Respondents, invited and response rate per wave × kommune × role, per wave × kommune
    and per wave (``level`` = ``kommune_role``, ``kommune``, ``wave``; ``"all"`` fills the
    ``kommune``/``role`` of totals).

    ``invited`` comes from the wave's ``invited`` in study.yaml (keys: see
    :func:`parse_invited`). A kommune's invited total is its ``"KKKK"`` key, else the sum of
    its ``"KKKK/role"`` keys when every role that answered there has one; the wave's is the sum
    of the kommune totals when every kommune that answered has one. Otherwise ``invited`` and
    ``rate`` are NaN. ``rate = respondents / invited``. Every study kommune × role is listed
    (0 respondents included), so cells nobody answered are visible.
    """
    resp = _respondents(answers, ["kommune", "role"], "response_rates")
    waves = _wave_order(resp["wave"], study)
    declared_roles = list(study.survey.roles) if study.survey and study.survey.roles else None
    kommuner = list(dict.fromkeys(study.kommuner + sorted(str(k) for k in resp["kommune"])))
    roles = list(dict.fromkeys((declared_roles or []) + sorted(str(r) for r in resp["role"])))
    rows = []
    for w in waves:
        rw = resp[resp["wave"] == w]
        totals, cells = parse_invited(
            study.wave(w).invited, kommuner=study.kommuner, roles=declared_roles
        )
        counts = rw.groupby(["kommune", "role"]).size().to_dict()
        # per kommune: respondents and the roles that answered (a missing role included),
        # from one pass over the wave instead of one scan per kommune
        n_kommune = rw.groupby("kommune").size().to_dict()
        answered_roles: dict[object, set] = {}
        for k, r in rw[["kommune", "role"]].drop_duplicates().itertuples(index=False):
            answered_roles.setdefault(k, set()).add(r)
        known_kommune: dict[str, float] = {}
        for k in kommuner:
            for r in roles:
                n = int(counts.get((k, r), 0))
                rows.append((w, "kommune_role", k, r, n, cells.get((k, r), math.nan)))
            n_k = int(n_kommune.get(k, 0))
            if k in totals:
                inv = float(totals[k])
                role_sum = sum(v for (kk, _), v in cells.items() if kk == k)
                if role_sum > inv:
                    _warn(
                        f"wave {w}, kommune {k}: the invited counts per role sum to {role_sum}, "
                        f"more than the kommune's {totals[k]}"
                    )
            else:
                answered = answered_roles.get(k, set())
                mine = {r for (kk, r) in cells if kk == k}
                inv = (
                    float(sum(cells[(k, r)] for r in mine))
                    if mine and answered <= mine
                    else math.nan
                )
                if mine and not answered <= mine:
                    _warn(
                        f"wave {w}, kommune {k}: role(s) {sorted(answered - mine, key=str)} "
                        "answered but have no invited count; the kommune's invited total is "
                        "unknown"
                    )
            known_kommune[k] = inv
            rows.append((w, "kommune", k, ALL, n_k, inv))
        answered_k = set(answered_roles)
        inv_w = (
            float(sum(v for v in known_kommune.values() if not math.isnan(v)))
            if all(not math.isnan(known_kommune[k]) for k in answered_k) and answered_k
            else math.nan
        )
        rows.append((w, "wave", ALL, ALL, len(rw), inv_w))
    out = pd.DataFrame(rows, columns=RESPONSE_RATE_COLUMNS[:-1])
    out["respondents"] = out["respondents"].astype("int64")
    out["invited"] = out["invited"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = np.where(out["invited"] > 0, out["respondents"] / out["invited"], np.nan)
    over = out[out["rate"] > 1]
    for _, r in over.iterrows():
        _warn(
            f"wave {r['wave']}, kommune {r['kommune']}, role {r['role']}: "
            f"{r['respondents']} respondents but only {r['invited']:g} invited"
        )
    return out


# ---- panel retention ---------------------------------------------------------------------


def panel_retention(answers: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Per follow-up wave: how many baseline respondents answered again, overall
    (``kommune = "all"``) and per baseline kommune.

    ``retained``: baseline respondents of the kommune (by ``respondent_id``) who answered the
    follow-up, anywhere; ``share_of_baseline = retained / n_baseline``; ``moved``: of those,
    how many answered from another kommune. From the follow-up side, ``panel_in_followup``
    counts the kommune's follow-up respondents who also answered the baseline (any kommune),
    ``share_of_followup = panel_in_followup / n_followup``. Only meaningful when
    ``respondent_id`` is a panel key (the same pseudonym in every wave).
    """
    resp = _respondents(answers, ["kommune"], "panel_retention")
    base = study.baseline_wave
    if not (resp["wave"] == base).any():
        raise AnalysisError(f"panel_retention: no answers from the baseline wave {base}")
    waves = [w for w in _wave_order(resp["wave"], study) if w in study.followup_waves]
    b = resp[resp["wave"] == base].set_index("respondent_id")["kommune"]
    kommuner = list(dict.fromkeys(study.kommuner + sorted(set(resp["kommune"]) - {None})))
    rows = []
    for w in waves:
        f = resp[resp["wave"] == w].set_index("respondent_id")["kommune"]
        # respondents in both waves with their baseline and follow-up kommune (a join on the
        # pseudonym; counted per kommune with value_counts instead of per respondent)
        both = pd.DataFrame({"kb": b}).join(pd.DataFrame({"kf": f}), how="inner")
        moved = both["kb"].ne(both["kf"]) & ~(both["kb"].isna() & both["kf"].isna())
        rows.append((w, ALL, len(b), len(f), len(both), int(moved.sum()), len(both)))
        per = pd.DataFrame({
            "n_baseline": b.value_counts(), "n_followup": f.value_counts(),
            "retained": both["kb"].value_counts(),
            "moved": both.loc[moved, "kb"].value_counts(),
            "panel_in_followup": both["kf"].value_counts(),
        }).reindex(kommuner).fillna(0).astype(int)
        rows += [(w, k, *r) for k, r in zip(kommuner, per.itertuples(index=False), strict=True)]
    out = pd.DataFrame(
        rows,
        columns=["followup", "kommune", "n_baseline", "n_followup", "retained", "moved",
                 "panel_in_followup"],
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share_of_baseline"] = out["retained"] / out["n_baseline"].where(out["n_baseline"] > 0)
        out["share_of_followup"] = out["panel_in_followup"] / out["n_followup"].where(
            out["n_followup"] > 0
        )
    return out[RETENTION_COLUMNS]


# ---- role mix ----------------------------------------------------------------------------


def role_mix(answers: pd.DataFrame, groups: dict[str, str] | None = None) -> pd.DataFrame:
    """Share of each role among the respondents per wave (``level = "wave"``, ``unit =
    "all"``), per wave × group (``level = "group"``; from ``groups``, a kommune → group
    mapping, or an existing ``group`` column) and per wave × kommune (``level = "kommune"``).

    Every role seen in the answers is listed in every unit (0 included); shares sum to 1 per
    wave × level × unit.
    """
    df = _with_group(answers, groups, "role_mix")
    has_group = "group" in df.columns
    resp = _respondents(df, ["kommune", "role"] + (["group"] if has_group else []), "role_mix")
    resp["role"] = resp["role"].fillna(MISSING)
    roles = sorted(resp["role"].unique(), key=str)
    frames = []
    levels = [("wave", None)] + ([("group", "group")] if has_group else []) + [
        ("kommune", "kommune")
    ]
    for level, col in levels:
        unit = resp[col].astype(object) if col else pd.Series(ALL, index=resp.index)
        counts = resp.assign(unit=unit).groupby(["wave", "unit", "role"]).size()
        units = resp.assign(unit=unit)[["wave", "unit"]].drop_duplicates()
        full = pd.MultiIndex.from_tuples(
            [(w, u, r) for w, u in units.itertuples(index=False) for r in roles],
            names=["wave", "unit", "role"],
        )
        c = counts.reindex(full, fill_value=0).rename("respondents").reset_index()
        c["share"] = c["respondents"] / c.groupby(["wave", "unit"])["respondents"].transform("sum")
        c["level"] = level
        frames.append(c)
    out = pd.concat(frames, ignore_index=True)[ROLE_MIX_COLUMNS]
    out["respondents"] = out["respondents"].astype("int64")
    return out.sort_values(["wave", "level", "unit", "role"], key=_natural, kind="stable") \
        .reset_index(drop=True)


def _natural(col: pd.Series) -> pd.Series:
    if col.name == "level":
        return col.map({"wave": 0, "group": 1, "kommune": 2})
    return col.astype(str)


# ---- post-stratification -----------------------------------------------------------------


def _cell_frame(
    data: pd.DataFrame, by: Sequence[str], groups: dict[str, str] | None, what: str
) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    df = _with_group(data, groups, what)
    has_group = "group" in df.columns
    cols = (["group"] if has_group else []) + list(by)
    resp = _respondents(df, cols, what)
    for c in cols:
        resp[c] = resp[c].fillna(MISSING).astype(str)
    if not has_group:
        resp["group"] = ALL
    resp["cell"] = (resp[by[0]].str.cat([resp[c] for c in by[1:]], sep=" / ") if by
                    else ALL)
    return df, resp, has_group


def poststratification_cells(
    data: pd.DataFrame,
    baseline: str,
    by: Sequence[str] = ("role",),
    *,
    groups: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The weighting cells of :func:`poststratification_weights`: per wave × group × cell
    (``by`` values joined with ``" / "``) the baseline and the wave's respondent counts and
    shares, the weight and a note for cells that cannot be reweighted."""
    by = [by] if isinstance(by, str) else list(by)
    _df, resp, _ = _cell_frame(data, by, groups, "poststratification_weights")
    return _cells(resp, baseline)


def _cells(resp: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """:func:`poststratification_cells` from the respondent × wave rows of :func:`_cell_frame`."""
    if not (resp["wave"] == baseline).any():
        raise AnalysisError(f"poststratification_weights: no rows from the baseline {baseline}")
    counts = resp.groupby(["wave", "group", "cell"]).size().rename("n").reset_index()
    base = counts[counts["wave"] == baseline].rename(columns={"n": "n_baseline"})
    rows = []
    for (w, g), sub in counts.groupby(["wave", "group"], sort=True):
        b = base.loc[base["group"] == g].set_index("cell")["n_baseline"]
        n = sub.set_index("cell")["n"]
        if w == baseline:
            for cell, nc in n.items():
                rows.append((w, g, cell, nc, nc / n.sum(), nc, nc / n.sum(), 1.0, ""))
            continue
        common = n.index.intersection(b.index)
        b_common = b[common].sum()
        for cell in b.index.difference(n.index):
            msg = (
                f"wave {w}, group {g}: {cell} ({b[cell]} baseline respondents) has no "
                f"respondents in {w}; the role mix of {w} cannot be reweighted to include it"
            )
            _warn(msg)
            rows.append((w, g, cell, int(b[cell]), b[cell] / b.sum(), 0, 0.0, math.nan, msg))
        for cell, nc in n.items():
            share = nc / n.sum()
            if cell in b.index:
                target = b[cell] / b_common
                rows.append((w, g, cell, int(b[cell]), b[cell] / b.sum(), int(nc), share,
                             target / share, ""))
            else:
                msg = (
                    f"wave {w}, group {g}: {cell} has no respondents in the baseline {baseline}; "
                    f"its {nc} respondent(s) get weight 0"
                )
                _warn(msg)
                rows.append((w, g, cell, 0, 0.0, int(nc), share, 0.0, msg))
    out = pd.DataFrame(rows, columns=CELL_COLUMNS)
    out["n_baseline"] = out["n_baseline"].astype("int64")
    out["n"] = out["n"].astype("int64")
    return out


def poststratification_weights(
    data: pd.DataFrame,
    baseline: str,
    by: Sequence[str] = ("role",),
    *,
    groups: dict[str, str] | None = None,
) -> pd.Series:
    """Cell weights that give every follow-up wave the baseline wave's mix of ``by`` (default:
    role); a Series aligned with ``data``'s rows (long answers or scale scores), named
    ``weight``.

    Cells are the ``by`` values within a group: the ``group`` column (from ``groups``, a kommune
    → group mapping, or already in ``data``), else the whole wave. The weight of a follow-up
    respondent in cell c is ``p_baseline(c) / p_wave(c)``, the shares counting respondents
    (respondent × wave), not rows, with ``p_baseline`` taken over the cells present in both
    waves, so the weights of a wave × group sum to its respondents and the weighted mix equals
    the baseline's exactly. Baseline rows weigh 1. A cell of the follow-up absent at baseline
    gets weight 0 (warning); a baseline cell absent in the follow-up cannot be reweighted
    (warning: the weighted mix then equals the baseline's among the other cells).
    """
    by = [by] if isinstance(by, str) else list(by)
    df, resp, _ = _cell_frame(data, by, groups, "poststratification_weights")
    cells = _cells(resp, baseline)  # from the same respondent rows, built once
    w = resp.merge(cells[["wave", "group", "cell", "weight"]], on=["wave", "group", "cell"])
    lookup = w.set_index(["respondent_id", "wave"])["weight"]
    idx = pd.MultiIndex.from_arrays(
        [df["respondent_id"].astype(object), df["wave"].astype(object)]
    )
    return pd.Series(lookup.reindex(idx).to_numpy(float), index=data.index, name="weight")


# ---- item distributions ------------------------------------------------------------------


def item_distributions(
    answers: pd.DataFrame,
    scales: dict[str, Scale],
    groups: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Share of each response category per scale item × wave (× group when ``groups``, a
    kommune → group mapping, is given): every category of the scale's range is listed, 0
    answers included. Answers are the raw values *as asked*: reverse-coded items are NOT
    reversed (``reversed`` marks them).

    ``share = count / n_answered`` (NaN when nobody answered); ``n_missing`` = respondents of
    the wave (× group) without a valid answer to the item (missing, user-missing, or no row).
    A value outside the range, or between categories, is an error.
    """
    _need(answers, ["respondent_id", "wave", "item", "value"], "item_distributions")
    df = _with_group(answers, groups, "item_distributions")
    use_group = groups is not None
    keys = ["wave"] + (["group"] if use_group else [])
    df = df.copy()
    for c in keys:
        df[c] = df[c].astype(object)
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    n_resp = df.groupby(keys)["respondent_id"].nunique()
    frames = []
    for name, scale in scales.items():
        lo, hi = scale.range
        cats = list(range(lo, hi + 1))
        sub = df[df["item"].isin(scale.items) & df["value"].notna()]
        bad = ~sub["value"].isin(cats)
        if bad.any():
            r = sub[bad].iloc[0]
            raise AnalysisError(
                f"item_distributions: scale {name}, item {r['item']} has value {r['value']:g}, "
                f"not a category {lo}-{hi} (respondent {r['respondent_id']}, wave {r['wave']})"
            )
        answered = sub.drop_duplicates(["respondent_id", *keys, "item"])
        counts = answered.groupby(keys + ["item", "value"]).size()
        full = pd.MultiIndex.from_tuples(
            [(*(u if isinstance(u, tuple) else (u,)), it, float(c))
             for u in n_resp.index for it in scale.items for c in cats],
            names=keys + ["item", "value"],
        )
        c = counts.reindex(full, fill_value=0).rename("count").reset_index()
        c["n_answered"] = c.groupby(keys + ["item"])["count"].transform("sum")
        c["n_missing"] = (
            c.set_index(keys).index.map(n_resp).to_numpy(int) - c["n_answered"].to_numpy(int)
        )
        c["share"] = c["count"] / c["n_answered"].where(c["n_answered"] > 0)
        c["category"] = c["value"].astype("int64")
        c["scale"] = name
        c["reversed"] = c["item"].isin(scale.reverse)
        frames.append(c)
    if not frames:
        return pd.DataFrame(columns=DISTRIBUTION_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    if not use_group:
        out["group"] = ALL
    for col in ("count", "n_answered", "n_missing"):
        out[col] = out[col].astype("int64")
    return out[DISTRIBUTION_COLUMNS]
