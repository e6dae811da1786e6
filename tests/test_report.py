"""`newsmon report`: one HTML file that opens offline, with its charts drawn by plotly, readable on a phone and
on a laptop. Rendered in headless Chromium (skipped where it is not installed; .ci/run installs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from flows.cli import main
from tests.test_email_render import CHROMIUM, FLAGS
from tests.topic_warehouse import copy_of_topic_warehouse

pytestmark = pytest.mark.usefixtures("prefect_server")
# Every request the page makes is refused: the charts must draw from what the file holds.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("report")
    config = copy_of_topic_warehouse(tmp_path_factory.mktemp("topic"), into)
    assert main(["report", "--out", str(into / "report.html"), "--config", str(config)]) == 0
    return into / "report.html"


def test_the_report_holds_everything_it_needs(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)  # nothing loaded from elsewhere
    assert page.count("class='chart'") == 4 and page.count("class='story'") == 15
    for title in ("Stories per week, by language", "On-topic share", "Top outlets", "Key terms"):
        assert title in page
    assert "Why: Russia and North Korea together" in page


def _browser(tmp_path: Path, width: int, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, *OFFLINE, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},3000", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
@pytest.mark.parametrize("width", [390, 1280])
def test_the_charts_draw_offline_and_fit_the_screen(report: Path, tmp_path: Path, width: int) -> None:
    page = tmp_path / "report.html"
    probe = (
        "<script>window.addEventListener('load', function () { setTimeout(function () {"
        " var widest = 0; document.querySelectorAll('.main-svg').forEach(function (s) {"
        " widest = Math.max(widest, s.getBoundingClientRect().right); });"
        " document.title = 'W=' + document.documentElement.scrollWidth + ' I=' + window.innerWidth"
        " + ' S=' + document.querySelectorAll('.main-svg').length + ' R=' + Math.round(widest); }, 500); });</script>"
    )
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    result = _browser(tmp_path, width, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    match = re.search(r"<title>W=(\d+) I=(\d+) S=(\d+) R=(\d+)</title>", result.stdout)
    assert match, result.stderr[-500:]
    content, viewport, svgs, right = (int(g) for g in match.groups())
    assert svgs >= 4  # plotly drew every chart, from the JavaScript the file holds
    assert content <= viewport and right <= viewport  # no sideways scrolling, no chart past the screen's edge
    shot = tmp_path / f"report-{width}.png"
    _browser(tmp_path, width, "--virtual-time-budget=5000", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    if keep := os.environ.get("NEWSMON_SHOTS"):  # a directory to keep the pictures in, for a person to look at
        shutil.copy(shot, Path(keep) / shot.name)


# Draws two different Hangul syllables in the font the report's story titles use, on a canvas, and compares
# the pixels: without a font that has Hangul, both become the same .notdef box (tofu), or nothing at all.
GLYPH_PROBE = (
    "<script>window.addEventListener('load', function () {"
    " var font = getComputedStyle(document.querySelector('.story a')).fontFamily;"
    " function draw(text) { var c = document.createElement('canvas'); c.width = 64; c.height = 64;"
    " var g = c.getContext('2d'); g.font = '40px ' + font; g.fillText(text, 4, 48);"
    " return Array.prototype.join.call(g.getImageData(0, 0, 64, 64).data, ','); }"
    " var a = draw('\\uD55C'), b = draw('\\uAD6D');"  # 한, 국
    " document.title = 'HANGUL=' + (a === b ? 'missing' : 'drawn'); });</script>"
)


def _hangul(report: Path, tmp_path: Path, env: dict[str, str] | None = None) -> str:
    page = tmp_path / "glyphs.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", GLYPH_PROBE + "</body>"), encoding="utf-8")
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, *FLAGS, *OFFLINE, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    match = re.search(r"<title>HANGUL=(\w+)</title>", result.stdout)
    assert match, result.stderr[-500:]
    return match.group(1)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_korean_titles_are_drawn_in_a_font_that_has_hangul(report: Path, tmp_path: Path) -> None:
    assert "class='story'" in report.read_text(encoding="utf-8")
    assert _hangul(report, tmp_path) == "drawn", "no font with Hangul: install one (Debian: fonts-noto-cjk)"
    # The probe can fail: with fontconfig limited to an empty font directory, the same page draws boxes.
    bare = tmp_path / "fonts.conf"
    (tmp_path / "no-fonts").mkdir()
    (tmp_path / "bare").mkdir()
    bare.write_text(
        f"<?xml version='1.0'?><fontconfig><dir>{tmp_path / 'no-fonts'}</dir>"
        f"<cachedir>{tmp_path / 'font-cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    assert _hangul(report, tmp_path / "bare", {**os.environ, "FONTCONFIG_FILE": str(bare)}) == "missing"
