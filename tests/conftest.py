"""The `core` marker: every test that needs no deep-learning framework (`pytest -m core`).

A test module is core unless it is listed here (the modules that build models
in a framework, the packaging test, which builds a wheel, and the fuzzer and
the differential test, which take tens of seconds each), so a new
framework-free test file joins `-m core` without a change here. Under
`-m core` the others are not even imported.
"""

from __future__ import annotations

import pytest

FRAMEWORK_MODULES = {
    "test_backend_keras",
    "test_backend_torch",
    "test_cross_backend",
    "test_differential",
    "test_fuzz",
    "test_names",
    "test_packaging",
}


def _is_core(name: str) -> bool:
    return name.startswith("test_") and name not in FRAMEWORK_MODULES


def pytest_ignore_collect(collection_path, config) -> bool | None:
    if config.option.markexpr == "core" and collection_path.suffix == ".py":
        name = collection_path.stem
        if name.startswith("test_") and not _is_core(name):
            return True
    return None


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if _is_core(item.module.__name__.rpartition(".")[2]):
            item.add_marker(pytest.mark.core)
