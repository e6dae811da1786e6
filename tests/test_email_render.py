"""The digest's HTML in a real browser (headless Chromium): it must fit a phone without sideways scrolling,
and render to a picture. Skipped only where Chromium is not installed (.ci/run installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.relevance import _article
from extractors.alert_email import Digest, Story, render_html
from tests.conftest import SHARED

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
FILES = [
    "on/baram_056_0012097578.md",
    "on/baram_021_0002759880.md",
    "on/trends_2024-06-19-kim-jong-un.md",
    "on/baram_214_0001471145.md",
    "on/trends_2024-10-31-nga.md",
]


def _digest() -> Digest:
    stories = []
    for number, name in enumerate(FILES):
        title, text = _article(SHARED / "topic" / "articles" / name)
        copies = (("Yonhap", "https://example.org/y/1"),) if number == 1 else ()
        stories.append(
            Story(
                f"https://news.example.org/{number}",
                title,
                "Outlet",
                datetime(2025, 12, 28, tzinfo=UTC),
                text,
                0.9,
                "why",
                ("north korea", "russia"),
                copies,
            )
        )
    return Digest(
        "Russia–North Korea military cooperation",
        tuple(stories),
        "n@example.org",
        "a@example.org",
        "<x@example.org>",
        datetime.now(UTC),
        "newsmon · run 1 · 5 stories",
    )


def _browser(tmp_path: Path, width: int, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},1200", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("width", [390, 1280])
def test_digest_fits_the_screen_without_sideways_scrolling(tmp_path: Path, width: int) -> None:
    page = render_html(_digest()).replace(
        "</body>",
        "<script>document.title = 'W=' + document.documentElement.scrollWidth + ' I=' + window.innerWidth;</script>"
        "</body>",
    )
    path = tmp_path / "digest.html"
    path.write_text(page, encoding="utf-8")
    result = _browser(tmp_path, width, "--dump-dom", path.as_uri())
    match = re.search(r"<title>W=(\d+) I=(\d+)</title>", result.stdout)
    assert match, result.stderr[-500:]
    content, viewport = int(match.group(1)), int(match.group(2))
    assert content <= viewport  # headless Chromium lays out at 500 px at the least: a narrow phone is covered


def test_digest_renders_to_a_picture(tmp_path: Path) -> None:
    path = tmp_path / "digest.html"
    path.write_text(render_html(_digest()), encoding="utf-8")
    shot = tmp_path / "digest.png"
    _browser(tmp_path, 390, f"--screenshot={shot}", path.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
