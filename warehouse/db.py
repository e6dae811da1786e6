"""The warehouse connection: a DuckLake (catalog + Parquet data path), its extensions and its migrations.

Why DuckLake (docs/storage.md): a DuckDB file has one read-write process or any number of read-only ones, so
an analyst's read-only session locked every run out. A DuckLake keeps its catalog in SQLite (embedded, in WAL
mode) or PostgreSQL (many machines) and its rows in Parquet files: readers and writers in any number of
processes each see a snapshot, a transaction is one snapshot, and concurrent writers are reconciled by
DuckLake's own optimistic concurrency.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, TypeVar

import duckdb

MIGRATIONS = importlib.resources.files("warehouse") / "migrations"
CATALOG_NAME = "newsmon"  # the name the warehouse is attached under, in newsmon and in analysts' sessions
# DuckDB's memory limit for newsmon's own connections, set deliberately: a run's statements touch one batch,
# and the extraction workers need the rest of a small machine. Analysts' sessions keep DuckDB's default.
# bench/ingest.py --pages 10000 --passes 1, one run each: the main process peaked at 719 MiB with 1GB, 620 MiB
# with 512MB (issue 12's bound: 700); larger sorts (compact_index, migrations' rewrites) spill to <lake>/tmp.
PIPELINE_MEMORY_LIMIT = "512MB"
# Optimistic concurrency: a transaction whose commit DuckLake could not reconcile with a concurrent writer's
# (two writers deleting from one data file: both updating the feeds table) is run again from the start.
COMMIT_ATTEMPTS = 8
COMMIT_BACKOFF_SECONDS = 0.2

T = TypeVar("T")


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or migrated."""


@dataclass(frozen=True)
class WarehouseSpec:
    """Where the warehouse lives: a catalog and a data path.

    `catalog` None is the embedded default: a SQLite catalog in `directory`/catalog.sqlite. Otherwise a
    DuckLake catalog string such as "postgres:dbname=newsmon host=db.example.org" (many machines share it).
    `legacy_file` is the DuckDB file of releases before DuckLake, upgraded into the lake on first connect."""

    directory: Path
    catalog: str | None = None
    data_path: str | None = None
    legacy_file: Path | None = None

    @property
    def catalog_file(self) -> Path:
        return self.directory / "catalog.sqlite"

    @property
    def data(self) -> str:
        path = self.data_path or str(self.directory / "data")
        return path if path.endswith("/") else path + "/"

    @property
    def attach_target(self) -> str:
        return f"ducklake:{self.catalog}" if self.catalog else f"ducklake:sqlite:{self.catalog_file}"

    @property
    def embedded(self) -> bool:
        return self.catalog is None

    @property
    def is_new(self) -> bool:
        """An embedded warehouse not made yet (its first connect creates it); False when the catalog is elsewhere."""
        return self.embedded and not self.catalog_file.exists() and not (self.legacy_file and self.legacy_file.exists())


def spec_for(path: str | Path | WarehouseSpec) -> WarehouseSpec:
    """The warehouse at `path`: a directory, or (configurations of earlier releases) the old DuckDB file,
    whose lake is then the directory of the same name without `.duckdb`."""
    if isinstance(path, WarehouseSpec):
        return path
    path = Path(path)
    if path.suffix == ".duckdb":
        return WarehouseSpec(directory=path.with_suffix(""), legacy_file=path)
    return WarehouseSpec(directory=path)


# --- extensions ---------------------------------------------------------------------------------------------

# DuckDB extensions ship as registry packages (never downloaded at run time); a file loads only in the exact
# DuckDB version it was built for, so each package is pinned to duckdb's version in pyproject.toml.
_EXTENSION_PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
}


