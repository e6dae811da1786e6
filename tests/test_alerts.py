"""Alert emails through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.relevance import _article
from extractors.alert_email import Digest, Story, build_message
from flows.report import RunReport
from tests.conftest import SHARED
from tests.helpers import query, run, warehouse_spec, write_config
from tests.site import Route, Site, rss
from tests.smtp import SmtpServer, self_signed

pytestmark = pytest.mark.usefixtures("prefect_server")

ON_TOPIC = [
    "on/baram_056_0012097578.md",
    "on/baram_021_0002759880.md",
    "on/baram_028_0002784140.md",
    "on/baram_214_0001471145.md",
    "on/trends_2024-06-19-kim-jong-un.md",
    "on/trends_2024-10-31-nga.md",
]


def _page(title: str, text: str) -> bytes:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("#", "*", "---"))]
    body = "".join(f"<p>{line}</p>" for line in lines)
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><article><h1>{title}</h1>{body}</article></body></html>".encode()


def serve_stories(site: Site, files: list[str], feed: str = "/feed.xml") -> str:
    items = []
    for number, name in enumerate(files):
        title, text = _article(SHARED / "topic" / "articles" / name)
        path = f"/story/{feed.strip('/').split('.')[0]}-{number}" if feed != "/feed.xml" else f"/story/{number}"
        site.routes[path] = Route(body=_page(title, text))
        items.append({"title": title, "link": site.url(path), "guid": path})
    site.routes[feed] = Route(body=rss("stories", items), content_type="application/rss+xml")
    return site.url(feed)


def alerts_config(smtp: SmtpServer, mode: str = "immediate", extra: str = "") -> str:
    return (
        f'[alerts]\nto = ["analyst@example.org", "desk@example.org"]\nfrom = "newsmon@example.org"\nmode = "{mode}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntimeout_seconds = 5.0\n{extra}'
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def test_two_runs_that_find_the_same_stories_send_them_once(
    site: Site, smtp: SmtpServer, tmp_path: Path, catalog: str
) -> None:
    feed = serve_stories(site, ON_TOPIC[:3])
    config = write_config(
        tmp_path,
        [feed],
        "",
    )
    config.write_text(config.read_text(encoding="utf-8") + alerts_config(smtp), encoding="utf-8")

    first = run(config)
    run(config)

    assert first.alerts is not None and first.alerts.alerts_sent == 6  # 3 stories x 2 recipients
    assert len(smtp.inbox.received) == 2
    for received in smtp.inbox.received:
        message = received.message
        assert received.rcpt_tos in (["analyst@example.org"], ["desk@example.org"])
        assert message["Subject"].startswith("Russia–North Korea military cooperation: 3 new stories")
        plain_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
        assert plain_part is not None and html_part is not None
        text, html = plain_part.get_content(), html_part.get_content()
        for number in range(3):
            assert site.url(f"/story/{number}") in text and f'href="{site.url(f"/story/{number}")}"' in html
        assert "Why: relevance" in text and "matched:" in html
    assert query(tmp_path, "SELECT count(*) FROM alert_deliveries WHERE state = 'sent'")[0][0] == 6


def test_smtp_server_down_sends_nothing_loses_nothing_and_the_next_run_sends_exactly_the_missed(
    site: Site, smtp: SmtpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = serve_stories(site, ON_TOPIC[:2])
    config = write_config(tmp_path, [feed])
    config.write_text(config.read_text(encoding="utf-8") + alerts_config(smtp), encoding="utf-8")
    smtp.stop()

    down = run(config)

    assert down.alerts is not None and down.alerts.alerts_sent == 0 and down.alerts.waiting == 2
    assert "unavailable" in (down.alerts.error or "")
    assert query(tmp_path, "SELECT count(*) FROM alert_deliveries")[0][0] == 0
    from flows.cli import main

    assert main(["digest", "--config", str(config)]) == 1  # the mail could not go out: a monitor sees it
    assert main(["status", "--config", str(config)]) == 0  # the feeds work (status's exit is theirs)...
    assert "the last run could not send its mail: SMTP server" in capsys.readouterr().out  # ...but it says so

    smtp.start()
    up = run(config)

    assert up.alerts is not None and up.alerts.alerts_sent == 4 and up.alerts.waiting == 0
    assert "2 stories sent in 2 message(s) (4 deliveries), 0 waiting" in up.render()  # in stories, as waiting
    assert len(smtp.inbox.received) == 2
    assert all("2 new stories" in r.message["Subject"] for r in smtp.inbox.received)


def test_a_delivery_cut_between_sending_and_marking_is_never_sent_again(
    site: Site, smtp: SmtpServer, tmp_path: Path, catalog: str
) -> None:
    from flows.cli import main
    from warehouse import store
    from warehouse.db import connect

    feed = serve_stories(site, ON_TOPIC[:1])
    config = write_config(tmp_path, [feed])
    config.write_text(config.read_text(encoding="utf-8") + alerts_config(smtp, mode="digest"), encoding="utf-8")
    run(config)  # digest mode: the run queues, sends nothing
    assert smtp.inbox.received == []
    con = connect(warehouse_spec(tmp_path))
    url = con.execute("SELECT url FROM alerts").fetchall()[0][0]
    store.start_delivery(con, [url], "analyst@example.org", "<killed@example.org>", datetime.now(UTC))  # then killed
    con.close()

    assert main(["digest", "--config", str(config)]) == 0

    assert [r.rcpt_tos for r in smtp.inbox.received] == [["desk@example.org"]]
    states = query(tmp_path, "SELECT recipient, state FROM alert_deliveries ORDER BY recipient")
    assert states == [("analyst@example.org", "sending"), ("desk@example.org", "sent")]


def test_digest_mode_sends_one_message_for_the_days_articles(site: Site, smtp: SmtpServer, tmp_path: Path) -> None:
    from flows.cli import main

    config = write_config(tmp_path, [serve_stories(site, ON_TOPIC[:2]), serve_stories(site, ON_TOPIC[2:4], "/f2.xml")])
    config.write_text(config.read_text(encoding="utf-8") + alerts_config(smtp, mode="digest"), encoding="utf-8")
    run(config)
    assert smtp.inbox.received == []

    assert main(["digest", "--config", str(config)]) == 0
    assert main(["digest", "--config", str(config)]) == 0  # nothing new: nothing sent

    assert len(smtp.inbox.received) == 2  # one per recipient
    assert all("4 new stories" in r.message["Subject"] for r in smtp.inbox.received)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[SmtpServer, Path]]:
    """A STARTTLS-only SMTP server that wants the login newsmon / s3cret; yields it and its certificate."""
    cert, key = self_signed(tmp_path)
    server = SmtpServer(tls=(cert, key), login=("newsmon", "s3cret")).start()
    yield server, cert
    server.stop()


def _run_with_login(site: Site, tmp_path: Path, server: SmtpServer, cert: Path) -> RunReport:
    config = write_config(tmp_path, [serve_stories(site, ON_TOPIC[:1])])
    extra = f'security = "starttls"\nusername = "newsmon"\nca_file = "{cert}"\n'
    config.write_text(config.read_text(encoding="utf-8") + alerts_config(server, extra=extra), encoding="utf-8")
    return run(config)


def test_starttls_with_login_works(
    site: Site, tmp_path: Path, tls_server: tuple[SmtpServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", "s3cret")
    report = _run_with_login(site, tmp_path, *tls_server)
    assert report.alerts is not None and report.alerts.error is None and report.alerts.alerts_sent == 2
    assert len(tls_server[0].inbox.received) == 2


def test_wrong_password_leaves_alerts_pending_with_a_clear_error(
    site: Site, tmp_path: Path, tls_server: tuple[SmtpServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", "wrong")
    report = _run_with_login(site, tmp_path, *tls_server)
    assert report.alerts is not None and "login refused" in (report.alerts.error or "")
    assert report.alerts.waiting == 1 and tls_server[0].inbox.received == []


def test_headline_with_crlf_and_korean_arrives_intact_in_one_header(smtp: SmtpServer) -> None:
    import smtplib

    title = "북한군 파병\r\nBcc: victim@example.org\r\n 푸틴–김정은 «조약»"
    story = Story("https://example.org/a", title, "연합뉴스", None, "본문. 둘째 문장.", 0.9, "why", ("북한",), ())
    digest = Digest(
        "Russia–North Korea", (story,), "n@example.org", "a@example.org", "<x@example.org>", datetime.now(UTC), "footer"
    )
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
        client.send_message(build_message(digest))

    received = smtp.inbox.received[0]
    assert received.rcpt_tos == ["a@example.org"]
    assert received.message["Bcc"] is None
    assert (
        received.message["Subject"]
        == "Russia–North Korea: 1 new story — 북한군 파병 Bcc: victim@example.org 푸틴–김정은 «조약»"
    )
    assert "\n" not in received.message["Subject"]


def test_without_an_alerts_section_the_report_says_how_many_wait(site: Site, tmp_path: Path) -> None:
    config = write_config(tmp_path, [serve_stories(site, ON_TOPIC[:2])])
    report = run(config)
    assert report.alerts is None and report.alerts_waiting == 2
    assert "2 waiting (no [alerts] section" in report.render()


def test_preview_prints_the_next_message_without_sending(
    site: Site, smtp: SmtpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main

    config = write_config(tmp_path, [serve_stories(site, ON_TOPIC[:1])])
    config.write_text(config.read_text(encoding="utf-8") + alerts_config(smtp, mode="digest"), encoding="utf-8")
    run(config)
    capsys.readouterr()

    assert main(["alerts", "--preview", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    # As the reader sees it: decoded headers and text, no MIME structure, no base64.
    assert "\nSubject: Russia–North Korea military cooperation: 1 new story — " in "\n" + out
    assert "Why: relevance" in out
    assert "multipart/alternative" not in out and "Content-Transfer-Encoding" not in out
    assert main(["alerts", "--preview", "--raw", "--config", str(config)]) == 0
    assert "multipart/alternative" in capsys.readouterr().out
    assert smtp.inbox.received == []
    assert main(["alerts", "--config", str(config)]) == 0
    assert "1 waiting" in capsys.readouterr().out
