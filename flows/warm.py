"""`newsmon run` through the warm starter of `newsmon serve`: the run without importing Prefect in this process.

`import prefect` alone takes 2.4-3.9 s on the project's machine, longer than the rest of an idle run. While
`newsmon serve` runs, its starter (flows/starter.py) holds Prefect and the ingest flow imported; a `newsmon run`
hands it its arguments, working directory, environment and terminal (stdin, stdout, stderr, as file
descriptors), the starter forks a child that runs exactly what `newsmon run` runs, and this process forwards
Ctrl-C and SIGTERM to that child and exits with its status. Whatever fails before the child exists (no starter,
a stale socket, another Prefect API) falls back to the run in this process.

This module imports nothing of Prefect's: it is the whole point.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from flows.server import alive

NO_STARTER = "NEWSMON_NO_STARTER"  # set (non-empty): `newsmon run` runs in its own process, as before the starter
STARTER_FILE = "starter.json"  # under PREFECT_HOME: the starter's pid, socket and Prefect API
SOCKET_NAME = "starter.sock"  # under PREFECT_HOME
CONNECT_TIMEOUT = 1.0  # seconds to connect and to hear the child's pid: a live starter answers in milliseconds
STOP_TIMEOUT = 8.0  # seconds between SIGTERM and SIGKILL when serve stops its starter (its runs stop within 5 s)
HEADER = struct.Struct("!I")  # a request is its length, then that much JSON
MAX_REQUEST = 1 << 20  # bytes: an environment is a few kilobytes; anything larger is not a client of ours


def find(home: Path) -> dict[str, Any] | None:
    """The record of the live starter for this PREFECT_HOME, if there is one."""
    try:
        record = json.loads((home / STARTER_FILE).read_text(encoding="utf-8"))
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if isinstance(record, dict) and alive(pid) else None


@contextlib.contextmanager
def _in_directory(directory: Path) -> Iterator[None]:
    """A Unix socket's path is limited to ~107 bytes: both ends use the name relative to PREFECT_HOME."""
    before = os.open(".", os.O_RDONLY)
    try:
        os.chdir(directory)
        yield
    finally:
        os.fchdir(before)
        os.close(before)


def connect(home: Path, timeout: float = CONNECT_TIMEOUT) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        with _in_directory(home):
            sock.connect(SOCKET_NAME)
    except BaseException:
        sock.close()
        raise
    return sock


def encode(request: Mapping[str, Any]) -> bytes:
    body = json.dumps(request).encode("utf-8")
    return HEADER.pack(len(body)) + body


@dataclass
class _Forwarder:
    """Ctrl-C and SIGTERM for the child: forwarded as they come, or once its pid is known."""

    pid: int | None = None
    pending: list[int] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.pid is None:
            self.pending = [*(self.pending or []), signum]
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def started(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending or []:
            self(signum, None)


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(f"newsmon: {text}", file=sys.stderr, flush=True)


def run(home: Path, args: Mapping[str, Any], *, verbose: bool = False) -> int | None:
    """Run `newsmon run` with these arguments in a child of serve's starter and return its exit status; None
    when there is no starter to use (the caller runs it itself)."""
    if os.environ.get(NO_STARTER):
        return None
    record = find(home)
    if record is None:
        return None  # the usual case without serve: nothing to say
    configured = os.environ.get("PREFECT_API_URL")
    if configured and configured != record.get("api_url"):
        _say(verbose, f"serve's warm starter uses another Prefect API ({record.get('api_url')}): running here")
        return None
    forward = _Forwarder()
    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            sock = connect(home)
        except OSError as exc:
            _say(verbose, f"serve's warm starter does not answer ({exc}): running here")
            return None
        with sock:
            request = {
                "args": dict(args),
                "cwd": os.getcwd(),
                "env": dict(os.environ),
                "encodings": [getattr(sys.stdout, "encoding", None), getattr(sys.stderr, "encoding", None)],
            }
            try:
                socket.send_fds(sock, [encode(request)], [0, 1, 2])
                replies = sock.makefile("rb")
                pid = int(json.loads(replies.readline())["pid"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                _say(verbose, f"serve's warm starter did not take the run ({exc}): running here")
                return None
            forward.started(pid)
            _say(verbose, f"running through newsmon serve's warm starter (process {pid})")
            sock.settimeout(None)  # the run takes as long as it takes; signals are forwarded meanwhile
            return _status(replies, pid)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if forward.pid is None and forward.pending:  # a Ctrl-C while falling back: for this process, then
            signal.raise_signal(forward.pending[0])


def _status(replies: Any, pid: int) -> int:
    try:
        line = replies.readline()
        return int(json.loads(line)["status"])
    except (OSError, ValueError, KeyError, TypeError):
        while alive(pid):  # the starter is gone (killed): the child, if still there, is ours to wait for
            time.sleep(0.1)
        print("newsmon: lost the warm starter of newsmon serve during the run", file=sys.stderr)
        return 1


@dataclass
class Starter:
    """serve's side: the starter process, started once serve's Prefect API is up, stopped when serve stops."""

    home: Path
    api_url: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Starter:
        env = {**os.environ, "PREFECT_API_URL": self.api_url}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.starter", str(self.home), self.api_url],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # serve's Ctrl-C is not for the runs of other terminals; serve stops it
        )
        return self

    def stop(self) -> None:
        """Stop the starter and the runs it is running (they stop as on Ctrl-C), and its process group."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left in its group (its runs' children)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=1.0)
        with contextlib.suppress(OSError, ValueError):
            record = json.loads((self.home / STARTER_FILE).read_text(encoding="utf-8"))
            if record.get("pid") == process.pid:  # the starter removes it itself; not when it was killed
                (self.home / STARTER_FILE).unlink()
                (self.home / SOCKET_NAME).unlink(missing_ok=True)