def extension_path(name: str) -> Path:
    """The file of a DuckDB extension installed as a Python package."""
    try:
        package = importlib.import_module(_EXTENSION_PACKAGES[name])
    except ImportError as exc:
        raise WarehouseError(f"the DuckDB extension {name} is not installed ({exc})") from exc
    path = Path(str(package.__file__)).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise WarehouseError(f"the {name} extension for DuckDB {duckdb.__version__} is not installed ({path})")
    return path


def attach_statements(spec: WarehouseSpec, *, read_only: bool) -> list[str]:
    """The SQL that makes a bare DuckDB session (any client of this DuckDB version) see the warehouse."""
    catalog_extension = "sqlite_scanner" if spec.embedded else "postgres_scanner"
    options = [f"DATA_PATH '{spec.data}'"] + (["READ_ONLY"] if read_only else [])
    if spec.embedded and spec.data_path is None:
        # The embedded lake's data lives in its own directory, wherever that has been moved or copied to.
        options.append("OVERRIDE_DATA_PATH true")
    return [
        f"LOAD '{extension_path('ducklake')}'",
        f"LOAD '{extension_path(catalog_extension)}'",
        f"ATTACH '{spec.attach_target}' AS {CATALOG_NAME} ({', '.join(options)})",
        f"USE {CATALOG_NAME}",
    ]


# --- connecting -----------------------------------------------------------------------------------------------


def _prepare_embedded(spec: WarehouseSpec) -> None:
    """Create the directory and the SQLite catalog in WAL mode: a reader's open transaction then never makes
    a writer's commit fail (in SQLite's default journal mode it does: "database is locked")."""
    spec.directory.mkdir(parents=True, exist_ok=True)
    Path(spec.data).mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(spec.catalog_file) as catalog:
        if catalog.execute("PRAGMA journal_mode").fetchone() != ("wal",):
            catalog.execute("PRAGMA journal_mode=WAL")


