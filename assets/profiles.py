"""Report: one municipality profile per network kommune, as a Dagster asset partitioned by
kommune (static partitions from the study), so the kommuner run in parallel.

How they run in parallel: runs over partition ranges of neighbouring kommuner. The asset's
``BackfillPolicy.multi_run`` puts up to ``ceil(kommuner / PROFILE_RUNS)`` kommuner in one run,
so a backfill of all kommuner makes about ``PROFILE_RUNS`` runs (default: the machine's CPU
count, one fewer when the command line starts them beside its own run;
``EVALUATION_PROFILE_RUNS`` overrides it; 1 kommune per run with
``EVALUATION_PROFILE_RUNS`` >= the number of kommuner), each its own process: the kommuner run
in parallel without paying a process start, a code-location load and an input load per
kommune (a national study has over a hundred network kommuner).

- UI: select ``kommune_profile`` (or the job ``kommune_profiles_job``), Materialize, "all
  partitions": the backfill daemon of ``dagster dev`` submits the runs; the run
  launcher starts each in its own process, so they run concurrently (with a
  ``QueuedRunCoordinator`` on the instance, ``max_concurrent_runs`` caps how many at once).
- Command line / Python: :func:`assets.profile_workers.run_profiles` splits the kommuner the
  same way and runs each chunk as one Dagster run over its partition range, in a worker
  process of its own (see :mod:`assets.profile_workers`).

The warehouse is one DuckDB file and DuckDB lets one process write at a time: the profile asset
therefore stores nothing in the warehouse. It writes its files (HTML + CSV, atomically) and
returns ``MaterializeResult`` metadata (aggregates-only markdown preview, the main figure, the
paths); its runs only read ``registry_panel``, ``registry_reference`` and ``scale_scores``
(and, with the survey's collaboration roster, ``collaboration_ties``).
"""

import base64
import math
import os
import warnings
from pathlib import Path

import dagster as dg
import pandas as pd

from evaluation_pipeline.report.profiles import (
    build_kommune_profile,
    figure_cache,
    profile_kommuner,
)

from .resources import StudyResource

PROFILE_ASSET = "kommune_profile"
PROFILE_JOB = "kommune_profiles_job"
RUNS_ENV = "EVALUATION_PROFILE_RUNS"
#: the columns of ``scale_scores`` a profile reads
PROFILE_SCORE_COLUMNS = ("respondent_id", "wave", "kommune", "scale", "score")


def profile_runs(beside_a_run: bool = False) -> int:
    """How many runs a backfill of all kommuner is split into ($EVALUATION_PROFILE_RUNS,
    default the CPU count; ``beside_a_run``: the profiles share the CPUs with a run still
    going in this process (the command line's study or new-waves job), so by default one
    fewer, at least 1: one more CPU-bound process than cores makes every process slower and
    costs one more worker's start and input load (national study, 2 cores, new-wave run:
    1 worker instead of 2 took 110.8 instead of 133.7 s CPU and 76.6 instead of 93.7 s))."""
    value = os.environ.get(RUNS_ENV)
    if value:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{RUNS_ENV}={value!r}: expected a whole number >= 1")
        return n
    return max((os.cpu_count() or 1) - (1 if beside_a_run else 0), 1)


def kommuner_per_run(study) -> int:
    """Kommuner per run: ceil(network kommuner / :func:`profile_runs`)."""
    return max(1, math.ceil(len(profile_kommuner(study)) / profile_runs()))


def kommune_partitions(study) -> dg.StaticPartitionsDefinition:
    """One partition per network kommune of the study (its kommune code)."""
    return dg.StaticPartitionsDefinition(profile_kommuner(study))


#: the inputs of a profile from each source of evidence (interviews give a profile nothing)
#: the inputs of the profiles per source: the registry panel with the registry files' country
#: and fylke rows (the trends' reference lines), the survey's scale scores
PROFILE_INPUTS = {"registry": ["registry_panel", "registry_reference"],
                  "survey": ["scale_scores"],
                  # the collaboration roster's ties (by kommune × wave): each kommune's
                  # sociograms, suppressed as in the report
                  "network": ["collaboration_ties"]}


