"""serve's warm starter: Prefect and the ingest flow imported once, a forked child per `newsmon run` (flows/warm.py).

Run by `newsmon serve` as `python -m flows.starter PREFECT_HOME API_URL`. It imports what a run needs, listens on
`<PREFECT_HOME>/starter.sock` (recorded with its pid in `starter.json`, both removed on exit) and, for each
request, forks. The child takes the client's stdin, stdout and stderr, working directory and environment, makes
Prefect read its settings and set up its logging again from that environment (Prefect reads both when it is
imported), and runs `newsmon run` as the client's own process would. The parent reaps the child and sends its
exit status to the client, so the client exits only once the child is gone.

Fork safety: the parent forks with one thread (asserted), no event loop, no Prefect client, no DuckDB
connection; Prefect resets its own thread and service registries after a fork. The native threads that
importing pyarrow and DuckDB start (jemalloc's background thread, a pool) belong to libraries with fork handlers.

This module imports nothing heavy at its top: the extraction workers of a child import it again as their
`__main__` (multiprocessing does so for the module a process was started with).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import json
import os
import select
import signal
import socket
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from flows.warm import HEADER, MAX_REQUEST, SOCKET_NAME, STARTER_FILE, _in_directory

REQUEST_TIMEOUT = 5.0  # seconds for a client to send its request once connected
TICK = 1.0  # seconds between two checks that serve, the parent, is still there


# What an idle run imports on its way beyond flows.ingest's imports (listed from sys.modules after one, in a child
# of the starter): Prefect serialises the flow's parameters with fastapi's encoder, the run opens the warehouse
# through pyarrow.dataset, ... 0.9 s of an idle run's 2.5 s in the child when left to the run (cProfile).
RUN_IMPORTS = (
    "anyio._backends._asyncio",
    "encodings.idna",
    "fastapi",
    "fastapi.encoders",
    "http.cookies",
    "opentelemetry._logs",
    "opentelemetry.metrics",
    "prefect.flow_engine",
    "prefect.logging.configuration",
    "prefect.task_engine",
    "prefect.utilities.visualization",
    "pyarrow.compute",
    "pyarrow.dataset",
    "pydantic.color",
    "pytz",
    "rich._emoji_codes",
)


def import_what_a_run_needs() -> None:
    """Everything a `newsmon run` imports on its way, the lazy imports of an idle run included (also used by a run
    in its own process while its local Prefect server starts)."""
    import flows.cli
    import flows.ingest  # noqa: F401

    for name in RUN_IMPORTS:
        with contextlib.suppress(ImportError):  # (an optional module of some version)
            importlib.import_module(name)


class _Child(Exception):
    """Raised in a forked child to leave the accept loop (never seen by the parent)."""


def _recv_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    conn.settimeout(REQUEST_TIMEOUT)
    data, fds, _flags, _address = socket.recv_fds(conn, 1 << 16, 3)
    try:
        if len(data) < HEADER.size:
            raise ValueError("short request")
        (length,) = HEADER.unpack_from(data)
        if length > MAX_REQUEST:
            raise ValueError("request too large")
        body = bytearray(data[HEADER.size :])
        while len(body) < length:
            chunk = conn.recv(length - len(body))
            if not chunk:
                raise ValueError("truncated request")
            body += chunk
        request = json.loads(bytes(body))
        if len(fds) != 3 or not isinstance(request, dict):
            raise ValueError("a request is a JSON object and three file descriptors")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return request, fds


def _same_user(conn: socket.socket) -> bool:
    if not hasattr(socket, "SO_PEERCRED"):
        return True  # the socket file's 0600 mode is the guard there
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    _pid, uid, _gid = (int.from_bytes(creds[i : i + 4], sys.byteorder) for i in (0, 4, 8))
    return uid == os.getuid()


class Starter:
    def __init__(self, home: Path, api_url: str) -> None:
        self.home = home
        self.api_url = api_url
        self.parent = os.getppid()
        self.children: dict[int, socket.socket] = {}
        self.stopping = False
        self.wake_r, self.wake_w = socket.socketpair()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def listen(self) -> None:
        for end in (self.wake_r, self.wake_w):
            end.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno())
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._signal)
        with _in_directory(self.home):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(SOCKET_NAME)  # a starter killed before it could clean up
            umask = os.umask(0o177)  # 0600: the socket runs code as this user
            try:
                self.listener.bind(SOCKET_NAME)
            finally:
                os.umask(umask)
        self.listener.listen(16)
        record = {"pid": os.getpid(), "socket": str(self.home / SOCKET_NAME), "api_url": self.api_url}
        temporary = self.home / (STARTER_FILE + ".tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        temporary.replace(self.home / STARTER_FILE)

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGCHLD:
            self.stopping = True

    def serve(self) -> None:
        """Accept requests until SIGTERM/SIGINT or until serve is gone; raises _Child in a forked child."""
        while not self.stopping and os.getppid() == self.parent:
            ready, _, _ = select.select([self.listener, self.wake_r], [], [], TICK)
            if self.wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    self.wake_r.recv(4096)
            self._reap()
            if self.listener in ready and not self.stopping:
                self._accept()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            if not _same_user(conn):
                raise PermissionError("a client of another user")
            request, fds = _recv_request(conn)
        except (OSError, ValueError) as exc:
            print(f"newsmon starter: request refused: {exc}", file=sys.stderr, flush=True)
            conn.close()
            return
        assert threading.active_count() == 1, "the starter forks with one thread only"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            raise _Child(conn, request, fds)
        for fd in fds:
            os.close(fd)
        self.children[pid] = conn
        try:
            conn.settimeout(REQUEST_TIMEOUT)
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except OSError:
            pass  # the client left; the run goes on and its status is dropped

    def _reap(self) -> None:
        while self.children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(wait_status)
            conn = self.children.pop(pid, None)
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"status": code if code >= 0 else 128 - code}).encode() + b"\n")
                conn.close()

    def shut_down(self) -> None:
        """Stop the runs in progress as Ctrl-C would (they stop within 5 s), report them, forget the socket."""
        self.listener.close()
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for pid in list(self.children):
            with contextlib.suppress(ChildProcessError):
                _, wait_status = os.waitpid(pid, 0)
                code = os.waitstatus_to_exitcode(wait_status)
                with contextlib.suppress(OSError):
                    self.children[pid].sendall(json.dumps({"status": code if code >= 0 else 128 - code}).encode())
            self.children.pop(pid).close()
        with contextlib.suppress(OSError, ValueError):
            if json.loads((self.home / STARTER_FILE).read_text(encoding="utf-8")).get("pid") == os.getpid():
                (self.home / STARTER_FILE).unlink()
                (self.home / SOCKET_NAME).unlink(missing_ok=True)

    def close_in_child(self, mine: socket.socket) -> None:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sock in (self.listener, self.wake_r, self.wake_w, mine, *self.children.values()):
            sock.close()
        self.children.clear()


def _become_client(request: dict[str, Any], fds: list[int]) -> None:
    """This forked process takes the client's place: its terminal, directory, environment, Prefect settings."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    encodings = request.get("encodings") or [None, None]
    for stream, encoding in zip((sys.stdout, sys.stderr), encodings, strict=False):
        if isinstance(stream, io.TextIOWrapper):
            # As Python sets its streams up at start: line-buffered on a terminal (stderr always).
            line_buffering = stream is sys.stderr or os.isatty(stream.fileno())
            stream.reconfigure(line_buffering=line_buffering)
            if encoding and encoding != stream.encoding:
                with contextlib.suppress(OSError, LookupError):  # (changing it seeks: not on a pipe)
                    stream.reconfigure(encoding=encoding)
    import prefect.context
    import prefect.logging.configuration

    # Prefect reads its settings and sets its logging up when it is imported, from the starter's environment
    # then: both again, from the client's (its PREFECT_LOGGING_LEVEL, PREFECT_API_URL, PREFECT_LOGGING_TO_API_*).
    prefect.context.refresh_global_settings_context()
    prefect.logging.configuration.setup_logging(incremental=False)


def _run_child(request: dict[str, Any], fds: list[int]) -> int:
    from flows import cli

    try:
        _become_client(request, fds)
    except Exception as exc:  # noqa: BLE001 - the client hears of it on its own stderr, and exits 1
        print(f"newsmon: serve's warm starter could not start the run: {exc}", file=sys.stderr)
        return cli.EXIT_FAILED
    return cli.run_in_this_process(request["args"])


def main(argv: list[str]) -> int:
    home, api_url = Path(argv[0]), argv[1]
    import_what_a_run_needs()
    starter = Starter(home, api_url)
    try:
        starter.listen()
        starter.serve()
    except _Child as child:
        conn, request, fds = child.args
        starter.close_in_child(conn)
        status = 1
        try:
            status = _run_child(request, fds)
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
                atexit._run_exitfuncs()  # what the interpreter's exit would run (Prefect drains its services)
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(status)
    finally:
        if os.getpid() == starter_pid:
            starter.shut_down()
    return 0


starter_pid = os.getpid()

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
