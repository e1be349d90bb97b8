"""The command line: exit codes, output formats, summary, schema; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specc.cli import main
from specc.schema import spec_schema

ROOT = Path(__file__).resolve().parent.parent
GOOD = """\
specc: 1
name: tiny
dims: {T: null}
inputs:
  - {name: x, shape: [T, 8]}
layers:
  - {name: enc, op: lstm, units: 4, return_sequences: true}
  - {name: last, op: lstm, units: 4}
  - {name: unused, op: dense, units: 2, inputs: enc}
  - {name: out, op: dense, units: 1, inputs: last}
outputs: out
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_warnings_exit_0_unless_strict(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    code, out, _ = run(capsys, "validate", path)
    assert code == 0
    assert "warning[W305]: layer `unused` reaches no output" in out
    assert out.rstrip().endswith("1 file checked: 0 errors, 1 warning")
    code, _, _ = run(capsys, "validate", "--strict", path)
    assert code == 1


def test_errors_exit_1_and_all_are_reported(tmp_path, capsys):
    bad = GOOD.replace("units: 4}", "units: 0}").replace("op: dense, units: 1", "op: dens")
    code, out, _ = run(capsys, "validate", "--format", "json", write(tmp_path, bad))
    assert code == 1
    found = [(d["code"], d["line"]) for d in json.loads(out)["diagnostics"]]
    assert found == [("E104", 8), ("E105", 10)]  # no W305 while there are errors


def test_folder_is_searched_for_yaml_and_yml(tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path / "sub", GOOD, "b.yml")
    write(tmp_path, "not a spec", "c.txt")
    code, out, _ = run(capsys, "validate", "--format", "json", str(tmp_path))
    assert json.loads(out)["files"] == 2


def test_folder_search_skips_hidden_and_tool_folders(tmp_path, capsys):
    for folder in (".venv/lib", ".github/workflows", "node_modules/x", "specs/.cache", "specs"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        write(tmp_path / folder, "not: a spec\n", "other.yaml")
    write(tmp_path / "specs", GOOD, "other.yaml")
    code, out, _ = run(capsys, "validate", "--format", "json", str(tmp_path))
    assert (code, json.loads(out)["files"]) == (0, 1)
    hidden = tmp_path / ".venv" / "lib" / "other.yaml"
    code, out, _ = run(capsys, "validate", "--format", "json", str(hidden))
    assert code == 1  # named on the command line: checked


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "does/not/exist.yaml"],
        ["validate"],
        ["validate", "--format", "xml", "x.yaml"],
        ["summary"],
        ["frobnicate"],
        [],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "specc: error:" in err


def test_empty_folder_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 2 and "no *.yaml" in err


def test_unreadable_file_exits_2(tmp_path, capsys):
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    (folder / "inner.yaml").write_text(GOOD)
    # A folder named like a spec is searched, not read; a FIFO or a permission
    # problem would be an I/O error. Simulate one with a dangling symlink.
    link = tmp_path / "gone.yaml"
    link.symlink_to(tmp_path / "missing-target.yaml")
    code, _, err = run(capsys, "validate", str(link))
    assert code == 2


def test_internal_error_exits_2_without_traceback(monkeypatch, capsys, tmp_path):
    import specc.cli

    def explode(_):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(specc.cli, "validate", explode)
    code, _, err = run(capsys, "validate", write(tmp_path, GOOD))
    assert code == 2
    assert "internal error: RecursionError" in err


def test_summary_json_format(tmp_path, capsys):
    code, out, _ = run(capsys, "summary", "--format", "json", write(tmp_path, GOOD))
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"name", "inputs", "layers", "outputs", "params"}
    assert data["inputs"] == [{"name": "x", "shape": ["T", 8], "dtype": "float32"}]
    assert [layer["name"] for layer in data["layers"]] == ["enc", "last", "out"]
    assert data["layers"][0] == {
        "name": "enc",
        "op": "lstm",
        "inputs": ["x"],
        "shape": ["T", 4],
        "dtype": "float32",
        "params": {"keras": 4 * (8 * 4 + 16 + 4), "torch": 4 * (8 * 4 + 16 + 8)},
    }
    assert data["outputs"] == ["out"]
    total_keras = sum(layer["params"]["keras"] for layer in data["layers"])
    assert data["params"] == {"keras": total_keras, "torch": total_keras + 2 * 4 * 4}


def test_summary_text_table(tmp_path, capsys):
    code, out, _ = run(capsys, "summary", write(tmp_path, GOOD))
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == [
        "layer",
        "op",
        "inputs",
        "output",
        "shape",
        "keras",
        "params",
        "torch",
        "params",
    ]
    assert any(line.split()[:2] == ["enc", "lstm"] and "(batch, T, 4)" in line for line in lines)
    assert lines[-2].split()[0] == "total"


def test_summary_of_a_wrong_spec_exits_1(tmp_path, capsys):
    code, out, err = run(capsys, "summary", write(tmp_path, GOOD.replace("units: 4}", "units: x}")))
    assert code == 1 and "error[E103]" in err and out == ""


def test_schema_command_prints_the_schema(capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert json.loads(out) == spec_schema().schema


def test_schema_describes_every_property():
    """Editors show each property's `description` as help."""
    missing = []

    def visit(schema, path):
        if isinstance(schema, dict):
            for name, prop in schema.get("properties", {}).items():
                if isinstance(prop, dict) and "description" not in prop:
                    missing.append(f"{path}/{name}")
            for key, value in schema.items():
                if key != "if":  # the op dispatch conditions, not properties
                    visit(value, f"{path}/{key}")
        elif isinstance(schema, list):
            for i, value in enumerate(schema):
                visit(value, f"{path}/{i}")

    visit(spec_schema().schema, "#")
    assert missing == []


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("specc ")
