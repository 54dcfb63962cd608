"""Writing one ``## ...`` section of BENCHMARKS.md (shared by the simulation and cost
scripts): the section is replaced where it is, or appended when it is new."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(text: str, path: Path, section: str) -> None:
    """Put ``text`` (starting with the heading ``section``) into ``path`` in place of the
    section with that heading, up to the next level-2 heading; append it if there is none."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
