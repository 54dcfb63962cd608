"""Readers of landing files into tidy long pandas DataFrames.

* :func:`read_survey` -- survey answers (CSV, Excel, SPSS .sav/.zsav/.por)
* :func:`read_interview_codes` -- coded interview segments (REFI-QDA .qdpx, segment CSV/XLSX)
* :func:`read_registry` -- registry statistics (JSON-stat, PxWeb/Udir/FHI CSV, tidy CSV)

Readers by format family: :mod:`.surveys`; :mod:`.interviews` (a package: REFI-QDA,
QualCoder, coded-segment tables, the documents mapping); :mod:`.registry` (a package:
JSON-stat, CSV/XLSX files, PxWeb/Udir/FHI/tidy table layouts). Text helpers shared by them
(decoding, garbled-text check, separator sniffing) are in :mod:`.text`.

Each raises the matching error of :mod:`evaluation_pipeline.errors` naming the file (and row,
column or line where known) when a file cannot be read as what it should be.
"""

from .interviews import read_interview_codes
from .registry import read_registry
from .surveys import read_survey

__all__ = ["read_interview_codes", "read_registry", "read_survey"]
