"""Read survey answers (CSV, Excel, SPSS .sav/.zsav/.por) into one tidy long table.

Why: survey waves arrive from different tools (Nettskjema/Questback CSV or Excel, SPSS files
from the analysts) as wide tables, one row per respondent. The pipeline needs one row per
respondent and item, with every missing answer explained, so that scale scores, response rates
and privacy checks can be computed the same way for every wave.

Output columns, in order: ``respondent_id, wave, kommune, role, item, value, value_label,
value_text, missing_reason``.

* ``value`` is float64 and NaN whenever there is no usable number; ``value_text`` holds the
  text (strings) or ISO form (dates, times) of non-numeric items; ``value_label`` is the SPSS
  value label of the value when the file has one.
* ``missing_reason`` says why a value is missing: ``"no answer"`` (empty cell),
  ``"system missing"`` (SPSS system missing) or ``"user-missing <code> (<label>)"`` (an SPSS
  user-defined missing value; pyreadstat is asked for them with ``user_missing=True`` and they
  are recognised from the file's declared missing values/ranges).
* Meta columns ``respondent_id``, ``wave``, ``kommune``, ``role`` are matched case-insensitively;
  every other column is an item. ``kommune`` is a 4-digit code when numeric (301 -> "0301");
  an SPSS ``role`` or ``wave`` column with value labels is read as its labels.

The file is only ever read. Problems are raised as :class:`SurveyFileError` naming the file,
the 1-based data row and the column.
"""

from __future__ import annotations

import datetime
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SurveyFileError
from .text import decode_text, garbled, sniff_separator

SURVEY_COLUMNS = [
    "respondent_id",
    "wave",
    "kommune",
    "role",
    "item",
    "value",
    "value_label",
    "value_text",
    "missing_reason",
]
_NA_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "#N/A", "NULL", "null"})
_ROWNAME_HEADERS = frozenset({"", "rownames", "row.names"})


