"""The README's team set-up, as written: a Prefect server backed by PostgreSQL, the ingest flow deployed to a
process work pool with `prefect deploy`, a concurrency limit of 1 on the pool, and a worker that runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers import PAGE_IDS, query, serve_news, write_config
from tests.postgres import new_database
from tests.site import Site

ROOT = Path(__file__).resolve().parents[1]
HEALTHY_WITHIN = 300.0  # seconds: a new Prefect database is migrated on the server's first start


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(api: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"{api}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the Prefect server did not answer within {HEALTHY_WITHIN:.0f} s")


def test_the_ingest_deployed_to_a_work_pool_runs_on_a_worker_against_a_postgresql_backed_server(
    site: Site, tmp_path: Path, postgres: str
) -> None:
    fields = dict(part.split("=", 1) for part in new_database(postgres).split())
    database = f"postgresql+asyncpg://{fields['user']}@{fields['host']}:{fields['port']}/{fields['dbname']}"
    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2])])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env | {"PREFECT_API_DATABASE_CONNECTION_URL": database, "PREFECT_UI_ENABLED": "false"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(api, server, log)

        def prefect(*arguments: str) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "prefect", *arguments],
                env=env | {"PREFECT_API_URL": api},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout + done.stderr

        prefect("work-pool", "create", "newsmon", "--type", "process")
        prefect("work-pool", "set-concurrency-limit", "newsmon", "1")
        params = f'{{"config": "{config}", "quiet": true}}'
        deploy = ["deploy", "flows/ingest.py:ingest", "-n", "newsmon-ingest", "-p", "newsmon", "--params", params]
        prefect("--no-prompt", *deploy)
        prefect("deployment", "run", "newsmon-ingest/newsmon-ingest")
        worked = prefect("worker", "start", "-p", "newsmon", "--run-once", "--limit", "1")

        assert "Finished in state Completed()" in worked, worked
        assert query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed") == [(2,)]
        (run_id,) = query(tmp_path, "SELECT run_id FROM runs WHERE finished_at IS NOT NULL")[0]
        # The run in the warehouse is the flow run the server recorded, completed.
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"{api}/flow_runs/{run_id}", timeout=10
        ) as response:
            assert b'"type":"COMPLETED"' in response.read().replace(b" ", b"")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
