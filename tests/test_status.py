"""`newsmon status` and `newsmon run`'s exit status, on real runs against the loopback site."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from flows.cli import main
from tests.helpers import PAGE_IDS, run, serve_news, write_config
from tests.site import Site

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_status_shows_runs_feed_health_alerts_and_size_and_exits_0_while_a_feed_works(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect import get_client

    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2]), site.url("/missing.xml")])
    report = run(config)
    capsys.readouterr()

    assert main(["status", "--config", str(config), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["healthy"] is True and data["warehouse"]["bytes"] > 0
    assert data["warehouse"]["rows"]["articles"] >= 2
    (last,) = data["runs"]
    assert last["run_id"] == report.run_id and last["feeds_polled"] == 2 and last["feeds_failed"] == 1
    assert last["articles_stored"] == 2 and last["seconds"] > 0
    feeds = {feed["url"]: feed for feed in data["feeds"]}
    missing = feeds[site.url("/missing.xml")]
    assert missing["consecutive_errors"] == 1 and missing["last_error"] == "HTTP 404"
    assert missing["last_success_at"] is None and missing["next_check_at"]
    working = feeds[site.url("/feed.xml")]
    assert working["consecutive_errors"] == 0 and working["last_success_at"] and working["last_new_entry_at"]
    assert data["alerts"] == {"pending": 0, "uncertain": 0, "recipients": []}
    # The run's id is its Prefect flow run's: the run can be found in Prefect's UI by it.
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(uuid.UUID(last["prefect_flow_run_id"])).flow_id is not None

    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "FAILING ×1" in text and "last error: HTTP 404" in text and report.run_id in text


def test_every_feed_failing_makes_run_and_status_exit_1_and_says_so(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [site.url("/gone.xml"), site.url("/missing.xml")])
    assert main(["run", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert "every feed polled failed (2): exit status 1" in captured.out
    assert "feeds: polling 2 of 2" in captured.err  # progress lines on stderr, not swallowed by Prefect

    assert main(["status", "--config", str(config)]) == 1
    assert "every feed the last run polled failed: exit status 1" in capsys.readouterr().out


def test_quiet_run_prints_no_progress(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2])])
    assert main(["run", "--config", str(config), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "2 stored" in captured.out


def test_status_without_a_warehouse_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/feed.xml"])
    assert main(["status", "--config", str(config)]) == 1
    assert "no warehouse at" in capsys.readouterr().err
