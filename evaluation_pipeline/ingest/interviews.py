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
  with columns source, code, coder, start, end (synonyms accepted, see ``_CSV_SYNONYMS``), and
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

The XML is parsed with the standard library's ``xml.etree.ElementTree`` and validated with
``xmlschema``: no library maintained on PyPI reads REFI-QDA projects into tidy frames.
"""

from __future__ import annotations

import functools
import io
import re
import sqlite3
import sys
import warnings
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree as ET
from xml.parsers import expat

import numpy as np
import pandas as pd

from ..errors import InterviewFileError
from .text import decode_text, garbled, sniff_separator

#: the REFI-QDA Project schema 1.0 (Project-mrt2019.xsd, MIT licence, REFI www.qdasoftware.org)
PROJECT_XSD = Path(__file__).resolve().parent.parent / "reference" / "refi_qda_project_1.0.xsd"
Validate = Literal["warn", "strict", "off"]
_MAX_LISTED = 5


class QDAReadWarning(UserWarning):
    """A QDA project was read, but something in it deserves a look (see the message)."""


class QDASchemaWarning(QDAReadWarning):
    """A REFI-QDA project deviates from the REFI-QDA Project XSD but was read anyway."""


def _warn(message: str, category: type[Warning]) -> None:
    """Warn at the first caller outside this module (the line that called the reader)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


INTERVIEW_COLUMNS = [
    "project",
    "source",
    "source_guid",
    "segment_id",
    "coder",
    "code",
    "code_guid",
    "code_path",
    "theme",
    "start",
    "end",
    "text_length",
    "kommune",
    "role",
    "wave",
]
_INT_COLUMNS = ("start", "end", "text_length")
UNKNOWN_CODE = "<unknown code GUID>"

_VARIABLE_SYNONYMS = {
    "kommune": {"kommune", "municipality", "kommunenummer", "kommunenr"},
    "role": {"role", "sector", "sektor", "rolle"},
    "wave": {"wave", "round", "runde"},
}
#: an ATLAS.ti document group carrying an attribute: "kommune::4001" (also "kommune: 4001",
#: "kommune=4001")
_GROUP_ATTRIBUTE = re.compile(r"^\s*([^:=]+?)\s*(::|:|=)\s*(\S.*)$")
_SOURCE_KINDS = ("TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource")
_SELECTION_KINDS = (
    "PlainTextSelection",
    "PictureSelection",
    "PDFSelection",
    "AudioSelection",
    "VideoSelection",
    "TranscriptSelection",
)

#: coded-segment table columns: output name -> accepted headers (lower case, no spaces/_).
_CSV_SYNONYMS: dict[str, tuple[str, ...]] = {
    "source": (
        "source",
        "document",
        "doc",
        "dokument",
        "kilde",
        "documentname",
        "sourcename",
        "file",
        "filename",
    ),
    "code": ("code", "kode", "codename", "node"),
    "coder": ("coder", "user", "koder", "bruker", "codedby", "username"),
    "start": ("start", "startposition", "begin", "from", "positionstart", "startpos"),
    "end": ("end", "endposition", "stop", "to", "positionend", "endpos", "slutt"),
    "kommune": ("kommune", "municipality", "kommunenummer", "kommunenr"),
    "role": ("role", "sector", "sektor", "rolle"),
    "wave": ("wave", "round", "runde"),
    "code_path": ("codepath", "path", "kodesti", "hierarchy"),
    "segment_id": ("segmentid", "segment", "selectionguid", "selection", "annotationkey"),
    "source_guid": ("sourceguid", "documentguid", "documentid", "sourceid"),
    "code_guid": ("codeguid", "codeid"),
    "project": ("project", "prosjekt"),
}
_CSV_REQUIRED = ("source", "code", "coder", "start", "end")
#: Zotero QDA ("zotqda") fragment exports: their own column names for the same things.
_ZOTQDA_COLUMNS = {
    "title": "source",
    "attachmentKey": "source_guid",
    "annotationKey": "segment_id",
    "codedBy": "coder",
    "code": "code",
    "codeId": "code_guid",
    "positionStart": "start",
    "positionEnd": "end",
}


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
            return _read_qualcoder(p)
        raise InterviewFileError(
            p, "expected a file or a QualCoder project folder (<name>.qda with data.qda)"
        )
    if not p.is_file():
        raise InterviewFileError(p, "file not found")
    if ext == ".qdpx":
        return _read_qdpx(p, validate)
    if ext == ".qde":
        return _parse_project(p, p.read_bytes(), p.name, validate)
    if ext == ".qda":
        return _read_qualcoder(p)
    if ext in {".csv", ".tsv", ".txt"}:
        return _read_segment_csv(p)
    if ext in {".xlsx", ".xlsm"}:
        return _read_segment_xlsx(p)
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


