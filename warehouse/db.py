"""The DuckDB connection and its migrations."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

MIGRATIONS = importlib.resources.files("warehouse") / "migrations"


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or migrated."""


def fts_extension_path() -> Path:
    """The full-text-search extension shipped by the duckdb-extension-fts package (never downloaded)."""
    import duckdb_extension_fts

    root = Path(duckdb_extension_fts.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    path = root / "fts.duckdb_extension"
    if not path.exists():
        raise WarehouseError(f"the FTS extension for DuckDB {duckdb.__version__} is not installed ({path})")
    return path


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for item in MIGRATIONS.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, item.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded in schema_migrations, each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for version, name, sql in _migrations():
        if version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, datetime.now(UTC)])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {name} failed: {exc}") from exc
        done.append(name)
    return done


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the warehouse at `path`."""
    path = Path(path)
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseError(
                f"the warehouse {path} is in use by another process (DuckDB allows one writer at a time); "
                "run again when it has finished"
            ) from exc
        raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from exc
    except (OSError, duckdb.Error) as exc:
        raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        # The pipeline's writes are small batches: one thread is enough, and leaves the cores to the
        # extraction workers. Analysts' own connections keep DuckDB's default.
        con.execute("SET threads = 1")
    if not read_only:
        migrate(con)
    return con


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    """Load full-text search (BM25) from the installed package."""
    con.execute(f"LOAD '{fts_extension_path()}'")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a run killed inside leaves no trace of the block."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
