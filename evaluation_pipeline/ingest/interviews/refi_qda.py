"""REFI-QDA projects (``.qdpx`` zip or bare ``.qde``) -> the interview frame.

The exchange format NVivo, ATLAS.ti, MAXQDA and QualCoder all export (XML in the namespace
``urn:QDA-XML:project:1.0``). The XML is parsed with the standard library's
``xml.etree.ElementTree`` (and checked against the schema by :mod:`.refi_qda_schema`): no
library maintained on PyPI reads REFI-QDA projects into tidy frames.

What lives here: :func:`read_qdpx` (the archive, the plain-text lengths of its sources) and
:func:`parse_project` (codebook, cases and sets -> kommune/role/wave, the coder of each coding,
selections -> offsets), plus telling apart two sources with one name.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pandas as pd

from ...errors import InterviewFileError
from .frame import (
    INTERVIEW_COLUMNS,
    MAX_LISTED,
    UNKNOWN_CODE,
    VARIABLE_SYNONYMS,
    QDAReadWarning,
    empty_frame,
    finish_frame,
    warn_caller,
)
from .refi_qda_schema import Validate, check_schema, element_lines

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


def read_qdpx(p: Path, validate: Validate = "warn") -> pd.DataFrame:
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
    return parse_project(p, data, qde[0], validate, lengths)


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
        for out, names in VARIABLE_SYNONYMS.items():
            if key in names and into.get(out) is None:
                into[out] = _variable_value(vv)


def parse_project(
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
    lines = element_lines(data)
    line_of = {id(el): n for el, n in zip(root.iter(), lines, strict=False)}
    check_schema(p, member, root, line_of, validate, data)
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
        out = next((o for o, names in VARIABLE_SYNONYMS.items() if key in names), None)
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
            + "; ".join(overshoot[:MAX_LISTED])
        )
        if validate == "strict":
            raise InterviewFileError(p, msg)
        if validate == "warn":
            warn_caller(f"{p}: {msg}", QDAReadWarning)
    out = finish_frame(rows) if rows["project"] else empty_frame()
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
    warn_caller(
        f"{p}: {len(dup)} source name(s) used by more than one source "
        f"({', '.join(map(repr, dup[:MAX_LISTED]))}); told apart as 'name [GUID]'",
        QDAReadWarning,
    )
    return df


def _strip_namespaces(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]
