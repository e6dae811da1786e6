"""A real HTTP server on loopback that serves feeds and pages built from ../shared/data, with knobs for
ETag/Last-Modified, 304s, redirects, gzip, slowness and failures. It records every request it receives."""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False  # send the body gzip-encoded
    raw_gzip: bytes | None = None  # a pre-made gzip body (a decompression bomb)
    delay: float = 0.0  # seconds before answering
    trickle: float = 0.0  # seconds between two bytes of the body (the headers come at once)
    location: str | None = None  # for 3xx
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]


class Site:
    def __init__(self, address: str = "127.0.0.1") -> None:
        self.address = address
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with site._lock:
                    site.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
                    route = site.routes.get(self.path) or site.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    return self._send(404, b"not found", {"Content-Type": "text/plain"})
                if route.delay:
                    time.sleep(route.delay)
                headers = {"Content-Type": route.content_type, **route.headers}
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                if route.location:
                    headers["Location"] = route.location
                inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                if route.status == 200 and (
                    (route.etag and inm == route.etag)
                    or (route.last_modified and not route.etag and ims == route.last_modified)
                ):
                    return self._send(304, b"", headers)
                body = route.body
                if route.raw_gzip is not None:
                    body, headers["Content-Encoding"] = route.raw_gzip, "gzip"
                elif route.gzip:
                    body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
                self._send(route.status, body, headers, trickle=route.trickle)

            def _send(self, status: int, body: bytes, headers: dict[str, str], *, trickle: float = 0.0) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if body and status != 304 and trickle:
                        for offset in range(len(body)):
                            self.wfile.write(body[offset : offset + 1])
                            self.wfile.flush()
                            time.sleep(trickle)
                    elif body and status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that hangs up (a timeout, a size cap) is part of the tests

        self.server = Server((address, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.address}:{self.port}{path}"

    def requested(self, prefix: str = "/") -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if r.path.startswith(prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rss(title: str, items: list[dict[str, str]], *, ttl: int | None = None) -> bytes:
    """A small RSS 2.0 document; each item may have title, link, guid, description, pubDate."""
    parts = [f"<item>{''.join(f'<{k}>{escape(v)}</{k}>' for k, v in item.items())}</item>" for item in items]
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link><description>test</description>{ttl_tag}"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def http_date(seconds_ago: float = 0) -> str:
    return formatdate(time.time() - seconds_ago, usegmt=True)
