"""Building scenarios for ingest tests: a config pointing at the loopback site, and run helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.ingest import token_f1
from flows.report import RunReport
from tests.conftest import ground_truth, page_html
from tests.site import Route, Site, rss
from warehouse.db import connect

PAGE_IDS = sorted(ground_truth())[:6]


def write_config(tmp_path: Path, feeds: list[str], extra: str = "") -> Path:
    config = tmp_path / "newsmon.toml"
    feed_tables = "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
    config.write_text(
        f'[warehouse]\npath = "{tmp_path / "wh"}"\n{feed_tables}'
        '[fetch]\nallow_hosts = ["127.0.0.1"]\ntimeout_seconds = 2.0\nretries = 1\nbackoff_seconds = 0.05\n' + extra,
        encoding="utf-8",
    )
    return config


def run(config: Path, *, force: bool = False) -> RunReport:
    from flows.ingest import run_once

    report: RunReport = run_once(config=str(config), force=force, quiet=True)
    return report


def query(tmp_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = connect(tmp_path / "wh", read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def serve_news(site: Site, page_ids: list[str] = PAGE_IDS, *, feed_path: str = "/feed.xml", **route: Any) -> str:
    """Serve real pages at /news/<id> and a feed linking them (with tracking parameters); returns the feed URL."""
    items = []
    for page_id in page_ids:
        site.routes[f"/news/{page_id}"] = Route(body=page_html(page_id))
        items.append(
            {
                "title": f"Story {page_id[:8]}",
                "link": site.url(f"/news/{page_id}?utm_source=rss&utm_medium=feed"),
                "guid": f"urn:story:{page_id}",
                "pubDate": "Tue, 19 Nov 2024 08:00:00 GMT",
            }
        )
    site.routes[feed_path] = Route(body=rss("Test news", items), content_type="application/rss+xml", **route)
    return site.url(feed_path)


__all__ = ["PAGE_IDS", "query", "run", "serve_news", "token_f1", "write_config"]
