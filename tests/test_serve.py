"""`newsmon serve` on its own: it starts a real Prefect server, runs the first ingest at once and then on a short
interval, puts each run's report in Prefect's logs, and SIGTERM leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from flows.warm import find
from tests.helpers import PAGE_IDS, serve_news, start_serve, without_prefect_settings, write_config
from tests.site import Site
from tests.test_kill import _alive, _descendants, _wait_for
from warehouse.db import connect

ROOT = Path(__file__).resolve().parents[1]


def _finished_runs(warehouse: Path) -> list[tuple[str, Any]]:
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(
            "SELECT run_id, started_at FROM runs WHERE finished_at IS NOT NULL ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()


@contextmanager
def _serving(site: Site, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Callable[[], str]]]:
    """`newsmon serve` of two loopback pages every 20 s with a Prefect server of its own, and its output so
    far; killed with its process group at the end if it is still running."""
    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2])], '[schedule]\ningest = "20s"\n')
    log_path = tmp_path / "serve.log"
    served = start_serve(config, log_path, without_prefect_settings())
    try:
        yield served, lambda: log_path.read_text(encoding="utf-8", errors="replace")
    finally:
        if served.poll() is None:
            os.killpg(served.pid, signal.SIGKILL)
            served.wait()


def test_serve_starts_its_server_runs_at_once_then_on_schedule_logs_reports_and_stops_cleanly(
    site: Site, tmp_path: Path
) -> None:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )

    with _serving(site, tmp_path) as (served, output):
        assert _wait_for(lambda: "Prefect UI at" in output(), 240), output()[-3000:]
        api = re.search(r"\(API (http://127\.0\.0\.1:\d+/api)\)", output())
        assert api, output()
        assert (tmp_path / "prefect" / "server.json").exists()  # a `newsmon run` meanwhile reuses this server
        assert _wait_for(lambda: find(tmp_path / "prefect") is not None, 120), "serve's warm starter"
        with SyncPrefectClient(api.group(1)) as client:
            ingest = DeploymentFilter(name=DeploymentFilterName(any_=["newsmon-ingest"]))

            def flow_runs() -> list[Any]:
                return client.read_flow_runs(deployment_filter=ingest)

            def completed() -> set[str]:
                return {str(r.id) for r in flow_runs() if r.state is not None and r.state.is_completed()}

            # (The warehouse is not read meanwhile: DuckDB admits no writer beside a reading process.)
            assert _wait_for(lambda: len(completed()) >= 2, 300), output()[-4000:]
            runs = flow_runs()
            done = {str(r.id) for r in runs if r.state is not None and r.state.is_completed()}
            names_done = {r.name for r in runs if r.state is not None and r.state.is_completed()}
            running = {str(r.id) for r in runs if r.state is not None and r.state.is_running()}
            assert any("auto-scheduled" in r.tags for r in runs), "the scheduler made runs of the interval"
            for run_id in done:

                def report_logged(run_id: str = run_id) -> bool:
                    logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)])))
                    return any(f"newsmon run {run_id} finished" in entry.message for entry in logs)

                assert _wait_for(report_logged, 30), f"no report in Prefect's logs for {run_id}"
        assert "articles   2 stored" in output()  # the reports on serve's terminal too

        processes = _descendants(served.pid)
        assert processes, "serve runs its Prefect server as a child"
        sent = time.monotonic()
        served.send_signal(signal.SIGTERM)
        returncode = served.wait(timeout=60)
        print(f"serve stopped {time.monotonic() - sent:.1f} s after SIGTERM, exit {returncode}")
    finished = _finished_runs(tmp_path / "wh")
    assert done <= {run_id for run_id, _ in finished} <= done | running  # `runs` matches Prefect's flow runs
    # Serve asked for a run at once (the schedule's first slot would come an interval later), and it ran.
    first = re.search(r"first run (\S+) starts now", output())
    assert first and first.group(1) in names_done, output()[-3000:]
    assert returncode == 143, output()[-3000:]
    assert _wait_for(lambda: not any(_alive(pid) for pid in processes), 10), "a process outlived serve"
    assert not (tmp_path / "prefect" / "server.json").exists()
    assert not (tmp_path / "prefect" / "starter.json").exists() and not (tmp_path / "prefect" / "starter.sock").exists()
    assert "Traceback" not in output(), output()[-3000:]


def test_ctrl_c_stops_serve_with_exit_130_and_leaves_no_process(site: Site, tmp_path: Path) -> None:
    """Ctrl-C in a terminal signals the whole process group: serve, its Prefect server and a run in progress."""
    with _serving(site, tmp_path) as (served, output):
        # After the first run's report: the runner is serving (a Ctrl-C before it starts was always 130).
        assert _wait_for(lambda: "articles   2 stored" in output(), 240), output()[-3000:]
        processes = _descendants(served.pid)
        os.killpg(served.pid, signal.SIGINT)
        returncode = served.wait(timeout=60)
    assert returncode == 130, output()[-3000:]
    assert _wait_for(lambda: not any(_alive(pid) for pid in processes), 10), "a process outlived serve"
    assert "Traceback" not in output(), output()[-3000:]
