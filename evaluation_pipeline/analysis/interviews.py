"""Interview codes: codebook, theme frequencies, baseline/follow-up shifts, co-occurrence and
inter-coder reliability.

Counts are of coded segments and of distinct sources (interviews) mentioning a theme; the share
is relative to the number of sources in the group. A source's round is its ``wave`` case
variable. Only selection positions and lengths are used, never interview text.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .effects import INSUFFICIENT_DATA, Effect
from .multiplicity import adjust_p

QDA_NS = "urn:QDA-XML:project:1.0"
_LEVEL_COLUMN = {"theme": "theme", "code": "code_path"}


def _level_col(level: str) -> str:
    if level not in _LEVEL_COLUMN:
        raise ValueError(f"level={level!r}; use 'theme' or 'code' (the full code path)")
    return _LEVEL_COLUMN[level]


# --------------------------------------------------------------------------------------------
# codebook
# --------------------------------------------------------------------------------------------
def _qdpx_codebook(path: Path) -> pd.DataFrame:
    with zipfile.ZipFile(path) as zf:
        qde = [n for n in zf.namelist() if n.lower().endswith(".qde")]
        if not qde:
            raise ValueError(f"{path}: no project.qde in the .qdpx archive")
        root = ET.fromstring(zf.read(sorted(qde, key=lambda n: n.count("/"))[0]))
    ns = {"q": QDA_NS}
    rows: list[dict] = []

    def walk(el: ET.Element, trail: list[str]) -> None:
        for code in el.findall("q:Code", ns):
            p = [*trail, code.get("name") or ""]
            rows.append({"code_guid": code.get("guid"), "code": p[-1],
                         "code_path": " / ".join(p), "theme": p[0], "level": len(p)})
            walk(code, p)

    for codes in root.findall("q:CodeBook/q:Codes", ns):
        walk(codes, [])
    return pd.DataFrame(rows, columns=["code_guid", "code", "code_path", "theme", "level"])


def codebook(path_or_segments: str | Path | pd.DataFrame) -> pd.DataFrame:
    """One row per code: code_guid, code, code_path, theme, level (1 = top-level), used (number
    of coded segments with exactly this code, children not included) and in_codebook.

    Given a ``.qdpx`` path the full codebook is read from ``project.qde`` (including codes never
    used) and the segments are read with :func:`~evaluation_pipeline.ingest.read_interview_codes`;
    given a segments frame the codebook is what the segments show. Codes used but missing from
    the codebook have code_path NA and ``in_codebook`` False.
    """
    if isinstance(path_or_segments, pd.DataFrame):
        seg, book = path_or_segments, None
    else:
        from ..ingest import read_interview_codes

        p = Path(path_or_segments)
        seg = read_interview_codes(p)
        book = _qdpx_codebook(p) if p.suffix.lower() == ".qdpx" else None
    used = seg.groupby("code_guid", dropna=False).agg(
        used=("segment_id", "size"), code_s=("code", "first"), path_s=("code_path", "first"),
        theme_s=("theme", "first")).reset_index()
    if book is None:
        book = used.dropna(subset=["path_s"]).rename(
            columns={"code_s": "code", "path_s": "code_path", "theme_s": "theme"})
        book["level"] = book["code_path"].str.count(" / ") + 1
        book = book[["code_guid", "code", "code_path", "theme", "level"]]
    book = book.assign(in_codebook=True)
    out = book.merge(used[["code_guid", "used"]], on="code_guid", how="left")
    missing = used[~used["code_guid"].isin(book["code_guid"]) | used["path_s"].isna()]
    missing = missing[~missing["code_guid"].isin(out["code_guid"])]
    extra = pd.DataFrame({"code_guid": missing["code_guid"], "code": missing["code_s"],
                          "code_path": pd.NA, "theme": pd.NA, "level": pd.NA,
                          "in_codebook": False, "used": missing["used"]})
    out = pd.concat([out, extra], ignore_index=True) if len(extra) else out
    out["used"] = out["used"].fillna(0).astype("int64")
    return out.sort_values(["in_codebook", "code_path"], ascending=[False, True],
                           ignore_index=True)


def codebook_report(path_or_segments: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Codebook problems: ``issue`` = "not in codebook" (codings whose code GUID the codebook
    lacks) or "never used" (a code with no codings on itself or any descendant; a parent used
    only through its children is fine). Columns issue, code_guid, code, code_path, used."""
    cb = codebook(path_or_segments)
    inb = cb[cb["in_codebook"]]
    paths = inb.loc[inb["used"] > 0, "code_path"].astype(str).tolist()
    subtree_used = inb["code_path"].astype(str).map(
        lambda p: any(u == p or u.startswith(p + " / ") for u in paths))
    never = inb[~subtree_used.to_numpy()].assign(issue="never used")
    notin = cb[~cb["in_codebook"]].assign(issue="not in codebook")
    cols = ["issue", "code_guid", "code", "code_path", "used"]
    return pd.concat([notin[cols], never[cols]], ignore_index=True)


