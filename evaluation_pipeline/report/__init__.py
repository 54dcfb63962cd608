"""The report: tables, figures, the study report and the kommune profiles.

The functions a notebook uses are exported here (``__all__``), imported on first use (so
``import evaluation_pipeline.report`` does not load matplotlib); the figure functions live in
:mod:`evaluation_pipeline.report.figures`.
"""

from .._lazy import lazy_exports

#: exported name -> the module (relative to this package) that defines it
_EXPORTS = {
    "build_study_report": ".study_report",
    "study_labels": ".labels",
    "validation_summary": ".study_report",
    "build_profiles": ".profiles",
    "build_kommune_profile": ".profiles",
    "PublishedTable": ".tables",
    "format_value": ".tables",
    "write_tables": ".tables",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
