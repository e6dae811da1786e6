"""The extraction workers' fork server warms the extraction code up once, for every worker to inherit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flows.workers import warm_up

ROOT = Path(__file__).resolve().parents[1]


def test_the_warm_up_page_is_extracted_as_an_article() -> None:
    result = warm_up()
    assert not isinstance(result, str), result  # a refused page would leave the first real page to load it all
    article, _relevance, _fingerprint = result
    assert article.language == "en"


def test_the_fork_server_preload_leaves_the_language_model_loaded() -> None:
    probe = "import flows.worker_preload, py3langid.langid as l; print(l.IDENTIFIER is not None)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


def test_the_fork_server_preload_runs_the_full_extraction_pass_once() -> None:
    """The full pass's justext stop lists (0.4 s to build) are built before the workers fork, not in each."""
    probe = "import flows.worker_preload, trafilatura.external as e; print(bool(e.JT_STOPLIST))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


def test_the_fork_server_freezes_what_the_workers_inherit() -> None:
    """Their full collections leave out the warmed-up modules (gc.freeze before the fork)."""
    probe = "import gc, flows.worker_preload; print(gc.get_freeze_count() > 50_000)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


DRIVER = """
import os, sys
with open(os.environ["MARKER"], "a") as f:
    f.write(__name__ + "\\n")  # "__mp_main__" in a process that multiprocessing prepared with this module

if __name__ == "__main__":
    from concurrent.futures import ProcessPoolExecutor
    from flows.workers import _WARM_UP_PAGE, _context, extraction_pool, submit_pages

    page = (_WARM_UP_PAGE, "https://warm-up.invalid/a", "text/html")
    with extraction_pool(2) as pool:
        results = [f.result() for f in submit_pages(pool, [[page], [page], [page]])]
    assert all(not isinstance(r, str) for chunk in results for r in chunk), results
    with open(os.environ["MARKER"], "a") as f:
        f.write("-- control --\\n")
    with ProcessPoolExecutor(1, mp_context=_context()) as control:  # a plain pool, as multiprocessing starts one
        control.submit(os.getpid).result()
"""


def test_extraction_workers_do_not_run_the_module_the_run_was_started_as(tmp_path: Path) -> None:
    """A served run is `python -m prefect.engine`: its workers must not import Prefect again as __mp_main__."""
    (tmp_path / "driver_main.py").write_text(DRIVER, encoding="utf-8")
    marker = tmp_path / "marker.txt"
    env = {**os.environ, "MARKER": str(marker), "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    subprocess.run([sys.executable, "-m", "driver_main"], cwd=ROOT, env=env, check=True, timeout=300)
    ours, control = marker.read_text(encoding="utf-8").split("-- control --\n")
    assert ours.split() == ["__main__"]  # the run itself, and none of the extraction workers
    assert control.split() == ["__mp_main__"]  # the plain pool's worker ran it: the test can tell
