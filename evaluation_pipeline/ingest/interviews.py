"""Read coded interview segments (REFI-QDA .qdpx/.qde projects, coded-segment CSV/XLSX).

Why: interviews are coded in NVivo, ATLAS.ti, MAXQDA or QualCoder. All of them export the
REFI-QDA project format (a zip holding ``project.qde``, XML in the namespace
``urn:QDA-XML:project:1.0``); simpler tools export one row per coded segment. The pipeline
needs one row per (segment, coding) with the code's place in the codebook, the coder and the
case attributes (kommune, role, wave), to count themes and compare coders.

Output columns: ``project, source, source_guid, segment_id, coder, code, code_guid,
code_path, theme, start, end, text_length, kommune, role, wave``.

* ``code_path`` joins code names from the top-level code down with " / "; ``theme`` is the
  top-level code. A coding whose code is not in the codebook is kept with
  ``code = "<unknown code GUID>"`` and ``code_path`` NA, for validation to report.
* ``coder`` is the user of the Coding element, else of the selection, else the GUID. The
  project's users (GUID -> name) are kept in ``df.attrs["users"]``.
* ``start``/``end`` are character offsets (Int64) for text selections and NA for picture,
  PDF, audio and video selections and for codings of a whole source.
* ``kommune``/``role``/``wave`` come from variables of the source or of the cases holding the
  source (names matched case-insensitively; synonyms municipality, sector/sektor/rolle,
  round/runde).

The text of the sources is never read into the output, only positions and lengths.

The XML is parsed with the standard library's ``xml.etree.ElementTree``: no library
maintained on PyPI reads REFI-QDA projects into tidy frames (the few that exist are unmaintained
or read only the codebook), and the format is small enough to walk directly.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd

from ..errors import InterviewFileError
from .registry import _decode_text, _garbled

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


def read_interview_codes(path: str | Path) -> pd.DataFrame:
    """Read the codings of one QDA project (.qdpx, .qde) or coded-segment table (.csv,
    .xlsx) into one row per (segment, coding)."""
    p = Path(path)
    if not p.is_file():
        raise InterviewFileError(p, "file not found")
    ext = p.suffix.lower()
    if ext == ".qdpx":
        return _read_qdpx(p)
    if ext == ".qde":
        return _parse_project(p, p.read_bytes(), p.name)
    if ext in {".csv", ".tsv", ".txt"}:
        return _read_segment_csv(p)
    if ext in {".xlsx", ".xlsm"}:
        return _read_segment_xlsx(p)
    raise InterviewFileError(
        p,
        f"expected a REFI-QDA project (.qdpx, .qde) or a coded-segment table (.csv, .xlsx), "
        f"found {ext or 'no'} extension",
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
def _read_qdpx(p: Path) -> pd.DataFrame:
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
    return _parse_project(p, data, qde[0])


def _strip_namespaces(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]


def _int_or_none(v: str | None) -> int | None:
    if v is None:
        return None
    try:
        return int(v.strip())
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


def _parse_project(p: Path, data: bytes, member: str) -> pd.DataFrame:
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
    _strip_namespaces(root)
    project = (root.get("name") or "").strip() or p.stem
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

    rows: dict[str, list[Any]] = {c: [] for c in INTERVIEW_COLUMNS}

    def emit(
        source: ET.Element,
        attrs: dict[str, str | None],
        segment: str | None,
        sel_user: str | None,
        start: int | None,
        end: int | None,
        coding: ET.Element,
        sel_attrs: dict[str, str | None] | None = None,
    ) -> None:
        ref = coding.find("CodeRef")
        code_guid = ref.get("targetGUID") if ref is not None else None
        name, path, theme = codes.get(code_guid or "", (UNKNOWN_CODE, None, None))
        user = coding.get("creatingUser") or sel_user
        merged = dict(sel_attrs or {})
        for k, v in attrs.items():
            if merged.get(k) is None:
                merged[k] = v
        rows["project"].append(project)
        rows["source"].append(source.get("name") or source.get("guid"))
        rows["source_guid"].append(source.get("guid"))
        rows["segment_id"].append(segment)
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
            emit(source, attrs, source.get("guid"), source.get("creatingUser"), None, None, coding)
        for sel in source.iter():
            if sel.tag not in _SELECTION_KINDS:
                continue
            text = sel.tag == "PlainTextSelection"
            start = _int_or_none(sel.get("startPosition")) if text else None
            end = _int_or_none(sel.get("endPosition")) if text else None
            sel_attrs = case_attrs_by_selection.get(sel.get("guid", ""))
            for coding in sel.findall("Coding"):
                emit(
                    source,
                    attrs,
                    sel.get("guid"),
                    sel.get("creatingUser"),
                    start,
                    end,
                    coding,
                    sel_attrs,
                )
    out = _finish(rows) if rows["project"] else _empty()
    out.attrs["users"] = {g: n for g, n in users.items() if g}
    return out


# --------------------------------------------------------------------------------------------
# coded-segment tables
# --------------------------------------------------------------------------------------------
def _key(header: str) -> str:
    return re.sub(r"[\s_\-.]", "", str(header)).lower()


def _read_segment_csv(p: Path) -> pd.DataFrame:
    text, encoding = _decode_text(p.read_bytes())
    if not text.strip():
        raise InterviewFileError(p, "expected a coded-segment table, found an empty file")
    garbled = _garbled(text, encoding)
    if garbled:
        raise InterviewFileError(p, garbled)
    first = text.splitlines()[0]
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    sep = max(counts, key=lambda s: (counts[s], s == ","))
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