def _open(spec: WarehouseSpec, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    if spec.embedded:
        if read_only and not spec.catalog_file.exists():
            raise WarehouseError(f"no warehouse at {spec.directory} yet (run `newsmon run` first)")
        if not read_only:
            _prepare_embedded(spec)
    elif not read_only and "://" not in spec.data:
        Path(spec.data).mkdir(parents=True, exist_ok=True)  # a shared local or network path
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        con = duckdb.connect(":memory:")
        try:
            for statement in attach_statements(spec, read_only=read_only):
                con.execute(statement)
            break
        except duckdb.Error as exc:
            con.close()
            # Two first runs on a new PostgreSQL catalog both create DuckLake's tables; the one that loses
            # ("duplicate key value", or "relation … already exists") attaches again, to the other's lake.
            text = str(exc)
            lost = "Failed to initialize DuckLake" in text and (
                "duplicate key value" in text or "already exists" in text
            )
            if not lost or attempt == COMMIT_ATTEMPTS:
                _attach_failed(spec, exc, read_only=read_only)
            time.sleep(COMMIT_BACKOFF_SECONDS * attempt)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _attach_failed(spec: WarehouseSpec, exc: duckdb.Error, *, read_only: bool) -> NoReturn:
    if read_only and "creating a new DuckLake is explicitly disabled" in str(exc):
        # The catalog file is there but no run finished creating the lake in it yet.
        raise WarehouseError(f"no warehouse at {spec.directory} yet (run `newsmon run` first)") from exc
    raise WarehouseError(f"cannot open the warehouse {spec.attach_target}: {exc}") from exc


def require_warehouse(path: str | Path | WarehouseSpec) -> WarehouseSpec:
    """The warehouse's spec, or a WarehouseError when there is none yet: for the commands that only make sense on
    one (a mistyped path must not leave an empty warehouse behind it). A PostgreSQL catalog is not checked."""
    spec = spec_for(path)
    if spec.is_new:
        raise WarehouseError(f"no warehouse at {spec.directory} yet (run `newsmon run` first)")
    return spec


def connect(
    path: str | Path | WarehouseSpec, *, read_only: bool = False, create: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open (creating, upgrading and migrating if needed) the warehouse; read_only for analysts' sessions.

    create=False: a WarehouseError instead of a new warehouse when there is none yet (`require_warehouse`)."""
    spec = spec_for(path) if create else require_warehouse(path)
    con = _open(spec, read_only=read_only)
    if read_only:
        return con
    # The pipeline's writes are small batches: one thread is enough, and leaves the cores to the extraction
    # workers. Analysts' own connections keep DuckDB's defaults.
    con.execute("SET threads = 1")
    con.execute(f"SET memory_limit = '{PIPELINE_MEMORY_LIMIT}'")
    # DuckDB keeps the Parquet bytes it read in its own cache, up to the memory limit; the lake's files are
    # local (or the OS caches them), and a long run reads every batch's new files: without it the main process
    # of a 10,000-page run peaked at 719 MiB instead of 767 MiB (bench/ingest.py, one run each, docs/scale.md).
    con.execute("SET enable_external_file_cache = false")
    if spec.embedded:
        # What a sort beyond the memory limit spills (compact_index, 0010's rewrite of the articles): beside
        # the lake, not in a `.tmp` of whatever directory newsmon was started from (DuckDB's default).
        con.execute(f"SET temp_directory = '{spec.directory / 'tmp'}'")
    try:
        migrate(con)
        if spec.legacy_file is not None and spec.legacy_file.is_file():
            from warehouse.upgrade import upgrade_legacy

            upgrade_legacy(con, spec.legacy_file)
    except BaseException:
        con.close()
        raise
    return con


# --- migrations -----------------------------------------------------------------------------------------------


# The migration that creates the marks table (warehouse/marks.py), which every later migration empties.
MARKS_MIGRATION = 17


@functools.cache
def latest_migration() -> int:
    """The schema version this code writes: its last migration's number (read from the files once)."""
    return _migrations()[-1][0]


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for item in MIGRATIONS.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, item.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded in schema_migrations, in as few transactions as DuckLake allows.

    Two processes opening a new warehouse at once both try; the one whose commit conflicts reads what the
    other applied and goes on from there."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            return _migrate_once(con)
        except duckdb.TransactionException as exc:
            if attempt == COMMIT_ATTEMPTS or not _is_conflict(exc):
                raise WarehouseError(f"the warehouse's migrations failed: {exc}") from exc
            time.sleep(COMMIT_BACKOFF_SECONDS * attempt)
    raise AssertionError("unreachable")


def _groups(pending: list[tuple[int, str, str]]) -> list[list[tuple[int, str, str]]]:
    """The pending migrations in as few transactions as DuckLake allows: it refuses a table option
    (`set_option`) on a table created in the same transaction, so a migration that sets one starts a new
    transaction. A new warehouse opens in 3 transactions instead of one per migration (10): 0.72 -> 0.56 s."""
    groups: list[list[tuple[int, str, str]]] = []
    for migration in pending:
        if not groups or "set_option(" in migration[2]:
            groups.append([])
        groups[-1].append(migration)
    return groups


def _migrate_once(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for group in _groups([m for m in _migrations() if m[0] not in applied]):
        name = group[0][1]
        try:
            with transaction(con):
                changed = False
                for version, name, sql in group:
                    # Read again inside the transaction: a process that began after another's commit of this
                    # migration sees it here (its CREATE TABLE would fail on the table the other made).
                    if con.execute("SELECT 1 FROM schema_migrations WHERE version = ?", [version]).fetchone():
                        continue
                    con.execute(sql)
                    con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, datetime.now(UTC)])
                    done.append(name)
                    changed = True
                if changed and max(applied | {v for v, _, _ in group}) >= MARKS_MIGRATION:
                    # A migration may add rows or columns that a mark calls settled (warehouse/marks.py): all
                    # are checked again. In the migration's transaction: a crash or a conflict cannot skip it.
                    con.execute("DELETE FROM marks")
        except duckdb.TransactionException:
            raise  # a concurrent writer's commit: migrate() runs it again
        except duckdb.Error as exc:
            raise WarehouseError(f"migration {name} failed: {exc}") from exc
    return done


# --- transactions ---------------------------------------------------------------------------------------------


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless the failed COMMIT already did."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException as exc:
        if "no transaction is active" not in str(exc):
            raise


@dataclass
class CommitClock:
    """Time this process spent in COMMIT (writing the lake's snapshot), for the benchmarks and the report."""

    commits: int = 0
    seconds: float = 0.0
    retries: int = 0


COMMITS = CommitClock()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a run killed inside leaves no trace of the block. One block is one lake snapshot."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        _rollback(con)
        raise
    started = time.perf_counter()
    try:
        con.execute("COMMIT")
    finally:
        COMMITS.commits += 1
        COMMITS.seconds += time.perf_counter() - started


def _is_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "conflict" in text or "retry" in text or "database is locked" in text


def in_transaction(
    con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T], *, keyed: bool = True
) -> T:
    """Run `work` in one transaction; run it again when the commit lost against a concurrent writer.

    DuckLake reconciles most concurrent commits itself, but appends never conflict, so two writers could
    add the same key. A `keyed` transaction (one that adds rows only if their key is absent) also rewrites
    the one row of write_turns: of two such transactions committing at once, DuckLake fails the later one,
    which then runs again, reads the other's rows and adds no key twice. With the SQLite catalog the later
    commit fails as "database is locked" instead, and is run again the same way."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            with transaction(con):
                result = work(con)
                if keyed:
                    con.execute("UPDATE write_turns SET commits = commits + 1, last_commit_at = ?", [datetime.now(UTC)])
                return result
        except duckdb.TransactionException as exc:
            if attempt == COMMIT_ATTEMPTS or not _is_conflict(exc):
                raise
            COMMITS.retries += 1
            time.sleep(COMMIT_BACKOFF_SECONDS * attempt)
    raise AssertionError("unreachable")


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """DuckLake's maintenance: merge the small Parquet files each commit writes, expire old snapshots.

    Snapshots (and the files only they use) are kept for a day, so an analyst's session that holds an old
    snapshot keeps reading it."""
    con.execute(f"CALL {CATALOG_NAME}.set_option('expire_older_than', '1 day')")
    con.execute(f"CALL {CATALOG_NAME}.set_option('delete_older_than', '1 day')")
    con.execute("CHECKPOINT")


def file_count(con: duckdb.DuckDBPyConnection) -> int:
    """Parquet data and delete files in the current snapshot, all tables (what `checkpoint` merges)."""
    meta = f"__ducklake_metadata_{CATALOG_NAME}"
    row = con.execute(
        f"SELECT (SELECT count(*) FROM {meta}.ducklake_data_file WHERE end_snapshot IS NULL)"
        f" + (SELECT count(*) FROM {meta}.ducklake_delete_file WHERE end_snapshot IS NULL)"
    ).fetchone()
    return int(row[0]) if row else 0


# Each committed batch writes a few small Parquet files (articles, entries' delete files, bands, alerts); past
# this many, a run ends with a CHECKPOINT that merges them. Measured: a run storing 600 pages in 6 batches left
# 27 live files (bench/concurrency.py's warehouse); a small run adds a few (its runs and feeds rows). So a
# warehouse polled every 30 minutes compacts roughly once a day: an estimate from that count, not a measurement.
MAINTENANCE_FILES = 400


def maintain(con: duckdb.DuckDBPyConnection) -> bool:
    """Compact when the small files have piled up; True when it did. Never fails a run: a CHECKPOINT that
    loses against a concurrent writer is simply left for the next run."""
    if file_count(con) < MAINTENANCE_FILES:
        return False
    try:
        checkpoint(con)
    except duckdb.TransactionException as exc:
        if not _is_conflict(exc):
            raise
        return False
    return True
