"""`newsmon run`, with a clock on the warehouse: the process bench/scale.py measures.

Usage: python -m bench.scale_run OUT.json newsmon-arguments...

Every function of the warehouse package (where all of newsmon's SQL lives) is wrapped, before the flows import
it, by a timer: the SQL time of the run is the time spent inside the outermost warehouse calls (statements,
commits, the Arrow batches they bind, and the search index's tokenising of new articles), and each function's
own calls and inclusive time are kept for the per-statement table. Then the real command line runs
(flows.cli.main), and the process writes its own CPU time (getrusage) and peak resident memory to OUT.json.
The peak is VmHWM from /proc: getrusage's ru_maxrss would carry over the parent's peak through fork and exec
(Linux keeps the larger of the two), so a bench process that built a big warehouse would show in every run.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import pkgutil
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import warehouse

CALLS: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0])  # name -> [calls, inclusive seconds]
TOTAL = [0.0]
_DEPTH = [0]


def _timed(name: str, function: Any) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _DEPTH[0] += 1
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            took = time.perf_counter() - started
            _DEPTH[0] -= 1
            CALLS[name][0] += 1
            CALLS[name][1] += took
            if _DEPTH[0] == 0:
                TOTAL[0] += took

    return wrapper


def install() -> None:
    """Wrap every plain function defined in warehouse.* (context managers excepted: their body runs in the
    caller's `with`, inside a wrapped function anyway), under every name a warehouse module binds it to."""
    modules = [importlib.import_module(f"warehouse.{m.name}") for m in pkgutil.iter_modules(warehouse.__path__)]
    wrapped: dict[int, Any] = {}
    for module in modules:
        for name, value in vars(module).items():
            if (
                inspect.isfunction(value)
                and value.__module__.startswith("warehouse")
                and not hasattr(value, "__wrapped__")
                and id(value) not in wrapped
            ):
                wrapped[id(value)] = _timed(f"{value.__module__.removeprefix('warehouse.')}.{name}", value)
    for module in modules:
        for name, value in list(vars(module).items()):
            if id(value) in wrapped:
                setattr(module, name, wrapped[id(value)])


def _peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> int:
    out, argv = Path(sys.argv[1]), sys.argv[2:]
    install()
    from flows.cli import main as newsmon

    code = newsmon(argv)
    self = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.write_text(
        json.dumps(
            {
                "exit": code,
                "sql_seconds": TOTAL[0],
                "cpu_seconds": self.ru_utime + self.ru_stime,
                "cpu_children_seconds": children.ru_utime + children.ru_stime,
                "peak_kib": _peak_kib(),
                "calls": {name: {"calls": c, "seconds": s} for name, (c, s) in sorted(CALLS.items())},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
