"""The feedback endpoint: "on topic" / "not on topic" links in alert e-mails, served by `newsmon serve`.

GET /judge?t=TOKEN shows a confirmation page and changes nothing (mail scanners follow links); only the page's
button, a POST, records the judgment. A bad, altered, expired or already used token gets a page saying so and
changes nothing. Off unless [feedback] enabled = true; the signing secret comes from $NEWSMON_FEEDBACK_SECRET.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import duckdb

from extractors.alert_email import Story
from extractors.feedback import Claim, TokenError, confirm_page, done_page, link, refused_page, sign, verify
from flows.settings import ConfigError, Settings
from warehouse import judgments as store
from warehouse.db import WarehouseError, connect
from warehouse.judgments import Judgment

SECRET_ENV = "NEWSMON_FEEDBACK_SECRET"
_MAX_BODY = 4096  # a form with one token


def secret() -> bytes:
    value = os.environ.get(SECRET_ENV, "")
    if len(value) < 16:
        raise ConfigError(f"[feedback] is enabled: set ${SECRET_ENV} to a secret of 16 characters or more")
    return value.encode()


def with_links(settings: Settings, recipient: str, stories: Sequence[Story], now: datetime) -> list[Story]:
    """The stories with their judging links for `recipient` (unchanged when [feedback] is off)."""
    if not settings.feedback.enabled:
        return list(stories)
    key = secret()
    base = settings.feedback.base_url
    out = []
    for story in stories:
        on, off = (
            link(base, sign(key, Claim(story.url, recipient, label, now, uuid.uuid4().hex))) for label in ("on", "off")
        )
        out.append(replace(story, feedback=(on, off)))
    return out


def make_server(
    settings: Settings, key: bytes, host: str | None = None, port: int | None = None
) -> ThreadingHTTPServer:
    """The endpoint's HTTP server, bound (not yet serving): `serve_forever` in a thread runs it."""
    max_age = timedelta(days=settings.feedback.max_age_days)
    warehouse = settings.warehouse
    lock = threading.Lock()  # one writer at a time in this process

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, page: str) -> None:
            body = page.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _claim(self, token: str, con: duckdb.DuckDBPyConnection) -> tuple[Claim, tuple[str | None, str]]:
            claim = verify(key, token, datetime.now(UTC), max_age)
            if store.token_used(con, claim.nonce):
                raise TokenError("this link was used already: its judgment is recorded")
            article = store.article_for_judgment(con, claim.url)
            if article is None:
                raise TokenError("the article of this link is no longer stored")
            return claim, article

        def _handle(self, token: str, record: bool) -> None:
            if urlsplit(self.path).path.rstrip("/").rsplit("/", 1)[-1] != "judge":
                self._send(404, refused_page("there is nothing here"))
                return
            with lock:
                try:
                    con = connect(warehouse)
                except (WarehouseError, duckdb.Error):
                    self._send(503, refused_page("newsmon is busy writing its warehouse: try again in a minute"))
                    return
                try:
                    claim, (title, text) = self._claim(token, con)
                    if record:
                        judged = Judgment(
                            claim.url,
                            claim.label,
                            claim.recipient,
                            datetime.now(UTC),
                            title,
                            text,
                            f"email:{claim.nonce}",
                        )
                        store.add_judgments(con, [judged])
                        self._send(200, done_page(claim, title))
                    else:
                        self._send(200, confirm_page(claim, title, token))
                except TokenError as exc:
                    self._send(403, refused_page(str(exc)))
                finally:
                    con.close()

        def do_GET(self) -> None:
            self._handle(parse_qs(urlsplit(self.path).query).get("t", [""])[0], record=False)

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            self._handle(form.get("t", [""])[0], record=True)

        def log_message(self, format: str, *args: object) -> None:  # quiet: the run report speaks
            return

    return ThreadingHTTPServer(
        (host or settings.feedback.host, settings.feedback.port if port is None else port), Handler
    )


def start(settings: Settings) -> ThreadingHTTPServer | None:
    """Serve the endpoint in a daemon thread when [feedback] is enabled (`newsmon serve` calls this)."""
    if not settings.feedback.enabled:
        return None
    server = make_server(settings, secret())
    threading.Thread(target=server.serve_forever, name="newsmon-feedback", daemon=True).start()
    return server