def _empty() -> pd.DataFrame:
    return _finish({c: [] for c in INTERVIEW_COLUMNS})


def _finish(cols: dict[str, Any]) -> pd.DataFrame:
    out: dict[str, Any] = {}
    for c in INTERVIEW_COLUMNS:
        v = cols[c]
        if c in _INT_COLUMNS:
            out[c] = pd.array(pd.to_numeric(pd.Series(v, dtype=object)), dtype="Int64")
        else:
            arr = np.asarray(v, dtype=object)
            out[c] = pd.array(np.where(pd.isna(arr), None, arr), dtype="string")
    df = pd.DataFrame(out)
    df["text_length"] = df["end"] - df["start"]
    return df


# --------------------------------------------------------------------------------------------
# REFI-QDA
# --------------------------------------------------------------------------------------------
def _read_qdpx(p: Path, validate: Validate = "warn") -> pd.DataFrame:
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
            qde = [n for n in names if n.lower().endswith(".qde") and "/" not in n.strip("/")]
            qde = qde or [n for n in names if n.lower().endswith(".qde")]
            if not qde:
                raise InterviewFileError(
                    p,
                    "expected a REFI-QDA project: the .qdpx archive holds no project.qde "
                    f"(found: {', '.join(names[:5]) or 'nothing'})",
                )
            try:
                data = zf.read(qde[0])
            except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                raise InterviewFileError(
                    p, f"expected a readable {qde[0]} in the .qdpx archive, found it damaged ({e})"
                ) from None
            lengths = _text_lengths(zf)
    except zipfile.BadZipFile as e:
        with p.open("rb") as f:
            zip_start = f.read(4) == b"PK\x03\x04"
        hint = (
            " (it starts like a zip but its end is missing: truncated download or copy?)"
            if zip_start
            else ""
        )
        raise InterviewFileError(
            p,
            f"expected a REFI-QDA .qdpx (zip) archive, but the file is not a valid zip{hint}: {e}",
        ) from None
    return _parse_project(p, data, qde[0], validate, lengths)


def _text_lengths(zf: zipfile.ZipFile) -> dict[str, int]:
    """Length in characters of each plain-text source in the archive (lower-cased file name
    -> length). The text itself is dropped at once: only its length is kept."""
    out: dict[str, int] = {}
    for info in zf.infolist():
        if not info.filename.lower().endswith(".txt"):
            continue
        try:
            raw = zf.read(info)
            out[info.filename.rsplit("/", 1)[-1].lower()] = len(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, zipfile.BadZipFile, zlib.error, EOFError):
            continue
    return out


@functools.lru_cache(maxsize=1)
def _project_schema():  # -> xmlschema.XMLSchema
    import xmlschema

    return xmlschema.XMLSchema(str(PROJECT_XSD))


def _element_lines(data: bytes) -> list[int]:
    """Line number of every element's start tag, in document order (= ``root.iter()``)."""
    lines: list[int] = []
    parser = expat.ParserCreate()

    def start(_name: str, _attrs: dict) -> None:
        lines.append(parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.Parse(data, True)
    return lines


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)


def _describe_schema_error(err: Any, line_of: dict[int, int]) -> str:
    child = getattr(err, "invalid_child", None)
    elem = child if child is not None else err.elem
    line = line_of.get(id(elem))
    where = f"line {line}: " if line else ""
    reason = (err.reason or str(err.message)).replace("{urn:QDA-XML:project:1.0}", "")
    reason = re.sub(
        r"value doesn't match any pattern of \[.*\]",
        "expected a GUID such as 3f2a9c1e-0b7d-4e0a-9c55-1a2b3c4d5e6f",
        reason,
    )
    expected = ""
    if child is not None:
        particles = [getattr(x, "local_name", None) for x in (err.expected or [])]
        particles = [x for x in particles if x]
        if particles:
            expected = "; expected " + " or ".join(f"<{x}>" for x in particles)
        elif hasattr(err.validator, "iter_elements"):
            order = [x.local_name for x in err.validator.iter_elements() if x.local_name]
            expected = (
                f"; expected the children of <{_local(err.elem.tag)}> in the order "
                + ", ".join(order)
            )
    return f"{where}<{_local(elem.tag)}>: {reason.rstrip('.')}{expected}"


