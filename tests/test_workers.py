"""The extraction workers' fork server warms the extraction code up once, for every worker to inherit."""

from __future__ import annotations

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
