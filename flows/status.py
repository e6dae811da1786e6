"""`newsmon status [--json]`: the last runs, each feed's health, the alert queue, the warehouse's size.

Exit status (for monitors): 0 when the last run that polled feeds polled at least one successfully, 1 when every
feed it polled failed (or there is no such run yet, or no warehouse).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.settings import Settings
from warehouse import status, store
from warehouse.db import connect

EXIT_OK, EXIT_FAILING = 0, 1


def collect(settings: Settings) -> dict[str, Any]:
    """Everything `newsmon status` shows, as plain data."""
    spec = settings.warehouse
    recipients = list(settings.alerts.to) if settings.alerts else []
    con = connect(spec, read_only=True)  # a reader of the lake: never in a run's way, nor the run in its
    try:
        runs = status.last_runs(con)
        polling = status.last_polling_run(con)
        feeds = status.feed_health(con, [f.url for f in settings.feeds])
        overview = store.alert_overview(con, recipients)
        counts = status.table_counts(con)
        mail_error = status.last_mail_error(con)
    finally:
        con.close()
    size = sum(p.stat().st_size for p in spec.directory.rglob("*") if p.is_file())
    if not spec.embedded and "://" not in spec.data:
        size += sum(p.stat().st_size for p in Path(spec.data).rglob("*") if p.is_file())
    return {
        "warehouse": {"path": str(spec.directory), "catalog": spec.attach_target, "bytes": size, "rows": counts},
        "runs": [
            {
                **asdict(run),
                "seconds": run.seconds,
                "prefect_flow_run_id": run.run_id,
                "all_feeds_failed": run.all_feeds_failed,
            }
            for run in runs
        ],
        "last_polling_run": polling.run_id if polling else None,
        "healthy": polling is not None and not polling.all_feeds_failed,
        "feeds": [{**asdict(feed), "last_success_at": feed.last_success_at} for feed in feeds],
        "alerts": {
            "pending": overview["waiting"],
            "uncertain": overview["uncertain"],
            "recipients": recipients,
            "last_mail_error": mail_error[1] if mail_error else None,
        },
    }


def unavailable(settings: Settings, reason: str) -> dict[str, Any]:
    """What `status --json` says when the warehouse cannot be read: unhealthy, and why."""
    spec = settings.warehouse
    return {
        "warehouse": {"path": str(spec.directory), "catalog": spec.attach_target, "error": reason},
        "runs": [],
        "last_polling_run": None,
        "healthy": False,
        "feeds": [],
        "alerts": None,
    }


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    seconds = (now - value).total_seconds()
    ago = abs(seconds)
    span = f"{ago:.0f} s" if ago < 120 else f"{ago / 60:.0f} min" if ago < 7200 else f"{ago / 3600:.1f} h"
    return f"{value:%Y-%m-%d %H:%M} ({span} ago)" if seconds >= 0 else f"{value:%Y-%m-%d %H:%M} (in {span})"


def _next(value: datetime | None, now: datetime) -> str:
    return "the next run (due)" if value is None or value <= now else _when(value, now)


def render(data: dict[str, Any], now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    size = data["warehouse"]["bytes"]
    rows = data["warehouse"]["rows"]
    lines = [
        f"warehouse  {data['warehouse']['path']}: {size / 1e6:.1f} MB, {rows['articles']} articles, "
        f"{rows['entries']} entries, {rows['runs']} runs",
        "last runs (the run id is the Prefect flow run's id):",
    ]
    for run in data["runs"]:
        took = f"{run['seconds']:.1f} s" if run["seconds"] is not None else "unfinished (running, or interrupted)"
        lines.append(
            f"  {_when(run['started_at'], now)}  {took}; feeds {run['feeds_polled']} polled, "
            f"{run['feeds_failed']} failed; {run['entries_new']} new entries, {run['articles_stored']} articles, "
            f"{run['pages_failed']} pages failed  [{run['run_id']}]"
        )
    if not data["runs"]:
        lines.append("  none yet: `newsmon run` makes the first")
    lines.append("feeds:")
    for feed in data["feeds"]:
        state = "ok" if feed["consecutive_errors"] == 0 else f"FAILING ×{feed['consecutive_errors']}"
        lines.append(f"  {state:12s} {feed['name'] or feed['url']}")
        lines.append(
            f"      last poll {_when(feed['last_checked_at'], now)}, status {feed['last_status'] or '—'}; "
            f"next poll {_next(feed['next_check_at'], now)}; last new entry {_when(feed['last_new_entry_at'], now)}"
        )
        if feed["last_error"]:
            lines.append(f"      last error: {feed['last_error']}")
    alerts = data["alerts"]
    lines.append(f"alerts     {alerts['pending']} pending, {alerts['uncertain']} uncertain (see `newsmon alerts`)")
    if alerts.get("last_mail_error"):
        lines.append(f"           the last run could not send its mail: {alerts['last_mail_error']}")
    if data["last_polling_run"] is None and any(run["seconds"] is None for run in data["runs"]):
        lines.append("status     no run has finished polling yet (one is running, or was interrupted): exit status 1")
    elif data["last_polling_run"] is None and data["runs"]:
        lines.append("status     no run has polled a feed yet (none is configured, or none was due): exit status 1")
    elif data["last_polling_run"] is None:
        lines.append("status     no run has polled a feed yet: exit status 1")
    elif not data["healthy"]:
        lines.append("status     every feed the last run polled failed: exit status 1")
    return "\n".join(lines)


def as_json(data: dict[str, Any]) -> str:
    return json.dumps(data, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v), indent=2)


def exit_status(data: dict[str, Any]) -> int:
    return EXIT_OK if data["healthy"] else EXIT_FAILING