@functools.lru_cache(maxsize=1)
def _project_schema_lxml():  # -> lxml.etree.XMLSchema
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(PROJECT_XSD)))


def _valid_fast(data: bytes) -> bool:
    """True when libxml2 (lxml) finds ``data`` valid against the Project XSD: about 20 times
    faster than xmlschema (pure Python), which is then only needed to describe the errors
    of an invalid file (its messages name elements, lines and what was expected)."""
    from lxml import etree

    try:
        doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True,
                                                     huge_tree=True))
    except etree.XMLSyntaxError:
        return False
    return bool(_project_schema_lxml().validate(doc))


def _check_schema(
    p: Path, member: str, root: ET.Element, line_of: dict[int, int], validate: Validate,
    data: bytes | None = None,
) -> None:
    if validate == "off":
        return
    if data is not None and _valid_fast(data):
        return
    problems = [_describe_schema_error(e, line_of) for e in _project_schema().iter_errors(root)]
    if not problems:
        return
    listed = "; ".join(problems[:_MAX_LISTED])
    more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
    head = (
        f"{member} does not follow the REFI-QDA Project schema (Project.xsd 1.0) in "
        f"{len(problems)} place(s): {listed}{more}"
    )
    if validate == "strict":
        raise InterviewFileError(p, head)
    _warn(
        f"{p}: {head}. Read anyway; pass validate='strict' to refuse such files.",
        QDASchemaWarning,
    )


def _int_or_none(v: str | None) -> int | None:
    if v is None:
        return None
    try:
        return int(v.strip())
    except ValueError:
        return None


def _when(v: str | None) -> datetime | None:
    if not v:
        return None
    try:
        return datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _variable_value(vv: ET.Element) -> str | None:
    for child in vv:
        if child.tag != "VariableRef":
            return (child.text or "").strip() or None
    return None


def _attributes(holder: ET.Element, variables: dict[str, str], into: dict[str, str | None]) -> None:
    """Fill kommune/role/wave from the VariableValue children of ``holder`` (first wins)."""
    for vv in holder.findall("VariableValue"):
        ref = vv.find("VariableRef")
        name = variables.get(ref.get("targetGUID", "")) if ref is not None else None
        if name is None:
            continue
        key = name.strip().lower()
        for out, names in _VARIABLE_SYNONYMS.items():
            if key in names and into.get(out) is None:
                into[out] = _variable_value(vv)