class _Items:
    """Item columns as parallel per-item arrays, each of length n (respondents)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.value: list[np.ndarray] = []
        self.label: list[np.ndarray] = []
        self.text: list[np.ndarray] = []
        self.reason: list[np.ndarray] = []

    def add(self, name: str, value: Any, label: Any, text: Any, reason: Any) -> None:
        self.names.append(str(name))
        self.value.append(np.asarray(value, dtype=np.float64))
        self.label.append(np.asarray(label, dtype=object))
        self.text.append(np.asarray(text, dtype=object))
        self.reason.append(np.asarray(reason, dtype=object))


def read_survey(
    path: str | Path, *, wave: str | None = None, id_column: str = "respondent_id"
) -> pd.DataFrame:
    """Read one wide survey file (one row per respondent) into tidy long answers.

    ``wave`` is used when the file has no wave column (and must agree with it when it has one);
    ``id_column`` names the respondent id column (case-insensitive). Without one, a first
    column with an empty header or named ``rownames`` (R exports) is the id, else
    ``row-<n>``.
    """
    p = Path(path)
    if not p.is_file():
        raise SurveyFileError(p, "file not found")
    ext = p.suffix.lower()
    if ext in {".csv", ".tsv", ".txt"}:
        raw, decimal_comma = _read_csv(p)
        return _from_text_table(p, raw, wave, id_column, decimal_comma)
    if ext in {".xlsx", ".xlsm"}:
        return _from_text_table(p, _read_xlsx(p), wave, id_column, True)
    if ext in {".sav", ".zsav", ".por"}:
        return _read_spss(p, wave, id_column)
    raise SurveyFileError(
        p,
        f"expected a survey file (.csv, .xlsx, .sav, .zsav or .por), found {ext or 'no'!s} "
        "extension",
    )


# --------------------------------------------------------------------------------------------
# reading the raw tables
# --------------------------------------------------------------------------------------------
def _read_csv(p: Path) -> tuple[pd.DataFrame, bool]:
    text, encoding = decode_text(p.read_bytes())
    if not text.strip():
        raise SurveyFileError(p, "expected a CSV table with a header row, found an empty file")
    head = text.lstrip()[:512].lower()
    if head.startswith("<") or head.startswith("{"):
        raise SurveyFileError(p, "expected a CSV table, found HTML/XML/JSON text")
    garbled_line = garbled(text, encoding)
    if garbled_line:
        raise SurveyFileError(p, garbled_line)
    first = text.splitlines()[0]
    sep, _ = sniff_separator([first])
    try:
        raw = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise SurveyFileError(p, f"expected a CSV table: {str(e).strip()}") from None
    if raw.shape[1] == 1:
        header = first.strip()
        header = header if len(header) <= 60 else header[:57] + "..."
        raise SurveyFileError(
            p,
            "line 1: expected columns separated by ',', ';' or a tab, found a single column "
            f"{header!r} (another separator?)",
        )
    return raw, sep != ","


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime.datetime) and v.time() == datetime.time(0):
        return v.date().isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _read_xlsx(p: Path) -> pd.DataFrame:
    if p.stat().st_size == 0:
        raise SurveyFileError(p, "expected an Excel workbook (.xlsx), found an empty file")
    try:
        with pd.ExcelFile(p) as xl:
            sheet = xl.sheet_names[0]
            raw = xl.parse(sheet, dtype=object)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many types for a bad workbook
        raise SurveyFileError(p, f"expected an Excel workbook (.xlsx): {e}") from None
    if raw.shape[1] == 0:
        raise SurveyFileError(
            p, f"expected a header row on the first sheet ({sheet!r}), found an empty sheet"
        )
    raw.columns = ["" if str(c).startswith("Unnamed: ") else str(c) for c in raw.columns]
    return raw.map(_cell_text) if raw.size else raw.astype(str)


# --------------------------------------------------------------------------------------------
# meta columns
# --------------------------------------------------------------------------------------------
def _meta_columns(columns: list[str], id_column: str) -> dict[str, str | None]:
    lower = {}
    for c in columns:
        lower.setdefault(str(c).strip().lower(), c)
    found: dict[str, str | None] = {
        "respondent_id": lower.get(id_column.strip().lower()),
        "wave": lower.get("wave"),
        "kommune": lower.get("kommune"),
        "role": lower.get("role"),
    }
    if found["respondent_id"] is None and columns:
        first = str(columns[0]).strip()
        if first.lower() in _ROWNAME_HEADERS or first.startswith("Unnamed: 0"):
            found["respondent_id"] = columns[0]
    return found


def _as_text(s: pd.Series) -> pd.Series:
    """Meta values as str ("string" dtype): integral numbers without ".0", blanks -> NA."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        f = s.astype("float64")
        out = pd.Series(pd.NA, index=s.index, dtype="string")
        ok = f.notna() & np.isfinite(f)
        whole = ok & (f == np.floor(f))
        out[whole] = f[whole].astype("int64").astype(str)
        out[ok & ~whole] = f[ok & ~whole].astype(str)
        return out
    t = s.map(_cell_text, na_action="ignore").astype("string").str.strip()
    return t.mask(t.isin(_NA_TOKENS), pd.NA)


def _kommune_codes(s: pd.Series) -> pd.Series:
    t = _as_text(s)
    short = t.str.fullmatch(r"\d{1,3}").fillna(False)
    return t.mask(short, t.str.zfill(4))


