"""Analyse: scale scores, survey wave differences, registry DiD, interview theme counts.
All computation lives in evaluation_pipeline.analysis."""

import dagster as dg
import pandas as pd

from evaluation_pipeline.analysis.composition import (
    item_distributions,
    panel_retention,
    response_rates,
    study_groups,
)
from evaluation_pipeline.analysis.effects import effects_frame, insufficient_data_notes
from evaluation_pipeline.analysis.interviews import (
    co_occurrence,
    code_frequencies,
    coder_table,
    intercoder_reliability,
    theme_shift,
)
from evaluation_pipeline.analysis.registry import (
    group_means,
    registry_dynamic,
    registry_effects,
)
from evaluation_pipeline.analysis.registry_sensitivity import registry_sensitivity
from evaluation_pipeline.analysis.reliability import scales_reliability
from evaluation_pipeline.analysis.scales import scale_summary, score_scales
from evaluation_pipeline.analysis.survey import survey_effects
from evaluation_pipeline.publication import suppress_effects

from .partitions import survey_waves
from .resources import StudyResource

#: metadata key of ``effects``: what could not be estimated and why (the command line prints it)
INSUFFICIENT_META = "insufficient_data"


def _answers_in(*columns: str) -> dg.AssetIn:
    """The valid survey answers with only ``columns`` loaded from the warehouse (a national
    wave is 3 million rows; the label and free-text columns are not needed here)."""
    return dg.AssetIn(metadata={"columns": list(columns)})


def _effects_md(df: pd.DataFrame, threshold: int) -> dg.MetadataValue:
    """Pooled effects only: per-kommune rows (small groups) stay out of the metadata, and a
    pooled row with fewer persons than the study's threshold is shown suppressed."""
    cols = ["outcome", "contrast", "group", "estimate", "ci_low", "ci_high", "p_value", "n_obs"]
    pooled = suppress_effects(df[df["group"].isin(["all", "network", "comparison"])],
                              threshold)
    return dg.MetadataValue.md(pooled[cols].round(3).to_markdown(index=False))


def _wave_out(description: str) -> dg.AssetOut:
    # not required: a subset of the four outputs can be selected (can_subset)
    return dg.AssetOut(kinds={"pandas", "duckdb"}, metadata={"partition_expr": "wave"},
                       description=description, is_required=False)


@dg.multi_asset(
    name="survey_wave_analysis",
    group_name="analyse",
    partitions_def=survey_waves,
    can_subset=True,
    ins={"survey_answers_valid": _answers_in("respondent_id", "wave", "kommune", "role", "item",
                                             "value")},
    outs={
        "scale_scores": _wave_out(
            "Scale scores per respondent × wave (mean of answered items after reverse coding; "
            "NaN when fewer than the scale's min_share_answered items are answered)."),
        "scale_reliability": _wave_out(
            "Cronbach's alpha with CI, McDonald's omega and n per scale in one wave, with "
            "warnings (items without variance, heavy listwise deletion)."),
        "scale_item_statistics": _wave_out(
            "Per item of each scale in one wave: mean, SD, n, corrected item-total correlation "
            "and alpha if the item is deleted."),
        "item_distribution": _wave_out(
            "Share of each response category per item in one wave, network and comparison "
            "kommuner apart (raw answers as asked, no reverse coding)."),
    },
    description="The per-wave survey analysis in one step: the wave's valid answers are "
    "loaded from the warehouse once (a national wave is 3 million rows) for the scale scores, "
    "the reliability and item statistics, and the item distributions. Any subset of the four "
    "can be materialized.",
)
def survey_wave_analysis(
    context: dg.AssetExecutionContext, study: StudyResource, survey_answers_valid: pd.DataFrame
):
    s = study.load()
    selected = context.selected_output_names
    answers = survey_answers_valid
    if "scale_scores" in selected:
        scores = score_scales(answers, s.survey.scales)
        yield dg.Output(scores, output_name="scale_scores", metadata={
            "rows": len(scores), "scored": int(scores["score"].notna().sum())})
    if {"scale_reliability", "scale_item_statistics"} & selected:
        res = scales_reliability(answers, s.survey.scales, by="wave")
        for w in res.warnings:
            context.log.warning(w)
        if "scale_reliability" in selected:
            summary = res.summary.rename(columns={"group": "wave"})
            yield dg.Output(summary, output_name="scale_reliability", metadata={
                "alpha": dg.MetadataValue.md(summary.round(3).to_markdown(index=False))})
        if "scale_item_statistics" in selected:
            items = res.items.rename(columns={"group": "wave"})
            yield dg.Output(items, output_name="scale_item_statistics",
                            metadata={"rows": len(items)})
    if "item_distribution" in selected:
        yield dg.Output(
            item_distributions(answers, s.survey.scales, groups=study_groups(s)),
            output_name="item_distribution")


def _all_wave_out(description: str) -> dg.AssetOut:
    return dg.AssetOut(kinds={"pandas", "duckdb"}, description=description, is_required=False)


