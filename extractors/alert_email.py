"""The alert email: one message listing new stories, as plain text and HTML, with headers built by the
standard library's `email` package (a headline holding CR/LF or any script cannot break or inject a header)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

EXCERPT_SENTENCES = 3
EXCERPT_MAX_CHARS = 420
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Story:
    url: str
    title: str | None
    source: str | None
    published_at: datetime | None
    text: str
    relevance: float | None
    why: str | None
    terms: tuple[str, ...]
    copies: tuple[tuple[str | None, str], ...]  # (source, url) of syndicated copies
    feedback: tuple[str, str] | None = None  # the "on topic" and "not on topic" links, signed for the recipient


@dataclass(frozen=True)
class Digest:
    topic: str
    stories: tuple[Story, ...]
    sender: str
    recipient: str
    message_id: str  # "<...@...>": fixed before sending, so that a retry can be recognised
    date: datetime
    footer: str  # the run, the totals, how to change the settings


def one_line(value: str | None) -> str:
    """A header-safe single line: control characters (CR, LF, tabs) become spaces, runs of spaces one."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def excerpt(text: str) -> str:
    """The first two or three sentences of the text, at most about 420 characters."""
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    sentences = _SENTENCE_END.split(flat)
    out = ""
    for sentence in sentences[:EXCERPT_SENTENCES]:
        if out and len(out) + len(sentence) > EXCERPT_MAX_CHARS:
            break
        out = f"{out} {sentence}".strip()
    if len(out) > EXCERPT_MAX_CHARS:
        out = out[: EXCERPT_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return out


def subject(digest: Digest) -> str:
    count = len(digest.stories)
    noun = "story" if count == 1 else "stories"
    head = f"{one_line(digest.topic)}: {count} new {noun}"
    return f"{head} — {one_line(digest.stories[0].title)}" if count == 1 and digest.stories[0].title else head


def _date(story: Story) -> str:
    return story.published_at.strftime("%d %b %Y") if story.published_at else "date unknown"


def _why(story: Story) -> str:
    score = f"relevance {story.relevance:.2f}" if story.relevance is not None else "relevance not scored"
    terms = ", ".join(story.terms[:5])
    return f"{score}" + (f" · matched: {terms}" if terms else "")


def render_text(digest: Digest) -> str:
    lines = [subject(digest), "=" * min(len(subject(digest)), 72), ""]
    for number, story in enumerate(digest.stories, start=1):
        lines.append(f"{number}. {one_line(story.title) or story.url}")
        lines.append(f"   {one_line(story.source) or 'unknown outlet'} · {_date(story)}")
        lines.append(f"   {story.url}")
        lines.append(f"   {excerpt(story.text)}")
        lines.append(f"   Why: {_why(story)}")
        if story.copies:
            lines.append("   Also in: " + "; ".join(f"{one_line(s) or 'unknown'} <{u}>" for s, u in story.copies))
        if story.feedback:
            lines.append(f"   On topic: {story.feedback[0]}")
            lines.append(f"   Not on topic: {story.feedback[1]}")
        lines.append("")
    lines += ["--", digest.footer]
    return "\n".join(lines) + "\n"


_FONT = "-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif"
_CSS = {
    "body": f"margin:0;padding:0;background:#f3f4f6;font-family:{_FONT}",
    "wrap": "max-width:640px;margin:0 auto;padding:16px;overflow-wrap:anywhere;word-break:break-word",
    "brand": "margin:0 0 4px;font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#6b7280",
    "h1": "margin:0 0 16px;font-size:22px;line-height:1.3;color:#111827",
    "card": "background:#ffffff;border-radius:8px;padding:16px 18px;margin:0 0 12px 0",
    "h2": "margin:0 0 4px;font-size:18px;line-height:1.3",
    "link": "color:#1d4ed8;text-decoration:none",
    "meta": "margin:0 0 8px;font-size:13px;color:#6b7280",
    "excerpt": "margin:0;font-size:15px;line-height:1.5;color:#111827",
    "why": "margin:8px 0 0;font-size:12px;color:#6b7280",
    "copies": "margin:8px 0 0;font-size:13px;color:#4b5563",
    "footer": "font-size:12px;color:#6b7280;line-height:1.5",
}


def _card(story: Story) -> str:
    e = html.escape
    title = e(one_line(story.title) or story.url)
    source = e(one_line(story.source) or "unknown outlet")
    copies = ""
    if story.copies:
        links = ", ".join(f'<a href="{e(u)}" style="color:#4b5563">{e(one_line(s) or u)}</a>' for s, u in story.copies)
        copies = f'<p style="{_CSS["copies"]}">Also in: {links}</p>'
    if story.feedback:
        on, off = (e(url) for url in story.feedback)
        copies += (
            f'<p style="{_CSS["copies"]}"><a href="{on}" style="color:#4b5563">On topic</a> · '
            f'<a href="{off}" style="color:#4b5563">Not on topic</a></p>'
        )
    return (
        f'<div style="{_CSS["card"]}">'
        f'<h2 style="{_CSS["h2"]}"><a href="{e(story.url)}" style="{_CSS["link"]}">{title}</a></h2>'
        f'<p style="{_CSS["meta"]}">{source} · {e(_date(story))}</p>'
        f'<p style="{_CSS["excerpt"]}">{e(excerpt(story.text))}</p>'
        f'<p style="{_CSS["why"]}">Why: {e(_why(story))}</p>'
        f"{copies}</div>"
    )


def render_html(digest: Digest) -> str:
    e = html.escape
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(subject(digest))}</title></head>"
        f'<body style="{_CSS["body"]}"><div style="{_CSS["wrap"]}">'
        f'<p style="{_CSS["brand"]}">newsmon</p>'
        f'<h1 style="{_CSS["h1"]}">{e(subject(digest))}</h1>'
        + "".join(_card(story) for story in digest.stories)
        + f'<p style="{_CSS["footer"]}">{e(digest.footer)}</p>'
        "</div></body></html>"
    )


def build_message(digest: Digest) -> EmailMessage:
    """The message: multipart/alternative, text first, HTML second."""
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = digest.sender
    message["To"] = digest.recipient
    message["Date"] = format_datetime(digest.date)
    message["Message-ID"] = digest.message_id
    message["X-Newsmon-Stories"] = str(len(digest.stories))
    message.set_content(render_text(digest))
    message.add_alternative(render_html(digest), subtype="html")
    return message
