"""JSON-stat 1.0/2.0 (SSB/PxWeb API responses) -> the registry frame.

JSON-stat is parsed here rather than with the ``jsonstat.py`` PyPI package, which is
unmaintained (no release since 2018, no JSON-stat 2.0 sparse/role support). The parser is
vectorized: every cell's category positions come from one ``numpy.unravel_index`` of the flat
(row-major) value index, so national tables with millions of cells read in seconds.

What lives here: :func:`read_jsonstat_file` and the parser of one dataset (dense or sparse
values and status, roles, categories), plus the pick of a dataset from a bundle or collection.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import RegistryFileError
from ..text import decode_text, looks_like
from .frame import REGISTRY_COLUMNS, finish_frame, normalize_kommune_codes

_GEO_DIM_RE = re.compile(r"region|kommune|KOKkommuneregion", re.I)
_TIME_DIM_RE = re.compile(r"^(Tid|time|year|år)$", re.I)
_METRIC_DIM_RE = re.compile(r"ContentsCode|contents|statistikkvariabel", re.I)


def read_jsonstat_file(p: Path, *, indicator: str | None, dataset: str | None) -> pd.DataFrame:
    text, _ = decode_text(p.read_bytes())
    if not text.strip():
        raise RegistryFileError(p, "expected JSON-stat (JSON), found an empty file")
    kind = looks_like(text)
    if kind is not None and kind != "JSON":
        raise RegistryFileError(p, f"expected JSON-stat (JSON), found {kind}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise RegistryFileError(
            p, f"line {e.lineno}, column {e.colno}: invalid JSON ({e.msg})"
        ) from None
    ds, name = _pick_dataset(obj, p, dataset)
    return _jsonstat_frame(ds, p, indicator=indicator, name=name)


def _is_dataset(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("dimension"), dict) and "value" in obj


def _pick_dataset(obj: Any, p: Path, wanted: str | None) -> tuple[dict, str | None]:
    """The dataset object to read from a JSON-stat response (dataset, 1.0/2.0 bundle,
    collection)."""
    what = (
        "expected JSON-stat: an object with class 'dataset' (2.0), {'dataset': {...}} (1.0) "
        "or a collection with embedded datasets"
    )
    if not isinstance(obj, dict):
        raise RegistryFileError(p, f"{what}, found a JSON {type(obj).__name__}")
    cls = obj.get("class")
    if cls == "dataset" or (cls is None and _is_dataset(obj)):
        if not _is_dataset(obj):
            raise RegistryFileError(p, "JSON-stat dataset without 'dimension' and 'value'")
        return obj, obj.get("label")
    if cls == "collection":
        items = (obj.get("link") or {}).get("item") or []
        embedded = [it for it in items if _is_dataset(it)]
        if not embedded:
            hrefs = [it.get("href") for it in items if isinstance(it, dict) and it.get("href")]
            first = f" (first: {hrefs[0]})" if hrefs else ""
            raise RegistryFileError(
                p,
                f"JSON-stat collection {obj.get('label')!r} links to {len(items)} item(s) but "
                f"embeds no dataset{first}; download the dataset itself",
            )
        chosen = embedded[0]
        if wanted is not None:
            hits = [it for it in embedded if wanted in (it.get("label"), it.get("href"))]
            if not hits:
                raise RegistryFileError(p, f"no dataset {wanted!r} in the collection")
            chosen = hits[0]
        warnings.warn(
            f"{p}: JSON-stat collection with {len(embedded)} embedded dataset(s); "
            f"reading {chosen.get('label') or chosen.get('href')!r}",
            UserWarning,
            stacklevel=3,
        )
        return chosen, chosen.get("label")
    named = {k: v for k, v in obj.items() if _is_dataset(v)}
    if named:
        if wanted is not None:
            if wanted not in named:
                raise RegistryFileError(
                    p, f"no dataset {wanted!r} in the file (found: {', '.join(named)})"
                )
            key = wanted
        else:
            key = next(iter(named))
            if len(named) > 1:
                warnings.warn(
                    f"{p}: JSON-stat bundle with {len(named)} datasets "
                    f"({', '.join(named)}); reading the first, {key!r}",
                    UserWarning,
                    stacklevel=3,
                )
        return named[key], named[key].get("label") or key
    keys = ", ".join(list(obj)[:8])
    raise RegistryFileError(p, f"{what}, found a JSON object with keys: {keys}")


def _categories(p: Path, dim_id: str, dim: Any, size: int) -> tuple[list[str], list[str | None]]:
    """(codes in index order, labels or None where the category has no label)."""
    if not isinstance(dim, dict):
        raise RegistryFileError(p, f"JSON-stat dimension {dim_id!r} is not an object")
    cat = dim.get("category") or {}
    index = cat.get("index")
    label = cat.get("label") or {}
    if index is None:
        if not isinstance(label, dict) or not label:
            raise RegistryFileError(p, f"JSON-stat dimension {dim_id!r} has no categories")
        codes = [str(k) for k in label]
    elif isinstance(index, list):
        codes = [str(c) for c in index]
    elif isinstance(index, dict):
        try:
            pos = {str(k): int(v) for k, v in index.items()}
        except (TypeError, ValueError):
            raise RegistryFileError(
                p, f"JSON-stat dimension {dim_id!r}: category index positions must be integers"
            ) from None
        if sorted(pos.values()) != list(range(len(pos))):
            raise RegistryFileError(
                p,
                f"JSON-stat dimension {dim_id!r}: category index positions must be "
                f"0..{len(pos) - 1}",
            )
        codes = sorted(pos, key=pos.__getitem__)
    else:
        raise RegistryFileError(p, f"JSON-stat dimension {dim_id!r}: invalid category index")
    if len(codes) != size:
        raise RegistryFileError(
            p, f"JSON-stat dimension {dim_id!r} has {len(codes)} categories but size says {size}"
        )
    if not isinstance(label, dict):
        label = {}
    labels = [str(label[c]) if label.get(c) is not None else None for c in codes]
    return codes, labels


def _int_or_none(k: Any) -> int | None:
    try:
        return int(k)
    except (TypeError, ValueError):
        return None


def _cell_keys(p: Path, obj: dict, what: str, n: int) -> np.ndarray:
    try:
        keys = np.fromiter((int(k) for k in obj), dtype=np.int64, count=len(obj))
    except (TypeError, ValueError):
        bad = next(k for k in obj if _int_or_none(k) is None)
        raise RegistryFileError(
            p, f"JSON-stat {what} key {bad!r}: expected an integer cell position 0..{n - 1}"
        ) from None
    outside = (keys < 0) | (keys >= n)
    if outside.any():
        bad = list(obj)[int(np.argmax(outside))]
        raise RegistryFileError(
            p,
            f"JSON-stat {what} key {bad!r}: expected a cell position 0..{n - 1} (the product "
            "of 'size'), found one outside the cube",
        )
    return keys


def _numbers(values: list) -> tuple[np.ndarray, np.ndarray | None]:
    """Float array of a JSON value list; non-numeric entries -> NaN plus their text."""
    try:
        return np.asarray(values, dtype=np.float64), None
    except (TypeError, ValueError):
        pass
    s = pd.Series(values, dtype=object)
    num = pd.to_numeric(s, errors="coerce")
    text = s.where(num.isna() & s.notna())
    text_arr = text.map(lambda x: x if x is None or isinstance(x, str) else str(x)).to_numpy()
    text_arr = np.where(pd.isna(text_arr), None, text_arr)
    return num.to_numpy(dtype=np.float64), text_arr


def _jsonstat_frame(ds: dict, p: Path, *, indicator: str | None, name: str | None) -> pd.DataFrame:
    dimension = ds["dimension"]
    ids = ds.get("id", dimension.get("id"))
    sizes = ds.get("size", dimension.get("size"))
    role = ds.get("role", dimension.get("role")) or {}
    if not isinstance(ids, list) or not isinstance(sizes, list):
        raise RegistryFileError(p, "JSON-stat dataset without 'id' and 'size' lists")
    if len(ids) != len(sizes):
        raise RegistryFileError(
            p, f"JSON-stat 'id' has {len(ids)} dimensions but 'size' has {len(sizes)}"
        )
    ids = [str(i) for i in ids]
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise RegistryFileError(p, "JSON-stat 'size' must hold integers") from None
    missing = [i for i in ids if i not in dimension]
    if missing:
        raise RegistryFileError(
            p, f"JSON-stat 'id' names dimension(s) {missing} that 'dimension' does not describe"
        )
    if not isinstance(role, dict):
        role = {}
    for r, dims in role.items():
        for d in dims or []:
            if d not in ids:
                raise RegistryFileError(
                    p, f"JSON-stat role.{r} names dimension {d!r}, which is not in 'id'"
                )
    cats = {i: _categories(p, i, dimension[i], s) for i, s in zip(ids, sizes, strict=True)}
    n = math.prod(sizes)

    # values and status, dense or sparse
    value = ds.get("value")
    status = ds.get("status")
    if isinstance(value, list):
        if len(value) != n:
            raise RegistryFileError(
                p,
                f"JSON-stat 'value' has {len(value)} cells: expected {n} (the product of "
                f"'size' {sizes})",
            )
        cells = None
        vals, vtext = _numbers(value)
    elif isinstance(value, dict):
        keys = _cell_keys(p, value, "value", n)
        svals, stext = _numbers(list(value.values()))
        cells = keys
        if isinstance(status, dict):
            cells = np.union1d(keys, _cell_keys(p, status, "status", n))
        elif isinstance(status, list) and len(status) == n:
            present = np.flatnonzero(pd.notna(pd.Series(status, dtype=object)).to_numpy())
            cells = np.union1d(keys, present)
        cells = np.unique(cells)
        pos = np.searchsorted(cells, keys)
        vals = np.full(len(cells), np.nan)
        vals[pos] = svals
        vtext = None
        if stext is not None:
            vtext = np.full(len(cells), None, dtype=object)
            vtext[pos] = stext
    else:
        raise RegistryFileError(p, "JSON-stat dataset without a 'value' list or object")
    m = n if cells is None else len(cells)

    stat = np.full(m, None, dtype=object)
    if isinstance(status, str):
        stat[:] = status
    elif isinstance(status, list):
        if len(status) == 1 and n != 1:
            stat[:] = status[0]
        elif len(status) == n:
            arr = np.asarray(status, dtype=object)
            stat = arr if cells is None else arr[cells]
        else:
            raise RegistryFileError(
                p, f"JSON-stat 'status' has {len(status)} entries but the sizes give {n} cells"
            )
    elif isinstance(status, dict):
        skeys = _cell_keys(p, status, "status", n)
        svals = np.asarray(list(status.values()), dtype=object)
        if cells is None:
            stat[skeys] = svals
        else:
            stat[np.searchsorted(cells, skeys)] = svals
    elif status is not None:
        raise RegistryFileError(p, "JSON-stat 'status' must be a string, list or object")
    if vtext is not None:
        stat = np.where(pd.isna(stat) & pd.notna(vtext), vtext, stat)

    flat = np.arange(n, dtype=np.int64) if cells is None else cells
    idx = np.unravel_index(flat, sizes) if sizes else ()

    def first_dim(kind: str, rx: re.Pattern) -> str | None:
        for d in role.get(kind) or []:
            return d
        return next((i for i in ids if rx.search(i)), None)

    geo = first_dim("geo", _GEO_DIM_RE)
    time = first_dim("time", _TIME_DIM_RE)
    metric = first_dim("metric", _METRIC_DIM_RE)
    metric = None if metric in (geo, time) else metric

    out: dict[str, Any] = {}

    def take(dim: str, which: int, fallback: bool = True) -> np.ndarray:
        codes, labels = cats[dim]
        if which == 0:
            arr = codes
        else:
            arr = [
                c if lab is None and fallback else lab for c, lab in zip(codes, labels, strict=True)
            ]
        return np.asarray(arr, dtype=object)[idx[ids.index(dim)]]

    label = ds.get("label") or name or p.stem
    if geo is not None:
        k = ids.index(geo)
        codes = normalize_kommune_codes(pd.Series(cats[geo][0], dtype="string")).to_numpy(
            dtype=object
        )
        out["kommune"] = codes[idx[k]]
        out["kommune_name"] = take(geo, 1, fallback=False)
    else:
        out["kommune"] = np.full(m, None, dtype=object)
        out["kommune_name"] = np.full(m, None, dtype=object)
    out["period"] = take(time, 0) if time is not None else np.full(m, None, dtype=object)
    if metric is not None:
        out["indicator"] = take(metric, 0)
        out["indicator_label"] = take(metric, 1)
    else:
        out["indicator"] = np.full(m, indicator or label, dtype=object)
        out["indicator_label"] = np.full(m, label, dtype=object)
    out["value"] = vals
    out["status"] = stat
    for d in ids:
        if d in (geo, time, metric):
            continue
        col = d if d not in REGISTRY_COLUMNS else f"{d}_dim"
        out[col] = take(d, 1)
    return finish_frame(out)
