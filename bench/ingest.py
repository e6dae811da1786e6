"""Ingest benchmark: ~1,000 real pages served from loopback through a few feeds, one full run, one idle run.

Prints, measured in this one process run:
- trafilatura's bare single-process `extract` rate on the same pages (pages/s) and its token F1, measured in a
  process of its own;
- the pipeline's end-to-end rate (articles stored/s, Prefect start-up excluded) and the ratio of the two;
- the mean token F1 of the stored text against the ground truth;
- peak memory (main process, and the largest extraction worker);
- the time and the number of page requests of an immediate second run with nothing new;
- a worker's CPU per page, stage by stage, beside bare `extract` (bench/stages.py): what the ratio pays for.

Usage: .venv/bin/python -m bench.ingest [--pages 1000] [--feeds 5] [--profile FILE]
The HTTP server runs in its own process, as a remote site would.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.report import RunReport

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "extraction" / "scrapinghub"


def load_pages() -> tuple[dict[str, bytes], dict[str, str]]:
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {k: gzip.decompress((DATA / "html" / f"{k}.html.gz").read_bytes()) for k in sorted(truth)}
    return pages, {k: v["articleBody"] for k, v in truth.items()}


def token_f1(extracted: str, truth: str) -> float:
    a, b = Counter(extracted.split()), Counter(truth.split())
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def layout(ids: list[str], n_pages: int, n_feeds: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    """URL path → page id for n_pages distinct URLs, and feed path → its page paths."""
    paths = {f"/p/{i}/{ids[i % len(ids)][:16]}": ids[i % len(ids)] for i in range(n_pages)}
    feeds: dict[str, list[str]] = {f"/feed{j}.xml": [] for j in range(n_feeds)}
    for i, path in enumerate(paths):
        feeds[f"/feed{i % n_feeds}.xml"].append(path)
    return paths, feeds


def serve(port_out: Any, page_requests: Any, n_pages: int, n_feeds: int) -> None:
    from tests.site import rss

    pages, _ = load_pages()
    paths, feeds = layout(sorted(pages), n_pages, n_feeds)
    host: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path in feeds:
                items = [
                    {"title": p, "link": f"http://127.0.0.1:{host['port']}{p}", "guid": p} for p in feeds[self.path]
                ]
                body, kind = rss(self.path, items), "application/rss+xml"
            elif self.path in paths:
                with page_requests.get_lock():
                    page_requests.value += 1
                body, kind = pages[paths[self.path]], "text/html; charset=utf-8"
            else:
                body, kind = b"", "text/plain"
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host["port"] = server.server_address[1]
    port_out.value = host["port"]
    server.serve_forever()


def start_site(n_pages: int, n_feeds: int) -> tuple[multiprocessing.process.BaseProcess, list[str], Any]:
    """The loopback site in a process of its own, as a remote site would be: the process, its feed URLs, and
    the shared count of page requests it answered."""
    spawn = multiprocessing.get_context("spawn")
    port, page_requests = spawn.Value("i", 0), spawn.Value("i", 0)
    server = spawn.Process(target=serve, args=(port, page_requests, n_pages, n_feeds), daemon=True)
    server.start()
    while not port.value:
        time.sleep(0.05)
    return server, [f"http://127.0.0.1:{port.value}/feed{j}.xml" for j in range(n_feeds)], page_requests


def bare_extract_rate(pages: dict[str, bytes], truth: dict[str, str]) -> tuple[float, float]:
    """Bare `extract`'s rate (the better of two passes) and mean token F1, in a process of its own (spawned):
    what it allocates and imports is then not counted in the peak of the process that runs newsmon's flow, which
    imports no trafilatura in a real `newsmon run`."""
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1) as pool:
        return pool.apply(_bare_extract_rate, (pages, truth))


def _bare_extract_rate(pages: dict[str, bytes], truth: dict[str, str]) -> tuple[float, float]:
    import trafilatura

    rates = []
    for _ in range(2):  # the better of two passes: the baseline gets the benefit of any noise
        started = time.perf_counter()
        texts = {k: trafilatura.extract(html) or "" for k, html in pages.items()}
        rates.append(len(pages) / (time.perf_counter() - started))
    return max(rates), statistics.mean(token_f1(texts[k], truth[k]) for k in pages)


def _process_cpu(pid: int) -> float:
    """CPU seconds used so far by another live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WorkerSampler:
    """CPU seconds and peak memory of the extraction workers and their fork server, read from /proc while they
    run: the workers are the server's children, not ours, so getrusage(RUSAGE_CHILDREN) does not see them.
    Read every 0.2 s (a worker's last 0.2 s may be missed), from the fork server's list of children only, so
    as to cost next to nothing."""

    def __init__(self) -> None:
        self.cpu: dict[int, float] = {}
        self.peak_kib: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WorkerSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _children(pid: int) -> list[int]:
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for child in self._children(os.getpid()):
                try:
                    if b"forkserver" not in Path(f"/proc/{child}/cmdline").read_bytes():
                        continue
                except OSError:
                    continue
                for pid in [child, *self._children(child)]:  # the server's own start-up work counts too
                    try:
                        self.cpu[pid] = _process_cpu(pid)
                        status = Path(f"/proc/{pid}/status").read_text()
                    except (OSError, ValueError, IndexError):
                        continue
                    for line in status.splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), int(line.split()[1]))


@dataclass
class Pass:
    report: RunReport
    elapsed: float
    config: Path
    database: Path
    cpu_main: float
    cpu_workers: float
    cpu_server: float
    worker_peak_kib: int


