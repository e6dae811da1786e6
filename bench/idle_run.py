"""Idle `newsmon run` with `newsmon serve` running: through serve's warm starter, and in its own process.

Usage: python -m bench.idle_run [N]

A loopback feed (tests/site.py) with an ETag; `newsmon serve` with its own local Prefect server and a one-day
interval builds the warehouse with its first run (two real pages). Then the feed answers 304, and N idle
`newsmon run -q` subprocesses go through serve's starter and N run on their own (NEWSMON_NO_STARTER=1, which
still reuses serve's Prefect server), interleaved so that the machine's load weighs on both alike. Prints the
wall times (median, min) and the ratio of the two medians; the issue's goal is an idle run under 3 s of wall.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flows.warm import NO_STARTER, STARTER_FILE
from tests.helpers import PAGE_IDS, serve_news, write_config
from tests.site import Site

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 600.0  # seconds for serve's server, its first run and its starter (a busy machine is slow)


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | {"DO_NOT_TRACK": "1", "PREFECT_HOME": str(work / "prefect")}


def _wait(condition: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not happen within {timeout:.0f} s:\n" + log.read_text(errors="replace")[-3000:])


def idle_run(config: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "-q", "--config", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - started
    if done.returncode != 0 or "1 not modified" not in done.stdout:
        raise SystemExit(f"the idle run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return took


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    site = Site()
    with tempfile.TemporaryDirectory(prefix="newsmon-idle-") as tmp:
        work = Path(tmp)
        config = write_config(work, [serve_news(site, PAGE_IDS[:2], etag='"v1"')])
        env = _env(work)
        log = work / "serve.log"
        with log.open("wb") as out:
            served = subprocess.Popen(
                [sys.executable, "-m", "flows.cli", "serve", "--every", "1440", "--config", str(config)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            first_run = lambda: "articles   2 stored" in log.read_text(errors="replace")  # noqa: E731
            _wait(first_run, READY_TIMEOUT, "serve's first run", log)
            _wait(lambda: (work / "prefect" / STARTER_FILE).exists(), READY_TIMEOUT, "serve's starter", log)
            idle_run(config, env)  # one of each first: the page cache, Python's bytecode cache
            idle_run(config, env | {NO_STARTER: "1"})
            warm, cold = [], []
            for _ in range(runs):
                warm.append(idle_run(config, env))
                cold.append(idle_run(config, env | {NO_STARTER: "1"}))
        finally:
            served.send_signal(signal.SIGTERM)
            try:
                served.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(served.pid, signal.SIGKILL)
            site.close()
    load = os.getloadavg()[0]
    print(f"idle `newsmon run -q`, {runs} runs each, interleaved, load average {load:.1f}:")
    print(f"  through serve's warm starter: median {statistics.median(warm):.2f} s, min {min(warm):.2f} s")
    print(f"  in its own process (base)   : median {statistics.median(cold):.2f} s, min {min(cold):.2f} s")
    print(f"  ratio warm/base: {statistics.median(warm) / statistics.median(cold):.2f} (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
