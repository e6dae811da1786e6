"""The local Prefect server newsmon starts for itself: a child process on loopback, found again through a file.

`newsmon serve` starts a full server (UI, scheduler) and records its address in `<data dir>/prefect/server.json`
so that a `newsmon run` meanwhile reuses it instead of starting one of its own. A `newsmon run` with no server to
reuse starts a bare one (no UI, no services), as Prefect's own temporary server does, but in a session of its
own: Ctrl-C in the terminal reaches newsmon only, which can then stop its run cleanly and the server last, and
nothing outlives newsmon (Prefect's temporary server is stopped by an atexit hook, which SIGTERM skips).

This module imports nothing of Prefect's, so that the server starts while newsmon imports Prefect.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HEALTH_TIMEOUT = 300.0  # seconds: a fresh PREFECT_HOME runs Prefect's migrations first (10-30 s; more when busy)
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL when stopping the server
SERVER_FILE = "server.json"  # under PREFECT_HOME: where `newsmon serve` says which server it runs


class ServerError(RuntimeError):
    """The local Prefect server could not be started."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    """Whether a Prefect API answers its health check (no proxy: the server is on loopback)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{api_url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def alive(pid: int) -> bool:
    """Whether a process of this pid exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discover(home: Path) -> str | None:
    """The API URL of the server a `newsmon serve` runs for this PREFECT_HOME, if it is up."""
    try:
        record = json.loads((home / SERVER_FILE).read_text(encoding="utf-8"))
        url, pid = str(record["api_url"]), int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if alive(pid) and healthy(url, timeout=0.5) else None


@dataclass
class LocalServer:
    """A Prefect server in a child process on loopback. `full`: with the UI and the services schedules need."""

    home: Path
    full: bool = False
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    _log: IO[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalServer:
        """Start the process and return at once; `wait_healthy` waits for it."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        env = {**os.environ, "PREFECT_HOME": str(self.home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        if self.full:
            command = ["-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            # What Prefect's temporary server runs: the API without UI and background services.
            env |= {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
            command = ["-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"]
            command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
        self._log = (self.home / ("server.log" if self.full else "server-run.log")).open("ab")
        self.process = subprocess.Popen(
            [sys.executable, *command],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the terminal's Ctrl-C is for newsmon, which stops the server last
        )
        return self

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> None:
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"the local Prefect server exited with status {self.process.returncode} "
                    f"(see {self.home / ('server.log' if self.full else 'server-run.log')})"
                )
            if healthy(self.api_url, timeout=1.0):
                return
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"the local Prefect server did not answer within {timeout:.0f} s")

    def advertise(self) -> None:
        """Record this server for `newsmon run` to reuse (see `discover`)."""
        assert self.process is not None
        record = {"api_url": self.api_url, "ui_url": self.ui_url, "pid": self.process.pid}
        path = self.home / SERVER_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        temporary.replace(path)

    def stop(self) -> None:
        """Stop the server and everything it started (its process group); forget the advertisement."""
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(OSError):
                record = json.loads((self.home / SERVER_FILE).read_text(encoding="utf-8"))
                if record.get("pid") == process.pid:
                    (self.home / SERVER_FILE).unlink()
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever the server started and left behind
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Api:
    """Where the Prefect API of this process is; `url()` waits for a server newsmon started to be healthy."""

    server: LocalServer | None = None
    known: str | None = None

    def url(self) -> str | None:
        if self.server is not None:
            self.server.wait_healthy()
            return self.server.api_url
        return self.known


def _configured_api() -> str | None:
    """An API set by the user (PREFECT_API_URL) or, once Prefect is imported, by its settings (a test harness)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    if "prefect.settings" in sys.modules:
        from prefect.settings import PREFECT_API_URL

        value = PREFECT_API_URL.value()
        return str(value) if value else None
    return None


@contextlib.contextmanager
def prefect_api(home: Path) -> Iterator[Api]:
    """The Prefect API a one-off run uses: the configured one, else the server `newsmon serve` runs for this
    PREFECT_HOME, else a bare server of its own, started now (it comes up while the caller imports Prefect)
    and stopped on the way out, also after a signal."""
    from flows import interrupt

    configured = _configured_api()
    if configured:
        yield Api(known=configured)
        return
    served = discover(home)
    if served:
        yield Api(known=served)
        return
    server = LocalServer(home).start()
    interrupt.on_exit(server.stop)
    try:
        yield Api(server=server)
    finally:
        server.stop()
