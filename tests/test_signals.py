"""Ctrl-C and SIGTERM during a real `newsmon run`: it stops within 5 s with one line and exit 130/143, no
traceback, no process left behind (extraction workers and the Prefect server it started included), and the next
run completes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import PAGE_IDS, query, serve_news, write_config
from tests.site import Site
from tests.test_kill import _alive, _descendants, _wait_for

ROOT = Path(__file__).resolve().parents[1]
STOP_WITHIN = 5.0  # seconds, from the signal to the process's exit (issue 8)


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PREFECT_HOME for the module: its database is migrated once, by the first run."""
    return tmp_path_factory.mktemp("prefect-home")


def assert_clean_stop(stderr: str, returncode: int, status: int, took: float) -> None:
    """A run stopped by a signal: its exit status, within STOP_WITHIN seconds, one line, no traceback."""
    assert returncode == status, stderr
    assert took < STOP_WITHIN, stderr
    assert "Traceback" not in stderr, stderr
    assert stderr.count("interrupted; the next run resumes where this one stopped") == 1, stderr


def newsmon(config: Path, prefect_home: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(prefect_home)
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "run", "--config", str(config), *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # a process group of its own, as a shell gives a command it starts
        )


def slow_site_config(site: Site, tmp_path: Path) -> Path:
    feed = serve_news(site)
    for page_id in PAGE_IDS[4:]:
        site.routes[f"/news/{page_id}"].delay = 60  # the third batch hangs: the signal lands in the middle
    config = write_config(tmp_path, [feed], "batch_size = 2\nworkers = 2\n")
    config.write_text(config.read_text(encoding="utf-8").replace("timeout_seconds = 2.0", "timeout_seconds = 30.0"))
    return config


def test_a_first_run_says_that_prefect_sets_up_its_database_and_a_second_does_not(
    tmp_path: Path, prefect_home: Path
) -> None:
    """First in the module: it migrates the module's PREFECT_HOME, which the tests below then reuse."""
    config = tmp_path / "newsmon.toml"  # no feeds at all (not the topic's default ones: never a public address)
    config.write_text(f'feeds = []\n[warehouse]\npath = "{tmp_path / "wh"}"\n', encoding="utf-8")
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    for log in (first, second):
        assert newsmon(config, prefect_home, log, "--force").wait(timeout=240) == 0, log.read_text(errors="replace")
    assert f"newsmon: Prefect's first start in {prefect_home} creates its database" in first.read_text()
    assert "creates its database" not in second.read_text()


@pytest.mark.parametrize(
    ("name", "signum", "to_group", "status"),
    [("ctrl-c", signal.SIGINT, True, 130), ("sigterm", signal.SIGTERM, False, 143)],
)
def test_signal_mid_run_stops_within_5_s_cleanly_and_the_next_run_completes(
    site: Site, tmp_path: Path, prefect_home: Path, name: str, signum: int, to_group: bool, status: int
) -> None:
    config = slow_site_config(site, tmp_path)
    log = tmp_path / "stderr.txt"
    process = newsmon(config, prefect_home, log)
    try:
        reached = _wait_for(lambda: site.requested(f"/news/{PAGE_IDS[4]}"), 240)
        assert reached, "the run never reached batch 3: " + log.read_text(errors="replace")[-2000:]
        time.sleep(1.5)  # batch 2 is extracted and committed meanwhile
        started = _descendants(process.pid)
        sent = time.monotonic()
        if to_group:
            os.killpg(process.pid, signum)  # Ctrl-C in a terminal reaches the whole foreground group
        else:
            os.kill(process.pid, signum)  # systemd, kill(1): the main process only
        returncode = process.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stderr = log.read_text(errors="replace")
    print(f"{name}: exit {returncode} {took:.2f} s after the signal")
    assert_clean_stop(stderr, returncode, status, took)
    assert started, "the run had started its extraction workers and its Prefect server"
    assert _wait_for(lambda: not any(_alive(pid) for pid in started), 2), "a process outlived the run"

    partial = query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0]
    assert partial < len(PAGE_IDS)
    for page_id in PAGE_IDS[4:]:
        site.routes[f"/news/{page_id}"].delay = 0
    again = newsmon(config, prefect_home, tmp_path / "again.txt", "-q")
    assert again.wait(timeout=240) == 0, (tmp_path / "again.txt").read_text(errors="replace")
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0] == len(PAGE_IDS)
    assert query(tmp_path, "SELECT state, count(*) FROM entries GROUP BY state") == [("stored", len(PAGE_IDS))]


# A signal that lands while DuckDB runs a query comes back from DuckDB as its own error ("Query interrupted"),
# not as flows.interrupt.Interrupted: early in a run (the warehouse's migrations, the feeds' sync) it printed
# DuckDB's traceback and exited 1.
_IN_A_QUERY = """
import argparse, os, signal, sys, threading
import duckdb
from flows import cli, interrupt

def long_query(args):
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    duckdb.connect().execute("SELECT sum(i * i % 7) FROM range(20000000000) t(i)").fetchall()
    return 0

interrupt.install()
sys.exit(cli._dispatch(argparse.Namespace(func=long_query)))
"""


def test_a_signal_inside_a_duckdb_query_stops_with_one_line_and_no_traceback() -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _IN_A_QUERY], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert_clean_stop(done.stderr, done.returncode, 130, time.monotonic() - started)
