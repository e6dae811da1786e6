"""Concurrency benchmark: the schedule and the analyst on one warehouse (issue 13).

Prints, measured in this one process run, on real pages served from loopback:
- the ingest rate with no reader, and with an analyst process querying in a loop (their ratio; goal >= 0.9);
- the ratio of each to trafilatura's bare single-process `extract` on the same pages (goal >= 1.5x);
- the analyst's query latency during the run (median and max; goal: max < 1 s);
- the time the run spent committing (writing lake snapshots) and the number of commits;
- the warehouse's disk size per 1,000 articles (catalog + Parquet), before and after a CHECKPOINT;
- with --postgres: the same warehouse with its catalog in a PostgreSQL server started here on loopback, written
  by two `newsmon run` processes with disjoint feed lists at once (rate from the runs' own timestamps).

Usage: .venv/bin/python -m bench.concurrency [--pages 600] [--feeds 4] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ingest import ROOT, _one_pass, bare_extract_rate, load_pages, start_site

# What an analyst asks while the schedule writes, twice a second: volume per outlet, and the latest headlines
# on a word.
ANALYST = """
import duckdb, json, os, sys, time
statements, stop = json.loads(sys.argv[1]), sys.argv[2]
con = duckdb.connect()
for s in statements:
    con.execute(s)
print("ready", flush=True)
while not os.path.exists(stop):
    started = time.perf_counter()
    con.execute("SELECT source, count(*) FROM articles GROUP BY source ORDER BY 2 DESC LIMIT 10").fetchall()
    con.execute(
        "SELECT title FROM articles WHERE title ILIKE '%election%' ORDER BY first_seen_at DESC LIMIT 20"
    ).fetchall()
    print(time.perf_counter() - started, flush=True)
    time.sleep(0.5)
"""


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _config(work: Path, name: str, feeds: list[str], extra: str = "", lake: str | None = None) -> Path:
    config = work / f"{name}.toml"
    config.write_text(
        f'[warehouse]\npath = "{work / (lake or name)}"\n{extra}'
        + "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
        + '[fetch]\nallow_hosts = ["127.0.0.1"]\ndeadline_seconds = 86400\n',  # the whole run is measured
        encoding="utf-8",
    )
    return config


def _with_analyst(config: Path, lake: Path, server_pid: int) -> tuple[float, list[float]]:
    from warehouse.db import attach_statements, connect, spec_for

    connect(lake).close()  # the warehouse exists before the analyst attaches
    stop = lake.parent / f"{lake.name}.stop"
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, json.dumps(attach_statements(spec_for(lake), read_only=True)), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert analyst.stdout is not None and analyst.stdout.readline().strip() == "ready"
    try:
        attempt = _one_pass(config, lake, server_pid, None)
    finally:
        stop.touch()
        out, _ = analyst.communicate(timeout=60)
    return attempt.report.articles_stored / attempt.elapsed, [float(x) for x in out.split()]


def _postgres(work: Path, feeds: list[str]) -> None:
    from tests.postgres import postgres_server
    from warehouse.db import WarehouseSpec, connect

    with postgres_server() as dsn:
        extra = f'catalog = "postgres:{dsn}"\ndata_path = "{work / "pg-data"}"\n'
        half = len(feeds) // 2
        configs = [_config(work, "pg-a", feeds[:half], extra, "pg"), _config(work, "pg-b", feeds[half:], extra, "pg")]
        connect(WarehouseSpec(work / "pg", f"postgres:{dsn}", str(work / "pg-data"))).close()
        env = {**os.environ, "PREFECT_HOME": str(ROOT / "data" / "bench" / "prefect")}
        writers = [
            subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "-q", "--config", str(c)], env=env, cwd=ROOT)
            for c in configs
        ]
        for writer in writers:
            writer.wait(timeout=1800)
        con = connect(WarehouseSpec(work / "pg", f"postgres:{dsn}", str(work / "pg-data")), read_only=True)
        row = con.execute(
            "SELECT sum(articles_stored), epoch(max(finished_at) - min(started_at)), count(*) FROM runs"
        ).fetchone()
        dupes = con.execute("SELECT count(*) - count(DISTINCT url) FROM articles").fetchone()
        con.close()
        assert row is not None and dupes is not None
        stored, seconds, runs = row
        print(
            f"PostgreSQL catalog, 2 writers at once: {stored / seconds:7.1f} articles/s together ({stored} stored "
            f"by {runs} runs in {seconds:.1f} s from the first start to the last finish; "
            f"{dupes[0]} URLs stored twice; exit codes {[w.returncode for w in writers]})"
        )
        print(f"disk per 1,000 articles (PostgreSQL):  {_size(work / 'pg-data') / stored * 1000 / 2**20:7.2f} MiB data")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--postgres", action="store_true", help="also two writers on a PostgreSQL catalog")
    args = parser.parse_args()

    from flows.cli import configure_prefect
    from flows.ingest import run_once
    from warehouse.db import COMMITS, checkpoint, connect

    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-concurrency-"))
    configure_prefect(ROOT / "data" / "bench", verbose=False)
    pages, truth = load_pages()
    print(f"pages: {len(pages)} distinct, served under {args.pages} URLs through {args.feeds} feeds", flush=True)
    bare_rate, _ = bare_extract_rate(pages, truth)

    server, feeds, _ = start_site(args.pages, args.feeds)
    assert server.pid is not None
    run_once(config=str(_config(work, "warmup", [])), quiet=True)  # Prefect's start-up, not counted

    before = (COMMITS.commits, COMMITS.seconds)
    alone = _one_pass(_config(work, "alone", feeds), work / "alone", server.pid, None)
    commits, commit_seconds = COMMITS.commits - before[0], COMMITS.seconds - before[1]
    rate_alone = alone.report.articles_stored / alone.elapsed
    rate_read, latencies = _with_analyst(_config(work, "read", feeds), work / "read", server.pid)
    again, _ = bare_extract_rate(pages, truth)  # the machine's speed drifts: the baseline is measured twice
    bare_rate = max(bare_rate, again)

    print(f"bare trafilatura.extract, 1 process:  {bare_rate:7.1f} pages/s")
    print(
        f"ingest, no reader:                    {rate_alone:7.1f} articles/s ({alone.report.articles_stored} in "
        f"{alone.elapsed:.1f} s)  ratio to bare {rate_alone / bare_rate:.2f}x (target >= 1.5x)"
    )
    print(
        f"ingest, analyst querying in a loop:   {rate_read:7.1f} articles/s  "
        f"ratio to bare {rate_read / bare_rate:.2f}x; to no reader {rate_read / rate_alone:.2f} (target >= 0.9)"
    )
    if latencies:
        print(
            f"analyst's queries during the run:     median {statistics.median(latencies) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} (target: max < 1 s)"
        )
    print(
        f"time committing (lake snapshots):     {commit_seconds:7.2f} s in {commits} commits "
        f"({commit_seconds / max(commits, 1) * 1000:.0f} ms each; {commit_seconds / alone.elapsed:.0%} of the run)"
    )
    stored = alone.report.articles_stored
    size = _size(work / "alone")
    con = connect(work / "alone")
    started = time.perf_counter()
    checkpoint(con)
    took = time.perf_counter() - started
    con.close()
    print(
        f"disk per 1,000 articles (SQLite):     {size / stored * 1000 / 2**20:7.2f} MiB; after CHECKPOINT "
        f"{_size(work / 'alone') / stored * 1000 / 2**20:.2f} MiB ({took:.1f} s; old files kept a day for readers)"
    )
    if args.postgres:
        _postgres(work, feeds)
    server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
