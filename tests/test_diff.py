"""`specc diff`: layers added, removed and changed, parameter deltas, diagnostics, --git."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from specc import diff as diff_module
from specc.cli import main

ROOT = Path(__file__).resolve().parent.parent
SKIP = ROOT / "specs" / "skip_deep_lstm.yaml"
TINY = """\
specc: 1
name: tiny
dims: {T: null}
inputs:
  - {name: x, shape: [T, 8]}
layers:
  - {name: enc, op: lstm, units: 4, return_sequences: true}
  - {name: act, op: activation, activation: relu}
  - {name: last, op: lstm, units: 4}
  - {name: out, op: dense, units: 1}
"""


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def widened(tmp_path: Path, old: str, new: str, name: str = "new.yaml") -> Path:
    text = SKIP.read_text()
    assert old in text
    return write(tmp_path / name, text.replace(old, new))


def summary(capsys, path) -> dict:
    code, out, _ = run(capsys, "summary", "--format", "json", path)
    assert code == 0
    return json.loads(out)


def diff_json(capsys, *argv) -> dict:
    code, out, err = run(capsys, "diff", "--format", "json", *argv)
    assert (code, err) == (0, "")
    return json.loads(out)


def test_widened_layer_changes_its_shape_and_the_next_layers_parameters(tmp_path, capsys):
    new = widened(tmp_path, "{name: bi2, op: lstm, units: 128", "{name: bi2, op: lstm, units: 160")
    doc = diff_json(capsys, SKIP, new)
    before, after = summary(capsys, SKIP), summary(capsys, new)
    assert doc["version"] == 1
    assert doc["backends"] == sorted(before["params"])
    assert (doc["old"]["ok"], doc["new"]["ok"]) == (True, True)
    assert doc["old"]["params"] == before["params"]
    assert doc["new"]["params"] == after["params"]
    assert doc["params"] == {b: after["params"][b] - before["params"][b] for b in doc["backends"]}
    layers = doc["layers"]
    assert (layers["added"], layers["removed"], layers["unshaped"]) == ([], [], [])
    assert [c["name"] for c in layers["changed"]] == ["bi2", "bi3"]
    bi2, bi3 = layers["changed"]
    assert bi2["fields"] == {"units": {"old": 128, "new": 160}}
    assert bi2["shape"] == {"old": [36, 128], "new": [36, 160]}
    assert bi3["fields"] == {}  # written the same: its input grew
    assert bi3["shape"] == {"old": [36, 128], "new": [36, 128]}
    old_layers = {layer["name"]: layer for layer in before["layers"]}
    new_layers = {layer["name"]: layer for layer in after["layers"]}
    for change in layers["changed"]:
        for backend, params in change["params"].items():
            old, new = (s[change["name"]]["params"][backend] for s in (old_layers, new_layers))
            assert params == {"old": old, "new": new, "delta": new - old}
    assert bi2["params"]["keras"]["delta"] == 4 * (160 * (128 + 160 + 1) - 128 * (128 + 128 + 1))


def test_widening_changes_the_shapes_after_it(tmp_path, capsys):
    old = write(tmp_path / "old.yaml", TINY)
    new = write(tmp_path / "new.yaml", TINY.replace("units: 4, return", "units: 6, return"))
    doc = diff_json(capsys, old, new)
    changed = {c["name"]: c for c in doc["layers"]["changed"]}
    assert list(changed) == ["enc", "act", "last"]
    assert changed["enc"]["shape"] == {"old": ["T", 4], "new": ["T", 6]}
    assert changed["act"]["shape"] == {"old": ["T", 4], "new": ["T", 6]}
    assert changed["act"]["fields"] == {}
    assert changed["last"]["shape"] == {"old": [4], "new": [4]}
    assert changed["last"]["params"]["torch"]["delta"] == 4 * 4 * 2  # 4 gates x 4 units x 2 inputs


def test_added_removed_and_rewired_layers(tmp_path, capsys):
    old = write(tmp_path / "old.yaml", TINY)
    text = TINY.replace("  - {name: act, op: activation, activation: relu}\n", "")
    text = text.replace(
        "  - {name: out,", "  - {name: drop, op: dropout, rate: 0.5}\n  - {name: out,"
    )
    new = write(tmp_path / "new.yaml", text)
    doc = diff_json(capsys, old, new)
    layers = doc["layers"]
    assert [(a["name"], a["op"], a["shape"]) for a in layers["added"]] == [("drop", "dropout", [4])]
    assert [(r["name"], r["op"]) for r in layers["removed"]] == [("act", "activation")]
    changed = {c["name"]: c for c in layers["changed"]}
    assert changed["last"]["fields"] == {"inputs": {"old": ["act"], "new": ["enc"]}}
    assert changed["out"]["fields"] == {"inputs": {"old": ["last"], "new": ["drop"]}}
    assert doc["params"] == {b: 0 for b in doc["backends"]}
    code, out, _ = run(capsys, "diff", old, new)
    assert code == 0
    assert "layers: 1 added, 1 removed, 2 changed" in out
    assert "  + drop  dropout  (batch, 4)" in out
    assert "  - act  activation  (batch, T, 4)" in out
    assert '      inputs: ["last"] -> ["drop"]' in out


def test_new_and_fixed_diagnostics_match_by_code_and_message(tmp_path, capsys):
    unused = "  - {name: unused, op: dense, units: 2, inputs: enc}\n"
    spare = "  - {name: spare, op: dense, units: 2, inputs: last}\n"
    extra = "  - {name: extra, op: dense, units: 2, inputs: last}\n"
    old = TINY + unused + spare + "outputs: [out]\n"
    # `unused` moves down a line: the same warning on another line is neither new nor fixed
    new = TINY + extra + unused + "outputs: [out]\n"
    paths = write(tmp_path / "old.yaml", old), write(tmp_path / "new.yaml", new)
    doc = diff_json(capsys, *paths)
    assert [d["message"] for d in doc["diagnostics"]["new"]] == ["layer `extra` reaches no output"]
    assert [d["message"] for d in doc["diagnostics"]["fixed"]] == [
        "layer `spare` reaches no output"
    ]
    assert [d["code"] for d in doc["diagnostics"]["new"]] == ["W305"]


def test_a_side_with_errors_is_compared_as_far_as_it_was_shaped(tmp_path, capsys):
    new = widened(tmp_path, "{name: bi1, op: lstm, units: 64", "{name: bi1, op: lstm, units: 80")
    doc = diff_json(capsys, SKIP, new)
    assert doc["new"]["ok"] is False
    assert [e["code"] for e in doc["new"]["errors"]] == ["E401"]
    assert doc["params"] is None and doc["new"]["params"] is None
    changed = {c["name"]: c for c in doc["layers"]["changed"]}
    assert list(changed) == ["bi1", "bi2"]
    assert changed["bi1"]["shape"] == {"old": [36, 128], "new": [36, 160]}
    assert "res1" in doc["layers"]["unshaped"] and "out" in doc["layers"]["unshaped"]
    assert [d["code"] for d in doc["diagnostics"]["new"]] == ["E401"]
    code, out, _ = run(capsys, "diff", SKIP, new)
    assert code == 0
    assert f"parameters: not compared ({new} has errors)" in out
    assert f"errors in {new}: 1" in out
    code, out, _ = run(capsys, "diff", new, SKIP)  # the other way round: the error is fixed
    assert code == 0
    assert "fixed diagnostics: 1\n  error[E401]" in out


def test_a_side_that_cannot_be_shaped_is_not_reported_as_removing_everything(tmp_path, capsys):
    broken = write(tmp_path / "broken.yaml", "specc: 1\nname: [\n")
    doc = diff_json(capsys, SKIP, broken)
    assert doc["layers"] is None
    assert doc["new"]["errors"] and doc["new"]["name"] is None
    code, out, _ = run(capsys, "diff", "--format", "markdown", SKIP, broken)
    assert code == 0 and "layers not compared" in out


def test_text_format(tmp_path, capsys):
    new = widened(tmp_path, "{name: bi2, op: lstm, units: 128", "{name: bi2, op: lstm, units: 160")
    code, out, _ = run(capsys, "diff", SKIP, new)
    assert code == 0
    assert out.splitlines()[:10] == [
        f"specc diff: {SKIP} -> {new}",
        "model `skip_deep_lstm`",
        "parameters: keras 1,089,793 -> 1,159,553 (+69,760); "
        "torch 1,093,889 -> 1,163,777 (+69,888)",
        "layers: 0 added, 0 removed, 2 changed",
        "  ~ bi2  lstm",
        "      units: 128 -> 160",
        "      output shape: (batch, 36, 128) -> (batch, 36, 160)",
        "      params: keras 131,584 -> 184,960 (+53,376); torch 132,096 -> 185,600 (+53,504)",
        "  ~ bi3  lstm",
        "      output shape: (batch, 36, 128) (unchanged)",
    ]
    assert out.endswith("new diagnostics: 0\nfixed diagnostics: 0\n")


def test_markdown_format(tmp_path, capsys):
    new = widened(tmp_path, "{name: bi2, op: lstm, units: 128", "{name: bi2, op: lstm, units: 160")
    code, out, _ = run(capsys, "diff", "--format", "markdown", SKIP, new)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "### specc diff `skip_deep_lstm`: parameters keras +69,760 (+6.4%), torch +69,888 (+6.4%)"
    )
    assert "| keras | 1,089,793 | 1,159,553 | +69,760 |" in lines
    assert (
        "| `bi2` | `units`: 128 → 160 | `(batch, 36, 128)` → `(batch, 36, 160)` "
        "| +53,376 | +53,504 |" in lines
    )
    assert "<details>" not in out
    rows = "".join(f"  - {{name: d{i}, op: dense, units: 1, inputs: head}}\n" for i in range(12))
    long = write(
        tmp_path / "long.yaml",
        SKIP.read_text().replace("outputs: [out]\n", rows + "outputs: [out]\n"),
    )
    code, out, _ = run(capsys, "diff", "--format", "markdown", SKIP, long)
    assert "<details><summary>Layers (12)</summary>" in out
    assert "<details><summary>New diagnostics (12)</summary>" in out


def test_markdown_cells_cannot_break_the_table(tmp_path, capsys):
    old = write(tmp_path / "old.yaml", TINY)
    new = write(tmp_path / "a|b.yaml", TINY.replace("activation: relu", "activation: tanh"))
    code, out, _ = run(capsys, "diff", "--format", "markdown", old, new)
    assert code == 0
    assert "a\\|b.yaml" in out
    assert '| `act` | `activation`: "relu" → "tanh" |' in out


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
        + list(args),
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "specs").mkdir()
    spec = write(tmp_path / "specs" / "tiny.yaml", TINY)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "specs/tiny.yaml")
    git(tmp_path, "commit", "-q", "-m", "tiny")
    return spec


def test_git_compares_a_revision_with_the_working_tree(repo, capsys, monkeypatch):
    write(repo, TINY.replace("units: 1}", "units: 3}"))
    monkeypatch.chdir(repo.parent)  # PATH relative to the current folder, not the repository
    doc = diff_json(capsys, "--git", "HEAD", "tiny.yaml")
    assert doc["old"]["file"] == "HEAD:specs/tiny.yaml"
    assert doc["new"]["file"] == "tiny.yaml"
    assert [c["name"] for c in doc["layers"]["changed"]] == ["out"]
    assert doc["layers"]["changed"][0]["fields"] == {"units": {"old": 1, "new": 3}}
    assert doc["params"]["torch"] == 2 * 5
    code, out, _ = run(capsys, "diff", "tiny.yaml", "--git", "HEAD", "--format", "markdown")
    assert code == 0 and "`HEAD:specs/tiny.yaml` → `tiny.yaml`" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--git", "nosuchrev", "{spec}"], "no revision `nosuchrev`"),
        (["--git", "HEAD", "{new}"], "`specs/new.yaml` does not exist at revision `HEAD`"),
        (["--git", "HEAD", "{outside}"], "is not inside a git repository"),
        (["--git", "HEAD", "{missing}"], "no such file"),
        (["--git=-p", "{spec}"], "is not a revision"),
        (["--git", "HEAD", "{spec}", "{spec}"], "takes one PATH"),
        (["{spec}"], "give two specs"),
        (["{spec}", "{missing}"], "no such file"),
    ],
)
def test_usage_and_io_errors_exit_2(repo, tmp_path_factory, capsys, argv, message):
    outside = write(tmp_path_factory.mktemp("elsewhere") / "x.yaml", TINY)
    names = {
        "spec": repo,
        "new": write(repo.parent / "new.yaml", TINY),
        "outside": outside,
        "missing": repo.parent / "missing.yaml",
    }
    code, out, err = run(capsys, "diff", *(a.format(**names) for a in argv))
    assert (code, out) == (2, "")
    assert message in err and err.startswith("specc: error: ")


def test_git_missing_is_a_clear_error(repo, capsys, monkeypatch):
    monkeypatch.setattr(diff_module.shutil, "which", lambda name: None)
    code, _, err = run(capsys, "diff", "--git", "HEAD", repo)
    assert code == 2
    assert "`--git` needs git, and no `git` command was found" in err


def test_docs_examples_are_what_specc_prints(tmp_path, capsys, monkeypatch):
    """docs/diff.md shows `bi2` of skip_deep_lstm widened to 160 units, as text and Markdown."""
    page = (ROOT / "docs" / "diff.md").read_text()
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "old.yaml", SKIP.read_text())
    widened(tmp_path, "{name: bi2, op: lstm, units: 128", "{name: bi2, op: lstm, units: 160")
    for fence, argv in (("", ()), ("markdown", ("--format", "markdown"))):
        code, out, _ = run(capsys, "diff", "old.yaml", "new.yaml", *argv)
        assert code == 0
        assert f"```{fence}\n{out}```\n" in page
