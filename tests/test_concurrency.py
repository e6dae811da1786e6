"""The analyst and the schedule share the warehouse: a reader in another process during a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import PAGE_IDS, query, serve_news, write_config
from tests.site import Site
from warehouse.db import attach_statements, connect, spec_for

pytestmark = pytest.mark.usefixtures("prefect_server")
ROOT = Path(__file__).resolve().parents[1]

# Each query: fetched articles, and the entries that point at them. A batch is one transaction, so a reader
# sees both counts move together or not at all.
ANALYST = """
import duckdb, json, sys, time
statements, mode, stop = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
con = duckdb.connect()
for s in statements:
    con.execute(s)
if mode == "hold":
    con.execute("BEGIN")
print(json.dumps({"ready": True}), flush=True)
import os
while not os.path.exists(stop):
    started = time.monotonic()
    articles, linked = con.execute(
        "SELECT (SELECT count(*) FROM articles WHERE NOT is_seed), "
        "(SELECT count(DISTINCT article_url) FROM entries WHERE state = 'stored')"
    ).fetchone()
    print(json.dumps({"articles": articles, "linked": linked, "seconds": time.monotonic() - started}), flush=True)
    time.sleep(0.1)
"""


@pytest.mark.parametrize("mode", ["query", "hold"])
def test_an_analyst_session_and_a_run_never_disturb_each_other(site: Site, tmp_path: Path, mode: str) -> None:
    from prefect.settings import PREFECT_API_URL

    feed = serve_news(site)
    for page_id in PAGE_IDS:
        # A run of several batches, each about a second after the last: a reader sampling every 0.1 s (slower
        # under load) sees them arrive one by one. At 0.4 s a loaded CI once saw only the first and the last.
        site.routes[f"/news/{page_id}"].delay = 1.0
    config = write_config(tmp_path, [feed], "batch_size = 2\n")
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    cli = [sys.executable, "-m", "flows.cli", "run", "--config", str(config), "-q"]
    connect(tmp_path / "wh").close()  # the warehouse exists: the analyst attaches before the run starts
    stop = tmp_path / "stop"
    statements = attach_statements(spec_for(tmp_path / "wh"), read_only=True)
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, json.dumps(statements), mode, str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout is not None and json.loads(analyst.stdout.readline()) == {"ready": True}
        started = time.monotonic()
        result = subprocess.run(cli, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        elapsed = time.monotonic() - started
    finally:
        stop.touch()
        out, _ = analyst.communicate(timeout=30)
    assert result.returncode == 0, result.stderr
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0] == len(PAGE_IDS)
    samples = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(samples) > 5 and all(s["articles"] == s["linked"] for s in samples)  # never half a batch
    # No query waited for the run (latency itself is measured by bench/concurrency.py, not here).
    assert max(s["seconds"] for s in samples) < 10
    if mode == "hold":  # a held transaction keeps its snapshot for its whole life
        assert {s["articles"] for s in samples} == {0}
    else:
        assert samples[-1]["articles"] == len(PAGE_IDS)
        assert len({s["articles"] for s in samples}) > 2  # it saw the batches arrive one by one
    assert elapsed < 60