def _meta(
    p: Path,
    raw: pd.DataFrame,
    cols: dict[str, str | None],
    wave: str | None,
) -> dict[str, pd.Series]:
    n = len(raw)
    idx = raw.index
    rows = pd.Series([f"row-{i}" for i in range(1, n + 1)], index=idx, dtype="string")
    out: dict[str, pd.Series] = {}
    id_col = cols["respondent_id"]
    out["respondent_id"] = rows if id_col is None else _as_text(raw[id_col]).fillna(rows)
    if cols["wave"] is not None:
        w = _as_text(raw[cols["wave"]])
        if wave is not None:
            differs = (w.notna() & (w != str(wave))).fillna(False).to_numpy()
            if differs.any():
                i = int(np.flatnonzero(differs)[0])
                raise SurveyFileError(
                    p,
                    f"wave {w.iloc[i]!r} differs from the wave given to read_survey: "
                    f"expected {wave!r}",
                    row=i + 1,
                    column=cols["wave"],
                )
            w = w.fillna(str(wave))
        out["wave"] = w
    else:
        out["wave"] = pd.Series(pd.NA if wave is None else str(wave), index=idx, dtype="string")
    out["kommune"] = (
        _kommune_codes(raw[cols["kommune"]])
        if cols["kommune"] is not None
        else pd.Series(pd.NA, index=idx, dtype="string")
    )
    out["role"] = (
        _as_text(raw[cols["role"]])
        if cols["role"] is not None
        else pd.Series(pd.NA, index=idx, dtype="string")
    )
    keys = pd.DataFrame(
        {
            "has_wave": out["wave"].notna(),
            "w": out["wave"].fillna(""),
            "id": out["respondent_id"],
        }
    )
    dup = keys.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        rid, w = out["respondent_id"].iloc[i], out["wave"].iloc[i]
        same = (keys == keys.iloc[i]).all(axis=1).to_numpy(dtype=bool)
        first = int(np.flatnonzero(same)[0])
        in_wave = "" if pd.isna(w) else f" in wave {w!r}"
        raise SurveyFileError(
            p,
            f"respondent_id {rid!r} appears twice{in_wave} (first at row {first + 1})",
            row=i + 1,
            column=id_col or "respondent_id",
        )
    return out


# --------------------------------------------------------------------------------------------
# CSV / Excel items
# --------------------------------------------------------------------------------------------
def _from_text_table(
    p: Path, raw: pd.DataFrame, wave: str | None, id_column: str, decimal_comma: bool
) -> pd.DataFrame:
    raw = raw.reset_index(drop=True)
    columns = list(raw.columns)
    cols = _meta_columns(columns, id_column)
    meta = _meta(p, raw, cols, wave)
    used = {c for c in cols.values() if c is not None}
    _unique_headers(p, columns, used)
    items = _Items()
    n = len(raw)
    for c in columns:
        if c in used:
            continue
        # parse each distinct cell once (a survey column has a handful of distinct answers),
        # then spread the result to the rows by the factorize codes; missing cells -> code -1,
        # which picks the appended "" slot
        codes, uniq = pd.factorize(raw[c], use_na_sentinel=True)
        u = pd.Series(np.append(np.asarray(uniq, dtype=object), ""), dtype=object)
        u = u.astype(str).str.strip()
        u_empty = u.isin(_NA_TOKENS).to_numpy()
        num_str = u
        if decimal_comma:
            num_str = u.str.replace(r"^([+-]?\d*),(\d+)$", r"\1.\2", regex=True)
        u_num = pd.to_numeric(num_str.mask(u_empty, None), errors="coerce").to_numpy(np.float64)
        empty, num = u_empty[codes], u_num[codes]
        bad = ~empty & np.isnan(num)
        n_bad, n_ok = int(bad.sum()), int((~empty & ~np.isnan(num)).sum())
        reason = np.where(empty, "no answer", None).astype(object)
        none = np.full(n, None, dtype=object)
        if n_bad == 0 or n_ok > n_bad:
            if n_bad:
                i = int(np.flatnonzero(bad)[0])
                raise SurveyFileError(
                    p,
                    f"expected a number, found {u.iloc[codes[i]]!r} "
                    f"({n_ok} other answers in the column are numbers)",
                    row=i + 1,
                    column=str(c),
                )
            items.add(c, num, none, none, reason)
        else:
            text = np.where(empty, None, u.to_numpy(dtype=object)[codes])
            items.add(c, np.full(n, np.nan), none, text, reason)
    _require_items(p, items, columns)
    return _assemble(meta, items, n)