# --------------------------------------------------------------------------------------------
# frequencies
# --------------------------------------------------------------------------------------------
def code_frequencies(
    segments: pd.DataFrame,
    by: tuple[str, ...] = ("theme", "wave"),
    *,
    weight: str | None = None,
    coder: str | None = None,
) -> pd.DataFrame:
    """Per group of ``by``: n_segments, n_sources mentioning, sources in the group (all sources
    sharing the non-theme/code keys) and share_sources (= n_sources / sources_in_group, the
    share of informants mentioning).

    ``weight="text_length"`` adds ``text_length_sum``, the summed coded text length (characters)
    per group. ``coder="Koder A"`` counts that coder's codings only (and only the sources that
    coder coded, also in ``sources_in_group``): without it a double-coded interview contributes
    both coders' segments to ``n_segments``, while ``n_sources`` counts distinct interviews and
    is unaffected by double coding.
    """
    if coder is not None:
        segments = segments[segments["coder"] == coder]
    by = list(by)
    code_keys = [k for k in by if k in ("theme", "code", "code_path")]
    group_keys = [k for k in by if k not in code_keys]
    seg = segments.dropna(subset=code_keys)
    aggs = {"n_segments": ("segment_id", "size"), "n_sources": ("source", "nunique")}
    if weight is not None:
        aggs[f"{weight}_sum"] = (weight, "sum")
    counts = seg.groupby(by, dropna=False, observed=True).agg(**aggs).reset_index()
    if group_keys:
        base = (
            segments.groupby(group_keys, dropna=False)["source"].nunique()
            .rename("sources_in_group").reset_index()
        )
        counts = counts.merge(base, on=group_keys, how="left")
    else:
        counts["sources_in_group"] = segments["source"].nunique()
    counts["share_sources"] = counts["n_sources"] / counts["sources_in_group"]
    return counts


