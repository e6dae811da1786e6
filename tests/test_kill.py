"""A run killed midway (SIGKILL, no clean-up) and restarted ends with exactly the right rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import CATALOG_ENV, PAGE_IDS, query, run, serve_news, write_config
from tests.site import Site

pytestmark = pytest.mark.usefixtures("prefect_server")

CONTENT = "SELECT url, title, source, text, feed_url, entry_link, fetched_url FROM articles ORDER BY url"


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _descendants(pid: int) -> set[int]:
    """The processes started by `pid`, their children and so on (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_run_killed_midway_and_restarted_ends_with_exactly_the_right_rows(
    site: Site, tmp_path: Path, catalog: str
) -> None:
    from prefect.settings import PREFECT_API_URL

    feed = serve_news(site)
    for page_id in PAGE_IDS[4:]:
        site.routes[f"/news/{page_id}"].delay = 60  # the third batch hangs: the kill lands in the middle
    config = write_config(tmp_path, [feed], "batch_size = 2\n")
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    command = [sys.executable, "-m", "flows.cli", "run", "--config", str(config), "-q"]
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parents[1])
    try:
        assert _wait_for(lambda: site.requested(f"/news/{PAGE_IDS[4]}"), 120), "the run never reached batch 3"
        time.sleep(3)  # batch 2 is extracted and committed meanwhile
        workers = _descendants(process.pid)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert workers, "the run had started its extraction workers"
    # No clean-up runs after SIGKILL: the workers must notice on their own and not linger holding memory.
    assert _wait_for(lambda: not any(_alive(pid) for pid in workers), 15), "extraction workers outlived the run"

    partial = query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0]
    assert 0 < partial < len(PAGE_IDS)
    assert query(tmp_path, "SELECT count(*) FROM runs WHERE finished_at IS NULL")[0][0] == 1

    for page_id in PAGE_IDS[4:]:
        site.routes[f"/news/{page_id}"].delay = 0
    site.requests.clear()
    report = run(config)

    assert report.articles_stored == len(PAGE_IDS) - partial
    assert len(site.requested("/news/")) == len(PAGE_IDS) - partial  # what was stored is not fetched again
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    lake_catalog = os.environ.pop(CATALOG_ENV, None)  # the reference is an embedded warehouse of its own
    run(write_config(reference_dir, [feed]))
    reference = query(reference_dir, CONTENT)
    if lake_catalog:
        os.environ[CATALOG_ENV] = lake_catalog
    assert query(tmp_path, CONTENT) == reference
    assert query(tmp_path, "SELECT state, count(*) FROM entries GROUP BY state") == [("stored", len(PAGE_IDS))]
    assert query(tmp_path, "SELECT count(*) FROM page_failures")[0][0] == 0
