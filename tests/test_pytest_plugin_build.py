"""`pytest --specc --specc-build=torch,keras`: each valid spec built and run on both backends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .test_pytest_plugin import ROOT, run_pytest

pytest.importorskip("torch")
pytest.importorskip("keras")


def test_specs_build_and_run_with_the_predicted_output_shapes(tmp_path: Path):
    for name in ("seq2seq_states", "imdb_masked"):
        shutil.copy(ROOT / "specs" / f"{name}.yaml", tmp_path)
    result = run_pytest(tmp_path, "--specc", ".", "--specc-build=torch,keras")
    assert result.returncode == 0, result.stdout
    assert "2 passed" in result.stdout
