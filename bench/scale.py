"""Scale benchmark (issue 12): does a run cost what is new, or what is stored?

For warehouses of 0, 100,000 and 1,000,000 realistic articles (bench/scale_build.py), measures two real
`newsmon run` processes against a loopback site of 20 feeds and an SMTP server on loopback, one recipient:
- an idle run: every feed answers 304;
- a run adding 200 new pages: each feed lists 10 new entries beside its 20 latest known ones (180 scrapinghub
  pages and 20 on-topic articles of ../shared/data/topic, so that alerts go out).
Each run: wall time, CPU time of the run process, SQL time (time inside warehouse functions, bench/scale_run.py),
peak resident memory of the run process (getrusage in the process itself); and per warehouse the file size per
1,000 articles (catalog + Parquet). Every figure is printed beside the 0-article one as a ratio (goal: within
1.5x at 1,000,000 for SQL time and memory). With --calls, the time of each warehouse function too.

Building a million articles takes many minutes: run niced; `--dir` keeps the built warehouses for the next run
(each measured 200-page run adds its 200 articles to them).

Usage: nice -n 19 .venv/bin/python -m bench.scale [--sizes 0,100000,1000000] [--dir DIR] [--calls]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NEW_PAGES = 200
ON_TOPIC_PAGES = 20  # of the NEW_PAGES, served from the topic corpus's 17 on-topic articles (3 twice)
KNOWN_PER_FEED = 20  # entries a feed lists again beside its new ones, as real feeds do
BUILT_ETAG = '"built"'


# --- the loopback site ------------------------------------------------------------------------------------


def _topic_pages() -> list[tuple[str, bytes]]:
    import csv

    from bench.analysis import SHARED
    from bench.relevance import _article

    pages = []
    with (SHARED / "topic" / "articles.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["label"] != "on":
                continue
            title, text = _article(SHARED / "topic" / "articles" / row["file"])
            lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("#", "*", "---"))]
            body = "".join(f"<p>{line}</p>" for line in lines)
            html = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body>"
            pages.append((title, f"{html}</html>".encode()))
    return pages


def serve(port: int, plan_file: str) -> None:
    """Feeds and pages as the plan file says (re-read when it changes); a feed answers 304 to its ETag."""
    from bench.ingest import load_pages
    from tests.site import rss

    bodies = {key: body for key, body in load_pages()[0].items()}
    bodies.update({f"topic-{n}": body for n, (_, body) in enumerate(_topic_pages())})
    plan: dict[str, Any] = {}
    seen = [0.0]

    def current() -> dict[str, Any]:
        mtime = os.stat(plan_file).st_mtime
        if mtime != seen[0]:
            plan.clear()
            plan.update(json.loads(Path(plan_file).read_text(encoding="utf-8")))
            seen[0] = mtime
        return plan

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            now = current()
            status, body, kind = 404, b"", "text/plain"
            headers = {}
            if self.path in now["feeds"]:
                headers["ETag"] = now["etag"]
                if self.headers.get("If-None-Match") == now["etag"]:
                    status = 304
                else:
                    status, body, kind = 200, rss(self.path, now["feeds"][self.path]), "application/rss+xml"
            elif self.path in now["pages"]:
                status, body, kind = 200, bodies[now["pages"][self.path]], "text/html; charset=utf-8"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_plan(plan_file: Path, plan: dict[str, Any]) -> None:
    partial = plan_file.with_suffix(".tmp")
    partial.write_text(json.dumps(plan), encoding="utf-8")
    partial.replace(plan_file)
    time.sleep(0.05)  # a distinct mtime for the site to notice


# --- warehouses -------------------------------------------------------------------------------------------


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _config(work: Path, lake: Path, feeds: list[str], smtp_port: int) -> Path:
    config = work / f"{lake.name}.toml"
    config.write_text(
        ("" if feeds else "feeds = []\n")  # none: not newsmon's default feeds (public addresses)
        + f'[warehouse]\npath = "{lake}"\n'
        + "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
        + '[fetch]\nallow_hosts = ["127.0.0.1"]\ndeadline_seconds = 86400\n'
        + '[alerts]\nto = ["analyst@example.org"]\nfrom = "newsmon@example.org"\n'
        + f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntimeout_seconds = 5.0\n',
        encoding="utf-8",
    )
    return config


def _newsmon(config: Path, out: Path) -> dict[str, Any]:
    env = {**os.environ, "PREFECT_HOME": str(ROOT / "data" / "bench" / "prefect")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale_run", str(out), "run", "-q", "--config", str(config)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"newsmon run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    figures["wall_seconds"] = wall
    figures["report"] = done.stdout
    return figures


def build(lake: Path, articles: int, port: int, work: Path, smtp_port: int) -> None:
    from bench.scale_build import add_feeds
    from bench.scale_build import build as build_articles
    from warehouse.db import connect

    shutil.rmtree(lake, ignore_errors=True)
    started = time.perf_counter()
    _newsmon(_config(work, lake, [], smtp_port), work / "seeds.json")  # the seeds, as a first run loads them
    con = connect(lake)
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '4GB'")
    feeds = add_feeds(con, port, BUILT_ETAG)
    now = datetime.now(UTC)
    build_articles(con, articles, port=port, end_at=now - timedelta(hours=1), log=lambda s: print(s, flush=True))
    con.close()
    (lake / "built.json").write_text(json.dumps({"articles": articles, "feeds": feeds}), encoding="utf-8")
    print(f"built {articles:,} articles in {time.perf_counter() - started:.0f} s", flush=True)


def _prepare(lake: Path, *, pending: int = 5) -> dict[str, list[dict[str, str]]]:
    """Before a measured run (not measured): the feeds are due; the `pending` latest alerts wait for the
    recipient (as after a run whose sending failed); returns each feed's latest known entries."""
    from warehouse.db import connect

    con = connect(lake)
    try:
        con.execute("UPDATE feeds SET next_check_at = now() - INTERVAL 1 MINUTE")
        con.execute(
            "DELETE FROM alert_deliveries WHERE url IN (SELECT url FROM alerts ORDER BY created_at DESC LIMIT ?)",
            [pending],
        )
        rows = con.execute(
            "SELECT feed_url, entry_key, link, title FROM entries WHERE state = 'stored' "
            "QUALIFY row_number() OVER (PARTITION BY feed_url ORDER BY first_seen_at DESC) <= ?",
            [KNOWN_PER_FEED],
        ).fetchall()
    finally:
        con.close()
    known: dict[str, list[dict[str, str]]] = {}
    for feed, key, link, title in rows:
        known.setdefault(feed, []).append({"title": title or key, "link": link, "guid": key})
    return known