def _parse_project(
    p: Path,
    data: bytes,
    member: str,
    validate: Validate = "warn",
    text_lengths: dict[str, int] | None = None,
) -> pd.DataFrame:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        line, col = e.position
        reason = str(e).split(":")[0]
        raise InterviewFileError(
            p, f"{member} line {line}, column {col}: invalid XML ({reason})"
        ) from None
    ns, local = (root.tag[1:].split("}", 1)) if root.tag.startswith("{") else ("", root.tag)
    if local != "Project" or (ns and not ns.startswith("urn:QDA-XML:project:")):
        where = f"in namespace {ns!r}" if ns else "without a namespace"
        raise InterviewFileError(
            p,
            f"expected a REFI-QDA <Project> (namespace urn:QDA-XML:project:1.0) in {member}, "
            f"found <{local}> {where}",
        )
    lines = _element_lines(data)
    line_of = {id(el): n for el, n in zip(root.iter(), lines, strict=False)}
    _check_schema(p, member, root, line_of, validate, data)
    _strip_namespaces(root)

    def need(el: ET.Element, what: str) -> InterviewFileError:
        return InterviewFileError(p, f"{member} line {line_of.get(id(el), '?')}: {what}")

    project = (root.get("name") or "").strip() or p.stem
    nvivo = (root.get("origin") or "").strip().lower().startswith("nvivo")
    users = {u.get("guid"): u.get("name") or u.get("guid") for u in root.iter("User")}

    codes: dict[str, tuple[str, str, str]] = {}  # guid -> (name, path, theme)

    def walk(el: ET.Element, trail: list[str]) -> None:
        for code in el.findall("Code"):
            name = code.get("name") or ""
            path = [*trail, name]
            codes[code.get("guid", "")] = (name, " / ".join(path), path[0])
            walk(code, path)

    codebook = root.find("CodeBook")
    if codebook is not None:
        for codes_el in codebook.findall("Codes"):
            walk(codes_el, [])

    variables = {v.get("guid", ""): v.get("name") or "" for v in root.iter("Variable")}
    case_attrs_by_source: dict[str, dict[str, str | None]] = {}
    case_attrs_by_selection: dict[str, dict[str, str | None]] = {}
    cases = root.find("Cases")
    if cases is not None:
        for case in cases.findall("Case"):
            attrs: dict[str, str | None] = {}
            _attributes(case, variables, attrs)
            if not attrs:
                continue
            for ref in case.findall("SourceRef"):
                target = case_attrs_by_source.setdefault(ref.get("targetGUID", ""), {})
                for k, v in attrs.items():
                    target.setdefault(k, v)
            for ref in case.findall("SelectionRef"):
                target = case_attrs_by_selection.setdefault(ref.get("targetGUID", ""), {})
                for k, v in attrs.items():
                    target.setdefault(k, v)

    # ATLAS.ti document groups named "attribute::value" (its convention for document
    # attributes, e.g. "kommune::4001", "round::r2021") are exported as <Set>s of sources
    sets = root.find("Sets")
    for group in [] if sets is None else sets.findall("Set"):
        m = _GROUP_ATTRIBUTE.match(group.get("name") or "")
        key = m.group(1).strip().lower() if m else ""
        out = next((o for o, names in _VARIABLE_SYNONYMS.items() if key in names), None)
        if out is None:
            continue
        for ref in group.findall("MemberSource"):
            case_attrs_by_source.setdefault(ref.get("targetGUID", ""), {}).setdefault(
                out, m.group(3).strip())

    rows: dict[str, list[Any]] = {c: [] for c in INTERVIEW_COLUMNS}

    def applier(holder: ET.Element, coding: ET.Element) -> str | None:
        by_coding, by_holder = coding.get("creatingUser"), holder.get("creatingUser")
        coded, selected = (
            _when(coding.get("creationDateTime")),
            _when(holder.get("creationDateTime")),
        )
        placeholder = coded is not None and selected is not None and coded < selected
        if by_holder and (nvivo or placeholder):
            return by_holder
        return by_coding or by_holder

    def emit(
        source: ET.Element,
        attrs: dict[str, str | None],
        holder: ET.Element,
        start: int | None,
        end: int | None,
        coding: ET.Element,
        sel_attrs: dict[str, str | None] | None = None,
    ) -> None:
        ref = coding.find("CodeRef")
        code_guid = ref.get("targetGUID") if ref is not None else None
        if not code_guid:
            raise need(coding, 'expected a <CodeRef targetGUID="..."> inside <Coding>')
        name, path, theme = codes.get(code_guid, (UNKNOWN_CODE, None, None))
        user = applier(holder, coding)
        merged = dict(sel_attrs or {})
        for k, v in attrs.items():
            if merged.get(k) is None:
                merged[k] = v
        rows["project"].append(project)
        rows["source"].append(source.get("name") or source.get("guid"))
        rows["source_guid"].append(source.get("guid"))
        rows["segment_id"].append(holder.get("guid"))
        rows["coder"].append(users.get(user, user) if user else None)
        rows["code"].append(name)
        rows["code_guid"].append(code_guid)
        rows["code_path"].append(path)
        rows["theme"].append(theme)
        rows["start"].append(start)
        rows["end"].append(end)
        rows["text_length"].append(None)
        for k in ("kommune", "role", "wave"):
            rows[k].append(merged.get(k))

    overshoot: list[str] = []
    sources = root.find("Sources")
    for source in [] if sources is None else list(sources):
        if source.tag not in _SOURCE_KINDS:
            continue
        attrs: dict[str, str | None] = {}
        _attributes(source, variables, attrs)
        for k, v in case_attrs_by_source.get(source.get("guid", ""), {}).items():
            if attrs.get(k) is None:
                attrs[k] = v
        for coding in source.findall("Coding"):  # a whole source coded
            emit(source, attrs, source, None, None, coding)
        text_path = (source.get("plainTextPath") or "").rsplit("/", 1)[-1].lower()
        n_chars = (text_lengths or {}).get(text_path) if source.tag == "TextSource" else None
        for sel in source.iter():
            if sel.tag not in _SELECTION_KINDS:
                continue
            start = end = None
            if sel.tag == "PlainTextSelection":
                start = _int_or_none(sel.get("startPosition"))
                end = _int_or_none(sel.get("endPosition"))
                if start is None or end is None or not 0 <= start <= end:
                    found = f"{sel.get('startPosition')!r}..{sel.get('endPosition')!r}"
                    raise need(
                        sel,
                        "expected whole-number startPosition <= endPosition (character "
                        f"offsets) on <PlainTextSelection>, found {found}",
                    )
                if n_chars is not None and end > n_chars and sel.find("Coding") is not None:
                    overshoot.append(
                        f"line {line_of.get(id(sel), '?')}: selection ends at {end}, "
                        f"source {source.get('name')!r} has {n_chars} characters"
                    )
            sel_attrs = case_attrs_by_selection.get(sel.get("guid", ""))
            for coding in sel.findall("Coding"):
                emit(source, attrs, sel, start, end, coding, sel_attrs)
    if overshoot:
        msg = (
            f"{member}: {len(overshoot)} text selection(s) end beyond their source text "
            f"(offsets in bytes instead of characters, or another version of the text?): "
            + "; ".join(overshoot[:_MAX_LISTED])
        )
        if validate == "strict":
            raise InterviewFileError(p, msg)
        if validate == "warn":
            _warn(f"{p}: {msg}", QDAReadWarning)
    out = _finish(rows) if rows["project"] else _empty()
    out = _distinct_source_names(p, out)
    out.attrs["users"] = {g: n for g, n in users.items() if g}
    return out


