"""Analyse: the logic-chain evidence table (every rule lives in
evaluation_pipeline.analysis.logic_chain)."""

import base64

import dagster as dg
import matplotlib.pyplot as plt
import pandas as pd

from evaluation_pipeline.analysis import logic_chain as lc
from evaluation_pipeline.report.figures import png_bytes
from evaluation_pipeline.report.logic_chain_figure import logic_chain_figure

from .analysis import INSUFFICIENT_META
from .resources import StudyResource

PREVIEW_COLUMNS = ["level", "element", "indicator", "source", "estimate", "ci_low", "ci_high",
                   "p_value", "p_adjusted", "expected", "verdict"]


def without_evidence(evidence: pd.DataFrame) -> list[str]:
    """The chain's indicators for which no Effect row exists at all (e.g. a theme nobody
    coded, interviews without rounds), with the reason: part of the command line's warnings
    summary (indicators whose Effect row says why it could not be estimated are listed from
    ``effects``)."""
    if not len(evidence):
        return []
    rows = evidence[(evidence["verdict"] == "insufficient_data")
                    & (evidence["basis"].fillna("") == "")]
    return list(dict.fromkeys(f"{r.source}:{r.indicator} (logic chain {r.element!r}): {r.note}"
                              for r in rows.itertuples()))


DESCRIPTION = (
    "The logic-chain evidence table: one row per chain element × bound indicator with the "
    "primary Effect (survey: network vs comparison DiD at the last wave; registry: TWFE DiD "
    "with the wild cluster bootstrap CI; interviews: theme share shift), the expected "
    "direction and a verdict (supports / no clear change / contrary / insufficient data) "
    "from its p-value adjusted for multiplicity within the family study.yaml's inference: "
    "declares (default: Holm across the logic chain's indicators). Small cells are "
    "suppressed first.")


def logic_chain_evidence_asset(sources: list[str]) -> dg.AssetsDefinition:
    """The ``logic_chain_evidence`` asset; with the registry among ``sources`` it also reads
    ``registry_breakdown`` (the parallel-trends sensitivity: breakdown M̄ and pre-trend Wald
    test in the registry rows' notes)."""
    ins = {"effects": dg.AssetIn()}
    if "registry" in sources:
        ins["registry_breakdown"] = dg.AssetIn()
    description = DESCRIPTION + (" Registry rows' notes end with the breakdown M̄ of the "
                                 "parallel-trends sensitivity." if "registry" in sources
                                 else "")

    @dg.asset(name="logic_chain_evidence", group_name="analyse", ins=ins,
              kinds={"pandas", "duckdb"}, description=description)
    def _logic_chain_evidence(context: dg.AssetExecutionContext, study: StudyResource,
                              **inputs: pd.DataFrame) -> pd.DataFrame:
        return _evidence(context, study, inputs["effects"], inputs.get("registry_breakdown"))

    return _logic_chain_evidence


def _evidence(context: dg.AssetExecutionContext, study: StudyResource, effects: pd.DataFrame,
              breakdown: pd.DataFrame | None) -> pd.DataFrame:
    s = study.load()
    evidence = lc.logic_chain_evidence(s, effects, sensitivity=breakdown)
    verdicts = lc.element_verdicts(evidence, s)
    elements = verdicts[verdicts["kind"] == "element"]
    meta = {
        "rows": len(evidence),
        "evidence": dg.MetadataValue.md(
            evidence[PREVIEW_COLUMNS].round(3).to_markdown(index=False)
            if len(evidence) else "No logic chain in study.yaml."
        ),
        "element_verdicts": dg.MetadataValue.md(
            elements[["level", "element", "verdict", "reason"]].to_markdown(index=False)
            if len(elements) else "-"
        ),
        **{f"indicators_{v}": int((evidence["verdict"] == v).sum()) for v in lc.VERDICTS},
        INSUFFICIENT_META: dg.MetadataValue.json(without_evidence(evidence)),
    }
    if s.logic_chain is not None:
        fig = logic_chain_figure(evidence, s, s.language)
        png = base64.b64encode(png_bytes(fig, dpi=70)).decode("ascii")
        plt.close(fig)
        meta["figure"] = dg.MetadataValue.md(f"![logic chain](data:image/png;base64,{png})")
    context.add_output_metadata(meta)
    return evidence


#: the asset without the registry's sensitivity input (a study without registry data)
logic_chain_evidence = logic_chain_evidence_asset([])
