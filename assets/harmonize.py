"""Harmonize: kommune codes mapped to the study's geography, rates from numerators and
denominators."""

import dagster as dg
import pandas as pd

from evaluation_pipeline.analysis.registry import registry_panels
from evaluation_pipeline.geography import add_rates, harmonize, kommune_name

from .resources import PROFILE_INPUTS_FIRST, StudyResource
from .validate import contract_check, contract_spec


@dg.asset(
    group_name="harmonize",
    kinds={"pandas", "duckdb"},
    op_tags=PROFILE_INPUTS_FIRST,
    description="Registry observations in the study's kommune borders (geography_year): "
    "merged kommuner summed, split kommuner allocated by population share and flagged "
    "'estimated', rates = numerator / denominator × per.",
)
def registry_observations(
    context: dg.AssetExecutionContext,
    study: StudyResource,
    registry_observations_valid: pd.DataFrame,
) -> pd.DataFrame:
    s = study.load()
    inds = s.registry.indicators
    out = harmonize(
        registry_observations_valid,
        s.geography_year,
        age_groups={k: v.age_group for k, v in inds.items()},
    )
    out = add_rates(out, {k: v.per for k, v in inds.items()})
    context.add_output_metadata(
        {
            "rows": len(out),
            "kommuner": int(out["kommune"].nunique()),
            "estimated_rows": int(out["estimated"].sum()),
            "missing_values": int(out["value"].isna().sum()),
        }
    )
    return out


@dg.asset(
    group_name="harmonize",
    kinds={"pandas", "duckdb"},
    check_specs=[contract_spec("study_kommuner", "study_kommuner")],
    description="The study's kommuner: code, name, network or comparison, join year.",
)
def study_kommuner(study: StudyResource):
    s = study.load()
    df = pd.DataFrame(
        {
            "kommune": s.kommuner,
            "name": [kommune_name(k) for k in s.kommuner],
            "group": ["network" if s.is_network(k) else "comparison" for k in s.kommuner],
            "join_year": pd.array([s.network.get(k) for k in s.kommuner], dtype="Float64"),
        }
    )
    yield dg.Output(df, metadata={"kommuner": len(df)})
    yield contract_check("study_kommuner", df, s, label="study_kommuner")


@dg.asset(
    group_name="harmonize",
    kinds={"pandas", "duckdb"},
    op_tags=PROFILE_INPUTS_FIRST,
    description="The harmonized registry panel of the study's kommuner: indicator × kommune × "
    "year with network (0/1), join_year, first_treated (0 = comparison) and treated "
    "(network and year >= join year).",
)
def registry_panel(study: StudyResource, registry_observations: pd.DataFrame) -> pd.DataFrame:
    return registry_panels(registry_observations, study.load())
