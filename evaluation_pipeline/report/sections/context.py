"""What the report's sections share: the study's labels in the report's language, the
published tables (in the order they are written), the figure previews, and how a published
table is formatted for the HTML report."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..html import Cell
from ..labels import network_labels, study_labels, t
from ..tables import PublishedTable, formatted

VERDICTS = ("supports", "no_clear_change", "contrary", "insufficient_data")


def label_keys() -> set[str]:
    from ..labels import LABELS

    return set(LABELS["nb"])


def num(x: float, digits: int, lang: str) -> str:
    from ..tables import format_value

    return format_value(x, "estimate" if digits == 2 else "share", lang) if digits else \
        format_value(x, "count", lang)


def fig(build, *args, **kwargs) -> tuple:
    """A figure to draw: its function and arguments (see figures.draw_and_save)."""
    return build, args, kwargs


def caveat_text(caveat, lang: str) -> str:
    """A logic-chain caveat key as shown in the report (empty when there is none)."""
    if not isinstance(caveat, str) or not caveat:
        return ""
    key = f"lc_caveat_{caveat}"
    return t(key, lang) if key in label_keys() else caveat


@dataclass
class ReportContext:
    """The study, its language, threshold and labels; the published tables and the figure
    previews as the report is built."""

    study: object
    lang: str
    k: int
    ind_labels: dict[str, str]
    scale_labels: dict[str, str]
    knames: dict[str, str]
    names: dict[str, str]
    src: dict[str, str]
    tabs: dict[str, PublishedTable] = field(default_factory=dict)
    previews: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, study) -> ReportContext:
        lang = study.language
        ind_labels, scale_labels, knames = study_labels(study)
        names = {**ind_labels, **scale_labels, **knames, **network_labels(study, lang),
                 "all": t("all", lang), "Total": t("total", lang)}
        src = {s: t(f"source_{s}", lang) for s in ("survey", "registry", "interviews", "all",
                                                    "contracts", "design")}
        return cls(study, lang, study.small_cell_threshold, ind_labels, scale_labels, knames,
                   names, src)

    def add(self, name: str, frame: pd.DataFrame, **kw) -> None:
        """Publish ``frame`` (already suppressed) as the table ``name``."""
        self.tabs[name] = PublishedTable(name, frame.reset_index(drop=True),
                                         title=t(f"tab_{name}", self.lang), **kw)

    def frame(self, name: str) -> pd.DataFrame:
        """The published table ``name`` (empty when there is none)."""
        return self.tabs[name].frame if name in self.tabs else pd.DataFrame()

    def table(self, name: str | PublishedTable, show: list[str] | None = None,
              caption: str | None = None):
        """A published table (or its columns ``show``) as the HTML report shows it:
        (caption, formatted text, column kinds)."""
        lang = self.lang
        tb = self.tabs[name] if isinstance(name, str) else name
        name = tb.name
        if show is not None:
            tb = PublishedTable(tb.name, tb.frame[[c for c in show if c in tb.frame]
                                                  + ["suppressed"]],
                                kinds=tb.kinds)
        text = formatted(tb, lang, self.names)
        kinds = [tb.kind(c) for c in tb.columns]
        if name == "logic_chain" and "verdict" in tb.columns:
            j = tb.columns.index("verdict")
            text.iloc[:, j] = [Cell(t(f"lc_{v}", lang), str(v)) if v in VERDICTS
                               else str(v) for v in tb.frame["verdict"]]
            if "expected" in tb.columns:
                j = tb.columns.index("expected")
                text.iloc[:, j] = [t(f"lc_exp_{v}", lang) if f"lc_exp_{v}" in label_keys()
                                   else v for v in tb.frame["expected"]]
            if "level" in tb.columns:
                j = tb.columns.index("level")
                text.iloc[:, j] = [t(f"lc_{v}", lang) if f"lc_{v}" in label_keys()
                                   else v for v in tb.frame["level"]]
            if "caveat" in tb.columns:
                j = tb.columns.index("caveat")
                text.iloc[:, j] = [caveat_text(v, lang) for v in tb.frame["caveat"]]
        return (caption or tb.title, text, kinds)

    def figs_of(self, *keys: str):
        """The drawn figures ``keys`` (those that exist) with their captions."""
        return [(t(f"fig_{n}", self.lang), self.previews[n]) for n in keys
                if n in self.previews]


def not_estimated(ctx: ReportContext, raw_effects: pd.DataFrame, source: str) -> list[str]:
    """What could not be estimated from ``source``, and why (indicator, file, what is
    missing), as one paragraph; nothing when all was estimated."""
    from ...analysis.effects import insufficient_data_notes

    lost = insufficient_data_notes(raw_effects[raw_effects["source"] == source])
    return [t("not_estimated", ctx.lang) + " " + "; ".join(lost) + "."] if lost else []
