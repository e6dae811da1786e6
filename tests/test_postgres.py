"""Many writers, one warehouse: a DuckLake with its catalog in a real PostgreSQL server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import PAGE_IDS, run, serve_news
from tests.postgres import new_database
from tests.site import Site
from tests.smtp import SmtpServer
from tests.test_alerts import ON_TOPIC, alerts_config, serve_stories
from warehouse.db import WarehouseSpec, connect

pytestmark = pytest.mark.usefixtures("prefect_server")
ROOT = Path(__file__).resolve().parents[1]
CONTENT = "SELECT url, title, text, is_relevant, duplicate_of FROM articles ORDER BY url"


@pytest.fixture
def lake_catalog(postgres: str) -> str:
    return f"postgres:{new_database(postgres)}"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _config(tmp_path: Path, name: str, catalog: str, feeds: list[str], smtp: SmtpServer) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'[warehouse]\npath = "{tmp_path / "wh"}"\ncatalog = "{catalog}"\ndata_path = "{tmp_path / "shared"}"\n'
        + "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
        + '[fetch]\nallow_hosts = ["127.0.0.1"]\ntimeout_seconds = 5.0\nretries = 1\nbackoff_seconds = 0.05\n'
        + "batch_size = 2\n"
        + alerts_config(smtp),
        encoding="utf-8",
    )
    return path


def _rows(tmp_path: Path, catalog: str, sql: str) -> list[tuple[object, ...]]:
    con = connect(WarehouseSpec(tmp_path / "wh", catalog, str(tmp_path / "shared")), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_two_writers_with_disjoint_feeds_store_every_article_and_alert_once(
    site: Site, tmp_path: Path, lake_catalog: str, smtp: SmtpServer
) -> None:
    from prefect.settings import PREFECT_API_URL

    # Two workers, each polling its share of the feeds; one story is syndicated under one URL in both shares.
    shared_story = ON_TOPIC[0]
    feed_a = serve_stories(site, [shared_story, *ON_TOPIC[1:3]], feed="/a.xml")
    feed_b = serve_stories(site, [shared_story, *ON_TOPIC[3:]], feed="/b.xml")
    site.routes["/story/b-0"] = site.routes["/story/a-0"]
    news_a = serve_news(site, PAGE_IDS[:3], feed_path="/news-a.xml")
    news_b = serve_news(site, PAGE_IDS[3:], feed_path="/news-b.xml")
    catalog = lake_catalog
    config_a = _config(tmp_path, "a", catalog, [feed_a, news_a], smtp)
    config_b = _config(tmp_path, "b", catalog, [feed_b, news_b], smtp)
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "run", "--config", str(config), "-q"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in (config_a, config_b)
    ]
    outputs = [p.communicate(timeout=240) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, out + err

    urls = [row[0] for row in _rows(tmp_path, catalog, "SELECT url FROM articles")]
    assert len(urls) == len(set(urls)) == 5 + len(PAGE_IDS) + len(ON_TOPIC) + 1  # seeds, news, a-0 and b-0
    assert _rows(tmp_path, catalog, "SELECT count(*) FROM articles WHERE is_seed") == [(5,)]
    alerts = [row[0] for row in _rows(tmp_path, catalog, "SELECT url FROM alerts")]
    assert len(alerts) == len(set(alerts)) >= len(ON_TOPIC) - 1
    entries = _rows(
        tmp_path, catalog, "SELECT feed_url, entry_key, count(*) FROM entries GROUP BY ALL HAVING count(*) > 1"
    )
    assert entries == []
    # Every alert reached each recipient exactly once, whichever writer sent it.
    for recipient in ("analyst@example.org", "desk@example.org"):
        seen = Counter(
            url
            for received in smtp.inbox.received
            if recipient in received.rcpt_tos
            for url in alerts
            if url in received.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        )
        assert set(seen) == set(alerts) and set(seen.values()) == {1}, seen

    # A third run with nothing new changes nothing and sends nothing.
    before, mails = _rows(tmp_path, catalog, CONTENT), len(smtp.inbox.received)
    site.requests.clear()
    report = run(config_a)
    assert report.articles_stored == 0 and len(site.requested("/story/")) == 0
    assert _rows(tmp_path, catalog, CONTENT) == before and len(smtp.inbox.received) == mails