# --------------------------------------------------------------------------------------------
# baseline vs follow-up
# --------------------------------------------------------------------------------------------
def wilson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for x/n (no continuity correction)."""
    if n == 0:
        return math.nan, math.nan
    z = stats.norm.ppf(1 - alpha / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe_diff_ci(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05):
    """Difference p1 - p2 of independent proportions with Newcombe's (1998) hybrid score
    interval, method 10: with Wilson limits (l1, u1), (l2, u2),
    L = d - sqrt((p1-l1)^2 + (u2-p2)^2), U = d + sqrt((u1-p1)^2 + (p2-l2)^2).
    Returns (d, low, high)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, alpha)
    l2, u2 = wilson_interval(x2, n2, alpha)
    d = p1 - p2
    return (d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def _source_frame(segments: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """One row per source: its first non-missing value of each case variable in ``cols``."""
    return segments.groupby("source")[cols].first().reset_index()


def _no_round_note(theme: str, by: str | None, group: str, baseline: str, n0: int,
                   followup: str, n1: int) -> str:
    """The note of a theme shift that cannot be estimated: which round has no interviews."""
    empty = " and ".join(r for r, n in ((baseline, n0), (followup, n1)) if n == 0)
    within = "" if group == "all" else f" ({by} {group})"
    return f"{INSUFFICIENT_DATA}: interviews:{theme}{within}: no interviews in round {empty}"


def theme_shift(
    segments: pd.DataFrame,
    baseline: str,
    followup: str,
    by: str | None = None,
    *,
    level: str = "theme",
    alpha: float = 0.05,
    method: str = "holm",
) -> list[Effect]:
    """Per theme (``level="code"``: per code path) the share of interviews mentioning it at
    follow-up minus at baseline.

    Presence is pooled over coders (a double-coded interview mentions a theme if any coder coded
    it). The denominator is the interviews of the round present in ``segments`` (interviews
    with at least one coding); a source without a round (``wave`` NA) is excluded and said in
    the note. CI: Newcombe's hybrid score interval (method 10, via Wilson intervals); p:
    two-sided Fisher's exact test on the 2x2 table (round x mentioned); effect size: Cohen's h
    = 2 asin(sqrt(p_followup)) - 2 asin(sqrt(p_baseline)) (finite also with empty cells, unlike
    the odds ratio). ``p_adjusted`` is Holm (or ``method``) across the outcomes of each group.
    ``by="role"`` (any case variable) adds one Effect per value besides the pooled ``"all"``.
    """
    col = _level_col(level)
    extra = [by] if by else []
    src = _source_frame(segments, ["wave", *extra])
    n_no_round = int(src["wave"].isna().sum())
    src = src[src["wave"].isin([baseline, followup])]
    seg = segments.dropna(subset=[col])
    mention = seg[seg["source"].isin(src["source"])].groupby(col)["source"].unique()
    outcomes = sorted(mention.index.astype(str))
    groups = [("all", src)]
    if by:
        groups += [(str(g), d) for g, d in src.groupby(by, dropna=True)]
    note = f"{n_no_round} source(s) without a round excluded" if n_no_round else ""
    effects: list[Effect] = []
    for gname, gsrc in groups:
        fu = set(gsrc.loc[gsrc["wave"] == followup, "source"])
        bl = set(gsrc.loc[gsrc["wave"] == baseline, "source"])
        fam: list[Effect] = []
        for out in outcomes:
            srcs = set(mention[out])
            x1, x0, n1, n0 = len(srcs & fu), len(srcs & bl), len(fu), len(bl)
            if n1 == 0 or n0 == 0:
                fam.append(Effect("interviews", out, f"{followup} - {baseline}",
                                  "difference in shares, Fisher's exact test", math.nan,
                                  n_treated=n1, n_control=n0, n_obs=n1 + n0, group=gname,
                                  note=_no_round_note(out, by, gname, baseline, n0,
                                                      followup, n1)))
                continue
            d, lo, hi = newcombe_diff_ci(x1, n1, x0, n0, alpha)
            p = stats.fisher_exact([[x1, n1 - x1], [x0, n0 - x0]])[1]
            h = 2 * math.asin(math.sqrt(x1 / n1)) - 2 * math.asin(math.sqrt(x0 / n0))
            fam.append(Effect(
                "interviews", out, f"{followup} - {baseline}",
                "difference in shares, Fisher's exact test", d, ci_low=lo, ci_high=hi,
                p_value=float(p), effect_size=h, effect_size_kind="Cohen's h",
                n_treated=n1, n_control=n0, n_obs=n1 + n0, group=gname,
                note="; ".join(filter(None, [
                    f"share {x0}/{n0} = {x0 / n0:.3f} at {baseline}, "
                    f"{x1}/{n1} = {x1 / n1:.3f} at {followup}; CI Newcombe hybrid score",
                    note]))))
        effects += adjust_p(fam, method=method)
    return effects


# --------------------------------------------------------------------------------------------
# co-occurrence
# --------------------------------------------------------------------------------------------
def _pair_counts(pairs: pd.DataFrame) -> pd.DataFrame:
    return pairs.groupby(["a", "b"]).size().rename("n_both").reset_index()


def co_occurrence(
    segments: pd.DataFrame, unit: str = "source", *, level: str = "theme",
    coder: str | None = None,
) -> pd.DataFrame:
    """Code x code co-occurrence, long: a, b (a < b, each pair once), n_both, n_a, n_b, jaccard.

    ``unit="source"``: n_a = interviews mentioning a, n_both = interviews mentioning both,
    jaccard = n_both / (n_a + n_b - n_both) (a true Jaccard index of the two sets of interviews).
    ``unit="overlap"``: n_a = selections coded a; n_both = pairs (selection coded a, selection
    coded b) in the same source whose [start, end) ranges overlap; jaccard = the same formula on
    these counts (ATLAS.ti's c-coefficient; NaN if the denominator is not positive). Coder
    agnostic unless ``coder`` is given: a selection by Koder A overlapping one by Koder B counts.
    Segments without positions are ignored for overlap. Pairs of the same code are dropped.
    Complexity: source unit is one dense matrix product (sources x codes); overlap sorts by
    (source, start) and sweeps with ``searchsorted``: O(n log n + P) for P overlapping pairs.
    """
    col = _level_col(level)
    seg = segments.dropna(subset=[col])
    if coder is not None:
        seg = seg[seg["coder"] == coder]
    if unit == "source":
        pres = pd.crosstab(seg["source"], seg[col].astype(str)) > 0
        m = pres.to_numpy(dtype=np.int64)
        both = m.T @ m
        codes = pres.columns.to_numpy()
        ia, ib = np.triu_indices(len(codes), k=1)
        out = pd.DataFrame({"a": codes[ia], "b": codes[ib], "n_both": both[ia, ib],
                            "n_a": both[ia, ia], "n_b": both[ib, ib]})
    elif unit == "overlap":
        s = seg.dropna(subset=["start", "end"])
        s = s[s["end"] > s["start"]]
        src = pd.factorize(s["source"])[0].astype(np.int64)
        start = s["start"].to_numpy(np.int64)
        end = s["end"].to_numpy(np.int64)
        order = np.lexsort((start, src))
        src, start, end = src[order], start[order], end[order]
        code = s[col].astype(str).to_numpy()[order]
        big = int(max(end.max(initial=0), 0)) + 1
        key = src * big + start
        # segments i < j (sorted by start within the source) overlap iff start_j < end_i
        stop = np.searchsorted(key, src * big + end, side="left")
        first = np.arange(len(key)) + 1
        cnt = np.maximum(stop - first, 0)
        i = np.repeat(np.arange(len(key)), cnt)
        j = (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)) + np.repeat(first, cnt)
        ca, cb = code[i], code[j]
        keep = ca != cb
        pairs = pd.DataFrame({"a": np.minimum(ca[keep], cb[keep]),
                              "b": np.maximum(ca[keep], cb[keep])})
        n = pd.Series(code).value_counts()
        codes = np.sort(n.index.to_numpy())
        ia, ib = np.triu_indices(len(codes), k=1)
        out = pd.DataFrame({"a": codes[ia], "b": codes[ib]}).merge(
            _pair_counts(pairs), on=["a", "b"], how="left")
        out["n_both"] = out["n_both"].fillna(0).astype("int64")
        out["n_a"] = n.reindex(out["a"]).to_numpy()
        out["n_b"] = n.reindex(out["b"]).to_numpy()
    else:
        raise ValueError(f"unit={unit!r}; use 'source' or 'overlap'")
    denom = (out["n_a"] + out["n_b"] - out["n_both"]).astype(float)
    out["jaccard"] = np.where(denom > 0, out["n_both"] / denom.where(denom > 0, np.nan), np.nan)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# inter-coder reliability
# --------------------------------------------------------------------------------------------
#: share of each coder's coded passages that must overlap the other coder's passages in a
#: document for the two to count as having coded the same document
MIN_SHARED_PASSAGES = 0.1


def _passages(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distinct (start, end) passages, as an (n, 2) int array."""
    if not len(start):
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.column_stack([start, end]).astype(np.int64), axis=0)


def _shared_share(a, b) -> float:
    """Share of the passages (distinct start..end) of ``a`` that overlap a passage of ``b``
    (segments frames, or (n, 2) arrays of passages)."""
    pa = a if isinstance(a, np.ndarray) else _passages(a["start"].to_numpy(), a["end"].to_numpy())
    pb = b if isinstance(b, np.ndarray) else _passages(b["start"].to_numpy(), b["end"].to_numpy())
    if not len(pa):
        return 0.0
    hit = (pa[:, None, 0] < pb[None, :, 1]) & (pb[None, :, 0] < pa[:, None, 1])
    hit |= (pa[:, None, 0] == pb[None, :, 0]) & (pa[:, None, 1] == pb[None, :, 1])
    return float(hit.any(axis=1).mean())


def double_coded(segments: pd.DataFrame, coders: list[str] | None = None, *,
                 min_shared: float = MIN_SHARED_PASSAGES) -> tuple[dict[str, list[str]], str]:
    """Which coders coded the same documents: ``({source: [coders]}, note)``.

    Two coders coded a document together when both coded it and -- for text with positions --
    at least ``min_shared`` of each one's coded passages overlap a passage of the other.
    Coders who split a long document between them (each coding a different stretch, as in
    multi-user NVivo projects) did not code the same document and are not compared: agreement
    between them would count every code the other never had the chance to apply as a
    disagreement. Documents without positions (PDF, pictures, whole-document codings) count
    when both coded them. ``note`` says, for the report, why documents with several coders
    were left out (empty when none was)."""
    seg = segments.dropna(subset=["coder"])
    if coders is not None:
        seg = seg[seg["coder"].isin(coders)]
    src, src_names = pd.factorize(seg["source"].astype(str), sort=True)
    cod, cod_names = pd.factorize(seg["coder"].astype(str), sort=True)
    start = pd.to_numeric(seg["start"], errors="coerce").to_numpy(dtype=float)
    end = pd.to_numeric(seg["end"], errors="coerce").to_numpy(dtype=float)
    order = np.argsort(src, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(src[order])) + 1) if len(order) else []
    out: dict[str, list[str]] = {}
    split: list[str] = []
    for idx in groups:
        cs = np.unique(cod[idx])
        if len(cs) < 2:
            continue
        has = ~np.isnan(start[idx]) & ~np.isnan(end[idx])
        passages = {c: _passages(start[idx][has & (cod[idx] == c)],
                                 end[idx][has & (cod[idx] == c)]) for c in cs}
        keep: set[int] = set()
        for i, a in enumerate(cs):
            for b in cs[i + 1:]:
                pa, pb = passages[a], passages[b]
                together = (not len(pa) or not len(pb)  # no positions: both coded it
                            or min(_shared_share(pa, pb), _shared_share(pb, pa)) >= min_shared)
                if together:
                    keep |= {int(a), int(b)}
        source = str(src_names[src[idx[0]]])
        if len(keep) >= 2:
            out[source] = sorted(str(cod_names[c]) for c in keep)
        if len(keep) < len(cs):
            split.append(source)
    note = ""
    if split:
        note = (f"{len(split)} document(s) coded by several coders who coded different "
                f"passages (less than {min_shared:.0%} of one coder's passages overlap the "
                "other's): split between coders, not double-coded, so not compared")
    if not out:
        note = ("no document was coded by two or more coders: agreement between coders is "
                "not computed" + (f" ({note})" if note else ""))
    return out, note


def coder_table(
    segments: pd.DataFrame, coders: list[str] | None = None, *, level: str = "theme",
    min_shared: float = MIN_SHARED_PASSAGES,
) -> pd.DataFrame:
    """Long (unit, source, code, coder, value) table of code presence in double-coded sources.

    The double-coded sources and their coders are those of :func:`double_coded` (two or more
    of ``coders``, default all, coded the same document); a unit is (source, code) for every
    code at ``level`` used anywhere in ``segments``; value 1/0 = whether the coder applied the
    code anywhere in that source ("presence", the usual unit for thematic coding agreement).
    ``attrs["note"]`` says why documents with several coders were left out, if any were
    (:func:`intercoder_reliability` reports it when nothing is left)."""
    col = _level_col(level)
    seg = segments.dropna(subset=[col, "coder"])
    if coders is not None:
        seg = seg[seg["coder"].isin(coders)]
    codes = sorted(segments[col].dropna().astype(str).unique())
    pairs, note = double_coded(seg, min_shared=min_shared)
    keep = pd.DataFrame([(s, c) for s, cs in pairs.items() for c in cs],
                        columns=["source", "coder"])
    present = set(zip(seg["source"].astype(str), seg["coder"].astype(str),
                      seg[col].astype(str), strict=True))
    n_codes = len(codes)
    source = np.repeat(keep["source"].to_numpy(dtype=object), n_codes)
    coder = np.repeat(keep["coder"].to_numpy(dtype=object), n_codes)
    code = np.tile(np.asarray(codes, dtype=object), len(keep))
    out = pd.DataFrame({
        "unit": [f"{s} | {k}" for s, k in zip(source, code, strict=True)],
        "source": source, "code": code, "coder": coder,
        "value": np.fromiter(((s, c, k) in present for s, c, k in zip(source, coder, code,
                                                                           strict=True)),
                             dtype=bool, count=len(code)).astype(int),
    }, columns=["unit", "source", "code", "coder", "value"])
    out.attrs["note"] = note
    return out


def overlap_units(segments: pd.DataFrame, coders: list[str] | None = None, *,
                  level: str = "code", uncoded: str | None = None) -> pd.DataFrame:
    """Long (unit, source, coder, value) table matching selections across coders: in each
    double-coded source, overlapping selections (of any coder) are merged into one text span
    (a unit); value = the code the coder gave that span (NA if the coder coded nothing there;
    if a coder gave several codes in one span, each code is its own unit row ``unit#k``).
    With NA, a span one coder left uncoded is not pairable and drops out of alpha; pass e.g.
    ``uncoded="(none)"`` to count such omissions as disagreements (unitizing included)."""
    col = _level_col(level)
    seg = segments.dropna(subset=[col, "coder", "start", "end"])
    if coders is not None:
        seg = seg[seg["coder"].isin(coders)]
    ncod = seg.groupby("source")["coder"].transform("nunique")
    seg = seg[ncod >= 2].sort_values(["source", "start"])
    all_coders = sorted(seg["coder"].unique())
    rows = []
    for source, s in seg.groupby("source", sort=True):
        st, en = s["start"].to_numpy(np.int64), s["end"].to_numpy(np.int64)
        span = np.cumsum(np.r_[1, st[1:] >= np.maximum.accumulate(en)[:-1]])
        for k, grp in s.assign(span=span).groupby("span"):
            by_coder = {c: sorted(set(grp.loc[grp["coder"] == c, col].astype(str)))
                        for c in all_coders}
            depth = max(len(v) for v in by_coder.values())
            for d in range(depth):
                u = f"{source} | {k}" + (f"#{d}" if depth > 1 else "")
                for c, v in by_coder.items():
                    rows.append((u, source, c, v[d] if d < len(v) else (uncoded or pd.NA)))
    return pd.DataFrame(rows, columns=["unit", "source", "coder", "value"])


def _kappa(x: np.ndarray, y: np.ndarray) -> float:
    """Cohen's kappa (po - pe) / (1 - pe) for two coders' nominal values."""
    cats = np.union1d(x, y)
    po = float(np.mean(x == y))
    pe = float(sum(np.mean(x == c) * np.mean(y == c) for c in cats))
    return (po - pe) / (1 - pe) if pe < 1 else math.nan


def _reliability_row(d: pd.DataFrame, level: str) -> dict:
    import krippendorff

    wide = d.pivot_table(index="coder", columns="unit", values="value", aggfunc="first")
    if level == "nominal":
        cats = {v: i for i, v in enumerate(sorted(pd.unique(d["value"].dropna()), key=str))}
        wide = wide.apply(lambda c: c.map(cats))
    data = wide.to_numpy(dtype=float)
    paired = (~np.isnan(data)).sum(axis=0) >= 2
    pdata = data[:, paired]
    agree = [np.unique(u[~np.isnan(u)]).size == 1 for u in pdata.T]
    row = {"n_units": int(paired.sum()), "n_coders": int(data.shape[0]),
           "percent_agreement": float(np.mean(agree)) if agree else math.nan,
           "alpha": math.nan, "kappa": math.nan, "warning": ""}
    vals = pdata[~np.isnan(pdata)]
    if vals.size == 0:
        row["warning"] = "no unit coded by two or more coders"
        return row
    uniq, cnt = np.unique(vals, return_counts=True)
    mode = uniq[np.argmax(cnt)]
    n_differ = int(sum(np.any((u != mode) & ~np.isnan(u)) for u in pdata.T))
    if uniq.size < 2:
        row["warning"] = "no variance: every unit has the same value; alpha/kappa undefined"
        return row
    if n_differ < 2:
        row["warning"] = (f"near-constant: only {n_differ} unit differs from the modal value; "
                          "alpha/kappa not reported")
        return row
    row["alpha"] = float(krippendorff.alpha(reliability_data=data,
                                            level_of_measurement=level))
    if data.shape[0] == 2 and level == "nominal":
        both = pdata[:, ~np.isnan(pdata).any(axis=0)]
        row["kappa"] = _kappa(both[0], both[1])
    return row


def intercoder_reliability(codings: pd.DataFrame, level: str = "nominal") -> pd.DataFrame:
    """Per code (if ``codings`` has a ``code`` column) and overall (code ``"(all)"``):
    Krippendorff's alpha (``krippendorff.alpha``, coders x units, missing allowed,
    ``level`` nominal/ordinal/interval/ratio), Cohen's kappa (exactly two coders, nominal, units
    coded by both), percent agreement (share of units coded by >= 2 coders on which all agree)
    and n_units. A code whose values hardly vary (one value only, or fewer than 2 units with a
    value other than the modal one) gets ``warning`` and alpha/kappa NaN: the coefficients are
    undefined or dominated by one or two units there."""
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"level={level!r}")
    note = codings.attrs.get("note", "")
    if codings.empty:
        # nothing double-coded: no agreement figure at all (a 0 % from codes each applied by
        # one coder only would be misleading), one row saying why
        return pd.DataFrame([{
            "code": "(all)", "n_units": 0, "n_coders": 0, "percent_agreement": math.nan,
            "alpha": math.nan, "kappa": math.nan,
            "warning": note or "no document was coded by two or more coders: agreement "
            "between coders is not computed"}])
    rows = []
    if "code" in codings.columns:
        for code, d in codings.groupby("code", sort=True):
            rows.append({"code": code, **_reliability_row(d, level)})
    overall = {"code": "(all)", **_reliability_row(codings, level)}
    if note:
        overall["warning"] = "; ".join(filter(None, [overall["warning"], note]))
    rows.append(overall)
    return pd.DataFrame(rows)
