"""The analyses: pure functions on pandas DataFrames.

The estimators and tests a notebook uses are exported here (``__all__``), imported on first
use; the modules hold the rest (``did``, ``linear_model``, ``staggered``, ``sensitivity``,
``survey``, ``scales``, ``effect_sizes``, ``survey_did``, ``reliability``, ``interviews``,
``registry``, ``composition``, ``multiplicity``, ``logic_chain``, ``collaboration``).
"""

from .._lazy import lazy_exports

#: exported name -> the module (relative to this package) that defines it
_EXPORTS = {
    "did_twfe": ".did",
    "event_study": ".did",
    "wild_cluster_bootstrap": ".linear_model",
    "staggered_att": ".staggered",
    "sensitivity_analysis": ".sensitivity",
    "score_scales": ".scales",
    "scale_summary": ".scales",
    "network_effect": ".survey_did",
    "network_effects": ".survey_did",
    "survey_effects": ".survey",
    "pre_post": ".survey",
    "welch_difference": ".survey",
    "scale_reliability": ".reliability",
    "scales_reliability": ".reliability",
    "theme_shift": ".interviews",
    "code_frequencies": ".interviews",
    "co_occurrence": ".interviews",
    "intercoder_reliability": ".interviews",
    "registry_panel": ".registry",
    "registry_effects": ".registry",
    "response_rates": ".composition",
    "item_distributions": ".composition",
    "adjust_p": ".multiplicity",
    "tie_table": ".collaboration",
    "collaboration_measures": ".collaboration",
    "collaboration_change": ".collaboration",
    "collaboration_did": ".collaboration",
    "degree_centralization": ".collaboration",
    "logic_chain_evidence": ".logic_chain",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
