"""Render an HTML file with headless Chromium (Debian's /usr/bin/chromium): its text after
layout (``--dump-dom``), a PNG screenshot and a PDF print, for tests that check what a reader
sees. Used by the study report test and the municipality profile test.

Chromium missing is an error, not a skip: CI installs it (``make`` installs the Debian
package).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--mute-audio",
]
A4_POINTS = (595.28, 841.89)


def chromium() -> str:
    for c in CHROMIUM_CANDIDATES:
        path = shutil.which(c) or (c if Path(c).exists() else None)
        if path:
            return path
    raise RuntimeError(
        "headless Chromium is needed to render the report: install the Debian package "
        "'chromium' (apt-get install chromium), expected at /usr/bin/chromium")


def _run(args: list[str], timeout: int = 180) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
        res = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"chromium failed ({res.returncode}): {' '.join(cmd)}\n"
                           f"{res.stderr.decode(errors='replace')[-2000:]}")
    return res


def dump_dom(page: Path) -> str:
    """The DOM after Chromium loaded and laid out ``page``."""
    return _run(["--dump-dom", page.resolve().as_uri()]).stdout.decode("utf-8")


def screenshot(page: Path, png: Path, width: int = 1200, height: int = 2400) -> Path:
    _run([f"--screenshot={png}", f"--window-size={width},{height}", page.resolve().as_uri()])
    if not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot {png}")
    return png


def print_pdf(page: Path, pdf: Path) -> Path:
    _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.resolve().as_uri()])
    if not pdf.exists():
        raise RuntimeError(f"chromium wrote no PDF {pdf}")
    return pdf


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._skip += 1
        if tag in ("p", "div", "h1", "h2", "h3", "tr", "li", "figcaption", "br", "table"):
            self.parts.append("\n")
        if tag in ("td", "th"):
            self.parts.append(" | ")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(dom: str) -> str:
    """The text of a DOM, without scripts and styles; rows on their own lines."""
    p = _Text()
    p.feed(dom)
    text = html.unescape("".join(p.parts))
    return re.sub(r"[ \t]+", " ", text)


def pdf_page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Width and height (points) of each page of a PDF, from the /MediaBox of each /Page
    object (Chromium writes them uncompressed)."""
    data = pdf.read_bytes()
    boxes = []
    for m in re.finditer(rb"/Type\s*/Page\b(?!s).{0,600}?/MediaBox\s*\[([^\]]+)\]|"
                         rb"/MediaBox\s*\[([^\]]+)\].{0,600}?/Type\s*/Page\b(?!s)", data, re.S):
        nums = [float(x) for x in (m[1] or m[2]).split()]
        boxes.append((nums[2] - nums[0], nums[3] - nums[1]))
    return boxes


@dataclass
class PngStats:
    width: int
    height: int
    distinct_colours: int
    non_white_share: float


def png_stats(png: Path) -> PngStats:
    """Size, number of distinct colours and share of non-white pixels of a PNG (Pillow)."""
    from PIL import Image

    with Image.open(png) as im:
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 24) or []
        total = rgb.width * rgb.height
        white = sum(n for n, c in colours if c == (255, 255, 255))
        return PngStats(rgb.width, rgb.height, len(colours), 1 - white / total)


# --------------------------------------------------------------------------------------------
# The example study, materialized once per test session
# --------------------------------------------------------------------------------------------

_RUN: dict[str, Path] = {}


def example_run() -> Path:
    """Materialize the shipped example study end to end (``evaluation-pipeline run``) into a
    temporary copy with a temporary DAGSTER_HOME, once per test process; return the copy's
    folder (outputs under ``<folder>/output``). Shared by the report render test, the
    suppression scan and the profile tests."""
    if "dir" in _RUN:
        return _RUN["dir"]
    import atexit
    import os

    root = Path(tempfile.mkdtemp(prefix="example-run-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    example = Path(__file__).resolve().parents[1] / "examples" / "sunnmore"
    study_dir = root / "sunnmore"
    shutil.copytree(example, study_dir,
                    ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    old = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "EVALUATION_STUDY")}
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("EVALUATION_PSEUDONYM_KEY", "test-key-not-secret")
    try:
        from assets.cli import main

        rc = main(["run", "--study", str(study_dir / "study.yaml")])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if rc != 0:
        raise RuntimeError(f"the example study run failed (exit {rc})")
    _RUN["dir"] = study_dir
    return study_dir
