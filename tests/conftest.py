from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Prefect reads these when it is first imported: no telemetry, room for the first migrations.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
# newsmon's cache (py3langid's model, flows/langid_cache.py) in the project's ignored data/, not the user's home.
os.environ.setdefault("NEWSMON_CACHE_DIR", str(Path(__file__).resolve().parents[1] / "data" / "cache"))

from tests.site import Site

# The shared real-world fixtures sit beside the project root (../shared/data); NEWSMON_SHARED_DATA may point
# elsewhere.
SHARED = Path(os.environ.get("NEWSMON_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
EXTRACTION = SHARED / "extraction" / "scrapinghub"
FEEDS = SHARED / "feeds"


def ground_truth() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads((EXTRACTION / "ground-truth.json").read_text(encoding="utf-8"))
    return data


def page_html(page_id: str) -> bytes:
    return gzip.decompress((EXTRACTION / "html" / f"{page_id}.html.gz").read_bytes())


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One embedded Prefect API for the whole session (its first start runs Prefect's migrations)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """One real PostgreSQL server for the session (skips where PostgreSQL is not installed)."""
    from tests.postgres import postgres_server

    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(params=["embedded", "postgres"])
def catalog(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on each storage: the embedded SQLite catalog, and a PostgreSQL catalog of its own."""
    if request.param == "postgres":
        from tests.helpers import CATALOG_ENV
        from tests.postgres import new_database

        monkeypatch.setenv(CATALOG_ENV, "postgres:" + new_database(request.getfixturevalue("postgres")))
    return str(request.param)


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()
