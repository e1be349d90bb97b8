"""The built wheel: `specc` is the only top-level import name, with schema and backends inside."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def source_copy(target: Path) -> Path:
    """A copy of the files git tracks or would (builds never write into the repo)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = source_copy(tmp_path_factory.mktemp("source"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("specc-*.whl")
    return path


def test_wheel_layout(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"specc"}
    assert "specc/schemas/spec.schema.json" in names
    shipped = zipfile.ZipFile(wheel).read("specc/schemas/spec.schema.json").decode()
    assert shipped == (ROOT / "schemas" / "spec.schema.json").read_text()
    assert "specc/backends/__init__.py" in names
    assert "specc/ops/recurrent.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "specc = specc.cli:main_exit" in text


def test_non_editable_install_validates(wheel: Path, tmp_path: Path):
    """Install the wheel into a fresh venv and run the CLI away from the source tree."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = venv / "bin" / "pip"
    subprocess.run(
        [str(pip), "install", "-q", str(wheel)], check=True, timeout=300, capture_output=True
    )
    spec = ROOT / "specs" / "skip_deep_lstm.yaml"
    result = subprocess.run(
        [str(venv / "bin" / "specc"), "validate", str(spec)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.util, specc, specc.schema as s; "
            "assert importlib.util.find_spec('backends') is None; "
            "assert 'site-packages' in specc.__file__; "
            "import json; json.loads(s.schema_text()); print('ok')",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "ok", probe.stderr