def _distinct_source_names(p: Path, df: pd.DataFrame) -> pd.DataFrame:
    """Two sources with one name (seen in MAXQDA exports) would be counted as one interview:
    tell them apart as ``"name [GUID]"`` and warn."""
    if df.empty:
        return df
    per_name = df.groupby("source", dropna=True)["source_guid"].nunique()
    dup = per_name[per_name > 1].index
    if len(dup) == 0:
        return df
    mask = df["source"].isin(dup)
    df.loc[mask, "source"] = (
        df.loc[mask, "source"] + " [" + df.loc[mask, "source_guid"] + "]"
    )
    _warn(
        f"{p}: {len(dup)} source name(s) used by more than one source "
        f"({', '.join(map(repr, dup[:_MAX_LISTED]))}); told apart as 'name [GUID]'",
        QDAReadWarning,
    )
    return df


def _strip_namespaces(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]


# --------------------------------------------------------------------------------------------
# QualCoder (SQLite project database)
# --------------------------------------------------------------------------------------------
_QUALCODER_NEEDS = {
    "source": ("id", "name"),
    "code_name": ("cid", "name", "catid"),
    "code_cat": ("catid", "name", "supercatid"),
    "code_text": ("cid", "fid", "pos0", "pos1", "owner"),
}


def _read_qualcoder(p: Path) -> pd.DataFrame:
    """Read a QualCoder project: the ``<name>.qda`` folder or its ``data.qda`` database.

    Schema as created by QualCoder (``src/qualcoder/__main__.py``, database version v17):
    ``code_text`` (ctid, cid, fid, seltext, pos0, pos1, owner, ...) holds text codings as
    Python string offsets into ``source.fulltext`` (characters); ``code_image`` (imid, id,
    x1, y1, width, height, cid, owner, pdf_page) holds picture and PDF areas; ``code_av``
    (avid, id, pos0, pos1 in milliseconds, cid, owner) audio/video segments. Codes sit in
    categories (``code_name.catid`` -> ``code_cat``, nested by ``supercatid``) and, since
    sub-codes were added, under parent codes (``code_name.supercid``). ``seltext`` and
    ``fulltext`` (the interview text) are never queried.
    """
    db = p / "data.qda" if p.is_dir() else p
    if not db.is_file():
        raise InterviewFileError(p, "expected a QualCoder project folder holding data.qda")
    with db.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise InterviewFileError(
                db, "expected a QualCoder project database (SQLite), found another file type"
            )
    project = (p if p.is_dir() else db.parent if db.name == "data.qda" else db).stem
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InterviewFileError(db, f"cannot open the QualCoder database: {e}") from None
    try:
        return _qualcoder_frame(db, con, project)
    except sqlite3.DatabaseError as e:
        raise InterviewFileError(db, f"expected a readable QualCoder database: {e}") from None
    finally:
        con.close()


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}  # noqa: S608 - fixed names


