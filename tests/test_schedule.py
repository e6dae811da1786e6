"""Scheduling on a real Prefect server: `newsmon serve` registers the ingest deployment with its interval (and
the daily digest with its cron), and a run of the deployment ingests for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

from tests.helpers import PAGE_IDS, query, serve_news, start_serve, write_config
from tests.site import Site
from tests.smtp import free_port
from warehouse.db import WarehouseError

ROOT = Path(__file__).resolve().parents[1]


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` on loopback, with its own home (its first start runs migrations)."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        _wait(lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, 180, "the Prefect server")
        yield api
    finally:
        _stop(server)
        log.close()


def _client(api: str) -> SyncPrefectClient:
    """Prefect's own client: it retries the 503 the server answers while its SQLite database is locked by the
    scheduler (a raw HTTP call failed CI that way)."""
    return SyncPrefectClient(api)


def _deployments(client: SyncPrefectClient) -> dict[str, DeploymentResponse]:
    return {d.name: d for d in client.read_deployments()}


def test_serve_registers_schedules_and_a_scheduled_deployment_ingests(
    prefect_api: str, site: Site, tmp_path: Path
) -> None:
    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2])])
    config.write_text(
        config.read_text(encoding="utf-8")
        + '[schedule]\ninterval_minutes = 45\n[alerts]\nto = ["a@example.org"]\nmode = "digest"\ndigest_hour = 6\n'
        "[smtp]\nport = 9\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_HOME": str(tmp_path / "client-home")}
    served = start_serve(config, tmp_path / "serve.log", env)
    with _client(prefect_api) as client:
        try:
            deployments = _wait(lambda: (d := _deployments(client)) and len(d) == 2 and d, 120, "the deployments")
            ingest, digest = deployments["newsmon-ingest"], deployments["newsmon-digest"]
            assert isinstance(ingest.schedules[0].schedule, IntervalSchedule)
            assert ingest.schedules[0].schedule.interval == timedelta(minutes=45)
            assert isinstance(digest.schedules[0].schedule, CronSchedule)
            assert digest.schedules[0].schedule.cron == "0 6 * * *"

            run = client.create_flow_run_from_deployment(ingest.id)

            def finished() -> str | None:
                state = client.read_flow_run(run.id).state
                return state.type.value if state and state.is_final() else None

            outcome = _wait(finished, 180, "the scheduled run")
            served_output = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
            assert outcome == "COMPLETED", served_output[-4000:]
        finally:
            _stop(served)
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0] == 2


def test_slots_missed_while_the_machine_slept_run_once(prefect_api: str, site: Site, tmp_path: Path) -> None:
    from prefect.states import Scheduled

    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:1])])
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_HOME": str(tmp_path / "client-home")}
    served = start_serve(config, tmp_path / "serve.log", env, "--every", "600")
    with _client(prefect_api) as client:
        try:
            ingest = _wait(lambda: _deployments(client).get("newsmon-ingest"), 120, "the deployment")
            now = datetime.now(UTC)
            # Three slots of the schedule that passed while the machine slept, as Prefect's scheduler makes them.
            missed = [
                client.create_flow_run_from_deployment(
                    ingest.id, state=Scheduled(scheduled_time=now - timedelta(minutes=m)), tags=["auto-scheduled"]
                )
                for m in (30, 20, 10)
            ]

            def final_states() -> list[str] | None:
                states = [client.read_flow_run(run.id).state for run in missed]
                final = [s.type.value for s in states if s is not None and s.is_final()]
                return final if len(final) == len(missed) else None

            outcomes = _wait(final_states, 240, "the missed runs")
        finally:
            _stop(served)
    # One run covers the missed slots: the oldest one (the runner takes it first), or serve's own first run when
    # it started after they were made; the others are cancelled, never run.
    assert outcomes.count("COMPLETED") <= 1 and outcomes.count("CANCELLED") >= 2, outcomes
    try:
        runs = query(tmp_path, "SELECT count(*) FROM runs")[0][0]
    except WarehouseError:  # every run was cancelled before one created the warehouse
        runs = 0
    assert runs <= 2  # serve's first run and at most one more
