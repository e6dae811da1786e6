"""Finding the Prefect server `newsmon serve` runs (flows/server.py): reused only while it is alive and healthy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.server import SERVER_FILE, discover, healthy
from tests.helpers import write_config

ROOT = Path(__file__).resolve().parents[1]


def _advertise(home: Path, api_url: str, pid: int) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / SERVER_FILE).write_text(json.dumps({"api_url": api_url, "pid": pid}), encoding="utf-8")


@pytest.mark.usefixtures("prefect_server")
def test_a_live_healthy_server_is_reused(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    api = str(PREFECT_API_URL.value())
    assert healthy(api)
    _advertise(tmp_path, api, os.getpid())
    assert discover(tmp_path) == api


def test_a_dead_or_silent_server_is_not_reused(tmp_path: Path) -> None:
    assert discover(tmp_path) is None  # nothing advertised
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _advertise(tmp_path, "http://127.0.0.1:9/api", int(gone.stdout))
    assert discover(tmp_path) is None  # its process is gone (serve was killed)
    _advertise(tmp_path, "http://127.0.0.1:9/api", os.getpid())
    assert discover(tmp_path) is None  # alive, but nothing answers there
    (tmp_path / SERVER_FILE).write_text("{not json", encoding="utf-8")
    assert discover(tmp_path) is None


@pytest.mark.usefixtures("prefect_server")
def test_a_second_serve_of_the_same_data_directory_says_so_and_starts_nothing(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    api = str(PREFECT_API_URL.value())
    config = write_config(tmp_path, [])
    _advertise(tmp_path / "prefect", api, os.getpid())  # as the first serve of this data directory does
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    served = subprocess.run(
        [sys.executable, "-m", "flows.cli", "serve", "--config", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert served.returncode == 75, served.stderr
    assert f"another serve runs for {tmp_path / 'prefect'} (Prefect API {api}); not starting" in served.stderr
