"""`newsmon status` and `newsmon run`'s exit status, on real runs against the loopback site."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from flows.cli import main
from tests.helpers import PAGE_IDS, run, serve_news, warehouse_spec, write_config
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
    assert data["alerts"] == {"pending": 0, "uncertain": 0, "recipients": [], "last_mail_error": None}
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


def test_status_json_without_a_warehouse_still_prints_an_object_that_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/feed.xml"])
    assert main(["status", "--config", str(config), "--json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["healthy"] is False and "no warehouse at" in data["warehouse"]["error"]
    assert "no warehouse at" in captured.err


@pytest.mark.parametrize(
    "command",
    [["alerts"], ["alerts", "--preview"], ["rescore"], ["index"], ["label", "https://a.example/x", "on"], ["digest"]],
)
def test_commands_that_need_a_warehouse_say_so_and_create_nothing_at_a_mistyped_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    if warehouse_spec(tmp_path).catalog:
        pytest.skip("a PostgreSQL catalog is not checked for a warehouse before connecting")
    config = write_config(tmp_path, [], '[alerts]\nto = ["a@b.c"]\n')
    assert main([command[0], "--config", str(config), *command[1:]]) == 1
    assert "no warehouse at" in capsys.readouterr().err
    assert not (tmp_path / "wh").exists()


def test_alerts_raw_without_preview_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, [])
    assert main(["alerts", "--config", str(config), "--raw"]) == 2
    assert "use it with --preview" in capsys.readouterr().err


def test_status_during_a_first_run_says_no_run_has_finished_polling() -> None:
    from datetime import UTC, datetime

    from flows.status import render

    started = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    run_row: dict[str, object] = {"started_at": started, "seconds": None, "run_id": "r1"}
    run_row |= dict.fromkeys(("feeds_polled", "feeds_failed", "entries_new", "articles_stored", "pages_failed"), 0)
    data = {
        "warehouse": {"path": "wh", "bytes": 0, "rows": {"articles": 0, "entries": 0, "runs": 1}},
        "runs": [run_row],
        "last_polling_run": None,
        "healthy": False,
        "feeds": [],
        "alerts": {"pending": 0, "uncertain": 0},
    }
    text = render(data, now=started)
    assert "unfinished (running, or interrupted)" in text
    assert "no run has finished polling yet (one is running, or was interrupted)" in text
    run_row["seconds"] = 0.4  # finished, having polled nothing (`feeds = []`, or none due)
    text = render(data, now=started)
    assert "no run has polled a feed yet (none is configured, or none was due)" in text