def _one_pass(config: Path, database: Path, server_pid: int, profiler: cProfile.Profile | None) -> Pass:
    """One full run into a fresh warehouse, timed, with the CPU of every process that took part."""
    from flows.ingest import run_once

    # Every pass starts as `newsmon run` does, in a process without the workers' fork server (it would
    # otherwise outlive the first pass and spare the second its start-up).
    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    cpu_main, cpu_server = _cpu(resource.RUSAGE_SELF), _process_cpu(server_pid)
    with WorkerSampler() as workers:
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = run_once(config=str(config), quiet=True)
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - started
    return Pass(
        report,
        elapsed,
        config,
        database,
        _cpu(resource.RUSAGE_SELF) - cpu_main,
        sum(workers.cpu.values()),
        _process_cpu(server_pid) - cpu_server,
        max(workers.peak_kib.values(), default=0),
    )


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--feeds", type=int, default=5)
    parser.add_argument("--passes", type=int, default=2, help="full runs, each into a fresh warehouse; the best counts")
    parser.add_argument("--batch-size", type=int, help="[fetch] batch_size for the run (default: newsmon's)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the main process's full run to this file")
    args = parser.parse_args()

    from flows.cli import configure_prefect

    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    configure_prefect(ROOT / "data" / "bench", verbose=False)  # a kept Prefect home: migrations run once
    pages, truth = load_pages()

    print(f"pages: {len(pages)} distinct, served under {args.pages} URLs through {args.feeds} feeds", flush=True)
    bare_rate, bare_f1 = bare_extract_rate(pages, truth)

    server, feed_urls, page_requests = start_site(args.pages, args.feeds)
    feeds = "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feed_urls)
    warmup = work / "warmup.toml"
    warmup.write_text(f'feeds = []\n[warehouse]\npath = "{work / "warmup.duckdb"}"\n', encoding="utf-8")

    from flows.ingest import run_once

    started = time.perf_counter()
    run_once(config=str(warmup), quiet=True)
    print(f"Prefect start-up and an empty run:    {time.perf_counter() - started:7.1f} s (not counted)", flush=True)

    assert server.pid is not None
    best: Pass | None = None
    batch = f"batch_size = {args.batch_size}\n" if args.batch_size else ""
    for number in range(1, args.passes + 1):  # the better of the passes, as for the bare rate
        config = work / f"bench-{number}.toml"
        database = work / f"bench-{number}.duckdb"
        config.write_text(
            # The whole run is measured: no fetch deadline cuts it (newsmon's default stops fetching at 120 s).
            f'[warehouse]\npath = "{database}"\n{feeds}[fetch]\nallow_hosts = ["127.0.0.1"]\n'
            f"deadline_seconds = 86400\n{batch}",
            encoding="utf-8",
        )
        profiler = cProfile.Profile() if args.profile and number == 1 else None
        attempt = _one_pass(config, database, server.pid, profiler)
        if number < args.passes:  # the machine's speed drifts: measure the baseline between passes too
            again, _ = bare_extract_rate(pages, truth)
            bare_rate = max(bare_rate, again)
        if profiler is not None:
            profiler.dump_stats(args.profile)
        if best is None or attempt.elapsed < best.elapsed:
            best = attempt
    assert best is not None
    report, elapsed, config, database = best.report, best.elapsed, best.config, best.database
    cpu_main, cpu_workers, cpu_server = best.cpu_main, best.cpu_workers, best.cpu_server
    rate = report.articles_stored / elapsed
    print(
        f"bare trafilatura.extract, 1 process:  {bare_rate:7.1f} pages/s   token F1 {bare_f1:.3f} "
        f"(best of {2 * args.passes}, before and between the pipeline's passes)",
        flush=True,
    )
    print(
        f"pipeline, end to end:                 {rate:7.1f} articles/s  ({report.articles_stored} stored, "
        f"{report.pages_failed} failed, {elapsed:.1f} s; best of {args.passes})",
        flush=True,
    )
    print(
        f"CPU time in the run:                  {cpu_main:7.1f} s main process, {cpu_workers:.1f} s extraction "
        f"workers and their fork server, {cpu_server:.1f} s the loopback site (on the same 2 cores)"
    )
    print(f"ratio to bare extract:                {rate / bare_rate:7.2f}x  (target >= 1.5x)")

    from bench.ingest import layout as _layout
    from warehouse.db import connect

    paths, _ = _layout(sorted(pages), args.pages, args.feeds)
    con = connect(database, read_only=True)
    rows = con.execute("SELECT url, text FROM articles WHERE NOT is_seed").fetchall()
    con.close()
    scores = [token_f1(text, truth[paths["/" + url.split("/", 3)[3]]]) for url, text in rows]
    stored_f1 = statistics.mean(scores) if scores else 0.0
    print(f"stored text token F1:                 {stored_f1:7.3f}   (bare extract {bare_f1:.3f})")
    main_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak = best.worker_peak_kib / 1024
    print(
        f"peak memory:                          {main_peak:7.0f} MiB main process, {worker_peak:.0f} MiB largest worker"
    )

    before = page_requests.value
    started = time.perf_counter()
    idle = run_once(config=str(config), quiet=True)
    idle_time = time.perf_counter() - started
    print(
        f"second run, nothing new:              {idle_time:7.2f} s, {page_requests.value - before} page requests, "
        f"{idle.articles_stored} stored"
    )
    server.terminate()
    # What the ratio pays for: the quality of issue 9's extraction and the relevance model, stage by stage.
    from bench.stages import print_stage_costs

    print_stage_costs(pages)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
