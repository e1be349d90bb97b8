"""A quick start: the CLI imports its heavier dependencies only where a command needs them.

Each case runs in a fresh interpreter, since this process has long imported
everything. `--help`, `--version` and `schema` need neither networkx nor
jsonschema; `validate` imports jsonschema when a spec reaches the schema
check, networkx when it reaches the graph, and importlib.metadata when it
looks up the installed backends.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("networkx", "jsonschema", "importlib.metadata", "torch", "keras", "tensorflow")

PROBE = (
    f"HEAVY = {HEAVY!r}\n"
    + """\
import contextlib, io, json, sys
from specc.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in HEAVY if m in sys.modules]}))
"""
)


def loaded_by(*argv: str) -> tuple[int, set[str]]:
    """The exit code of `specc ARGV` in a fresh interpreter, and which HEAVY modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    return found["code"], set(found["loaded"])


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["schema"]])
def test_help_version_and_schema_import_no_heavy_module(argv):
    code, loaded = loaded_by(*argv)
    assert code == 0
    assert loaded == set()


def test_validate_imports_each_dependency_at_its_stage(tmp_path: Path):
    broken_yaml = tmp_path / "broken_yaml.yaml"
    broken_yaml.write_text("specc: 1\nname: [\n")
    assert loaded_by("validate", str(broken_yaml)) == (1, set())

    bad_top = tmp_path / "bad_top.yaml"  # refused by the schema check: no graph is built
    bad_top.write_text("specc: 1\nname: tiny\ninputs: 3\n")
    assert loaded_by("validate", str(bad_top)) == (1, {"jsonschema"})

    good = Path(__file__).resolve().parent.parent / "specs" / "skip_deep_lstm.yaml"
    code, loaded = loaded_by("validate", str(good))
    assert code == 0
    assert loaded == {"jsonschema", "networkx", "importlib.metadata"}  # never a framework
