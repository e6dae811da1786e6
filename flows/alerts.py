"""Sending the alert outbox by SMTP: after an ingest run (immediate mode) or once a day (digest mode)."""

from __future__ import annotations

import dataclasses
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from extractors.alert_email import Digest, build_message
from flows.feedback import with_links
from flows.settings import PASSWORD_ENV, AlertSettings, Settings, SmtpSettings, load_settings
from warehouse import store
from warehouse.db import connect


class AlertError(Exception):
    """Mail could not be sent this time; the alerts stay pending."""


@dataclass
class AlertReport:
    messages_sent: int = 0
    alerts_sent: int = 0  # deliveries: a story sent to two recipients counts twice
    stories_sent: set[str] = field(default_factory=set)  # the stories (URLs) of those deliveries
    waiting: int = 0  # alerts not yet delivered to every recipient after this attempt
    uncertain: int = 0  # deliveries left 'sending' by a killed process
    error: str | None = None
    recipients: list[str] = field(default_factory=list)

    def render(self) -> str:
        # In stories, as `waiting` counts them; the deliveries too when a story went to several recipients.
        sent = f"{len(self.stories_sent)} stories sent in {self.messages_sent} message(s)"
        if self.alerts_sent != len(self.stories_sent):
            sent += f" ({self.alerts_sent} deliveries)"
        line = f"  alerts     {sent}, {self.waiting} waiting"
        if self.uncertain:
            line += f", {self.uncertain} uncertain (a run was killed while sending; see `newsmon alerts`)"
        if self.error:
            line += f"\n  mail error {self.error} (the alerts stay queued for the next run)"
        return line


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=smtp.ca_file or None)
    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
            if smtp.security == "starttls":
                client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, os.environ.get(PASSWORD_ENV, ""))
    except smtplib.SMTPAuthenticationError as exc:
        raise AlertError(f"SMTP login refused for {smtp.username!r}: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise AlertError(f"SMTP server {smtp.host}:{smtp.port} unavailable: {exc or type(exc).__name__}") from exc
    return client


def _footer(settings: Settings, run_id: str | None, total: int) -> str:
    where = f"config {settings.config_path}" if settings.config_path else "the built-in defaults"
    run = f"run {run_id}" if run_id else "daily digest"
    return (
        f"newsmon · {run} · {total} relevant stories in the warehouse. "
        f"Recipients, mode and threshold are set in [alerts] and [topic] of {where}; "
        "`newsmon alerts` lists what is pending."
    )


def send_pending(
    con: duckdb.DuckDBPyConnection, settings: Settings, alerts: AlertSettings, run_id: str | None = None
) -> AlertReport:
    """Send each recipient one message with every story pending for them. Never raises for mail trouble."""
    report = AlertReport(recipients=list(alerts.to))
    now = datetime.now(UTC)
    store.start_recipients(con, alerts.to, alerts.first_since(now), now)  # not the whole history
    plans = [(recipient, store.pending_alerts(con, recipient)) for recipient in alerts.to]
    plans = [(recipient, stories) for recipient, stories in plans if stories]
    if plans:
        footer = _footer(settings, run_id, store.story_count(con, datetime.now(UTC)))
        try:
            client = _connect(settings.smtp)
        except AlertError as exc:
            report.error = str(exc)
        else:
            with client:
                for recipient, stories in plans:
                    domain = alerts.from_.rsplit("@", 1)[-1] or "newsmon.local"
                    digest = Digest(
                        topic=settings.topic.name,
                        stories=tuple(with_links(settings, recipient, stories, datetime.now(UTC))),
                        sender=alerts.from_,
                        recipient=recipient,
                        message_id=f"<{uuid.uuid4()}@{domain}>",
                        date=datetime.now(UTC),
                        footer=footer,
                    )
                    ids = (digest.message_id, digest.date)
                    # Another writer may have begun some of these alerts since they were read: send the rest.
                    free = set(store.start_delivery(con, [s.url for s in stories], recipient, *ids))
                    if not free:
                        continue
                    if len(free) < len(stories):
                        stories = [s for s in stories if s.url in free]
                        digest = dataclasses.replace(digest, stories=tuple(stories))
                    message = build_message(digest)
                    try:
                        client.send_message(message)
                    except (smtplib.SMTPException, OSError) as exc:
                        store.abandon_delivery(con, digest.message_id, digest.date)
                        report.error = f"SMTP server refused the message to {recipient}: {exc}"
                        break
                    store.finish_delivery(con, digest.message_id, datetime.now(UTC), digest.date)
                    report.messages_sent += 1
                    report.alerts_sent += len(stories)
                    report.stories_sent.update(s.url for s in stories)
    store.settle_alerts(con, alerts.to, datetime.now(UTC))  # later runs read only the alerts after this
    overview = store.alert_overview(con, alerts.to)
    report.waiting, report.uncertain = overview["waiting"], overview["uncertain"]
    return report


@task(name="send-alerts", cache_policy=NO_CACHE)
def send_alerts(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str | None) -> AlertReport | None:
    if settings.alerts is None:
        return None
    return send_pending(con, settings, settings.alerts, run_id)


@flow(name="newsmon-digest")
def digest(config: str | None = None) -> AlertReport | None:
    """Send the daily digest: every pending alert, one message per recipient."""
    settings = load_settings(config)
    if settings.alerts is None:
        return None
    con = connect(settings.warehouse)
    try:
        return send_pending(con, settings, settings.alerts)
    finally:
        con.close()
