"""Interview codes: how often each theme is mentioned, by group (e.g. round, role).

Counts are of coded segments and of distinct sources (interviews) mentioning a theme; the share
is relative to the number of sources in the group.
"""

from __future__ import annotations

import pandas as pd


def code_frequencies(
    segments: pd.DataFrame, by: tuple[str, ...] = ("theme", "wave")
) -> pd.DataFrame:
    """Per group of ``by``: n_segments, n_sources mentioning, sources in the group (all sources
    sharing the non-theme/code keys) and share_sources."""
    by = list(by)
    code_keys = [k for k in by if k in ("theme", "code", "code_path")]
    group_keys = [k for k in by if k not in code_keys]
    seg = segments.dropna(subset=code_keys)
    counts = seg.groupby(by, dropna=False, observed=True).agg(
        n_segments=("segment_id", "size"), n_sources=("source", "nunique")
    ).reset_index()
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
