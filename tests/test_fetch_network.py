"""The network layer: connections go to the address that was checked (DNS rebinding), and proxies.

Nothing here connects to a public address: the rebinding tests resolve a test name to one, and the socket
layer under the pinning (`LoopbackOnly`) records and refuses every address that is not loopback.
"""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import pytest

from flows import fetching
from flows.cli import keep_loopback_off_proxies, main
from flows.fetching import Fetcher, RefusedAddress, Response, Unreachable
from flows.netguard import proxy_routes
from flows.settings import FetchSettings
from tests.helpers import PAGE_IDS, query, serve_news
from tests.site import Route, Site

PUBLIC = "93.184.215.14"  # a public address that the test resolver hands out; LoopbackOnly never connects to it


class LoopbackOnly(httpcore.AsyncNetworkBackend):
    """The real socket layer for loopback addresses; any other address is recorded and refused."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise httpcore.ConnectError(f"test network: {host} is not loopback, not connecting")
        return await self.inner.connect_tcp(host, port, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Test names -> the answers of their successive lookups (the last one repeats); every lookup is logged
    under "lookups". Patched at socket.getaddrinfo, under asyncio, anyio and httpcore alike: a connection that
    looked the name up again would get the later answer."""
    answers: dict[str, list[str]] = {"lookups": []}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if host not in answers:
            return real(host, port, *args, **kwargs)
        answers["lookups"].append(host)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    # A safety net under everything: whatever the code under test does, no socket connects beyond loopback.
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(address[0]).is_loopback:
            raise ConnectionRefusedError(f"test: not connecting to {address[0]}")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return answers


def _get(settings: FetchSettings, url: str, **fetcher: Any) -> Response:
    async def go() -> Response:
        async with Fetcher(settings, **fetcher) as client:
            return await client.get(url)

    return asyncio.run(go())


def test_a_name_rebound_to_loopback_after_the_check_is_connected_at_the_checked_address(
    site: Site, resolver: dict[str, list[str]]
) -> None:
    resolver["rebind.test"] = [PUBLIC, "127.0.0.1"]
    site.routes["/page"] = Route(body=b"<html>inside</html>")
    network = LoopbackOnly()

    with pytest.raises(Unreachable, match="not loopback"):
        _get(FetchSettings(retries=0), site.url("/page", host="rebind.test"), network=network)

    assert site.requests == []  # nothing reached the loopback server
    assert network.connected == [PUBLIC]  # the connection went to the checked address
    assert resolver["lookups"] == ["rebind.test"]  # one lookup, for the check and the connection


def test_a_redirect_to_a_rebinding_name_is_pinned_too(site: Site, resolver: dict[str, list[str]]) -> None:
    resolver["rebind.test"] = [PUBLIC, "127.0.0.1"]
    site.routes["/page"] = Route(body=b"<html>inside</html>")
    site.routes["/go"] = Route(status=302, location=site.url("/page", host="rebind.test"))
    network = LoopbackOnly()

    with pytest.raises(Unreachable):
        _get(FetchSettings(allow_hosts=("127.0.0.1",), retries=0), site.url("/go"), network=network)

    assert site.requested() == ["/go"]
    assert network.connected == ["127.0.0.1", PUBLIC]