@dg.multi_asset(
    name="survey_all_wave_analysis",
    group_name="analyse",
    can_subset=True,
    outs={
        "survey_effects": _all_wave_out(
            "Survey Effect rows: baseline to each follow-up per scale (paired t-test on "
            "panel respondents, else Welch; Hedges' g; Holm-adjusted) for network kommuner "
            "pooled and per kommune and for comparison kommuner; network vs comparison (two-step "
            "DiD on role-adjusted kommune × wave means, t(kommuner - 2)), as answered and "
            "reweighted to the baseline role mix."),
        "survey_scale_summary": _all_wave_out(
            "Mean scale score with 95 % CI per scale × wave × group."),
        "survey_response": _all_wave_out(
            "Respondents (and response rates where the study gives the number invited) by "
            "wave × kommune × role, with kommune and wave totals."),
        "survey_panel_retention": _all_wave_out(
            "Baseline respondents who answered again in each follow-up wave."),
    },
    description="The all-wave survey analysis in one step: the scale scores of every wave are "
    "loaded from the warehouse once (a national study: 2.5 million rows, ~2 s per load) for "
    "the effects, the scale summary and the response tables. Any subset of the four can be "
    "materialized.",
)
def survey_all_wave_analysis(
    context: dg.AssetExecutionContext, study: StudyResource, scale_scores: pd.DataFrame
):
    s = study.load()
    selected = context.selected_output_names
    if "survey_effects" in selected:
        # contrasts whose two waves did not change are taken from the last run's (new-wave
        # runs)
        df = effects_frame(survey_effects(scale_scores, s,
                                          cache_dir=s.output / ".cache" / "effects"))
        yield dg.Output(df, output_name="survey_effects",
                        metadata={"effects": _effects_md(df, s.small_cell_threshold)})
    if "survey_scale_summary" in selected:
        yield dg.Output(scale_summary(scale_scores, s), output_name="survey_scale_summary")
    if "survey_response" in selected:
        yield dg.Output(response_rates(scale_scores, s), output_name="survey_response")
    if "survey_panel_retention" in selected:
        yield dg.Output(panel_retention(scale_scores, s), output_name="survey_panel_retention")


@dg.asset(
    name="registry_effects",
    group_name="analyse",
    kinds={"pandas", "duckdb"},
    description="Network vs comparison effect of each registry indicator, two estimators side "
    "by side (rows by `estimator`): two-way fixed-effects DiD (kommune-clustered CR1 SEs, "
    "wild cluster bootstrap when clusters are few) and Callaway & Sant'Anna's group-time ATT, "
    "as Effect rows; p adjusted per estimator across the indicators; an indicator that "
    "cannot be estimated, or whose file could not be read, gets rows without an estimate "
    "whose note says why ('insufficient data: ...').",
)
def registry_effects_asset(
    context: dg.AssetExecutionContext, study: StudyResource, registry_observations: pd.DataFrame,
    registry_read_failures: pd.DataFrame,
) -> pd.DataFrame:
    s = study.load()
    # an indicator whose file could not be read: 'insufficient data' with the reader's message
    unreadable = dict(zip(registry_read_failures["indicator"].astype(str),
                          registry_read_failures["reason"].astype(str), strict=True))
    df = effects_frame(registry_effects(registry_observations, s, unreadable))
    context.add_output_metadata({"effects": _effects_md(df, s.small_cell_threshold)})
    return df


@dg.multi_asset(
    group_name="analyse",
    outs={
        "registry_event_study": dg.AssetOut(
            kinds={"pandas", "duckdb"},
            description="Effects by years since joining (TWFE event study and Callaway & "
            "Sant'Anna dynamic aggregation) per indicator, with CIs.",
        ),
        "registry_pretrend_tests": dg.AssetOut(
            kinds={"pandas", "duckdb"},
            description="Joint tests that the event-study coefficients before joining are 0.",
        ),
    },
)
def registry_event_study(study: StudyResource, registry_observations: pd.DataFrame):
    coefs, tests = registry_dynamic(registry_observations, study.load())
    yield dg.Output(coefs, output_name="registry_event_study", metadata={"rows": len(coefs)})
    yield dg.Output(
        tests, output_name="registry_pretrend_tests",
        metadata={"tests": dg.MetadataValue.md(tests.round(3).to_markdown(index=False))},
    )


