"""The network layer under newsmon's HTTP client: every connection goes to an address that was checked.

Direct connections go through `PinnedBackend`, httpcore's network backend: it resolves the host once, refuses
it if any address is not public (unless the host is in `[fetch] allow_hosts`), and connects to that same
checked address. A name that resolves to a public address when checked and to a loopback one a moment later
(DNS rebinding) therefore cannot move the connection. Only the TCP address is pinned: httpcore still sends the
host name in the Host header and as TLS SNI, and verifies the certificate against it. Every new connection,
after a redirect too, is made here.

Through a proxy the proxy connects to the origin itself, so nothing can be pinned: `CheckedProxyTransport`
resolves and checks the target host before it hands the request to the proxy (a non-public address is
refused, a name that does not resolve here fails as it would without a proxy); the proxy may still resolve it
differently. The proxy's own address is not checked: the user configured it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from extractors.urls import is_forbidden_address

NO_PROXY_SETTING = "none"  # [fetch] proxy = "none": no proxy, whatever the environment says


class FetchError(Exception):
    """A request that did not give a usable response; `reason` is for the run report."""

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable


class RefusedAddress(FetchError):
    """The URL's host resolves to an address newsmon may not fetch (private, loopback, link-local, ...)."""


class Unreachable(FetchError):
    """No connection to the origin at all: its name does not resolve, it refuses, or the connect timed out."""

    def __init__(self, reason: str, *, origin: str) -> None:
        super().__init__(reason, retryable=True)
        self.origin = origin


def origin_of(url: httpx.URL) -> str:
    """host:port, the unit the per-host give-up counts in (another port is another server)."""
    return f"{url.host.lower()}:{url.port or (443 if url.scheme == 'https' else 80)}"


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, in the resolver's order (an IP literal is its own); OSError when it does not resolve."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AddressGuard:
    allowed: frozenset[str]  # lower-case host names that may resolve to non-public addresses
    lookup_timeout: float

    async def addresses(self, host: str, port: int) -> list[str]:
        """Resolve `host` and check every address: the addresses a connection to it may use."""
        try:
            async with asyncio.timeout(self.lookup_timeout):
                addresses = await resolve(host, port)
        except TimeoutError as exc:
            raise Unreachable(f"DNS lookup for {host} timed out", origin=f"{host}:{port}") from exc
        except OSError as exc:
            raise Unreachable(f"DNS lookup failed for {host}: {exc}", origin=f"{host}:{port}") from exc
        if host.lower() not in self.allowed:
            for address in addresses:
                if is_forbidden_address(address):
                    raise RefusedAddress(
                        f"refused: {host} resolves to the non-public address {address} "
                        "(add the host to [fetch] allow_hosts to allow it)"
                    )
        return addresses


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses the guard checked, never to a second lookup's answer."""

    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        error: Exception | None = None
        for address in await self._guard.addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectTimeout as exc:
                error = exc  # the next address, as a connection by name would
            except httpcore.ConnectError as exc:
                error = httpcore.ConnectError(f"{address} port {port}: {_root_cause(exc)}")
                error.__cause__ = exc
        assert error is not None  # resolve() returns at least one address or raises
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _root_cause(exc: BaseException) -> str:
    """The OS's words for a failed connect ("Connection refused"), which anyio wraps in a vaguer OSError."""
    found: BaseException = exc
    while (cause := found.__cause__ or found.__context__) is not None:
        found = cause
    if isinstance(found, OSError) and found.errno:
        return os.strerror(found.errno)
    return str(found) or type(found).__name__


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over the pinned backend."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        verify: ssl.SSLContext,
        limits: httpx.Limits,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        # httpx offers no way to hand its connection pool a network backend: replace the pool it built by the
        # same pool over the pinned backend (httpx 0.28 keeps it in `_pool`; the rebinding tests in
        # tests/test_fetch_bounds.py fail if this ever stops taking effect).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(guard, network),
        )


class CheckedProxyTransport(httpx.AsyncHTTPTransport):
    """httpx's proxy transport, checking the target host before the request goes to the proxy."""

    def __init__(self, guard: AddressGuard, proxy: str, *, verify: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits, proxy=proxy, trust_env=False)
        self._guard = guard

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        await self._guard.addresses(url.host, url.port or (443 if url.scheme == "https" else 80))
        return await super().handle_async_request(request)


def proxy_routes(setting: str, environ: Mapping[str, str]) -> dict[str, str | None]:
    """URL patterns (httpx mount keys) -> the proxy for them, or None for a direct connection.

    `setting` is `[fetch] proxy`: "" takes HTTP_PROXY/HTTPS_PROXY/ALL_PROXY from the environment, "none" no
    proxy at all, a URL that proxy for every scheme. NO_PROXY applies in both first cases, read as httpx and
    curl read it: host names (a suffix match), IP addresses, "*" for every host.
    """
    if setting == NO_PROXY_SETTING:
        return {}
    proxies = {name.lower(): value for name, value in _proxy_variables(environ).items()}
    routes: dict[str, str | None] = {}
    if setting:
        routes["all://"] = setting
    else:
        for scheme in ("http", "https", "all"):
            if value := proxies.get(scheme, "").strip():
                routes[f"{scheme}://"] = value if "://" in value else f"http://{value}"
    for host in (h.strip() for h in proxies.get("no", "").split(",")):
        if host == "*":
            return {}
        if host:
            routes[_direct_pattern(host)] = None
    return routes


def _proxy_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The *_proxy variables, lower-case names winning as in urllib and curl."""
    found = {name[:-6].lower(): value for name, value in environ.items() if name.upper().endswith("_PROXY")}
    found.update({name[:-6]: value for name, value in environ.items() if name.endswith("_proxy")})
    return found


def _direct_pattern(host: str) -> str:
    if "://" in host:
        return host
    try:
        address = ipaddress.ip_address(host.split("/", 1)[0].strip("[]"))
    except ValueError:
        return f"all://{host}" if host.lower() == "localhost" else f"all://*{host.lstrip('.')}"
    return f"all://[{address}]" if address.version == 6 else f"all://{address}"
