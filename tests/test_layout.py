"""The house's import directions: flows → extractors, warehouse; warehouse → extractors; extractors → nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "flows": {"extractors", "warehouse", "flows"},
    "warehouse": {"extractors", "warehouse"},
    "extractors": {"extractors"},
}
OURS = set(ALLOWED)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_in_the_direction_data_flows(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        wrong = _imports(path) - ALLOWED[package]
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_extractors_touch_no_network_database_or_clock() -> None:
    forbidden = {"httpx", "duckdb", "prefect", "socket", "os"}
    for path in (ROOT / "extractors").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not modules & forbidden, f"{path.name} imports {sorted(modules & forbidden)}"
        assert "datetime.now" not in path.read_text(encoding="utf-8"), path.name
