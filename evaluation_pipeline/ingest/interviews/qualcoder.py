"""QualCoder projects (the ``<name>.qda`` folder or its ``data.qda`` SQLite file) -> the
interview frame.

What lives here: :func:`read_qualcoder`, which opens the database read-only and checks its
tables, and the query of codings, codes (with categories and parent codes) and the attributes
of files and cases. The text columns ``fulltext`` and ``seltext`` are never queried.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from ...errors import InterviewFileError
from .frame import INTERVIEW_COLUMNS, UNKNOWN_CODE, VARIABLE_SYNONYMS, empty_frame, finish_frame

_QUALCODER_NEEDS = {
    "source": ("id", "name"),
    "code_name": ("cid", "name", "catid"),
    "code_cat": ("catid", "name", "supercatid"),
    "code_text": ("cid", "fid", "pos0", "pos1", "owner"),
}


def read_qualcoder(p: Path) -> pd.DataFrame:
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
            out = next((o for o, names in VARIABLE_SYNONYMS.items() if key in names), None)
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
    out = finish_frame(rows) if rows["project"] else empty_frame()
    out.attrs["users"] = {o: o for o in sorted(set(out["coder"].dropna()))}
    return out
