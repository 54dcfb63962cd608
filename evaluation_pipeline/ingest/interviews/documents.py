"""Documents -> kommune, role and round: study.yaml's ``interviews.documents`` mapping for
exports whose documents carry no case attributes.

What lives here: :func:`assign_documents` (fill the attributes from the mapping),
:func:`unassigned_documents` (the documents still lacking one) and
:func:`unassigned_message` (what to tell the researcher).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
