"""A real PostgreSQL server for the tests: Debian's package, a temporary data directory, a loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _binary(name: str) -> str | None:
    for directory in BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the package's `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throw-away server; yields a libpq connection string for its database `newsmon`."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed (Debian's postgresql package; .ci/run installs it)")
    root = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    try:
        subprocess.run(
            _as_postgres([initdb, "-D", str(data), "-U", "newsmon", "--auth=trust", "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                [
                    pg_ctl,
                    "-D",
                    str(data),
                    "-w",
                    "-l",
                    str(root / "log"),
                    "-o",
                    f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        try:
            psql = _binary("psql") or "psql"
            subprocess.run(
                [
                    psql,
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "newsmon",
                    "-d",
                    "postgres",
                    "-c",
                    "CREATE DATABASE newsmon",
                ],
                check=True,
                capture_output=True,
            )
            yield f"dbname=newsmon host=127.0.0.1 port={port} user=newsmon"
        finally:
            subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def new_database(dsn: str) -> str:
    """A fresh database on the server of `dsn` (one per test: each warehouse its own catalog)."""
    import uuid

    fields = dict(part.split("=", 1) for part in dsn.split())
    name = f"t_{uuid.uuid4().hex[:12]}"
    psql = _binary("psql") or "psql"
    subprocess.run(
        [
            psql,
            "-h",
            fields["host"],
            "-p",
            fields["port"],
            "-U",
            fields["user"],
            "-d",
            fields["dbname"],
            "-c",
            f"CREATE DATABASE {name}",
        ],
        check=True,
        capture_output=True,
    )
    return " ".join(f"{k}={name if k == 'dbname' else v}" for k, v in fields.items())
