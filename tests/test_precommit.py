"""The pre-commit hooks (.pre-commit-hooks.yaml), run by pre-commit itself on a temporary
git repository: `pre-commit try-repo` installs specc from this checkout as users get it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import BAD_SPEC

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
BAD = BAD_SPEC

pytestmark = pytest.mark.skipif(
    not Path(PRE_COMMIT).exists() or shutil.which("git") is None,
    reason="pre-commit (the test extra) or git is not installed",
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a good spec, a bad one and another tool's YAML file."""
    work = tmp_path / "repo"
    work.mkdir()
    shutil.copy(ROOT / "specs" / "gru_stack.yaml", work / "good.yaml")
    (work / "bad.yaml").write_text(BAD)
    (work / "workflow.yaml").write_text("on: [push]\njobs: {}\n")
    git(work, "init", "-q")
    git(work, "add", ".")
    git(work, "commit", "-qm", "specs")
    return work


def git(where: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=where,
        check=True,
    )


def pre_commit(where: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(where.parent / "pre-commit-home")}
    return subprocess.run(
        [PRE_COMMIT, *args], cwd=where, env=env, capture_output=True, text=True, timeout=600
    )


def test_try_repo_fails_the_bad_spec_only(repo: Path):
    """One run over a good spec, another tool's YAML and a bad spec: only the bad one is
    reported (an installation costs seconds: the good case runs in the test below too)."""
    run = pre_commit(repo, "try-repo", str(ROOT), "specc-validate", "--files", "good.yaml",
                     "workflow.yaml", "bad.yaml")  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "specc validate" in run.stdout and "Failed" in run.stdout
    assert "error[E401]: `add` merge `c` needs equal shapes" in run.stdout
    assert " --> bad.yaml:8:36" in run.stdout
    assert "good.yaml" not in run.stdout and "workflow.yaml" not in run.stdout
    assert "2 files checked: 1 error" in run.stdout  # the workflow file: skipped silently


def test_compile_check_hook_finds_a_stale_model_file(repo: Path, monkeypatch):
    """Both hooks from a config as users write it (this checkout's last commit):
    `specc-validate` passes a good spec, `specc-compile-check` with `args: [--out-dir,
    models]` passes its fresh model file and fails a stale one."""
    from specc.cli import main

    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n"
        "      - id: specc-validate\n"
        "      - id: specc-compile-check\n        args: [--out-dir, models]\n"
        "        files: ^good\\.yaml$\n"
    )
    monkeypatch.chdir(repo)
    assert main(["compile", "good.yaml", "--out-dir", "models"]) == 0
    ok = pre_commit(repo, "run", "--files", "good.yaml", "workflow.yaml")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("Passed") == 2  # both hooks: a good spec, and its fresh model
    model = repo / "models" / "good.py"
    model.write_text(model.read_text().replace("class ", "class Stale", 1))
    stale = pre_commit(repo, "run", "--files", "good.yaml")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "+++ models/good.py (specc compile)" in stale.stdout
