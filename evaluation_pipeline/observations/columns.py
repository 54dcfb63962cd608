"""The columns of the study's registry observations and reference series, and of a registry
file as read (the core columns every reader gives; the rest are the file's own dimensions)."""

from __future__ import annotations

OBSERVATION_COLUMNS = [
    "kommune", "period", "year", "indicator", "numerator", "denominator", "value", "status",
]
#: the columns of :func:`registry_observations`: the observations plus how the file was
#: published (``borders``: as_published | current; ``source_scale``: counts, or the scale of
#: a published rate: proportion | percent | per_1000 | per_100000)
RAW_OBSERVATION_COLUMNS = [*OBSERVATION_COLUMNS, "borders", "source_scale"]
REFERENCE_COLUMNS = [
    "level", "area", "period", "year", "indicator", "numerator", "denominator", "value",
    "status",
]
REGISTRY_CORE = {
    "kommune", "kommune_name", "period", "indicator", "indicator_label", "value", "status",
}
NA_KEY = "<missing>\u241e"  # stands for a missing key value while merging
