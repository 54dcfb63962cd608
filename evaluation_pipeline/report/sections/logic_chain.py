"""The logic chain's section: its evidence table (an estimate its Effect row hides is hidden
here too), its figure, which family and method the verdicts are adjusted by, and the count of
verdicts."""

from __future__ import annotations

import pandas as pd

from ...publication import suppress_logic_chain
from ..html import Section
from ..labels import t
from ..logic_chain_figure import logic_chain_figure
from ..tables import PublishedTable
from .context import VERDICTS, ReportContext, fig


def add_tables(ctx: ReportContext, logic_chain: pd.DataFrame | None,
               effects: pd.DataFrame) -> None:
    """The evidence table, when there is one (``effects``: the suppressed effects with the
    raw estimates in ``_estimate``)."""
    if logic_chain is not None and len(logic_chain):
        lc = suppress_logic_chain(logic_chain, effects)
        ctx.add("logic_chain", lc, source=ctx.src["all"],
                method=t("method_logic_chain", ctx.lang),
                kinds={c: "text" for c in ("level", "element", "indicator", "source",
                                           "expected", "verdict", "caveat", "basis", "note",
                                           "adjustment")})


def figures(ctx: ReportContext) -> dict[str, tuple]:
    if "logic_chain" in ctx.tabs:
        return {"logic_chain": fig(logic_chain_figure, ctx.tabs["logic_chain"].frame,
                                   ctx.study, ctx.lang)}
    return {}


def sections(ctx: ReportContext) -> list[Section]:
    if "logic_chain" not in ctx.tabs:
        return []
    lang, tabs = ctx.lang, ctx.tabs
    return [Section(
        t("lc_title", lang), anchor="logic-chain",
        paragraphs=[t("logic_chain_text", lang)] + inference_paragraphs(ctx.study, tabs, lang)
        + _verdict_counts(tabs, lang),
        figures=ctx.figs_of("logic_chain"),
        tables=[ctx.table("logic_chain", ["level", "element", "indicator", "source",
                                          "estimate", "ci_low", "ci_high", "p_value",
                                          "p_adjusted", "sim_ci_low", "sim_ci_high",
                                          "expected", "verdict", "caveat"])])]


def inference_paragraphs(study, tabs: dict[str, PublishedTable], lang: str) -> list[str]:
    """Which family and method the logic chain's verdicts are adjusted by (study.yaml
    ``inference:``; :mod:`evaluation_pipeline.analysis.multiplicity`), in words; nothing
    without a logic-chain table."""
    if "logic_chain" not in tabs:
        return []
    inf = getattr(study, "inference", None)
    if inf is None:
        from ...study import Inference

        inf = Inference()
    alpha = f"{inf.alpha:g}".replace(".", "," if lang == "nb" else ".")
    if not inf.adjusted:
        return [t("lc_inference_none", lang, alpha=alpha)]
    lc = tabs["logic_chain"].frame
    tested = lc[lc["p_adjusted"].notna()] if "p_adjusted" in lc else lc.iloc[:0]
    m = len(set(zip(tested["source"], tested["indicator"], strict=True)))
    boot = (tested["basis"].astype(str).str.contains("wild cluster bootstrap", regex=False)
            if "basis" in lc else pd.Series(False, index=tested.index))
    ci = []
    if inf.method == "fdr_bh" or not boot.all() or not len(boot):
        ci.append(t(f"lc_sim_{inf.method}", lang))
    if boot.any() and inf.method != "fdr_bh":
        ci.append(t("lc_sim_bootstrap", lang))
    return [t("lc_inference", lang, method=t(f"inf_{inf.method}", lang), alpha=alpha,
              family=t(f"inf_family_{inf.family}", lang, m=m), ci=" ".join(ci))]


def _verdict_counts(tabs: dict[str, PublishedTable], lang: str) -> list[str]:
    v = tabs["logic_chain"].frame["verdict"].value_counts()
    parts = [f"{t(f'lc_{k}', lang)}: {int(v[k])}" for k in VERDICTS if k in v]
    return [t("verdict_counts", lang) + " " + "; ".join(parts) + "."] if parts else []
