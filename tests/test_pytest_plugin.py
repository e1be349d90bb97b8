"""The pytest plugin (specc/pytest_plugin.py), run as users run it: `pytest --specc PATHS`
in a fresh process, through its `pytest11` entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .support import BAD_SPEC

ROOT = Path(__file__).resolve().parent.parent
BAD = BAD_SPEC


def run_pytest(where: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_each_spec_is_an_item_and_a_failure_is_the_diagnostic(tmp_path: Path):
    (tmp_path / "good.yaml").write_text((ROOT / "specs" / "gru_stack.yaml").read_text())
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "other.yaml").write_text("name: another tool's file\nsteps: [1, 2]\n")
    result = run_pytest(tmp_path, "--specc", ".", "-rA")
    out = result.stdout
    assert result.returncode == 1, out
    assert "1 failed, 1 passed" in out
    assert "PASSED good.yaml::specc" in out and "FAILED bad.yaml::specc" in out
    assert "other.yaml" not in out  # not a spec: not collected
    assert "error[E401]: `add` merge `c` needs equal shapes" in out
    assert " --> bad.yaml:8:36" in out  # located, relative to where pytest runs
    assert "Traceback" not in out and "def runtest" not in out


def test_without_the_flag_no_spec_is_collected(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text(BAD)
    result = run_pytest(tmp_path, ".")
    assert result.returncode == 5, result.stdout  # pytest: no tests collected


def test_expected_diagnostics_pass_only_when_exactly_reported(tmp_path: Path):
    (tmp_path / "expected.yaml").write_text("# specc-expect: E401 at 9:36\n" + BAD)
    (tmp_path / "by_code.yaml").write_text("# specc-expect: E401\n" + BAD)
    (tmp_path / "wrong.yaml").write_text("# specc-expect: E402 at 9\n" + BAD)
    (tmp_path / "missing.yaml").write_text("# specc-expect: E401\n# specc-expect: W305\n" + BAD)
    result = run_pytest(tmp_path, "--specc", ".")
    out = result.stdout
    assert "2 failed, 2 passed" in out, out
    assert "expected, not reported: E402 at 9" in out
    assert "reported, not expected: E401 at 9:36" in out
    assert "expected, not reported: W305" in out


def test_the_example_specs_pass():
    result = run_pytest(ROOT, "--specc", "specs")
    specs = len(list((ROOT / "specs").rglob("*.yaml")))
    assert result.returncode == 0, result.stdout
    assert f"{specs} passed" in result.stdout
