"""The `core` marker: every test that needs no deep-learning framework (`pytest -m core`).

Marked here by module, so a new framework-free test file joins by name; the
backend tests and the packaging test (it builds a wheel) are left out, and
under `-m core` they are not even imported.
"""

from __future__ import annotations

import pytest

CORE_MODULES = {
    "test_blocks",
    "test_cli",
    "test_codegen",
    "test_core_isolation",
    "test_docs",
    "test_error_catalogue",
    "test_graph",
    "test_lints",
    "test_loader",
    "test_optable",
    "test_robustness",
    "test_shapes",
    "test_specs",
}


def pytest_ignore_collect(collection_path, config) -> bool | None:
    """Under `-m core`, do not even import the other test modules (they import the frameworks)."""
    if config.option.markexpr == "core" and collection_path.suffix == ".py":
        name = collection_path.stem
        if name.startswith("test_") and name not in CORE_MODULES:
            return True
    return None


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.module.__name__.rpartition(".")[2] in CORE_MODULES:
            item.add_marker(pytest.mark.core)
