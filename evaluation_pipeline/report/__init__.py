"""The report: tables, figures, the study report and the kommune profiles.

The functions a notebook uses are exported here (``__all__``), imported on first use (so
``import evaluation_pipeline.report`` does not load matplotlib); the figure functions live in
:mod:`evaluation_pipeline.report.figures`.
"""

from importlib import import_module

#: exported name -> the module (relative to this package) that defines it
_EXPORTS = {
    "build_study_report": ".study_report",
    "publishable_tables": ".study_report",
    "study_labels": ".study_report",
    "suppress_item_distributions": ".study_report",
    "suppress_scale_means": ".study_report",
    "validation_summary": ".study_report",
    "build_profiles": ".profiles",
    "build_kommune_profile": ".profiles",
    "PublishedTable": ".tables",
    "format_value": ".tables",
    "write_tables": ".tables",
}

__all__ = [
    "PublishedTable",
    "build_kommune_profile",
    "build_profiles",
    "build_study_report",
    "format_value",
    "publishable_tables",
    "study_labels",
    "suppress_item_distributions",
    "suppress_scale_means",
    "validation_summary",
    "write_tables",
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