def _qualcoder_frame(db: Path, con: sqlite3.Connection, project: str) -> pd.DataFrame:
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    for table, cols in _QUALCODER_NEEDS.items():
        if table not in tables:
            found = ", ".join(sorted(tables)[:10]) or "none"
            raise InterviewFileError(
                db,
                f"expected a QualCoder project database with table {table!r} "
                f"(and {', '.join(t for t in _QUALCODER_NEEDS if t != table)}); "
                f"found tables: {found}",
            )
        missing = [c for c in cols if c not in _columns(con, table)]
        if missing:
            raise InterviewFileError(
                db,
                f"expected column(s) {', '.join(missing)} in QualCoder table {table!r}",
                column=missing[0],
            )

    cats = {r[0]: (r[1], r[2]) for r in con.execute("select catid, name, supercatid from code_cat")}
    has_super = "supercid" in _columns(con, "code_name")
    code_rows = con.execute(
        f"select cid, name, catid, {'supercid' if has_super else 'null'} from code_name"
    ).fetchall()
    code_by_id = {r[0]: (r[1], r[2], r[3]) for r in code_rows}

    def cat_path(catid: Any) -> list[str]:
        trail: list[str] = []
        seen: set = set()
        while catid is not None and catid in cats and catid not in seen:
            seen.add(catid)
            name, catid = cats[catid]
            trail.insert(0, name)
        return trail

    def code_path(cid: Any) -> list[str] | None:
        if cid not in code_by_id:
            return None
        trail: list[str] = []
        seen: set = set()
        cur = cid
        catid = None
        while cur is not None and cur in code_by_id and cur not in seen:
            seen.add(cur)
            name, catid, parent = code_by_id[cur]
            trail.insert(0, name)
            cur = parent
        return cat_path(catid) + trail

    sources = {r[0]: r[1] for r in con.execute("select id, name from source")}
    attrs: dict[int, dict[str, str | None]] = {fid: {} for fid in sources}
    if {"attribute", "attribute_type"} <= tables or "attribute" in tables:
        case_files: dict[Any, list[Any]] = {}
        if "case_text" in tables:
            for caseid, fid in con.execute("select distinct caseid, fid from case_text"):
                case_files.setdefault(caseid, []).append(fid)
        for name, kind, value, owner_id in con.execute(
            "select name, attr_type, value, id from attribute"
        ):
            key = str(name or "").strip().lower()
            out = next((o for o, names in _VARIABLE_SYNONYMS.items() if key in names), None)
            if out is None or value in (None, ""):
                continue
            targets = [owner_id] if kind == "file" else case_files.get(owner_id, [])
            for fid in targets:
                if fid in attrs and attrs[fid].get(out) is None:
                    attrs[fid][out] = str(value).strip()

    codings: list[tuple] = []
    ctid = "ctid" if "ctid" in _columns(con, "code_text") else "rowid"
    codings += [
        (f"code_text:{r[0]}", *r[1:])
        for r in con.execute(f"select {ctid}, cid, fid, pos0, pos1, owner from code_text")
    ]
    if "code_image" in tables:  # picture and PDF areas: no character offsets
        codings += [
            (f"code_image:{r[0]}", r[1], r[2], None, None, r[3])
            for r in con.execute("select imid, cid, id, owner from code_image")
        ]
    if "code_av" in tables:  # audio/video segments in milliseconds: no character offsets
        codings += [
            (f"code_av:{r[0]}", r[1], r[2], None, None, r[3])
            for r in con.execute("select avid, cid, id, owner from code_av")
        ]

    rows: dict[str, list[Any]] = {c: [] for c in INTERVIEW_COLUMNS}
    for seg, cid, fid, pos0, pos1, owner in codings:
        path = code_path(cid)
        for name, v in (("pos0", pos0), ("pos1", pos1)):
            if v is not None and (not isinstance(v, int) or v < 0):
                raise InterviewFileError(
                    db,
                    f"{seg}: expected a whole-number character offset in {name}, found {v!r}",
                    column=name,
                )
        if pos0 is not None and pos1 is not None and pos1 < pos0:
            raise InterviewFileError(db, f"{seg}: expected pos0 <= pos1, found {pos0} > {pos1}")
        rows["project"].append(project)
        rows["source"].append(sources.get(fid, str(fid)))
        rows["source_guid"].append(None if fid is None else str(fid))
        rows["segment_id"].append(seg)
        rows["coder"].append(owner or None)
        rows["code"].append(path[-1] if path else UNKNOWN_CODE)
        rows["code_guid"].append(None if cid is None else str(cid))
        rows["code_path"].append(" / ".join(path) if path else None)
        rows["theme"].append(path[0] if path else None)
        rows["start"].append(pos0)
        rows["end"].append(pos1)
        rows["text_length"].append(None)
        for k in ("kommune", "role", "wave"):
            rows[k].append(attrs.get(fid, {}).get(k))
    out = _finish(rows) if rows["project"] else _empty()
    out.attrs["users"] = {o: o for o in sorted(set(out["coder"].dropna()))}
    return out


