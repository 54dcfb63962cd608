"""Text helpers shared by the landing-file readers (registry, survey and interview CSVs).

What they are for: every CSV reader of :mod:`evaluation_pipeline.ingest` first turns the file's
bytes into text the same way (:func:`decode_text`: BOMs, UTF-16 with or without BOM, UTF-8,
Windows-1252 / Latin-1), rejects binary or mangled files the same way (:func:`garbled`) and
then finds the column separator and the header line (:func:`sniff_separator`,
:func:`header_line`; the only separator sniffing of the package). :func:`looks_like` tells an
HTML page, an XML document or JSON from a table (the registry readers). Keeping them in one
module means a fix to encoding or separator detection reaches every reader.
"""

from __future__ import annotations

import codecs
import csv
import re

__all__ = ["decode_text", "garbled", "header_line", "looks_like", "sniff_separator"]


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode file bytes: BOMs first, UTF-16 when the bytes hold NULs, then UTF-8, then
    Windows-1252 / ISO-8859-1. Returns (text, encoding used)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", errors="replace"), "utf-16"
    sample = data[:4096]
    if sample and sample.count(0) >= len(sample) // 4:
        odd_nuls = sample[1::2].count(0)
        even_nuls = sample[0::2].count(0)
        enc = "utf-16-le" if odd_nuls >= even_nuls else "utf-16-be"
        return data.decode(enc, errors="replace"), enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_CONTROL_OR_UNDECODABLE_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f\ufffd]")


def garbled(text: str, encoding: str) -> str | None:
    """'line N: ...' naming the first line with binary data (control characters) or, in text
    decoded from UTF-16, bytes the decoder could not read (U+FFFD); else None. (A U+FFFD in
    UTF-8 text was in the file already and is left to the reader.)"""
    utf16 = encoding.startswith("utf-16")
    m = (_CONTROL_OR_UNDECODABLE_RE if utf16 else _CONTROL_RE).search(text)
    if m is None:
        return None
    line = text.count("\n", 0, m.start()) + 1
    ch = m.group()
    if ch == "\ufffd":
        what = f"bytes that are not valid {encoding.upper()} (mangled or cut)"
    else:
        what = f"binary data (control character 0x{ord(ch):02X})"
    return f"line {line}: expected CSV text (UTF-8, Latin-1 or UTF-16), found {what}"


def looks_like(text: str) -> str | None:
    """'an HTML page', 'an XML document', 'JSON' or None, judged from the first characters."""
    head = text.lstrip()[:2048].lower()
    if head.startswith("<"):
        if "<html" in head or "<!doctype html" in head:
            return "an HTML page"
        return "an XML document"
    if head.startswith("{") or head.startswith("["):
        return "JSON"
    return None


# --------------------------------------------------------------------------------------------
# separator sniffing
# --------------------------------------------------------------------------------------------
def _field_counts(lines: list[str], sep: str) -> list[int]:
    counts = []
    for line in lines:
        if not line.strip():
            counts.append(0)
            continue
        try:
            counts.append(len(next(csv.reader([line], delimiter=sep))))
        except (csv.Error, StopIteration):
            counts.append(0)
    return counts


def header_line(counts: list[int]) -> int | None:
    """Index of the header among lines with these field counts: the first line with at least
    two fields and as many as the next line (or the last line); None when there is none."""
    for i, c in enumerate(counts):
        if c >= 2 and (i + 1 >= len(counts) or counts[i + 1] == c):
            return i
    return None


def sniff_separator(
    lines: list[str], *, find_header: bool = False, hint: str | None = None
) -> tuple[str, int]:
    """(separator, index of the header line) of a text table given as its lines.

    The two modes differ on purpose, since the files differ:

    * ``find_header=False`` (survey and interview CSVs, whose first line is the header): the
      separator is the one of ``,`` ``;`` and tab found most often in the first line, a tie
      going to ``,`` and then to the earlier of ``,`` ``;`` tab; the header index is 0.
      ``hint`` is not used.
    * ``find_header=True`` (registry CSVs: PxWeb downloads start with title lines and a blank
      line): for each of ``;`` tab ``,`` (or only ``hint``, e.g. from a ``sep=`` line) the
      header is the first of the first 60 lines with at least two fields and as many as the
      next line (quotes respected); the separator giving the header with the most fields
      wins, a tie going to the earlier of ``;`` tab ``,``. With no such line: (``hint`` or
      ``,``, 0).
    """
    if not find_header:
        first = lines[0]
        counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
        return max(counts, key=lambda s: (counts[s], s == ",")), 0
    head = lines[:60]
    best: tuple[int, str, int] | None = None
    for sep in [hint] if hint else [";", "\t", ","]:
        counts = _field_counts(head, sep)
        h = header_line(counts)
        if h is None:
            continue
        if best is None or counts[h] > best[0]:
            best = (counts[h], sep, h)
    if best is None:
        return hint or ",", 0
    return best[1], best[2]
