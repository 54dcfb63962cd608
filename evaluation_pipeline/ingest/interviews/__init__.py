"""Read coded interview segments from QDA projects and coded-segment tables.

Why: interviews are coded in NVivo, ATLAS.ti, MAXQDA or QualCoder. The pipeline needs one row
per (segment, coding) with the code's place in the codebook, the coder and the case attributes
(kommune, role, wave), to count themes and compare coders.

Supported inputs (:func:`read_interview_codes` picks the reader from the path):

* **REFI-QDA projects** -- ``.qdpx`` (a zip holding ``project.qde``) or a bare ``.qde``: the
  exchange format NVivo, ATLAS.ti, MAXQDA and QualCoder all export (XML in the namespace
  ``urn:QDA-XML:project:1.0``). ``project.qde`` is checked against the REFI-QDA Project XSD
  shipped in ``evaluation_pipeline/reference/refi_qda_project_1.0.xsd`` (``validate=``).
* **QualCoder projects** -- the project folder ``<name>.qda`` or its SQLite database
  ``data.qda`` (tables ``code_text``, ``code_image``, ``code_av``, ``code_name``,
  ``code_cat``, ``source``, ``attribute``, ``case_text``, as created by QualCoder's
  ``__main__.py``). Opened read-only; the text columns ``fulltext`` and ``seltext`` are never
  queried.
* **Coded-segment tables** -- ``.csv``/``.tsv``/``.txt``/``.xlsx``: one row per coded segment
  with columns source, code, coder, start, end (synonyms accepted, see
  ``coded_segments._CSV_SYNONYMS``), and
  Zotero-QDA ("zotqda") fragment exports.

Native project files of the commercial tools (NVivo ``.nvp``/``.nvpx``, MAXQDA ``.mx*``,
ATLAS.ti ``.atlproj``) are refused with a message asking for a REFI-QDA export.

Output columns: ``project, source, source_guid, segment_id, coder, code, code_guid,
code_path, theme, start, end, text_length, kommune, role, wave``.

* ``code_path`` joins code names from the top-level code (or QualCoder category) down with
  " / "; ``theme`` is its first part. A coding whose code is not in the codebook is kept with
  ``code = "<unknown code GUID>"`` and ``code_path`` NA, for validation to report.
* ``coder`` is the user who applied the code. In REFI-QDA that is the ``creatingUser`` of the
  ``<Coding>`` element (the application of a code to a selection), falling back to the
  selection's. NVivo is the exception: it has no separate selection object (a coding
  reference is one selection with one code) and it writes one placeholder user and time on
  every ``<Coding>`` -- in the real NVivo 12 export all 303 Codings carry the same
  ``creationDateTime``, earlier than every selection they belong to. So for a project whose
  ``origin`` is NVivo, and for any Coding stamped earlier than its own selection, the
  selection's ``creatingUser`` is taken. QualCoder's coder is its free-text ``owner``. The
  project's users (GUID -> name) are kept in ``df.attrs["users"]``.
* ``start``/``end`` are character offsets (Int64) for text selections and NA for picture,
  PDF, audio and video selections and for codings of a whole source (REFI-QDA and QualCoder
  both count characters of the plain text, not bytes). When the plain text of a source is in
  the ``.qdpx``, a selection ending beyond its length in characters is reported (byte
  offsets or a different text).
* ``kommune``/``role``/``wave`` come from variables (attributes) of the source or of the cases
  holding the source (names matched case-insensitively; synonyms municipality,
  sector/sektor/rolle, round/runde), or from ATLAS.ti document groups (REFI-QDA ``<Set>``)
  named ``attribute::value`` such as ``kommune::4001``. Exports without them can be mapped in
  study.yaml (``interviews.documents``, :func:`assign_documents`).
* Two different sources with the same name in one project (MAXQDA exports can have them) are
  told apart as ``"name [GUID]"``, with a warning.

The text of the sources is never copied into the output, only positions and lengths.

What lives here: :func:`read_interview_codes`, which picks the reader from the path, and the
public names of the interview frame. The readers: :mod:`.refi_qda` (with
:mod:`.refi_qda_schema`), :mod:`.qualcoder` and :mod:`.coded_segments`; :mod:`.frame` holds
the columns every reader returns; :mod:`.documents` maps documents to kommune, role and
round from study.yaml.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import InterviewFileError
from .coded_segments import read_segment_csv, read_segment_xlsx
from .documents import (
    ASSIGNED_ATTRIBUTES,
    assign_documents,
    unassigned_documents,
    unassigned_message,
)
from .frame import INTERVIEW_COLUMNS, UNKNOWN_CODE, QDAReadWarning, QDASchemaWarning
from .qualcoder import read_qualcoder
from .refi_qda import parse_project, read_qdpx
from .refi_qda_schema import PROJECT_XSD, Validate

__all__ = [
    "ASSIGNED_ATTRIBUTES",
    "INTERVIEW_COLUMNS",
    "PROJECT_XSD",
    "UNKNOWN_CODE",
    "QDAReadWarning",
    "QDASchemaWarning",
    "Validate",
    "assign_documents",
    "read_interview_codes",
    "unassigned_documents",
    "unassigned_message",
]

_NATIVE_FORMATS = {
    ".nvp": "NVivo",
    ".nvpx": "NVivo",
    ".mx12": "MAXQDA",
    ".mx18": "MAXQDA",
    ".mx20": "MAXQDA",
    ".mx22": "MAXQDA",
    ".mx24": "MAXQDA",
    ".mex": "MAXQDA",
    ".atlproj": "ATLAS.ti",
    ".hpr7": "ATLAS.ti",
}


def read_interview_codes(path: str | Path, *, validate: Validate = "warn") -> pd.DataFrame:
    """Read the codings of one QDA project or coded-segment table into one row per
    (segment, coding); see the module docstring for the columns.

    Supported: REFI-QDA projects (``.qdpx``, ``.qde``) as exported by NVivo, ATLAS.ti,
    MAXQDA and QualCoder; QualCoder's own project (the ``<name>.qda`` folder or its
    ``data.qda`` SQLite file); coded-segment tables (``.csv``, ``.tsv``, ``.txt``,
    ``.xlsx``, ``.xlsm``) including Zotero-QDA fragment exports.

    ``validate`` applies to REFI-QDA projects: ``"warn"`` (default) checks ``project.qde``
    against the REFI-QDA Project XSD and reads a file that deviates from it with one
    :class:`QDASchemaWarning` naming the file, the lines and what the schema expected;
    ``"strict"`` raises :class:`~evaluation_pipeline.errors.InterviewFileError` instead;
    ``"off"`` skips the schema. Whatever the mode, a file that is not a REFI-QDA project
    (not a zip, no ``.qde``, not well-formed XML, another root element or namespace) or that
    lacks what the reader needs (a ``<CodeRef>`` in each ``<Coding>``, whole-number
    positions on text selections) raises ``InterviewFileError``.
    """
    if validate not in ("warn", "strict", "off"):
        raise ValueError(f"validate must be 'warn', 'strict' or 'off', not {validate!r}")
    p = Path(path)
    ext = p.suffix.lower()
    if p.is_dir():
        if ext == ".qda" or (p / "data.qda").is_file():
            return read_qualcoder(p)
        raise InterviewFileError(
            p, "expected a file or a QualCoder project folder (<name>.qda with data.qda)"
        )
    if not p.is_file():
        raise InterviewFileError(p, "file not found")
    if ext == ".qdpx":
        return read_qdpx(p, validate)
    if ext == ".qde":
        return parse_project(p, p.read_bytes(), p.name, validate)
    if ext == ".qda":
        return read_qualcoder(p)
    if ext in {".csv", ".tsv", ".txt"}:
        return read_segment_csv(p)
    if ext in {".xlsx", ".xlsm"}:
        return read_segment_xlsx(p)
    if ext in _NATIVE_FORMATS:
        raise InterviewFileError(
            p,
            f"this is a native {_NATIVE_FORMATS[ext]} project file, which cannot be read; "
            "expected a REFI-QDA project export (.qdpx) -- use the tool's REFI-QDA export",
        )
    raise InterviewFileError(
        p,
        f"expected a REFI-QDA project (.qdpx, .qde), a QualCoder project (.qda) or a "
        f"coded-segment table (.csv, .xlsx), found {ext or 'no'} extension",
    )