# --------------------------------------------------------------------------------------------
# coded-segment tables
# --------------------------------------------------------------------------------------------
def _key(header: str) -> str:
    return re.sub(r"[\s_\-.]", "", str(header)).lower()


def _read_segment_csv(p: Path) -> pd.DataFrame:
    text, encoding = decode_text(p.read_bytes())
    if not text.strip():
        raise InterviewFileError(p, "expected a coded-segment table, found an empty file")
    garbled_line = garbled(text, encoding)
    if garbled_line:
        raise InterviewFileError(p, garbled_line)
    first = text.splitlines()[0]
    sep, _ = sniff_separator([first])
    try:
        raw = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise InterviewFileError(p, f"expected a coded-segment CSV table: {e}") from None
    return _from_segment_table(p, raw)


def _read_segment_xlsx(p: Path) -> pd.DataFrame:
    try:
        with pd.ExcelFile(p) as xl:
            raw = xl.parse(xl.sheet_names[0], dtype=object)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many types for a bad workbook
        raise InterviewFileError(p, f"expected an Excel workbook (.xlsx): {e}") from None
    raw = raw.map(
        lambda v: (
            "" if pd.isna(v) else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
        )
    )
    raw.columns = [str(c) for c in raw.columns]
    return _from_segment_table(p, raw)


