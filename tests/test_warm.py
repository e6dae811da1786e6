"""`newsmon run` through the warm starter of a real `newsmon serve`: it stores what a run stores, with the
client's settings; Ctrl-C stops it within 5 s leaving no process; a stale socket falls back to the run in the
client's own process; serve's SIGTERM leaves no starter behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from flows.warm import SOCKET_NAME, STARTER_FILE, find
from tests.helpers import PAGE_IDS, query, serve_news, write_config
from tests.site import Site
from tests.test_kill import _alive, _descendants, _wait_for
from tests.test_signals import assert_clean_stop

ROOT = Path(__file__).resolve().parents[1]
THROUGH = "running through newsmon serve's warm starter"


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    site: Site
    work: Path
    config: Path
    log: Path

    @property
    def home(self) -> Path:
        return self.work / "prefect"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | {"DO_NOT_TRACK": "1", "PREFECT_HOME": str(home)}


def newsmon_run(config: Path, home: Path, stderr: Path, *extra: str) -> subprocess.Popen[bytes]:
    with stderr.open("wb") as err, (stderr.parent / (stderr.name + ".out")).open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "run", "--config", str(config), *extra],
            cwd=ROOT,
            env=_env(home),
            stdout=out,
            stderr=err,
            start_new_session=True,  # a process group of its own, as a shell gives a command it starts
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`newsmon serve` with its own Prefect server; its first run builds the warehouse (two pages)."""
    work = tmp_path_factory.mktemp("warm")
    site = Site()
    config = write_config(work, [serve_news(site, PAGE_IDS[:2], etag='"v1"')])
    log = work / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", "--every", "1440", "--config", str(config)],
            cwd=ROOT,
            env=_env(work / "prefect"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    serving = Served(process, site, work, config, log)
    try:
        assert _wait_for(lambda: "articles   2 stored" in serving.output(), 300), serving.output()[-3000:]
        assert _wait_for(lambda: find(serving.home) is not None, 120), serving.output()[-3000:]
        yield serving
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        site.close()


def test_run_goes_through_the_starter_stores_what_a_run_stores_with_the_clients_settings(
    served: Served, tmp_path: Path
) -> None:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    serve_news(served.site, PAGE_IDS[:3], etag='"v2"')  # one story more
    run = newsmon_run(served.config, served.home, tmp_path / "err", "-v")
    assert run.wait(timeout=120) == 0, (tmp_path / "err").read_text()
    stderr, stdout = (tmp_path / "err").read_text(), (tmp_path / "err.out").read_text()
    assert stderr.count(THROUGH) == 1, stderr
    assert "| INFO    | Flow run" in stderr  # -v: Prefect's INFO lines, on the client's own stderr
    assert "articles   1 stored" in stdout, stdout
    found = re.search(r"newsmon run (\S+) finished", stdout)
    assert found, stdout
    run_id = found.group(1)
    assert query(served.work, "SELECT count(*) FROM articles WHERE NOT is_seed") == [(3,)]
    finished = query(served.work, "SELECT finished_at IS NOT NULL FROM runs WHERE run_id = ?", [run_id])
    assert finished == [(True,)]
    api = json.loads((served.home / "server.json").read_text())["api_url"]
    with SyncPrefectClient(api) as client:  # the flow run is in serve's server; its logs are not (a one-off run)
        state = client.read_flow_run(UUID(run_id)).state
        assert state is not None and state.is_completed()
        flow_run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)]))
        assert not [log for log in client.read_logs(log_filter=flow_run) if "finished in" in log.message]

    quiet = newsmon_run(served.config, served.home, tmp_path / "quiet", "-q")
    assert quiet.wait(timeout=120) == 0, (tmp_path / "quiet").read_text()
    assert (tmp_path / "quiet").read_text() == ""  # without -v: no line from Prefect (serve's starter logs INFO)
    assert "1 not modified" in (tmp_path / "quiet.out").read_text()


def test_ctrl_c_stops_the_run_in_the_starter_within_5_s_and_leaves_no_process(served: Served, tmp_path: Path) -> None:
    feed = serve_news(served.site, feed_path="/slow.xml")  # its own feed and warehouse; serve's PREFECT_HOME
    for page_id in PAGE_IDS[4:]:
        served.site.routes[f"/news/{page_id}"].delay = 60  # the third batch hangs: the signal lands in the middle
    config = write_config(tmp_path, [feed], "batch_size = 2\nworkers = 2\n")
    config.write_text(config.read_text(encoding="utf-8").replace("timeout_seconds = 2.0", "timeout_seconds = 30.0"))
    run = newsmon_run(config, served.home, tmp_path / "err", "-v")
    try:
        assert _wait_for(lambda: served.site.requested(f"/news/{PAGE_IDS[4]}"), 120), (tmp_path / "err").read_text()
        time.sleep(1.0)
        child = re.search(rf"{THROUGH} \(process (\d+)\)", (tmp_path / "err").read_text())
        assert child, (tmp_path / "err").read_text()
        started = {int(child.group(1))} | _descendants(int(child.group(1)))
        assert len(started) > 2, "the run had its extraction workers"
        sent = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C reaches the client's group only; it forwards the signal
        returncode = run.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        for page_id in PAGE_IDS[4:]:
            served.site.routes[f"/news/{page_id}"].delay = 0
    stderr = (tmp_path / "err").read_text()
    assert_clean_stop(stderr, returncode, 130, took)
    assert _wait_for(lambda: not any(_alive(pid) for pid in started), 2), "a process outlived the run"
    assert find(served.home) is not None, "the starter goes on"


def test_a_stale_starter_socket_falls_back_to_the_run_in_this_process(served: Served, tmp_path: Path) -> None:
    home = tmp_path / "prefect"
    home.mkdir()
    shutil.copy(served.home / "server.json", home)  # the fallback then reuses serve's Prefect server
    (home / STARTER_FILE).write_text(json.dumps({"pid": 2**22 + 1, "api_url": None}))
    assert find(home) is None  # a dead starter's record is not used
    with socket.socket(socket.AF_UNIX) as gone:  # a socket file nobody listens on
        gone.bind(str(home / SOCKET_NAME))
    (home / STARTER_FILE).write_text(json.dumps({"pid": os.getpid(), "api_url": None}))
    run = newsmon_run(served.config, home, tmp_path / "err", "-v")
    assert run.wait(timeout=240) == 0, (tmp_path / "err").read_text()
    stderr = (tmp_path / "err").read_text()
    assert "serve's warm starter does not answer" in stderr and THROUGH not in stderr, stderr
    assert "1 not modified" in (tmp_path / "err.out").read_text()


def test_serve_sigterm_stops_its_starter_and_leaves_no_process(served: Served) -> None:
    record = find(served.home)
    assert record is not None
    processes = _descendants(served.process.pid)
    assert record["pid"] in processes
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=60) == 143, served.output()[-3000:]
    assert _wait_for(lambda: not any(_alive(pid) for pid in processes), 10), "a process outlived serve"
    assert not (served.home / STARTER_FILE).exists() and not (served.home / SOCKET_NAME).exists()
    assert "Traceback" not in served.output(), served.output()[-3000:]
