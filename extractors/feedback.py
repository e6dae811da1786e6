"""Judging from the alert e-mail: signed tokens for the "on topic" / "not on topic" links, and the pages.

A token names the article, the recipient, the judgment and when it was issued, with an HMAC-SHA256 over them
(the secret comes from the environment, read by flows/). Nobody without the secret can make one, and changing
any part (another article, another label) breaks the signature. Each token carries a nonce; the endpoint
records it with the judgment, so that a token used once is refused after (a replay).

Pure: the caller passes the secret, the clock (`now`) and the nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta


class TokenError(ValueError):
    """A token that is malformed, forged, altered or expired: it changes nothing."""


@dataclass(frozen=True)
class Claim:
    url: str  # the article judged (canonical)
    recipient: str  # who the link was sent to: recorded as the judgment's `who`
    label: str  # on | off
    issued_at: datetime
    nonce: str  # unique per token: a token is used once


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, claim: Claim) -> str:
    payload = json.dumps(
        {
            "u": claim.url,
            "r": claim.recipient,
            "l": claim.label,
            "t": int(claim.issued_at.timestamp()),
            "n": claim.nonce,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    mac = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(secret: bytes, token: str, now: datetime, max_age: timedelta) -> Claim:
    """The claim of a genuine, unexpired token; TokenError otherwise."""
    try:
        payload_part, mac_part = token.split(".")
        payload, mac = _unb64(payload_part), _unb64(mac_part)
    except ValueError as exc:
        raise TokenError("this link is not one newsmon made") from exc
    if not hmac.compare_digest(mac, hmac.new(secret, payload, hashlib.sha256).digest()):
        raise TokenError("this link's signature does not match: it was altered or not made by newsmon")
    try:
        data = json.loads(payload)
        claim = Claim(
            str(data["u"]),
            str(data["r"]),
            str(data["l"]),
            datetime.fromtimestamp(int(data["t"]), now.tzinfo),
            str(data["n"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("this link is not one newsmon made") from exc
    if claim.label not in ("on", "off"):
        raise TokenError("this link names no judgment")
    if now - claim.issued_at > max_age:
        raise TokenError(f"this link expired (links are good for {max_age.days} days after the alert)")
    return claim


def link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/judge?t={token}"


# --- pages ------------------------------------------------------------------------------------------------

_STYLE = "font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;max-width:560px;margin:40px auto"
_WORDS = {"on": "on topic", "off": "not on topic"}


def _page(title: str, body: str) -> str:
    e = html.escape
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(title)}</title>'
        '<meta name="robots" content="noindex"></head>'
        f'<body style="{_STYLE}"><h1 style="font-size:20px">{e(title)}</h1>{body}</body></html>'
    )


def confirm_page(claim: Claim, title: str | None, token: str) -> str:
    """The page a link opens: it records nothing; its button does (a POST)."""
    e = html.escape
    return _page(
        f"Mark as {_WORDS[claim.label]}?",
        f'<p><a href="{e(claim.url)}">{e(title or claim.url)}</a></p>'
        f"<p>newsmon will learn from this judgment by {e(claim.recipient)}.</p>"
        '<form method="post" action="judge">'
        f'<input type="hidden" name="t" value="{e(token)}">'
        f'<button type="submit" style="font-size:16px;padding:8px 16px">Yes, {e(_WORDS[claim.label])}</button>'
        "</form>",
    )


def done_page(claim: Claim, title: str | None) -> str:
    e = html.escape
    return _page(
        "Thank you: judgment recorded",
        f'<p><a href="{e(claim.url)}">{e(title or claim.url)}</a> is {e(_WORDS[claim.label])}.</p>'
        "<p>The next run learns from it (<code>newsmon rescore</code> applies it to stored articles).</p>",
    )


def refused_page(reason: str) -> str:
    return _page("This link cannot record a judgment", f"<p>{html.escape(reason)}.</p><p>Nothing was changed.</p>")
