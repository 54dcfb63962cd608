"""evaluation_pipeline: the library behind the evaluation pipeline.

Pure functions on pandas DataFrames: reading landing files (``ingest``), the study model
(``study``), kommune geography (``geography``), privacy (``privacy``), publication control
(``publication``),
analyses (``analysis``), reports (``report``) and access to a study's warehouse
(``warehouse``). It never imports dagster; the Dagster layer lives in ``assets``.

The names a notebook or script needs are exported here (``__all__``, listed in the README's
"Public API")::

    import evaluation_pipeline as ep

    study = ep.load_study(ep.default_study_path())
    with ep.connect_warehouse(ep.warehouse_path(study)) as con:  # read-only
        scores = con.execute("select * from evaluation.scale_scores").df()

They are imported on first use, so ``import evaluation_pipeline`` stays cheap (no pandas,
statsmodels or matplotlib until a name needs them).
"""

from ._lazy import lazy_exports

__version__ = "0.1.0"

#: exported name -> the module (relative to this package) that defines it
_EXPORTS = {
    # the study
    "Study": ".study",
    # warehouse access
    "connect_warehouse": ".warehouse",
    "default_study_path": ".warehouse",
    "load_study": ".warehouse",
    "warehouse_path": ".warehouse",
    # readers of landing files
    "read_interview_codes": ".ingest",
    "read_registry": ".ingest",
    "read_survey": ".ingest",
    # geography
    "kommune_name": ".geography",
    # estimators
    "did_twfe": ".analysis.did",
    "event_study": ".analysis.did",
    "staggered_att": ".analysis.staggered",
    "sensitivity_analysis": ".analysis.sensitivity",
    "score_scales": ".analysis.scales",
    "network_effect": ".analysis.survey_did",
    "survey_effects": ".analysis.survey",
    "pre_post": ".analysis.survey",
    "theme_shift": ".analysis.interviews",
    "intercoder_reliability": ".analysis.interviews",
    "adjust_p": ".analysis.multiplicity",
    # the collaboration network (survey roster)
    "tie_table": ".analysis.collaboration",
    "collaboration_measures": ".analysis.collaboration",
    "collaboration_change": ".analysis.collaboration",
    "collaboration_did": ".analysis.collaboration",
    # reliability
    "scale_reliability": ".analysis.reliability",
    "scales_reliability": ".analysis.reliability",
    # suppression
    "suppress": ".publication.cells",
    "suppress_small_cells": ".publication.rules",
    "suppress_effects": ".publication.rules",
    "suppress_scale_means": ".publication.rules",
    "suppress_item_distributions": ".publication.rules",
    # report helpers
    "study_labels": ".report.labels",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
