"""Errors meant for people: each names the file, and where known the row/line, column and
what was expected, e.g. ``SurveyFileError: landing/surveys/w2016.csv row 212, column sam3:
value 7 is outside the scale 1-5``."""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """Base class of every error the library raises on purpose."""


class InputFileError(PipelineError, ValueError):
    """A landing or configuration file is not what it should be."""

    kind = "input file"

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path)
        self.row = row
        self.column = column
        self.detail = message
        where = self.path
        if row is not None:
            where += f" row {row}"
        if column is not None:
            where += f"{',' if row is not None else ''} column {column}"
        super().__init__(f"{where}: {message}")


class StudyConfigError(InputFileError):
    """study.yaml is invalid (wrong key, missing field, unknown kommune code, ...)."""


class SurveyFileError(InputFileError):
    """A survey landing file cannot be read as survey answers."""


class InterviewFileError(InputFileError):
    """A QDA export or coded-segment file cannot be read."""


class RegistryFileError(InputFileError):
    """A registry statistics file (JSON-stat, PxWeb CSV, tidy CSV) cannot be read."""


class ContractViolation(PipelineError, ValueError):
    """A table breaks its data contract (see ``evaluation_pipeline.contracts``)."""


class AnalysisError(PipelineError, ValueError):
    """An analysis cannot be computed from the data given (too few rows, no contrast, ...)."""