def profile_definitions(study, sources: list[str] | None = None) -> tuple[list, list]:
    """The ``kommune_profile`` asset (partitioned by the study's network kommuner) and the job
    ``kommune_profiles_job`` over it: ``(assets, jobs)`` for ``build_definitions``.
    ``sources``: the study's sources of evidence that are built (default: every source
    study.yaml has); only theirs are inputs, and without registry data or a survey there is
    no profile (``([], [])``). With the source ``network`` (the survey's collaboration
    roster; never by default) the profiles also read ``collaboration_ties``."""
    if sources is None:
        sources = [s for s in ("survey", "interviews", "registry") if getattr(study, s)]
    names = [n for s in ("registry", "survey") if s in sources for n in PROFILE_INPUTS[s]]
    if not names:
        return [], []
    if "network" in sources and study.survey is not None \
            and study.survey.collaboration is not None:
        names += PROFILE_INPUTS["network"]
    ins = {"registry_panel": dg.AssetIn(), "registry_reference": dg.AssetIn(),
           # only the columns the profiles read (each worker holds every wave's scores)
           "scale_scores": dg.AssetIn(
               partition_mapping=dg.AllPartitionMapping(),
               metadata={"columns": list(PROFILE_SCORE_COLUMNS)}),
           # every wave's ties (partitioned by wave; the profiles by kommune)
           "collaboration_ties": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())}
    partitions = kommune_partitions(study)
    policy = dg.BackfillPolicy.multi_run(max_partitions_per_run=kommuner_per_run(study))

    # the asset's ``backfill_policy`` parameter is "beta" in Dagster 1.13 (and works)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        @dg.asset(
            name=PROFILE_ASSET,
            group_name="report",
            partitions_def=partitions,
            backfill_policy=policy,
            ins={n: ins[n] for n in names},
            kinds={"html", "csv"},
            description="One profile per network kommune (FHI/Hdir oppvekstprofil style): its "
            "registry indicators against the network, the comparison kommuner and the country "
            "(where available), its trends since before it joined, its survey change baseline → "
            "follow-up with n, and a short text; small cells suppressed. Writes "
            "<output>/profiles/<kode>-<name>.html (self-contained, prints on A4) and its tables as "
            "CSV; stores nothing in the warehouse, so kommuner run in parallel.",
        )
        def kommune_profile(
            context: dg.AssetExecutionContext,
            study: StudyResource,
            **inputs: pd.DataFrame,
        ) -> dg.MaterializeResult:
            s = study.load()
            registry_panel = inputs.get("registry_panel", pd.DataFrame())
            scale_scores = inputs.get("scale_scores")
            shared: dict = {}  # what the kommuner of this run have in common, once
            # the country ("Hele landet") and fylke lines of the trends
            national = inputs.get("registry_reference")
            ties = inputs.get("collaboration_ties")
            built = [build_kommune_profile(s, k, registry_panel, scale_scores, shared=shared,
                                           national=national, cache_dir=figure_cache(s),
                                           collaboration_ties=ties)
                     for k in context.partition_keys]
            if len(built) == 1:
                return dg.MaterializeResult(metadata=_kommune_metadata(built[0], figure=True))
            # a run over a partition range: Dagster gives every partition's materialization
            # the run's metadata, so that stays small (one kommune's preview and figure would
            # be stored once per kommune of the run: quadratic, ~100 MB of event log for a
            # national run of 54 kommuner); each kommune's own preview and paths go into an
            # observation of its partition
            for p in built:
                context.log_event(dg.AssetObservation(
                    asset_key=context.asset_key, partition=p.kommune,
                    metadata=_kommune_metadata(p, figure=False)))
            return dg.MaterializeResult(metadata={
                "kommuner_in_run": len(built),
                "suppressed_cells_in_run": sum(p.suppressed_cells for p in built),
                "profiles_dir": dg.MetadataValue.path(str(Path(built[0].html).parent)),
                "details": "each kommune's preview and files: the observation of its "
                           "partition",
            })

    job = dg.define_asset_job(
        PROFILE_JOB,
        selection=dg.AssetSelection.assets(kommune_profile),
        description="One municipality profile per partition (network kommune); launch all "
        "partitions as a backfill (or `evaluation-pipeline run`) to run the kommuner in "
        "parallel runs of neighbouring kommuner.",
    )
    return [kommune_profile], [job]


def _kommune_metadata(p, figure: bool) -> dict:
    """Metadata of one kommune's profile: the page, its tables, its suppressed cells, the
    aggregates-only preview and (``figure``) its trends figure embedded as PNG (a national
    profile's figure is over 1 MB, so only a single-kommune run embeds it)."""
    meta = {
        "profile": dg.MetadataValue.path(str(p.html)),
        "tables": dg.MetadataValue.json({k: str(v) for k, v in p.tables.items()}),
        "suppressed_cells": p.suppressed_cells,
        "preview": dg.MetadataValue.md(p.preview_markdown),
    }
    if figure:
        png = base64.b64encode(p.figure_png).decode("ascii") if p.figure_png else ""
        meta["main_figure"] = dg.MetadataValue.md(
            f"![trends {p.name}](data:image/png;base64,{png})" if png else "(no figure)")
    return meta
