"""Analyse: the collaboration roster of the staff survey as a network (source of evidence
``network``, built when study.yaml has ``survey.collaboration``). All computation lives in
evaluation_pipeline.analysis.collaboration; the metadata shows aggregates only (pooled
measures, counts of ties), never an answer or a kommune's small tie."""

import dagster as dg
import pandas as pd

from evaluation_pipeline.analysis.collaboration import (
    collaboration_change,
    collaboration_did,
    collaboration_measures,
    tie_table,
)
from evaluation_pipeline.analysis.effects import effects_frame

from .analysis import _answers_in, _effects_md, _wave_out
from .partitions import survey_waves
from .resources import StudyResource

#: the columns of ``collaboration_answers`` (the roster rows of the valid survey answers)
ANSWER_COLUMNS = ["respondent_id", "wave", "kommune", "role", "item", "value"]


def roster_answers(answers: pd.DataFrame, collaboration) -> pd.DataFrame:
    """The rows of the roster items (frequency and quality) of ``answers``."""
    rows = answers[answers["item"].isin(collaboration.items())]
    return rows[ANSWER_COLUMNS].reset_index(drop=True)


def _tie_meta(ties: pd.DataFrame, k: int) -> dict:
    """Counts only: ties, regular ties, ties answered by fewer than ``k`` respondents (which
    the report hides)."""
    return {"ties": len(ties), "regular_ties": int(ties["regular"].fillna(False).sum()),
            "ties_below_threshold": int(((ties["n"] > 0) & (ties["n"] < k)).sum()),
            "small_cell_threshold": k}


def _pooled_md(measures: pd.DataFrame, k: int) -> dg.MetadataValue:
    """The pooled measures (group × wave), a group with fewer than ``k`` respondents
    blanked."""
    if not len(measures):
        return dg.MetadataValue.md("-")
    wide = measures.assign(value=measures["value"].where(measures["n_respondents"] >= k))
    wide = wide.pivot_table(index=["group", "wave", "n_respondents"], columns="measure",
                            values="value", dropna=False, sort=False).reset_index()
    return dg.MetadataValue.md(wide.round(3).to_markdown(index=False))


@dg.multi_asset(
    name="collaboration_wave_analysis",
    group_name="analyse",
    partitions_def=survey_waves,
    can_subset=True,
    ins={"survey_answers_valid": _answers_in(*ANSWER_COLUMNS)},
    outs={
        "collaboration_answers": _wave_out(
            "The collaboration roster rows of the wave's valid survey answers (respondent_id, "
            "wave, kommune, role, item, value): the input of collaboration_effects."),
        "collaboration_ties": _wave_out(
            "One row per directed tie A -> B per kommune in the wave: respondents of A who "
            "answered about B (n), mean frequency, share answering regular_from or more, "
            "regular tie, n and mean of the quality answers. Not suppressed (the warehouse is "
            "internal; the report suppresses small ties)."),
        "collaboration_ties_pooled": _wave_out(
            "The same tie table pooled over the network and over the comparison kommuner "
            "(column group)."),
        "collaboration_measures": _wave_out(
            "Network measures per kommune in the wave (density, centralization, reciprocity, "
            "asymmetry, isolated, mean_quality), long: kommune, wave, measure, value, "
            "n_respondents."),
        "collaboration_measures_pooled": _wave_out(
            "The network measures of the pooled network and comparison tie tables (group, "
            "wave, measure, value, n_respondents)."),
    },
    description="The per-wave collaboration network in one step: the roster rows of the "
    "wave's valid answers, their tie tables (per kommune and pooled) and network measures. "
    "Any subset of the five can be materialized.",
)
def collaboration_wave_analysis(
    context: dg.AssetExecutionContext, study: StudyResource, survey_answers_valid: pd.DataFrame
):
    s = study.load()
    collab = s.survey.collaboration
    k = int(s.small_cell_threshold)
    selected = context.selected_output_names
    answers = roster_answers(survey_answers_valid, collab)
    services = s.survey.roles
    if "collaboration_answers" in selected:
        yield dg.Output(answers, output_name="collaboration_answers", metadata={
            "rows": len(answers), "respondents": int(answers["respondent_id"].nunique())})
    if {"collaboration_ties", "collaboration_measures"} & selected:
        ties = tie_table(answers, collab, by=("kommune", "wave"), services=services)
        if "collaboration_ties" in selected:
            yield dg.Output(ties, output_name="collaboration_ties", metadata=_tie_meta(ties, k))
        if "collaboration_measures" in selected:
            # from the tie table in memory: its attrs hold the respondents per sender
            measures = collaboration_measures(ties, services)
            yield dg.Output(measures, output_name="collaboration_measures", metadata={
                "rows": len(measures), "kommuner": int(measures["kommune"].nunique())})
    if {"collaboration_ties_pooled", "collaboration_measures_pooled"} & selected:
        pooled = tie_table(answers, collab, by=("group", "wave"), groups=s, services=services)
        if "collaboration_ties_pooled" in selected:
            yield dg.Output(pooled, output_name="collaboration_ties_pooled",
                            metadata=_tie_meta(pooled, k))
        if "collaboration_measures_pooled" in selected:
            measures = collaboration_measures(pooled, services)
            yield dg.Output(measures, output_name="collaboration_measures_pooled",
                            metadata={"measures": _pooled_md(measures, k)})


@dg.asset(
    name="collaboration_effects",
    group_name="analyse",
    kinds={"pandas", "duckdb"},
    description="Network Effect rows (source network): the change of every network measure "
    "and every pair's mean frequency (outcome tie:<A>-<B>) from the baseline wave to each "
    "follow-up, per kommune and pooled over the network and the comparison kommuner "
    "(respondent bootstrap within kommune × wave × role, percentile CI), and the network vs "
    "comparison DiD of the kommuner's changes (randomization inference over kommune labels, "
    "CI by test inversion; Holm across the measures and, apart, across the pairs).",
)
def collaboration_effects(
    context: dg.AssetExecutionContext, study: StudyResource, collaboration_answers: pd.DataFrame
) -> pd.DataFrame:
    s = study.load()
    collab = s.survey.collaboration
    services = s.survey.roles
    if not s.followup_waves:
        df = effects_frame([])
    else:
        df = effects_frame(
            collaboration_change(collaboration_answers, collab, s, services=services)
            + collaboration_did(collaboration_answers, collab, s, services=services))
    context.add_output_metadata({"effects": _effects_md(df, s.small_cell_threshold),
                                 "rows": len(df)})
    return df
