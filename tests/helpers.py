"""Building scenarios for ingest tests: a config pointing at the loopback site, and run helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.ingest import token_f1
from flows.report import RunReport
from tests.conftest import ground_truth, page_html
from tests.site import Route, Site, rss
from warehouse.db import WarehouseSpec, connect

PAGE_IDS = sorted(ground_truth())[:6]


# Set by the `catalog` fixture (tests/conftest.py): the test's warehouse has this PostgreSQL catalog.
CATALOG_ENV = "NEWSMON_TEST_CATALOG"


def warehouse_spec(tmp_path: Path) -> WarehouseSpec:
    """The warehouse that write_config(tmp_path, ...) configures."""
    catalog = os.environ.get(CATALOG_ENV)
    return WarehouseSpec(tmp_path / "wh", catalog, str(tmp_path / "wh" / "data") if catalog else None)


ROOT = Path(__file__).resolve().parents[1]


def start_serve(config: Path, log: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    """`newsmon serve --config config [extra]` in a process group of its own, its output (both streams) in
    `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", "--config", str(config), *extra],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def without_prefect_settings() -> dict[str, str]:
    """The environment with no PREFECT_* variable: serve then starts and stops a Prefect server of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def write_config(tmp_path: Path, feeds: list[str], extra: str = "") -> Path:
    config = tmp_path / "newsmon.toml"
    feed_tables = "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
    spec = warehouse_spec(tmp_path)
    lake = f'catalog = "{spec.catalog}"\ndata_path = "{spec.data_path}"\n' if spec.catalog else ""
    config.write_text(
        f'[warehouse]\npath = "{tmp_path / "wh"}"\n{lake}{feed_tables}'
        '[fetch]\nallow_hosts = ["127.0.0.1"]\ntimeout_seconds = 2.0\nretries = 1\nbackoff_seconds = 0.05\n' + extra,
        encoding="utf-8",
    )
    return config


def run(config: Path, *, force: bool = False) -> RunReport:
    from flows.ingest import run_once

    report: RunReport = run_once(config=str(config), force=force, quiet=True)
    return report


def query(tmp_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = connect(warehouse_spec(tmp_path), read_only=True)
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


__all__ = ["CATALOG_ENV", "PAGE_IDS", "query", "run", "serve_news", "token_f1", "warehouse_spec", "write_config"]