def _from_segment_table(p: Path, raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.reset_index(drop=True)
    zotqda = any(_key(c) == "zotqdaformat" for c in raw.columns)
    found: dict[str, str] = {}
    if zotqda:
        for c in raw.columns:
            if c in _ZOTQDA_COLUMNS:
                found.setdefault(_ZOTQDA_COLUMNS[c], c)
    by_key = {}
    for c in raw.columns:
        by_key.setdefault(_key(c), c)
    for out, names in _CSV_SYNONYMS.items():
        if out in found:
            continue
        hit = next((by_key[n] for n in names if n in by_key), None)
        if hit is not None:
            found[out] = hit
    for req in _CSV_REQUIRED:
        if req not in found:
            names = ", ".join(_CSV_SYNONYMS[req])
            raise InterviewFileError(
                p,
                f"expected a column {req!r} (accepted names: {names}); found columns: "
                f"{', '.join(map(str, raw.columns[:12]))}",
                column=req,
            )
    n = len(raw)

    def col(name: str) -> pd.Series:
        if name in found:
            s = raw[found[name]].astype("string").str.strip()
            return s.mask(s == "", pd.NA)
        return pd.Series(pd.NA, index=raw.index, dtype="string")

    cols: dict[str, Any] = {c: col(c) for c in INTERVIEW_COLUMNS if c not in _INT_COLUMNS}
    code = cols["code"]
    if zotqda or "code_path" not in found:
        sep = r"\s*/\s*" if zotqda else None
        path = code.str.split(sep, regex=True).str.join(" / ") if sep else code
        if "code_path" in found:
            path = cols["code_path"]
        if zotqda:
            code = path.str.rsplit(" / ", n=1).str[-1]
        cols["code_path"], cols["code"] = path, code
    cols["theme"] = cols["code_path"].str.split(" / ", n=1).str[0]
    if "project" not in found:
        cols["project"] = pd.Series([p.stem] * n, dtype="string")
    kom = cols["kommune"]
    cols["kommune"] = kom.mask(kom.str.fullmatch(r"\d{3}").fillna(False), kom.str.zfill(4))
    for c in ("start", "end"):
        s = col(c)
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & (num.isna() | (num != np.floor(num)))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InterviewFileError(
                p,
                f"expected a whole-number character offset, found {s.iloc[i]!r}",
                row=i + 1,
                column=found[c],
            )
        cols[c] = num.astype("Int64")
    if zotqda and "positionKind" in raw.columns:
        not_text = raw["positionKind"].astype(str).str.strip().str.lower() != "text"
        cols["start"] = cols["start"].mask(not_text)
        cols["end"] = cols["end"].mask(not_text)
    cols["text_length"] = [None] * n
    return _finish(
        {k: (v.to_numpy(dtype=object) if isinstance(v, pd.Series) else v) for k, v in cols.items()}
    )


# --------------------------------------------------------------------------------------------
# documents -> kommune, role, round
# --------------------------------------------------------------------------------------------
#: the case attributes every interview needs (column -> what study.yaml and the message call it)
ASSIGNED_ATTRIBUTES = {"kommune": "kommune", "role": "role", "wave": "round"}
_GLOB_CHARS = set("*?[")


def _matches(pattern: str, name: str) -> bool:
    """An exact document name, or a glob (``*``, ``?``, ``[...]``) matched against the whole
    name, case-sensitively (``fnmatchcase``)."""
    from fnmatch import fnmatchcase

    if _GLOB_CHARS & set(pattern):
        return fnmatchcase(name, pattern)
    return name == pattern


def assign_documents(segments: pd.DataFrame, documents) -> pd.DataFrame:
    """Fill ``kommune``, ``role`` and ``wave`` of each segment from study.yaml's
    ``interviews.documents`` where the export's case attributes left them empty.

    ``documents`` is a list of entries with ``match`` (an exact document name or a glob such
    as ``"Intervju_Porsgrunn_*"``) and any of ``kommune``, ``role``, ``round`` (objects with
    these attributes, e.g. :class:`evaluation_pipeline.study.DocumentMap`, or dicts). The
    first entry that matches a document and gives a value wins, per attribute; the export's
    own case attributes always win over the mapping. Returns a copy; adds nothing else.
    """
    if segments.empty or not documents:
        return segments
    out = segments.copy()
    names = out["source"].astype("string")
    for col, key in ASSIGNED_ATTRIBUTES.items():
        values: dict[str, str] = {}
        for name in names.dropna().unique():
            for entry in documents:
                get = entry.get if isinstance(entry, dict) else lambda k, e=entry: getattr(e, k)
                value = get(key)
                if value is not None and _matches(str(get("match")), str(name)):
                    values[str(name)] = str(value)
                    break
        if values:
            mapped = names.map(values).astype("string")
            out[col] = out[col].astype("string").fillna(mapped)
    return out


def unassigned_documents(segments: pd.DataFrame) -> pd.DataFrame:
    """The documents (sources) of ``segments`` lacking kommune, role or round: columns
    ``source``, ``segments`` (how many coded segments) and ``missing`` (e.g. "kommune, round"),
    one row per document, in name order. Empty when every segment is assigned."""
    cols = list(ASSIGNED_ATTRIBUTES)
    if segments.empty:
        return pd.DataFrame(columns=["source", "segments", "missing"])
    miss = segments[cols].isna()
    bad = segments[miss.any(axis=1)]
    rows = []
    for source, grp in bad.groupby("source", sort=True, dropna=False):
        lacking = [ASSIGNED_ATTRIBUTES[c] for c in cols if grp[c].isna().any()]
        rows.append((source, len(grp), ", ".join(lacking)))
    return pd.DataFrame(rows, columns=["source", "segments", "missing"])


def unassigned_message(file: str | Path, unassigned: pd.DataFrame, *, listed: int = 10,
                       kommune: str = "4001", role: str = "skole", round: str = "r2021") -> str:
    """What to tell a researcher whose export leaves documents without kommune, role or round:
    the export file, the documents and what they lack, and the three ways to fix it (the
    study.yaml example line uses ``kommune``, ``role`` and ``round``: pass the study's own)."""
    n = len(unassigned)
    docs = [f"{r.source!r} ({r.segments} segment{'s' if r.segments != 1 else ''}; no "
            f"{r.missing})" for r in unassigned.head(listed).itertuples()]
    more = f" and {n - listed} more" if n > listed else ""
    example = str(unassigned["source"].iloc[0]) if n else "Intervju_Porsgrunn_*"
    return (
        f"{file}: {n} document(s) are not assigned to a kommune, role and round, so their "
        f"coded segments cannot be counted by kommune, sector or round: {'; '.join(docs)}"
        f"{more}. Expected each document to carry the case attributes kommune, role and "
        "round. To fix it, either (1) in NVivo give each interview a case with a "
        "classification holding the attributes kommune, role and round (ATLAS.ti: document "
        "groups named kommune::4001, role::skole, round::r2021; MAXQDA: document variables) "
        "and export the project again, or (2) without re-exporting, map the documents in "
        "study.yaml under interviews.documents, by exact document name or file-name "
        "pattern, e.g.\n"
        "  interviews:\n"
        "    documents:\n"
        f"      - {{match: \"{example}\", kommune: \"{kommune}\", role: {role}, round: {round}}}"
    )