def measure(
    lake: Path, port: int, plan_file: Path, work: Path, smtp_port: int, page_ids: list[str]
) -> dict[str, dict[str, Any]]:
    from bench.scale_build import FEEDS

    built = json.loads((lake / "built.json").read_text(encoding="utf-8"))
    feeds = [url.replace(url.split("/")[2], f"127.0.0.1:{port}") for url in built["feeds"]]
    config = _config(work, lake, feeds, smtp_port)
    paths = ["/" + url.split("/", 3)[3] for url in feeds]

    known = _prepare(lake)
    _write_plan(plan_file, {"etag": BUILT_ETAG, "feeds": {p: [] for p in paths}, "pages": {}})
    idle = _newsmon(config, work / "idle.json")

    known = _prepare(lake)
    nonce = f"{time.time_ns():x}"
    pages = {}
    items: dict[str, list[dict[str, str]]] = {p: [] for p in paths}
    topic = [f"topic-{n}" for n in range(len(_topic_pages()))]
    every = NEW_PAGES // ON_TOPIC_PAGES
    for n in range(NEW_PAGES):
        path = f"/p/{nonce}/{n}"
        pages[path] = topic[n // every % len(topic)] if n % every == 0 else page_ids[n % len(page_ids)]
        link = f"http://127.0.0.1:{port}{path}"
        items[paths[n % FEEDS]].append({"title": f"Story {nonce} {n}", "link": link, "guid": path})
    for url, path in zip(feeds, paths, strict=True):
        items[path] += known.get(url, [])
    _write_plan(plan_file, {"etag": f'"{nonce}"', "feeds": items, "pages": pages})
    new = _newsmon(config, work / "new.json")
    _write_plan(plan_file, {"etag": f'"{nonce}"', "feeds": items, "pages": pages})
    return {"idle": idle, "new": new}


# --- the table --------------------------------------------------------------------------------------------


def _ratio(value: float, base: float) -> str:
    return f"{value / base:5.2f}x" if base > 0 else "   - "


def report(results: dict[int, dict[str, Any]], calls: bool) -> None:
    base = results.get(0) or next(iter(results.values()))
    rows: list[tuple[str, Callable[[dict[str, Any]], float]]] = [
        ("wall s", lambda f: f["wall_seconds"]),
        ("CPU s (run process)", lambda f: f["cpu_seconds"]),
        ("SQL s", lambda f: f["sql_seconds"]),
        ("peak MiB (run process)", lambda f: f["peak_kib"] / 1024),
    ]
    sizes = list(results)
    print("\n" + " " * 34 + "".join(f"{size:>22,}" for size in sizes))
    for kind, label in (("idle", "idle run"), ("new", f"{NEW_PAGES}-page run")):
        for name, get in rows:
            cells = "".join(
                f"{get(results[s][kind]):>14.2f} {_ratio(get(results[s][kind]), get(base[kind])):>7}" for s in sizes
            )
            print(f"{label + ', ' + name:34}{cells}")
    cells = "".join(
        f"{results[s]['mib_per_1000']:>14.2f} {'':>7}" if results[s]["mib_per_1000"] else f"{'-':>22}" for s in sizes
    )
    print(f"{'MiB per 1,000 articles':34}{cells}")
    if calls:
        for kind in ("idle", "new"):
            names = sorted({n for s in sizes for n in results[s][kind]["calls"]})
            print(f"\nwarehouse functions, {kind} run (calls, inclusive seconds)")
            for name in names:
                cells = ""
                for s in sizes:
                    call = results[s][kind]["calls"].get(name, {"calls": 0, "seconds": 0.0})
                    cells += f"{call['calls']:>8} {call['seconds']:>13.3f}"
                print(f"  {name:40}{cells}")
    for s in sizes:
        print(f"\n--- the 200-page run's report at {s:,} articles ---\n{results[s]['new']['report'].strip()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,100000,1000000", help="warehouse sizes in articles, comma-separated")
    parser.add_argument("--dir", type=Path, help="keep the built warehouses here, and reuse them")
    parser.add_argument("--calls", action="store_true", help="also print each warehouse function's time")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from bench.ingest import load_pages
    from tests.smtp import SmtpServer

    work = Path(args.dir or tempfile.mkdtemp(prefix="newsmon-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    site_file = work / "site.json"
    if not site_file.exists():
        site_file.write_text(json.dumps({"port": _free_port()}), encoding="utf-8")
    port = int(json.loads(site_file.read_text(encoding="utf-8"))["port"])
    plan_file = work / "plan.json"
    _write_plan(plan_file, {"etag": BUILT_ETAG, "feeds": {}, "pages": {}})
    site = multiprocessing.get_context("spawn").Process(target=serve, args=(port, str(plan_file)), daemon=True)
    site.start()
    smtp = SmtpServer().start()
    page_ids = sorted(load_pages()[0])
    results: dict[int, dict[str, Any]] = {}
    try:
        time.sleep(1.0)
        for size in sizes:
            lake = work / f"lake-{size}"
            if not (lake / "built.json").exists():
                print(f"building {size:,} articles in {lake}", flush=True)
                build(lake, size, port, work, smtp.port)
            print(f"measuring {size:,} articles", flush=True)
            results[size] = measure(lake, port, plan_file, work, smtp.port, page_ids)
            stored = json.loads((lake / "built.json").read_text(encoding="utf-8"))["articles"]
            results[size]["mib_per_1000"] = _size(lake) / 2**20 / (stored / 1000) if stored else 0.0
    finally:
        smtp.stop()
        site.terminate()
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    report(results, args.calls)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
