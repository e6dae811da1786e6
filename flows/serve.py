"""`newsmon serve`: the ingest flow (and the daily digest) as Prefect deployments, run on their schedules.

With no PREFECT_API_URL it starts a local Prefect server itself (flows/server.py) and stops it on exit. The first
ingest runs at once, then on the schedule; each run's report goes to this terminal and to Prefect's logs. The
deployments' schedules stay active when serve stops (Prefect would pause them), so a restart carries on. Runs
of slots the machine slept through are cancelled by the run that covers them: one run, not one per slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from flows import interrupt
from flows.server import LocalServer
from flows.settings import Settings
from flows.warm import Starter

INGEST, DIGEST = "newsmon-ingest", "newsmon-digest"


def _say(text: str) -> None:
    print(f"newsmon serve: {text}", file=sys.stderr, flush=True)


def serve(settings: Settings, every_minutes: int | None) -> int:
    home = Path(os.environ["PREFECT_HOME"]).expanduser()
    server: LocalServer | None = None
    if not os.environ.get("PREFECT_API_URL"):
        server = LocalServer(home, full=True).start()
        interrupt.on_exit(server.stop)
        _say(f"starting a local Prefect server (state in {home}; its first start migrates a database: 10-30 s)")
        try:
            server.wait_healthy()
        except BaseException:
            server.stop()
            raise
        os.environ["PREFECT_API_URL"] = server.api_url  # before Prefect is imported: the flow runs inherit it
        server.advertise()
        _say(f"Prefect UI at {server.ui_url} (API {server.api_url})")
    else:
        _say(f"using the Prefect server at {os.environ['PREFECT_API_URL']}")
    # The warm starter: a `newsmon run` meanwhile runs in a child of it, with Prefect imported already.
    starter = Starter(home, os.environ["PREFECT_API_URL"]).start()
    interrupt.on_exit(starter.stop)
    try:
        return _serve(settings, every_minutes)
    finally:
        starter.stop()
        _stop_children()
        if server is not None:
            server.stop()
            _say("stopped the local Prefect server")


def _schedule(settings: Settings, every_minutes: int | None) -> dict[str, Any]:
    if every_minutes is not None:
        return {"interval": timedelta(minutes=every_minutes)}
    if settings.schedule.cron:
        return {"cron": settings.schedule.cron}
    return {"interval": settings.schedule.interval}


def _serve(settings: Settings, every_minutes: int | None) -> int:
    from prefect import serve as prefect_serve
    from prefect.client.orchestration import get_client

    from flows.alerts import digest
    from flows.ingest import ingest

    config = str(settings.config_path) if settings.config_path else None
    schedule = _schedule(settings, every_minutes)
    from flows.feedback import start as start_feedback

    feedback = start_feedback(settings)  # [feedback]: the endpoint of the alert e-mails' judging links
    if feedback is not None:
        _say(f"judging links answered at {settings.feedback.host}:{settings.feedback.port}")
    # to_deployment and apply are sync here (no event loop runs); their stubs allow a coroutine too.
    deployments: list[Any] = [
        ingest.to_deployment(name=INGEST, parameters={"config": config, "quiet": True}, **schedule)
    ]
    if settings.alerts is not None and settings.alerts.mode == "digest":
        deployments.append(
            digest.to_deployment(
                name=DIGEST, cron=f"0 {settings.alerts.digest_hour} * * *", parameters={"config": config}
            )
        )
    ingest_id: UUID = deployments[0].apply()
    for deployment in deployments[1:]:
        deployment.apply()
    with get_client(sync_client=True) as client:
        first = client.create_flow_run_from_deployment(ingest_id)  # the first run now, not one interval later
    when = schedule.get("cron") or f"every {schedule['interval']}"
    _say(f"deployment {INGEST} ({when}); first run {first.name} starts now")
    # Prefect's runner calls its async stop() without awaiting it on SIGTERM; the stop happens regardless.
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning)
    # On SIGTERM the runner's exit cancels the handler of a flow run's open control-channel connection, and
    # asyncio then logs that cancelled task as an error with two tracebacks: noise of a clean stop, dropped.
    logging.getLogger("asyncio").addFilter(_CancelledOnStop())
    try:
        # limit=1: one flow run at a time (the ingest lock would also hold a second one back, occupying a slot).
        # pause_on_shutdown=False: the schedules stay active across restarts.
        prefect_serve(*deployments, limit=1, pause_on_shutdown=False, print_starting_message=False)
    except SystemExit:  # Prefect's runner answers SIGTERM with sys.exit(0) after stopping
        _say("SIGTERM received: stopped")
        return 128 + signal.SIGTERM
    # The runner serves until stopped: it returns only after catching the KeyboardInterrupt of a Ctrl-C.
    _say("interrupted: stopped")
    return 128 + signal.SIGINT


class _CancelledOnStop(logging.Filter):
    """Drops asyncio's report of a task cancelled by the runner's stop (and only that)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, asyncio.CancelledError)


def _stop_children() -> None:
    """Stop flow-run processes the runner may have left (a run in progress when serve was stopped)."""
    proc = Path("/proc")
    if not proc.exists():
        return
    me = os.getpid()
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                os.kill(int(stat.parent.name), signal.SIGTERM)


def cancel_missed_slots() -> int:
    """Inside a deployment's ingest run: cancel the deployment's other scheduled runs whose time has come too
    (slots a sleeping or stopped machine missed). This run covers them all. Returns how many were cancelled."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.context import FlowRunContext
    from prefect.states import Cancelled

    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    if run is None or run.deployment_id is None:
        return 0
    cancelled = 0
    with get_client(sync_client=True) as client:
        due = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[run.deployment_id])),
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=["auto-scheduled"]),  # the scheduler's: a run asked for by hand runs
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                expected_start_time=FlowRunFilterExpectedStartTime(before_=datetime.now(UTC)),  # type: ignore[arg-type]
            ),
        )
        for other in due:
            if other.id != run.id:
                state: Any = Cancelled(message=f"missed slot: covered by flow run {run.name}")
                client.set_flow_run_state(other.id, state, force=True)
                cancelled += 1
    return cancelled