@dg.multi_asset(
    name="registry_sensitivity_analysis",
    group_name="analyse",
    outs={
        "registry_sensitivity": dg.AssetOut(
            kinds={"pandas", "duckdb"},
            description="Parallel-trends sensitivity (Rambachan & Roth 2023) of each "
            "indicator's TWFE event study, average post-period effect: the CI under parallel "
            "trends and robust CIs under relative-magnitude (M̄, C-LF) and smoothness (M, "
            "FLCI) bounds.",
        ),
        "registry_breakdown": dg.AssetOut(
            kinds={"pandas", "duckdb"},
            description="Per indicator: breakdown M̄ and M (largest bound at which the robust "
            "CI still excludes 0), the joint pre-trend Wald test, the periods used, or "
            "'insufficient data' with the reason.",
        ),
    },
)
def registry_sensitivity_analysis(study: StudyResource, registry_observations: pd.DataFrame):
    table, breakdown = registry_sensitivity(registry_observations, study.load())
    yield dg.Output(table, output_name="registry_sensitivity", metadata={"rows": len(table)})
    show = ["indicator", "status", "estimate", "ci_low", "ci_high", "breakdown_rm",
            "breakdown_sd", "wald_p"]
    yield dg.Output(
        breakdown, output_name="registry_breakdown",
        metadata={
            "indicators_analysed": int((breakdown["status"] == "ok").sum()),
            "indicators_insufficient": int((breakdown["status"] != "ok").sum()),
            "breakdown": dg.MetadataValue.md(
                breakdown[show].round(3).to_markdown(index=False) if len(breakdown) else "-"),
        },
    )


@dg.asset(
    group_name="analyse",
    kinds={"pandas", "duckdb"},
    description="Pooled rate per indicator × year for network and comparison kommuner.",
)
def registry_group_rates(
    study: StudyResource, registry_observations: pd.DataFrame
) -> pd.DataFrame:
    return group_means(registry_observations, study.load())


@dg.asset(
    group_name="analyse",
    kinds={"pandas", "duckdb"},
    description="Coded segments and interviews mentioning each theme, per interview round.",
)
def theme_frequencies(coded_segments_valid: pd.DataFrame) -> pd.DataFrame:
    return code_frequencies(coded_segments_valid, by=("theme", "wave"))


@dg.asset(
    group_name="analyse",
    kinds={"pandas", "duckdb"},
    description="Interviews mentioning each theme, per theme × role (sector) × round.",
)
def theme_role_frequencies(coded_segments_valid: pd.DataFrame) -> pd.DataFrame:
    return code_frequencies(coded_segments_valid, by=("theme", "role", "wave"))


@dg.asset(
    group_name="analyse",
    kinds={"pandas", "duckdb"},
    description="Baseline to follow-up shift in the share of interviews mentioning each theme "
    "(difference with Newcombe CI, Fisher's exact test, Holm across themes), pooled and by "
    "role, as Effect rows.",
)
def theme_shifts(study: StudyResource, coded_segments_valid: pd.DataFrame) -> pd.DataFrame:
    s = study.load()
    rounds = s.interviews.rounds if s.interviews else []
    base = [r.id for r in rounds if r.role == "baseline"]
    follow = [r.id for r in rounds if r.role == "followup"]
    if not base or not follow:
        return effects_frame([])
    return effects_frame(
        theme_shift(coded_segments_valid, base[0], follow[-1], by="role")
    )


@dg.asset(
    group_name="analyse",
    kinds={"pandas", "duckdb"},
    description="Theme × theme co-occurrence within interviews: counts and Jaccard index.",
)
def theme_co_occurrence(coded_segments_valid: pd.DataFrame) -> pd.DataFrame:
    return co_occurrence(coded_segments_valid, unit="source", level="theme")


@dg.asset(
    group_name="analyse",
    kinds={"pandas", "duckdb"},
    description="Intercoder reliability on double-coded interviews (presence of each code per "
    "interview): Krippendorff's alpha, Cohen's kappa, percent agreement, n units; "
    "near-constant codes get a warning instead of a misleading alpha.",
)
def intercoder_agreement(coded_segments_valid: pd.DataFrame) -> pd.DataFrame:
    return intercoder_reliability(coder_table(coded_segments_valid, level="code"))


#: the asset holding each source's Effect rows (the inputs of ``effects``)
EFFECT_INPUTS = {"survey": "survey_effects", "registry": "registry_effects",
                 "interviews": "theme_shifts", "network": "collaboration_effects"}


def effects_asset(sources: list[str]) -> dg.AssetsDefinition:
    """The ``effects`` asset over the Effect rows of the study's sources (``sources``: the
    evidence the study has, in :data:`EFFECT_INPUTS`): only their assets are inputs, so a
    study without a survey (or without interviews, or registry data) builds nothing for it.
    The metadata lists what could not be estimated and why (the Effect rows whose note says
    ``insufficient data``)."""
    names = [EFFECT_INPUTS[s] for s in sources if s in EFFECT_INPUTS]

    @dg.asset(
        name="effects",
        group_name="analyse",
        kinds={"pandas", "duckdb"},
        ins={n: dg.AssetIn() for n in names},
        description="All Effect rows of the study (of its sources: "
        f"{', '.join(sources) or 'none'}).",
    )
    def _effects(context: dg.AssetExecutionContext, **inputs: pd.DataFrame) -> pd.DataFrame:
        frames = [inputs[n] for n in names]
        df = pd.concat(frames, ignore_index=True) if frames else effects_frame([])
        # the network's per-kommune changes that are undefined: one line, not dozens
        warnings = insufficient_data_notes(df, count_kommuner_of=("network",))
        context.add_output_metadata({
            "effects": len(df),
            INSUFFICIENT_META: dg.MetadataValue.json(warnings),
        })
        return df

    return _effects
