"""Resources: the study the assets run on (:class:`StudyResource`, read from study.yaml),
its sources of evidence, and the op tag of the steps the profiles need first.

The warehouse IO manager is :mod:`assets.warehouse_io`; the study and warehouse access the
library provides (:mod:`evaluation_pipeline.warehouse`) is re-exported here for the assets.
"""

import dagster as dg

from evaluation_pipeline.study import Study

# warehouse access lives in the library (notebooks use it without dagster); re-exported here
from evaluation_pipeline.warehouse import (  # noqa: F401
    DEFAULT_STUDY,
    PROJECT_ROOT,
    STUDY_ENV,
    WAREHOUSE_LOCK_WAIT_S,
    connect_warehouse,
    default_study_path,
    load_study,
    warehouse_path,
)

#: op tags of the steps the municipality profiles need from the study job (the registry panel
#: and its upstream): run before the other steps, so that `evaluation-pipeline run` can start
#: the profile workers while the rest of the study job runs (Dagster's executors pick ready
#: steps by ``dagster/priority``, highest first)
PROFILE_INPUTS_FIRST = {"dagster/priority": "10"}


#: the three sources of evidence a study may have (its study.yaml sections)
SOURCES = ("survey", "interviews", "registry")
#: the collaboration network: a source of evidence within the survey (``survey.collaboration``;
#: logic-chain references ``network:<outcome>``), present only with the survey
NETWORK = "network"


def study_sources(study: Study, without=()) -> list[str]:
    """The sources of evidence study.yaml declares (``survey``, ``interviews``,
    ``registry``, in :data:`SOURCES` order, then ``network`` when the survey has a
    ``collaboration`` roster), less those in ``without``; without the survey there is no
    network either."""
    out = [s for s in SOURCES if getattr(study, s) is not None and s not in without]
    if "survey" in out and study.survey.collaboration is not None and NETWORK not in without:
        out.append(NETWORK)
    return out


def without_sources(study: Study, sources) -> Study:
    """The study as if study.yaml had no section for ``sources`` (e.g. a source whose
    blocking contract check failed: the report and the profiles are built from the others);
    ``network`` drops ``survey.collaboration`` (``study.network`` is the membership, not a
    source)."""
    sources = set(sources)
    drop = {s: None for s in sources & set(SOURCES) if getattr(study, s, None) is not None}
    if NETWORK in sources and study.survey is not None and "survey" not in drop \
            and study.survey.collaboration is not None:
        drop["survey"] = study.survey.model_copy(update={"collaboration": None})
    return study.model_copy(update=drop) if drop else study


class StudyResource(dg.ConfigurableResource):
    """The study the pipeline runs on, read from ``study_path`` (a study.yaml or its folder);
    ``without``: sources of evidence left out of this run (see assets.cli: a source whose
    blocking contract check failed)."""

    study_path: str
    without: list[str] = []

    def load(self) -> Study:
        return without_sources(load_study(self.study_path), self.without)
