"""HTTP done our way: timeouts and a wall-clock bound per request, a size cap, a User-Agent, conditional
headers, retries, a per-host give-up, proxies, and an address guard pinned in the network layer
(flows/netguard.py). See docs/fetching.md.

feedparser and trafilatura are handed bytes and headers; they never fetch anything themselves.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpcore
import httpx

from flows.netguard import (
    AddressGuard,
    CheckedProxyTransport,
    FetchError,
    PinnedTransport,
    RefusedAddress,
    Unreachable,
    origin_of,
    proxy_routes,
)
from flows.settings import FetchSettings

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds: a longer Retry-After is not waited for within a run; the next run retries
MAX_REDIRECTS = 5
# Connection-level failures (DNS, refused, connect timeout) after which an origin is given up for the rest of
# the run. One failure may be a blip that the retry mends; a second one means the host is down, and trying
# each of its remaining pages (with retries and backoff) would only cost time: 55 pages of one unresolvable
# host cost 166 requests and 43 s on every run before this (issue 12).
HOST_GIVE_UP_AFTER = 2

__all__ = ["FetchError", "Fetcher", "HostGivenUp", "RefusedAddress", "Response", "TooSlow", "Unreachable"]


class HostGivenUp(FetchError):
    """Not requested: its origin failed at connection level earlier in this run (no attempt is counted)."""


class TooSlow(FetchError):
    """The response did not complete within `[fetch] request_seconds`, however steadily bytes came."""


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
    """An async HTTP client for feeds and pages. Use as `async with Fetcher(settings) as fetcher:`.

    `unreachable` carries the origins given up earlier in the run (origin -> its first error) from one batch's
    fetcher to the next; `network` replaces the socket layer under the address pinning (tests only).
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        unreachable: Mapping[str, str] | None = None,
        network: httpcore.AsyncNetworkBackend | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.requests = 0  # requests sent, retries and redirects included (for reports and tests)
        self.unreachable: dict[str, str] = dict(unreachable or {})
        self._failures: dict[str, list[str]] = {}  # origin -> its connection-level errors in this run
        guard = AddressGuard(frozenset(h.lower() for h in settings.allow_hosts), settings.timeout_seconds)
        limits = httpx.Limits(max_connections=max(settings.concurrency, 4) * 2)
        proxies: dict[str, CheckedProxyTransport] = {}
        mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
        for pattern, proxy in proxy_routes(settings.proxy, os.environ if environ is None else environ).items():
            if proxy is not None and proxy not in proxies:
                proxies[proxy] = CheckedProxyTransport(guard, proxy, verify=_tls_context(), limits=limits)
            mounts[pattern] = None if proxy is None else proxies[proxy]  # None: the direct, pinned transport
        self._client = httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            event_hooks={"request": [self._before_request]},
            transport=PinnedTransport(guard, verify=_tls_context(), limits=limits, network=network),
            mounts=mounts,
            trust_env=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _before_request(self, request: httpx.Request) -> None:
        """Every request, first or after a redirect: no other scheme, no origin given up in this run.
        The address check itself is made where the connection is (flows/netguard.py)."""
        if request.url.scheme not in ("http", "https"):
            raise RefusedAddress(f"refused: {request.url.scheme}: URLs are not fetched")
        if (first := self.unreachable.get(origin_of(request.url))) is not None:
            raise HostGivenUp(f"host unreachable earlier in this run: {first}")
        self.requests += 1

    def _note_unreachable(self, exc: Unreachable) -> bool:
        """Count a connection-level failure; True when its origin is now given up for the run."""
        errors = self._failures.setdefault(exc.origin, [])
        errors.append(exc.reason)
        if len(errors) >= HOST_GIVE_UP_AFTER:
            self.unreachable.setdefault(exc.origin, errors[0])
        return exc.origin in self.unreachable

    async def get(self, url: str, *, headers: dict[str, str] | None = None) -> Response:
        """GET with retries and backoff on timeouts, connection errors, 408, 429 and 5xx (Retry-After honoured)."""
        attempt = 0
        last: FetchError | None = None
        while True:
            try:
                return await self._get_once(url, headers or {})
            except HostGivenUp:
                if last is not None:
                    raise last from None  # it was requested: its own failure is what counts
                raise
            except FetchError as exc:
                last = exc
                if isinstance(exc, Unreachable) and self._note_unreachable(exc):
                    raise  # its origin is given up: no retry either
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
        # httpx's timeouts bound each connect and each read; a server that sends a byte a second satisfies
        # them forever. This bounds the whole request, redirects and body included.
        bound = self.settings.request_seconds
        try:
            async with asyncio.timeout(bound):
                return await self._read(url, headers)
        except TimeoutError as exc:
            raise TooSlow(f"too slow: no complete response within {bound:g} s ([fetch] request_seconds)") from exc

    async def _read(self, url: str, headers: dict[str, str]) -> Response:
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
        except httpx.ConnectTimeout as exc:
            raise Unreachable(
                f"connect timed out after {self.settings.timeout_seconds:g} s", origin=origin_of(exc.request.url)
            ) from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out after {self.settings.timeout_seconds:g} s", retryable=True) from exc
        except httpx.DecodingError as exc:
            raise FetchError(f"the response could not be decompressed: {exc}") from exc
        except httpx.ConnectError as exc:
            reason = f"connection failed: {exc or type(exc).__name__}"
            raise Unreachable(reason, origin=origin_of(exc.request.url)) from exc
        except httpx.TransportError as exc:
            raise FetchError(f"connection failed: {exc or type(exc).__name__}", retryable=True) from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from exc


class _RetryLater(FetchError):
    def __init__(self, reason: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(reason, status=status, retryable=True)
        self.retry_after = retry_after
