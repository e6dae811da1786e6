"""HTTP done our way: timeouts, a size cap, a User-Agent, conditional headers, retries, and an address guard.

feedparser and trafilatura are handed bytes and headers; they never fetch anything themselves.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from extractors.urls import is_forbidden_address
from flows.settings import FetchSettings

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds: a longer Retry-After is not waited for within a run; the next run retries
MAX_REDIRECTS = 5


class FetchError(Exception):
    """A request that did not give a usable response; `reason` is for the run report."""

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable


class RefusedAddress(FetchError):
    """The URL's host resolves to an address newsmon may not fetch (private, loopback, link-local, ...)."""


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes  # decoded (gzip/deflate undone); empty for a 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process. httpx would build one for every client, loading certifi's CA bundle each
    time (40 ms of CPU; a run opens a client per batch of pages)."""
    return httpx.create_ssl_context(trust_env=False)


class Fetcher:
    """An async HTTP client for feeds and pages. Use as `async with Fetcher(settings) as fetcher:`."""

    def __init__(self, settings: FetchSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.requests = 0  # requests sent, retries and redirects included (for reports and tests)
        self._allowed = {h.lower() for h in settings.allow_hosts}
        self._client = httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=max(settings.concurrency, 4) * 2),
            event_hooks={"request": [self._guard]},
            transport=transport,
            trust_env=False,
            verify=_tls_context(),
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _guard(self, request: httpx.Request) -> None:
        """Refuse a request (first or after a redirect) whose host resolves to a forbidden address."""
        self.requests += 1
        host = request.url.host.lower()
        if request.url.scheme not in ("http", "https"):
            raise RefusedAddress(f"refused: {request.url.scheme}: URLs are not fetched")
        if host in self._allowed:
            return
        try:
            addresses = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, request.url.port or (443 if request.url.scheme == "https" else 80), type=socket.SOCK_STREAM
                )
            except OSError as exc:
                raise FetchError(f"DNS lookup failed for {host}: {exc}", retryable=True) from exc
            addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if is_forbidden_address(address):
                raise RefusedAddress(
                    f"refused: {host} resolves to the non-public address {address} "
                    "(add the host to [fetch] allow_hosts to allow it)"
                )

    async def get(self, url: str, *, headers: dict[str, str] | None = None) -> Response:
        """GET with retries and backoff on timeouts, connection errors, 408, 429 and 5xx (Retry-After honoured)."""
        attempt = 0
        while True:
            try:
                return await self._get_once(url, headers or {})
            except FetchError as exc:
                if not exc.retryable or attempt >= self.settings.retries:
                    raise
                delay = self.settings.backoff_seconds * (2**attempt)
                if isinstance(exc, _RetryLater) and exc.retry_after is not None:
                    if exc.retry_after > MAX_RETRY_AFTER:
                        raise
                    delay = max(delay, exc.retry_after)
                attempt += 1
                await asyncio.sleep(delay)

    async def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        cap = self.settings.max_bytes
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status in RETRY_STATUSES:
                    raise _RetryLater(
                        f"HTTP {status}", status=status, retry_after=_retry_after(response.headers.get("retry-after"))
                    )
                if status >= 400:
                    raise FetchError(f"HTTP {status}", status=status)
                chunks: list[bytes] = []
                size = 0
                # aiter_bytes yields the body decompressed, so a decompression bomb stops at the cap too.
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise FetchError(f"response larger than the {cap:,}-byte cap: cut off", status=status)
                    chunks.append(chunk)
                return Response(
                    url=str(response.url),
                    status=status,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    content=b"".join(chunks),
                )
        except FetchError:
            raise
        except httpx.TooManyRedirects as exc:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out after {self.settings.timeout_seconds:g} s", retryable=True) from exc
        except httpx.DecodingError as exc:
            raise FetchError(f"the response could not be decompressed: {exc}") from exc
        except httpx.TransportError as exc:
            raise FetchError(f"connection failed: {exc or type(exc).__name__}", retryable=True) from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from exc


class _RetryLater(FetchError):
    def __init__(self, reason: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(reason, status=status, retryable=True)
        self.retry_after = retry_after
