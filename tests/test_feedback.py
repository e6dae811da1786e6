"""Judging from the alert e-mail: signed links, a confirmation page that records nothing, a POST that records,
and forged, altered, replayed or expired tokens refused, through the real endpoint on loopback."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from extractors.alert_email import Story, render_html, render_text
from extractors.feedback import Claim, TokenError, sign, verify
from flows.feedback import SECRET_ENV, make_server, with_links
from flows.settings import load_settings
from warehouse import store
from warehouse.db import connect

SECRET = b"a test secret of some length"
RECIPIENT = "analyst@example.org"


@pytest.fixture
def endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(base URL of a running endpoint, URL of a stored article), over a real warehouse holding the seeds."""
    config = tmp_path / "newsmon.toml"
    config.write_text(
        f'[warehouse]\npath = "{tmp_path / "wh"}"\n'
        '[feedback]\nenabled = true\nbase_url = "http://127.0.0.1"\nport = 0\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    settings = load_settings(config)
    con = connect(settings.warehouse_path)
    try:
        store.start_run(con, "r1", datetime.now(UTC), forced=False)
        store.add_seeds(con, "r1", datetime.now(UTC), settings.topic.seeds)
        url = next(s.url for s in settings.topic.seeds if s.url.startswith("https://"))
    finally:
        con.close()
    server = make_server(settings, SECRET, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", url
    server.shutdown()
    server.server_close()


def _judgments(tmp_path: Path) -> list[tuple[str, str, str]]:
    con = connect(tmp_path / "wh")
    try:
        return con.execute("SELECT what, label, who FROM judgments").fetchall()
    finally:
        con.close()


def _token(url: str, label: str = "on", secret: bytes = SECRET, issued: datetime | None = None) -> str:
    return sign(secret, Claim(url, RECIPIENT, label, issued or datetime.now(UTC), "n-" + label + url[-6:]))


def test_a_link_opens_a_confirmation_and_only_its_button_records(endpoint: tuple[str, str], tmp_path: Path) -> None:
    base, url = endpoint
    token = _token(url, "off")
    page = httpx.get(f"{base}/judge", params={"t": token})
    assert page.status_code == 200
    assert "Yes, not on topic" in page.text and 'method="post"' in page.text
    assert _judgments(tmp_path) == []  # a GET changes nothing (mail scanners follow links)
    done = httpx.post(f"{base}/judge", data={"t": token})
    assert done.status_code == 200 and "recorded" in done.text
    assert _judgments(tmp_path) == [(url, "off", RECIPIENT)]


def test_a_used_token_is_refused_and_changes_nothing(endpoint: tuple[str, str], tmp_path: Path) -> None:
    base, url = endpoint
    token = _token(url, "on")
    assert httpx.post(f"{base}/judge", data={"t": token}).status_code == 200
    again = httpx.post(f"{base}/judge", data={"t": token})
    assert again.status_code == 403 and "used already" in again.text and "Nothing was changed" in again.text
    assert httpx.get(f"{base}/judge", params={"t": token}).status_code == 403
    assert len(_judgments(tmp_path)) == 1


def test_forged_altered_and_expired_tokens_are_refused(endpoint: tuple[str, str], tmp_path: Path) -> None:
    base, url = endpoint
    payload, mac = _token(url, "on").split(".")
    other_payload = _token("https://other.example/story", "on").split(".")[0]
    flipped = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(b'"l":"on"', b'"l":"off"')
    ).decode()
    tokens = {
        "forged": _token(url, "on", secret=b"not the secret at all, guessed"),
        "another article": f"{other_payload}.{mac}",
        "another label": f"{flipped.rstrip('=')}.{mac}",
        "expired": _token(url, "on", issued=datetime.now(UTC) - timedelta(days=31)),
        "garbage": "not-a-token",
    }
    for name, token in tokens.items():
        for response in (
            httpx.get(f"{base}/judge", params={"t": token}),
            httpx.post(f"{base}/judge", data={"t": token}),
        ):
            assert response.status_code == 403, name
            assert "Nothing was changed" in response.text, name
    assert _judgments(tmp_path) == []


def test_each_story_of_an_alert_carries_signed_links_for_its_recipient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "newsmon.toml"
    config.write_text('[feedback]\nenabled = true\nbase_url = "https://newsmon.example.org/"\n', encoding="utf-8")
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    story = Story("https://a.example/story", "A story", "Outlet", None, "Text.", 0.9, "why", (), ())
    [linked] = with_links(load_settings(config), RECIPIENT, [story], datetime.now(UTC))
    assert linked.feedback is not None
    on, off = linked.feedback
    assert on.startswith("https://newsmon.example.org/judge?t=")
    claims = [verify(SECRET, link.split("t=", 1)[1], datetime.now(UTC), timedelta(days=30)) for link in (on, off)]
    assert [(c.url, c.recipient, c.label) for c in claims] == [
        ("https://a.example/story", RECIPIENT, "on"),
        ("https://a.example/story", RECIPIENT, "off"),
    ]
    assert claims[0].nonce != claims[1].nonce
    from extractors.alert_email import Digest

    digest = Digest("Topic", (linked,), "n@example.org", RECIPIENT, "<m@example.org>", datetime.now(UTC), "footer")
    assert f"On topic: {on}" in render_text(digest) and "Not on topic" in render_html(digest)
    with pytest.raises(TokenError):
        verify(b"another secret entirely", on.split("t=", 1)[1], datetime.now(UTC), timedelta(days=30))


def test_feedback_is_off_by_default_and_needs_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.feedback import start
    from flows.settings import ConfigError

    story = Story("https://a.example/story", "A story", None, None, "Text.", 0.9, None, (), ())
    assert load_settings(None).feedback.enabled is False
    assert start(load_settings(None)) is None
    assert with_links(load_settings(None), RECIPIENT, [story], datetime.now(UTC))[0].feedback is None
    config = tmp_path / "newsmon.toml"
    config.write_text('[feedback]\nenabled = true\nbase_url = "https://n.example.org"\n', encoding="utf-8")
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ConfigError, match=SECRET_ENV):
        with_links(load_settings(config), RECIPIENT, [story], datetime.now(UTC))
