"""`specc compile` writing files: `--check`, `--out-dir`, and the modes atomic writes leave."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from specc.cli import main

SPEC = """\
specc: 1
name: tiny
inputs:
  - {name: x, shape: [5, 3]}
layers:
  - {name: h, op: lstm, units: 4}
  - {name: out, op: dense, units: 1}
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    return path


def test_check_passes_on_a_fresh_file(spec, tmp_path, capsys):
    target = tmp_path / "model.py"
    assert run(capsys, "compile", str(spec), "-o", str(target))[0] == 0
    before = target.read_bytes()
    assert run(capsys, "compile", str(spec), "--check", "-o", str(target)) == (0, "", "")
    assert target.read_bytes() == before


def test_check_fails_on_a_stale_file_with_a_diff(spec, tmp_path, capsys):
    target = tmp_path / "model.py"
    run(capsys, "compile", str(spec), "-o", str(target))
    fresh = target.read_text()
    target.write_text(fresh.replace("nn.LSTM(", "nn.GRU(") + "# edited by hand\n")
    code, out, _ = run(capsys, "compile", str(spec), "--check", "-o", str(target))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"--- {target}"
    assert lines[1] == f"+++ {target} (specc compile)"
    assert "-# edited by hand" in lines
    assert any(line.startswith("-") and "nn.GRU(" in line for line in lines)
    assert any(line.startswith("+") and "nn.LSTM(" in line for line in lines)
    assert "# edited by hand" in target.read_text()  # --check writes nothing


def test_check_fails_on_line_ends_alone(spec, tmp_path, capsys):
    target = tmp_path / "model.py"
    run(capsys, "compile", str(spec), "-o", str(target))
    target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
    code, out, _ = run(capsys, "compile", str(spec), "--check", "-o", str(target))
    assert code == 1
    assert "differs in line ends or encoding only" in out


def test_check_fails_on_a_missing_file(spec, tmp_path, capsys):
    target = tmp_path / "model.py"
    code, out, _ = run(capsys, "compile", str(spec), "--check", "-o", str(target))
    assert code == 1
    assert out == f"{target}: missing; `specc compile {spec} -o {target}` writes it\n"
    assert not target.exists()


def test_check_needs_a_file(spec, capsys):
    code, out, err = run(capsys, "compile", str(spec), "--check")
    assert code == 2
    assert "`--check` compares with files" in err


def test_out_dir_compiles_each_spec_and_checks_them(spec, tmp_path, capsys):
    other = tmp_path / "wide.yaml"
    other.write_text(SPEC.replace("name: tiny", "name: wide").replace("units: 4", "units: 8"))
    out_dir = tmp_path / "models" / "torch"  # made when missing
    argv = ["compile", str(spec), str(other), "--out-dir", str(out_dir)]
    assert run(capsys, *argv) == (0, "", "")
    assert sorted(p.name for p in out_dir.iterdir()) == ["tiny.py", "wide.py"]
    code, printed, _ = run(capsys, "compile", str(other))
    assert (out_dir / "wide.py").read_text() == printed
    assert run(capsys, *argv, "--check") == (0, "", "")
    (out_dir / "tiny.py").unlink()
    code, out, _ = run(capsys, *argv, "--check")
    assert code == 1
    assert out.startswith(f"{out_dir / 'tiny.py'}: missing")


def test_out_dir_usage_errors(spec, tmp_path, capsys):
    twin = tmp_path / "other" / "tiny.yaml"
    twin.parent.mkdir()
    twin.write_text(SPEC)
    code, _, err = run(capsys, "compile", str(spec), str(twin), "--out-dir", str(tmp_path / "o"))
    assert code == 2
    assert "would both be written to" in err
    code, _, err = run(capsys, "compile", str(spec), str(twin))
    assert code == 2
    assert "several specs need `--out-dir DIR`" in err
    code, _, err = run(capsys, "compile", str(spec), "-o", "m.py", "--out-dir", "o")
    assert code == 2
    assert not (tmp_path / "o").exists()


def test_out_dir_reports_every_spec_with_errors(spec, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC.replace("units: 4", "units: 0"))
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "compile", str(bad), str(spec), "--out-dir", str(out_dir))
    assert code == 1
    assert "error[E104]" in err
    assert [p.name for p in out_dir.iterdir()] == ["tiny.py"]  # the good one is written


@pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")
def test_written_files_keep_the_umask_mode(spec, tmp_path, capsys):
    new = tmp_path / "new.py"
    existing = tmp_path / "existing.py"
    existing.write_text("old\n")
    os.chmod(existing, 0o644)
    private = tmp_path / "private.py"
    private.write_text("old\n")
    os.chmod(private, 0o600)
    old_mask = os.umask(0o022)
    try:
        for target in (new, existing, private):
            assert run(capsys, "compile", str(spec), "-o", str(target))[0] == 0
        assert run(capsys, "compile", str(spec), "--out-dir", str(tmp_path / "d"))[0] == 0
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644
    assert stat.S_IMODE(private.stat().st_mode) == 0o600  # an existing file keeps its mode
    assert stat.S_IMODE((tmp_path / "d" / "tiny.py").stat().st_mode) == 0o644
    assert existing.read_text() != "old\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
