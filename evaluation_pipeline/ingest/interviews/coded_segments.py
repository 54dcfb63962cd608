"""Coded-segment tables (``.csv``/``.tsv``/``.txt``/``.xlsx``: NVivo, ATLAS.ti and MAXQDA
coding exports, Zotero-QDA fragment exports) -> the interview frame.

What lives here: :func:`read_segment_csv` and :func:`read_segment_xlsx`, and the column names
accepted for each output column (``_CSV_SYNONYMS``, ``_ZOTQDA_COLUMNS``).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import InterviewFileError
from ..text import decode_text, garbled, sniff_separator
from .frame import INT_COLUMNS, INTERVIEW_COLUMNS, finish_frame

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


def _key(header: str) -> str:
    return re.sub(r"[\s_\-.]", "", str(header)).lower()


def read_segment_csv(p: Path) -> pd.DataFrame:
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


def read_segment_xlsx(p: Path) -> pd.DataFrame:
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

    cols: dict[str, Any] = {c: col(c) for c in INTERVIEW_COLUMNS if c not in INT_COLUMNS}
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
    return finish_frame(
        {k: (v.to_numpy(dtype=object) if isinstance(v, pd.Series) else v) for k, v in cols.items()}
    )