def _unique_headers(p: Path, columns: list, used: set) -> None:
    """Item columns need distinct headers (an Excel sheet with several blank header cells
    would otherwise give several items of the same name)."""
    seen: dict[str, int] = {}
    for j, c in enumerate(columns, start=1):
        if c in used:
            continue
        if str(c) in seen:
            shown = "a blank header" if str(c).strip() == "" else f"the header {str(c)!r}"
            raise SurveyFileError(
                p,
                f"line 1: expected a distinct header for every item column, found {shown} in "
                f"columns {seen[str(c)]} and {j}",
                column=str(c) if str(c).strip() else None,
            )
        seen[str(c)] = j


def _require_items(p: Path, items: _Items, columns: list) -> None:
    if not items.names:
        found = ", ".join(map(str, columns[:8])) or "none"
        raise SurveyFileError(
            p,
            "expected at least one item column besides respondent_id, wave, kommune and role; "
            f"found columns: {found}",
        )


# --------------------------------------------------------------------------------------------
# SPSS
# --------------------------------------------------------------------------------------------
def _code_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _user_missing_reason(codes: np.ndarray, labels: dict) -> np.ndarray:
    """'user-missing <code> (<label>)' for each code (computed once per distinct code)."""
    uniq = pd.unique(pd.Series(codes, dtype=object))
    text = {}
    for u in uniq:
        lab = labels.get(u)
        text[u] = f"user-missing {_code_text(u)}" + (f" ({lab})" if lab is not None else "")
    return pd.Series(codes, dtype=object).map(text).to_numpy(dtype=object)


def _read_spss(p: Path, wave: str | None, id_column: str) -> pd.DataFrame:
    import pyreadstat

    ext = p.suffix.lower()
    _check_spss_header(p, ext)
    try:
        if ext == ".por":
            df, meta = pyreadstat.read_por(str(p))
        else:
            df, meta = pyreadstat.read_sav(str(p), user_missing=True)
    except Exception as e:  # noqa: BLE001 - pyreadstat raises ReadstatError, OSError, ...
        kind = "SPSS portable file (.por)" if ext == ".por" else f"SPSS data file ({ext})"
        raise SurveyFileError(p, f"expected an {kind}; pyreadstat cannot read it: {e}") from None
    df = df.reset_index(drop=True)
    columns = list(df.columns)
    cols = _meta_columns(columns, id_column)
    used = {c for c in cols.values() if c is not None}
    var_types = getattr(meta, "readstat_variable_types", {}) or {}
    value_labels = getattr(meta, "variable_value_labels", {}) or {}
    # meta columns: user-missing codes count as absent; a labelled role or wave column is
    # read as its labels (role 1 -> "skole"); kommune and id keep their codes
    meta_df = df.copy()
    for c in used:
        mask = _user_missing_mask(meta_df[c], meta, c)
        if mask.any():
            meta_df[c] = meta_df[c].where(~mask)
    for key in ("role", "wave"):
        c = cols[key]
        if c is not None and value_labels.get(c):
            named = meta_df[c].map(value_labels[c]).astype(object)
            coded = meta_df[c].map(_code_text, na_action="ignore")
            meta_df[c] = named.where(named.notna(), coded)
    meta_vals = _meta(p, meta_df, cols, wave)
    items = _Items()
    n = len(df)
    none = np.full(n, None, dtype=object)
    for c in columns:
        if c in used:
            continue
        s = df[c]
        labels = value_labels.get(c, {}) or {}
        user = _user_missing_mask(s, meta, c)
        if var_types.get(c) == "string" or (
            s.dtype == object and var_types.get(c) is None and s.map(type).eq(str).all()
        ):
            t = s.astype(object)
            blank = (t.isna() | (t.astype(str).str.strip() == "")).to_numpy()
            ok = ~blank & ~user
            text = np.where(ok, t.to_numpy(dtype=object), None)
            label = np.where(ok, t.map(labels).to_numpy(dtype=object), None) if labels else none
            reason = np.where(blank, "no answer", None).astype(object)
            if user.any():
                reason[user] = _user_missing_reason(t.to_numpy(dtype=object)[user], labels)
            items.add(c, np.full(n, np.nan), label, text, reason)
        elif s.dtype == object:  # dates, times, datetimes
            present = s.notna().to_numpy()
            uniq = pd.unique(s[present])
            iso = {u: u.isoformat() if hasattr(u, "isoformat") else str(u) for u in uniq}
            text = np.where(present, s.map(iso).to_numpy(dtype=object), None)
            reason = np.where(present, None, "system missing").astype(object)
            items.add(c, np.full(n, np.nan), none, text, reason)
        else:
            v = s.to_numpy(dtype=np.float64)
            sysmis = np.isnan(v) & ~user
            value = np.where(user, np.nan, v)
            label = pd.Series(value).map(labels).to_numpy(dtype=object) if labels else none.copy()
            label = np.where(pd.isna(label), None, label)
            reason = np.where(sysmis, "system missing", None).astype(object)
            if user.any():
                reason[user] = _user_missing_reason(v[user], labels)
            items.add(c, value, label, none, reason)
    _require_items(p, items, columns)
    out = _assemble(meta_vals, items, n)
    out.attrs["item_labels"] = {
        k: v
        for k, v in (getattr(meta, "column_names_to_labels", {}) or {}).items()
        if k not in used
    }
    return out


