"""From a registry file as read (long, one row per contents code) to the study's tidy registry
observations: kommune, period, year, indicator (the study's id), numerator, denominator, value,
status, borders, source_scale; the file's country and fylke rows as reference series; and the
cells a revised registry table changed between two versions.

Files as researchers download them (FHI Kommunehelsa, Udir, SSB) are read as published, each
step driven by study.yaml only where the file cannot tell:

* **kommune names** ("Porsgrunn", "Bø") become codes through SSB's code history for the
  period's year (:func:`geography.codes_for_names`); a name of several kommuner is resolved by
  the file's fylke rows, then by the study's kommuner, else it is an error listing the
  candidates. "Hele landet" and fylke rows ("Telemark") are **reference series**
  (:attr:`IndicatorRead.reference`), never kommune rows.
* **borders**: FHI publishes whole histories on today's borders (Midt-Telemark for 2015,
  4001 Porsgrunn for 2015). When a name or code appears in a year it did not exist although
  it exists in the study's ``geography_year``, the file is on current borders: names map to
  ``geography_year`` codes and codes are kept (``borders: current``; the contract then checks
  the code against ``geography_year``). ``borders: current | as_published`` overrides this.
* **periods**: ``2015-01-01`` -> 2015; school years ``2016/17`` (and Udir's ``2016-17``) -> the
  end year 2017; rolling windows ``2016/17-2018/19`` or ``2021-2023`` -> the end year (2019,
  2023), noted as rolling averages (:func:`period_notes`). When a file has several columns for
  the same periods (FHI: ``Skoleår`` 2016/17-2018/19, ``År`` 2018-01-01, ``Skoleår_slutt``
  2018/19) the most specific one is the period: a rolling window over a school year over a
  year or date; the others are labels.
* **extra dimensions**: ``filter:`` keeps one value per dimension (case-insensitive, trimmed);
  a dimension with one value needs none; columns that label another column one-to-one
  (``Label`` = ``Kommune``, ``SortKommune``, ``Skoleår_slutt``) are ignored. Any other
  dimension with several values is an error naming it, its values and the ``filter:`` line.
* **published rates** (``value:``): the scale (proportion 0–1, percent, per 1,000) is taken
  from ``scale:`` or detected from the values (all within 0–1: a proportion, whatever the
  label says) and the label, and the value is stored per the indicator's ``per``.

The rooms: :mod:`.columns` (the column lists), :mod:`.periods` (periods -> years),
:mod:`.dimensions` (filters, the period column, label columns, scales of published rates),
:mod:`.table` (one indicator from a file as read, kommune names and borders), :mod:`.read`
(every indicator of a study, and why one could not be read), :mod:`.revisions` (what changed
between two downloads) and :mod:`.weights` (the DiD's weights and notes on an indicator).
"""

from .columns import OBSERVATION_COLUMNS, RAW_OBSERVATION_COLUMNS, REFERENCE_COLUMNS
from .dimensions import SCALE_BASE, detect_scale
from .periods import parse_period, period_notes
from .read import (
    FAILURE_COLUMNS,
    RegistryRead,
    failure_message,
    failures_frame,
    read_indicator,
    read_indicators,
    reference_series,
)
from .revisions import REVISABLE_COLUMNS, RegistryRevisions, registry_revisions
from .table import IndicatorRead, read_indicator_table, registry_observations
from .weights import did_weights, indicator_notes

__all__ = [
    "FAILURE_COLUMNS",
    "OBSERVATION_COLUMNS",
    "RAW_OBSERVATION_COLUMNS",
    "REFERENCE_COLUMNS",
    "REVISABLE_COLUMNS",
    "SCALE_BASE",
    "IndicatorRead",
    "RegistryRead",
    "RegistryRevisions",
    "detect_scale",
    "did_weights",
    "failure_message",
    "failures_frame",
    "indicator_notes",
    "parse_period",
    "period_notes",
    "read_indicator",
    "read_indicator_table",
    "read_indicators",
    "reference_series",
    "registry_observations",
    "registry_revisions",
]
