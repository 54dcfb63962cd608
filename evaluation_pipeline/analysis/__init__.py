"""The analyses: pure functions on pandas DataFrames.

The estimators and tests a notebook uses are exported here (``__all__``), imported on first
use; the modules hold the rest (``did``, ``staggered``, ``sensitivity``, ``survey``,
``reliability``, ``interviews``, ``registry``, ``composition``, ``multiplicity``,
``logic_chain``).
"""

from importlib import import_module

#: exported name -> the module (relative to this package) that defines it
_EXPORTS = {
    "did_twfe": ".did",
    "event_study": ".did",
    "wild_cluster_bootstrap": ".did",
    "staggered_att": ".staggered",
    "sensitivity_analysis": ".sensitivity",
    "score_scales": ".survey",
    "scale_summary": ".survey",
    "network_effect": ".survey",
    "network_effects": ".survey",
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
    "logic_chain_evidence": ".logic_chain",
}

__all__ = [
    "adjust_p",
    "co_occurrence",
    "code_frequencies",
    "did_twfe",
    "event_study",
    "intercoder_reliability",
    "item_distributions",
    "logic_chain_evidence",
    "network_effect",
    "network_effects",
    "pre_post",
    "registry_effects",
    "registry_panel",
    "response_rates",
    "scale_reliability",
    "scale_summary",
    "scales_reliability",
    "score_scales",
    "sensitivity_analysis",
    "staggered_att",
    "survey_effects",
    "theme_shift",
    "welch_difference",
    "wild_cluster_bootstrap",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
