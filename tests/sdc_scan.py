"""Every published line of counts with its total, as the informed attacker of
``tests/sdc_attacker.py`` reads them from a study's output folder (written for the tests; it
does not use the pipeline's suppression code).

A *line* is a set of counts and the published number they add up to: the groups of a report
table that ``tables/manifest.json`` declares with ``margins``, the interview counts per role
whose totals stand in ``interview_theme_counts``, and in the municipality profiles the survey
n of every network kommune in one scale and wave, which add up to the network's n shown in every
profile. Where the same count is published in two places (a profile's ``survey.csv`` and its
``survey_change.csv``; a group's n in the report and in the profiles), the attacker takes it
from whichever shows it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sdc_attacker import exposed, grid_from_long

# interview_theme_role: the role counts of a theme and round add up to these columns of
# interview_theme_counts (the manifest declares n_sources; the same holds for the others)
THEME_ROLE_TOTALS = {"n_sources": "n_sources", "n_segments": "n_segments",
                     "sources_in_group": "sources_in_group"}


def _read(out: Path, manifest: dict, name: str) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / manifest["tables"][name]["files"]["csv"],
                       dtype={"kommune": str, "wave": str, "category": str})


def _line(cells: pd.Series, total: float) -> pd.DataFrame:
    """cells (index: category, values: published or NaN) + total -> a long 1-D table."""
    cells = cells[~cells.index.duplicated()]
    return pd.DataFrame({"cell": [*map(str, cells.index), "Total"],
                         "published": [*cells.astype(float), float(total)]})


def report_lines(out: Path) -> list[tuple[str, pd.DataFrame]]:
    """(what, line) for every published line of the report's tables."""
    manifest = json.loads((out / "tables" / "manifest.json").read_text(encoding="utf-8"))
    lines = []
    for name, meta in manifest["tables"].items():
        specs = list(meta.get("margins") or [])
        if name == "interview_theme_role":
            declared = {s["count"] for s in specs}
            specs += [{"count": c, "category": "role", "within": ["theme", "wave"],
                       "total_table": "interview_theme_counts", "total_column": t}
                      for c, t in THEME_ROLE_TOTALS.items() if c not in declared]
        if not specs:
            continue
        frame = _read(out, manifest, name)
        for spec in specs:
            cat, count, keys = spec["category"], spec["count"], spec["within"]
            totals = _read(out, manifest, spec["total_table"]).set_index(keys)[
                spec["total_column"]] if "total_table" in spec else None
            for group, rows in frame.groupby(keys, sort=False):
                group = group if isinstance(group, tuple) else (group,)
                if "total_label" in spec:
                    is_total = rows[cat].astype(str) == str(spec["total_label"])
                    total = rows.loc[is_total, count].iloc[0] if is_total.any() else np.nan
                    rows = rows[~is_total]
                elif totals is not None:
                    total = totals.loc[group if len(group) > 1 else group[0]]
                else:
                    total = rows[spec["total_column"]].iloc[0]
                cells = rows.set_index(rows[cat].astype(str))[count]
                lines.append((f"{name}.{count} {group}", _line(cells, total)))
    return lines


def profile_lines(out: Path, report_means: pd.DataFrame | None = None
                  ) -> list[tuple[str, pd.DataFrame]]:
    """(what, line) for the survey n the profiles publish: per scale and wave the n of every
    network kommune (its own profile) and the network n (every profile). With the report's
    ``survey_scale_means``, also the report's group line with the groups' n from either."""
    per_kommune = []
    for folder in sorted(p for p in (out / "profiles").iterdir() if p.is_dir()):
        kommune = folder.name[:4]
        sv_file = folder / "survey.csv"
        try:
            sv = pd.read_csv(sv_file, dtype={"wave": str})
        except (FileNotFoundError, pd.errors.EmptyDataError):  # a study without a survey
            continue
        known = sv[["scale", "wave", "group", "n"]].copy()
        ch_file = folder / "survey_change.csv"
        if ch_file.exists():
            ch = pd.read_csv(ch_file, dtype={"baseline": str, "followup": str})
            for wave_col, n_col in (("baseline", "n_baseline"), ("followup", "n_followup")):
                if n_col in ch:
                    known = pd.concat([known, ch[["scale", wave_col, "group", n_col]].set_axis(
                        ["scale", "wave", "group", "n"], axis=1)])
        known = known.assign(kommune=np.where(known["group"] == "kommune", kommune,
                                              known["group"]))
        per_kommune.append(known)
    if not per_kommune:
        return []
    allk = pd.concat(per_kommune, ignore_index=True)
    # a count is known when any file shows it
    shown = allk.groupby(["scale", "wave", "kommune"], sort=False)["n"].max()
    lines = []
    kommuner = sorted({k for k in allk["kommune"] if k not in ("network", "comparison")})
    for (scale, wave), s in shown.groupby(level=["scale", "wave"], sort=False):
        s = s.droplevel(["scale", "wave"])
        cells = s.reindex(kommuner)
        lines.append((f"profiles n {scale} {wave}", _line(cells, s.get("network", np.nan))))
        if report_means is not None:
            r = report_means[(report_means["scale"] == scale) & (report_means["wave"] == wave)]
            if len(r):
                groups = r.set_index("group")["n"].astype(float)
                groups = groups.fillna(s.reindex(groups.index))  # the profiles' group n
                lines.append((f"report+profiles n {scale} {wave}",
                              _line(groups, r["n_wave"].iloc[0])))
    return lines


def exposed_in(lines: list[tuple[str, pd.DataFrame]], threshold: int
               ) -> tuple[list[tuple[str, str]], int, int]:
    """(exposed (what, cell), lines with a hidden entry and a published total, hidden
    entries seen) — a line whose total is hidden too says nothing by itself."""
    bad, attacked, hidden = [], 0, 0
    for what, line in lines:
        if line["published"].isna().sum() == 0 or np.isnan(line["published"].iloc[-1]):
            continue
        grid, present, _, cols = grid_from_long(line, "cell", None, "published")
        attacked += 1
        hidden += int(line["published"].isna().sum())
        bad += [(what, cols[j]) for _, j in exposed(grid, present, threshold)]
    return bad, attacked, hidden
