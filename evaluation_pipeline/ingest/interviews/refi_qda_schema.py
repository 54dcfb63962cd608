"""Checking a REFI-QDA ``project.qde`` against the REFI-QDA Project XSD.

What lives here: :func:`check_schema` (lxml for a fast yes, xmlschema to describe the errors
of an invalid file by element, line and what the schema expected), ``PROJECT_XSD`` and the
``validate`` modes.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree as ET
from xml.parsers import expat

from ...errors import InterviewFileError
from .frame import MAX_LISTED, QDASchemaWarning, warn_caller

#: the REFI-QDA Project schema 1.0 (Project-mrt2019.xsd, MIT licence, REFI www.qdasoftware.org)
PROJECT_XSD = (
    Path(__file__).resolve().parent.parent.parent / "reference" / "refi_qda_project_1.0.xsd"
)
Validate = Literal["warn", "strict", "off"]


@functools.lru_cache(maxsize=1)
def _project_schema():  # -> xmlschema.XMLSchema
    import xmlschema

    return xmlschema.XMLSchema(str(PROJECT_XSD))


def element_lines(data: bytes) -> list[int]:
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


def check_schema(
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
    listed = "; ".join(problems[:MAX_LISTED])
    more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
    head = (
        f"{member} does not follow the REFI-QDA Project schema (Project.xsd 1.0) in "
        f"{len(problems)} place(s): {listed}{more}"
    )
    if validate == "strict":
        raise InterviewFileError(p, head)
    warn_caller(
        f"{p}: {head}. Read anyway; pass validate='strict' to refuse such files.",
        QDASchemaWarning,
    )
