"""A study's registry indicators read from their files (:func:`read_indicators`): the
observations and reference series of those that could be read, and why the others could not."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..errors import RegistryFileError
from .columns import RAW_OBSERVATION_COLUMNS, REFERENCE_COLUMNS
from .table import IndicatorRead, read_indicator_table


def read_indicator(study, indicator_id: str) -> IndicatorRead:
    """Read the file of one of the study's indicators (with its ``sheet``) and interpret it."""
    from ..ingest import read_registry

    ind = study.registry.indicators[indicator_id]
    path = study.path(ind.file)
    raw = read_registry(path, sheet=ind.sheet) if ind.sheet is not None else read_registry(path)
    return read_indicator_table(raw, indicator_id, ind, str(path), study=study)


def _empty(columns: list[str]) -> pd.DataFrame:
    """An empty table of observation-like columns with their types (counts and values float,
    year int, the rest string)."""
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in (
        "numerator", "denominator", "value") else "int64" if c == "year" else "string")
        for c in columns})


def reference_series(study) -> pd.DataFrame:
    """The country and fylke reference series of every registry indicator of the study
    (stored per the indicator's ``per`` like the kommune values). An indicator whose file
    cannot be read has none (:func:`read_indicators` says why); when no indicator can be
    read, the error is raised."""
    return read_indicators(study).reference


#: the columns of :attr:`RegistryRead.failures_frame`
FAILURE_COLUMNS = ["indicator", "file", "reason"]


@dataclass
class RegistryRead:
    """Every registry indicator of a study read from its file (:func:`read_indicators`).

    ``observations`` (:data:`RAW_OBSERVATION_COLUMNS`) and ``reference``
    (:data:`REFERENCE_COLUMNS`) hold the indicators that could be read; ``failures`` maps each
    indicator that could not be read to the reader's whole message (the file as study.yaml
    names it, row/column where known, and what to do), ``notes`` each read indicator to
    :attr:`IndicatorRead.notes`."""

    observations: pd.DataFrame
    reference: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def __iter__(self):  # observations, reference, failures = read_indicators(study)
        return iter((self.observations, self.reference, self.failures))

    @property
    def failures_frame(self) -> pd.DataFrame:
        """The failures as a table: indicator, file (as in study.yaml), reason."""
        return failures_frame(self.failures, self._files)

    _files: dict[str, str] = field(default_factory=dict, repr=False)


def failures_frame(failures: dict[str, str], files: dict[str, str] | None = None
                   ) -> pd.DataFrame:
    """indicator, file, reason of the indicators that could not be read (string columns, also
    when there is none)."""
    files = files or {}
    return pd.DataFrame({
        "indicator": pd.Series(list(failures), dtype="string"),
        "file": pd.Series([files.get(k, "") for k in failures], dtype="string"),
        "reason": pd.Series(list(failures.values()), dtype="string"),
    })


def failure_message(study, indicator_id: str, err: Exception) -> str:
    """The reader's message for an indicator that could not be read, its file named as
    study.yaml names it (``landing/registry/x.csv row 3, column Kjønn: ...``)."""
    text = str(err)
    if study.registry and indicator_id in study.registry.indicators:
        file = str(study.registry.indicators[indicator_id].file)
        path = str(getattr(err, "path", "") or study.path(file))
        if path and text.startswith(path):
            text = file + text[len(path):]
    return text


def read_indicators(study) -> RegistryRead:
    """Read every registry indicator of the study (:func:`read_indicator`); one that cannot
    be read (a :class:`~evaluation_pipeline.errors.RegistryFileError` or another
    :class:`~evaluation_pipeline.errors.PipelineError`: file not found, an unfiltered
    dimension, no kommune level, an ambiguous kommune name, ...) is left out and its message
    kept in ``failures``, so the other indicators are still estimated. When no indicator can
    be read, the error is raised (the first one's, naming the others too)."""
    from ..errors import PipelineError

    inds = dict(study.registry.indicators) if study.registry else {}
    obs, ref, failures, notes, errors = [], [], {}, {}, []
    for k in inds:
        try:
            read = read_indicator(study, k)
        except (PipelineError, OSError) as err:
            failures[k] = failure_message(study, k, err)
            errors.append(err)
            continue
        obs.append(read.observations)
        if len(read.reference):
            ref.append(read.reference)
        notes[k] = read.notes
    if inds and not obs:
        if len(errors) == 1:
            raise errors[0]
        others = "; ".join(f"{k}: {v}" for k, v in list(failures.items())[1:])
        raise RegistryFileError(study.source_file or "study.yaml", (
            f"no registry indicator could be read: {next(iter(failures))}: "
            f"{next(iter(failures.values()))}; {others}"))
    observations = pd.concat(obs, ignore_index=True) if obs else _empty(RAW_OBSERVATION_COLUMNS)
    reference = pd.concat(ref, ignore_index=True) if ref else _empty(REFERENCE_COLUMNS)
    return RegistryRead(observations, reference, failures, notes,
                        _files={k: str(v.file) for k, v in inds.items()})