def test_a_pinned_connection_keeps_the_host_name_in_the_host_header(site: Site, resolver: dict[str, list[str]]) -> None:
    resolver["intranet.test"] = ["127.0.0.1"]
    site.routes["/page"] = Route(body=b"<html>ok</html>")

    response = _get(FetchSettings(allow_hosts=("intranet.test",)), site.url("/page", host="intranet.test"))

    assert response.content == b"<html>ok</html>"
    assert site.requests[0].headers["host"] == f"intranet.test:{site.port}"


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name` only (not for 127.0.0.1), and its key."""
    import datetime as dt

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_a_pinned_tls_connection_sends_the_host_name_as_sni_and_verifies_the_certificate_against_it(
    tmp_path: Path, resolver: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path, "tls.test")
    names: list[str | None] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda _sock, name, _context: names.append(name)
    site = Site()
    site.routes["/page"] = Route(body=b"<html>over tls</html>")
    site.server.socket = server_context.wrap_socket(site.server.socket, server_side=True)
    client_context = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(fetching, "_tls_context", lambda: client_context)
    resolver["tls.test"] = ["127.0.0.1"]
    try:
        url = f"https://tls.test:{site.port}/page"
        response = _get(FetchSettings(allow_hosts=("tls.test",)), url)
    finally:
        site.close()

    assert response.content == b"<html>over tls</html>"
    assert names == ["tls.test"]  # SNI: the name, while the socket went to 127.0.0.1
    assert site.requests[0].headers["host"] == f"tls.test:{site.port}"


def test_a_name_that_resolves_to_loopback_is_refused_before_any_connection(
    site: Site, resolver: dict[str, list[str]]
) -> None:
    resolver["inside.test"] = ["127.0.0.1"]
    site.routes["/page"] = Route(body=b"<html>inside</html>")
    network = LoopbackOnly()

    with pytest.raises(RefusedAddress):
        _get(FetchSettings(), site.url("/page", host="inside.test"), network=network)

    assert network.connected == [] and site.requests == []


# --- proxies ------------------------------------------------------------------------------------------------


class LoopbackProxy:
    """A small real HTTP proxy on loopback (GET in absolute form, no CONNECT); it logs each URL it forwards."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.seen.append(self.path)
                target = urlsplit(self.path)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
                upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=30)
                try:
                    upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
                    answer = upstream.getresponse()
                    body = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy() -> Iterator[LoopbackProxy]:
    server = LoopbackProxy()
    yield server
    server.close()


@pytest.fixture
def far_site() -> Iterator[Site]:
    """The loopback site on 127.0.0.2: not covered by the NO_PROXY entry 127.0.0.1, so it can be proxied."""
    server = Site("127.0.0.2")
    yield server
    server.close()


FAR = FetchSettings(allow_hosts=("127.0.0.2",))


def test_fetches_go_through_the_proxy_of_the_environment(far_site: Site, proxy: LoopbackProxy) -> None:
    far_site.routes["/page"] = Route(body=b"<html>via proxy</html>")

    response = _get(FAR, far_site.url("/page"), environ={"HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"})

    assert response.content == b"<html>via proxy</html>"
    assert proxy.seen == [far_site.url("/page")]
    assert far_site.requested() == ["/page"]


@pytest.mark.parametrize(
    ("setting", "environ", "proxied"),
    [
        ("", {"http_proxy": "PROXY", "no_proxy": "127.0.0.2"}, False),  # NO_PROXY names the host
        ("none", {"HTTP_PROXY": "PROXY"}, False),  # [fetch] proxy = "none" overrides the environment
        ("PROXY", {}, True),  # [fetch] proxy names one
        ("", {"HTTPS_PROXY": "PROXY"}, False),  # another scheme's proxy
    ],
)
def test_the_proxy_setting_and_no_proxy_decide_the_route(
    far_site: Site, proxy: LoopbackProxy, setting: str, environ: dict[str, str], proxied: bool
) -> None:
    far_site.routes["/page"] = Route(body=b"<html>x</html>")
    settings = FetchSettings(allow_hosts=FAR.allow_hosts, proxy=setting.replace("PROXY", proxy.url))
    environ = {name: value.replace("PROXY", proxy.url) for name, value in environ.items()}

    _get(settings, far_site.url("/page"), environ=environ)

    assert bool(proxy.seen) == proxied and far_site.requested() == ["/page"]


def test_with_a_proxy_a_forbidden_target_is_refused_before_the_proxy_sees_it(
    far_site: Site, proxy: LoopbackProxy
) -> None:
    far_site.routes["/page"] = Route(body=b"<html>inside</html>")

    with pytest.raises(RefusedAddress):
        _get(FetchSettings(), far_site.url("/page"), environ={"HTTP_PROXY": proxy.url})

    assert proxy.seen == [] and far_site.requests == []


def test_proxy_routes_read_the_environment_as_curl_does() -> None:
    routes = proxy_routes("", {"HTTP_PROXY": "proxy:3128", "https_proxy": "http://p:1", "NO_PROXY": ".corp, ::1,x"})
    assert routes == {
        "http://": "http://proxy:3128",
        "https://": "http://p:1",
        "all://*corp": None,
        "all://[::1]": None,
        "all://*x": None,
    }
    assert proxy_routes("", {"HTTP_PROXY": "http://p:1", "no_proxy": "*"}) == {}
    assert proxy_routes("none", {"HTTP_PROXY": "http://p:1"}) == {}
    assert proxy_routes("", {"http_proxy": "http://lower:1", "HTTP_PROXY": "http://upper:1"}) == {
        "http://": "http://lower:1"
    }


def test_loopback_is_added_to_no_proxy_only_when_a_proxy_is_set() -> None:
    environ = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "corp.example"}
    keep_loopback_off_proxies(environ)
    assert environ["NO_PROXY"] == "corp.example,localhost,127.0.0.1,::1"
    assert environ["no_proxy"] == "localhost,127.0.0.1,::1"
    untouched: dict[str, str] = {}
    keep_loopback_off_proxies(untouched)
    assert untouched == {}


@pytest.mark.usefixtures("prefect_server")
def test_a_run_with_http_proxy_set_fetches_through_it_and_keeps_prefect_off_it(
    far_site: Site, proxy: LoopbackProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    feed = serve_news(far_site, PAGE_IDS[:2])
    config = tmp_path / "newsmon.toml"
    config.write_text(
        f'[warehouse]\npath = "{tmp_path / "wh"}"\n[[feeds]]\nurl = "{feed}"\n'
        '[fetch]\nallow_hosts = ["127.0.0.2"]\ntimeout_seconds = 5.0\n',
        encoding="utf-8",
    )

    assert main(["run", "--config", str(config), "-q"]) == 0

    assert query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0] == 2
    assert proxy.seen and all(url.startswith(f"http://127.0.0.2:{far_site.port}/") for url in proxy.seen), proxy.seen
