"""The `core` marker: every test that needs no deep-learning framework (`pytest -m core`).

A test module is core unless it is listed here (the modules that build models
in a framework, the packaging test, which builds a wheel, and the fuzzer and
the differential test, which take tens of seconds each), so a new
framework-free test file joins `-m core` without a change here. Under
`-m core` the others are not even imported.
"""

from __future__ import annotations

import gc
import os

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under `pytest -n N` each worker has a core: one thread per framework, or
    # the workers fight over the cores (two threads under load can make
    # nn.LSTM 200x slower). Set before any test module imports a framework.
    for variable in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(variable, "1")

FRAMEWORK_MODULES = {
    "test_backend_keras",
    "test_backend_torch",
    "test_cross_backend",
    "test_distributed",
    "test_differential",
    "test_fast_cells",
    "test_fuzz",
    "test_fused_variants",
    "test_gated_feedback",
    "test_masked_models",
    "test_names",
    "test_packaging",
    "test_precommit",  # framework-free, but installs specc twice: not in the quick subset
    "test_pytest_plugin_build",
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


def pytest_collection_finish(session) -> None:
    # The frameworks' modules are imported now and live to the end: keep the
    # garbage collector from walking them again in every test.
    gc.collect()
    gc.freeze()
