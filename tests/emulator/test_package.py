"""The emulator is its own package: the backend never imports it, and pytest finds its plugin
through the installed entry point (no ``conftest.py`` lists it)."""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import django_singlestore

BACKEND = Path(django_singlestore.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_backend_module_imports_the_emulator() -> None:
    offenders = {
        str(path.relative_to(BACKEND)): sorted(
            n for n in _imported_modules(path) if n.split(".")[0] == "s2emulator"
        )
        for path in BACKEND.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_plugin_registered_by_entry_point(pytestconfig: pytest.Config) -> None:
    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "s2emulator"]
    assert entry.value == "s2emulator.pytest_plugin"
    assert pytestconfig.pluginmanager.has_plugin("s2emulator")
    assert not (Path(__file__).parents[1] / "conftest.py").exists()
