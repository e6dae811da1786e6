"""One ingest of a configuration at a time, across real processes (flows/lock.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.lock import Busy, ingest_lock, lock_path
from tests.helpers import PAGE_IDS, query, serve_news, write_config
from tests.site import Site
from tests.test_kill import _wait_for

ROOT = Path(__file__).resolve().parents[1]


def _newsmon(config: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "run", "--config", str(config), *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


@pytest.mark.usefixtures("prefect_server")
def test_a_second_run_of_the_same_configuration_waits_or_says_so_and_every_article_is_stored_once(
    site: Site, tmp_path: Path
) -> None:
    feed = serve_news(site)
    for page_id in PAGE_IDS:
        site.routes[f"/news/{page_id}"].delay = 1.5  # the first run is still at work when the others start
    config = write_config(tmp_path, [feed], "batch_size = 2\n")
    first = _newsmon(config, tmp_path / "first.txt", "-q")
    try:
        assert _wait_for(lambda: site.requested("/news/"), 120), (tmp_path / "first.txt").read_text()
        refused = _newsmon(config, tmp_path / "refused.txt", "--no-wait")
        assert refused.wait(timeout=60) == 75
        line = (tmp_path / "refused.txt").read_text()
        assert (
            line
            == f"newsmon: another ingest of this configuration is running (pid {first.pid}); not starting (--no-wait)\n"
        )
        assert first.poll() is None, "the first run was still running: the refusal was the lock's"

        waiting = _newsmon(config, tmp_path / "waiting.txt", "-q")
        assert _wait_for(lambda: "waiting for it" in (tmp_path / "waiting.txt").read_text(), 60)
        assert first.wait(timeout=120) == 0, (tmp_path / "first.txt").read_text()
        assert waiting.wait(timeout=120) == 0, (tmp_path / "waiting.txt").read_text()
    finally:
        for process in (first,):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0] == len(PAGE_IDS)
    requested = site.requested("/news/")
    assert sorted(requested) == sorted(set(requested)), "a page was fetched twice"


HOLD = """
import sys, time
from pathlib import Path
from flows.lock import ingest_lock
with ingest_lock(Path(sys.argv[1]), sys.argv[2:]):
    print("held", flush=True)
    time.sleep(30)
"""


def test_disjoint_feed_lists_into_one_warehouse_do_not_wait_for_each_other(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    mine = ["https://example.org/a.xml", "https://example.org/b.xml"]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse), *mine], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with ingest_lock(warehouse, ["https://example.org/c.xml"], wait=False):
            pass  # another feed list: free while the other process holds its own
        started = time.monotonic()
        with pytest.raises(Busy, match=f"pid {holder.pid}"), ingest_lock(warehouse, list(reversed(mine)), wait=False):
            pass  # the same feeds in another order: the same configuration
        assert time.monotonic() - started < 1
    finally:
        holder.kill()
        holder.wait()
    with ingest_lock(warehouse, mine, wait=False):
        pass  # the kernel released the killed holder's lock: no stale lock file to remove


def test_lock_key_is_the_warehouse_and_the_set_of_feeds(tmp_path: Path) -> None:
    a, b = "https://example.org/a.xml", "https://Example.org/b.xml#x"
    assert lock_path(tmp_path / "w.duckdb", [a, b]) == lock_path(tmp_path / "w.duckdb", [b, a])
    assert lock_path(tmp_path / "w.duckdb", [a]) != lock_path(tmp_path / "w.duckdb", [a, b])
    assert lock_path(tmp_path / "w.duckdb", [a]) != lock_path(tmp_path / "v.duckdb", [a])