def _check_spss_header(p: Path, ext: str) -> None:
    """A .sav/.zsav must start with the SPSS system-file header ($FL2 / $FL3)."""
    if ext == ".por":
        return
    with p.open("rb") as f:
        head = f.read(64)
    magic = "$FL3" if ext == ".zsav" else "$FL2"
    if head[:4] in (b"$FL2", b"$FL3"):
        return
    if not head:
        found = "an empty file"
    elif garbled(head.decode("latin-1"), "latin-1") is None:
        text = head.decode("utf-8", errors="replace").splitlines()[0][:40]
        found = f"text starting {text!r} (a CSV or text file renamed {ext}?)"
    else:
        found = f"bytes starting {head[:4]!r}"
    raise SurveyFileError(
        p, f"expected an SPSS data file ({ext}) starting with the header {magic!r}, found {found}"
    )


def _user_missing_mask(s: pd.Series, meta: Any, col: str) -> np.ndarray:
    """True where the value is one of the column's declared user-missing values/ranges."""
    mask = np.zeros(len(s), dtype=bool)
    ranges = (getattr(meta, "missing_ranges", {}) or {}).get(col) or []
    user_values = (getattr(meta, "missing_user_values", {}) or {}).get(col) or []
    if not ranges and not user_values:
        return mask
    numeric = pd.api.types.is_numeric_dtype(s)
    if numeric:
        v = s.to_numpy(dtype=np.float64)
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if isinstance(lo, int | float) and isinstance(hi, int | float):
                mask |= (v >= lo) & (v <= hi)
    else:
        for r in ranges:
            mask |= s.isin([r.get("lo"), r.get("hi")]).to_numpy()
    if user_values:
        mask |= s.isin(list(user_values)).to_numpy()
    return mask


# --------------------------------------------------------------------------------------------
# the long table
# --------------------------------------------------------------------------------------------
def _assemble(meta: dict[str, pd.Series], items: _Items, n: int) -> pd.DataFrame:
    k = len(items.names)

    def rows_major(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        if not parts:
            return np.empty(0, dtype=dtype)
        return np.vstack(parts).T.ravel()

    def rep(s: pd.Series) -> Any:
        return pd.array(np.repeat(s.to_numpy(dtype=object), k), dtype="string")

    def string(a: np.ndarray) -> Any:
        a = np.asarray(a, dtype=object)
        return pd.array(np.where(pd.isna(a), None, a), dtype="string")

    out = pd.DataFrame(
        {
            "respondent_id": rep(meta["respondent_id"]),
            "wave": rep(meta["wave"]),
            "kommune": rep(meta["kommune"]),
            "role": rep(meta["role"]),
            "item": pd.array(np.tile(np.asarray(items.names, dtype=object), n), dtype="string"),
            "value": rows_major(items.value, np.float64).astype(np.float64),
            "value_label": string(rows_major(items.label, object)),
            "value_text": string(rows_major(items.text, object)),
            "missing_reason": string(rows_major(items.reason, object)),
        }
    )
    return out[SURVEY_COLUMNS]
