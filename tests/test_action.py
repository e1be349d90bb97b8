"""The GitHub Action (action.yml): valid action metadata, and its steps run as a runner runs them.

The `run:` steps are run in order with bash, as GitHub runs a composite
action's bash steps (`bash --noprofile --norc -eo pipefail`), with the
`${{ ... }}` expressions replaced by test values. The `uses:` step (setup-python)
and the install step are skipped: specc is importable by this interpreter,
which stands in for the one the install step creates.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .support import BAD_SPEC

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
GOOD = (ROOT / "specs" / "gru_stack.yaml").read_text()
BAD = BAD_SPEC
WARNED = """\
specc: 1
name: warned
inputs:
  - {name: x, shape: [4, 8]}
layers:
  - {name: h, op: lstm, units: 16, use_bias: false}
"""
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.skip("check-jsonschema is not installed (it is in the `test` extra)")
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions"]
        + [str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_action_metadata_is_valid():
    result = check_jsonschema(ACTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_action(tmp_path: Path):
    broken = action()
    del broken["runs"]["steps"][1]["shell"]  # a composite `run:` step must name its shell
    (tmp_path / "action.yml").write_text(yaml.safe_dump(broken))
    result = check_jsonschema(tmp_path / "action.yml")
    assert result.returncode == 1, result.stdout + result.stderr


def test_inputs_and_their_defaults():
    inputs = action()["inputs"]
    assert {k: v.get("default") for k, v in inputs.items()} == {
        "paths": ".",
        "strict": "false",
        "sarif-file": "",
        "args": "",
        "python-version": "3.11",
    }
    assert all(v["description"] for v in inputs.values())
    steps = action()["runs"]["steps"]
    assert action()["runs"]["using"] == "composite"
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert steps[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    assert '"$GITHUB_ACTION_PATH"' in steps[1]["run"]


def test_no_expression_is_pasted_into_a_script():
    """Inputs reach the scripts as environment variables only (no script injection)."""
    for step in action()["runs"]["steps"]:
        assert "${{" not in step.get("run", "")


@needs_bash
def test_every_script_is_bash(tmp_path: Path):
    """`bash -n` on each `run:`, the install step too (the other tests skip it)."""
    for number, step in enumerate(action()["runs"]["steps"]):
        if "run" in step:
            script = tmp_path / f"step{number}.sh"
            script.write_text(step["run"])
            result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
            assert result.returncode == 0, f"step {number}: {result.stderr}"


def run_action(workdir: Path, tmp_path: Path, **inputs: str) -> tuple[int, str, Path]:
    """Run the action's bash steps in `workdir`: (exit code, output, job summary file)."""
    spec = action()
    values = {name: item.get("default", "") for name, item in spec["inputs"].items()}
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    known = {f"inputs.{name}": value for name, value in values.items()}
    known["github.action_path"] = str(ROOT)
    known["steps.install.outputs.python"] = sys.executable
    known["steps.python.outputs.python-path"] = sys.executable

    def expand(text: str) -> str:
        return EXPRESSION.sub(lambda m: known[m[1]], text)  # KeyError: an unknown expression

    summary = tmp_path / "step_summary.md"
    summary.write_text("")
    (tmp_path / "output").write_text("")
    base = {
        **os.environ,
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "RUNNER_TEMP": str(tmp_path),
        "RUNNER_OS": "Linux",
    }
    output = ""
    for number, step in enumerate(spec["runs"]["steps"]):
        if "uses" in step or step.get("id") == "install":
            continue
        assert step["shell"] == "bash" and "if" not in step
        script = tmp_path / f"step{number}.sh"
        script.write_text(expand(step["run"]))
        env = {**base, **{k: expand(str(v)) for k, v in step.get("env", {}).items()}}
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output += result.stdout + result.stderr
        if result.returncode != 0:
            return result.returncode, output, summary
    return 0, output, summary


@needs_bash
def test_a_bad_spec_fails_the_job_with_annotations_sarif_and_a_summary(tmp_path: Path):
    work = tmp_path / "repo"
    (work / "specs").mkdir(parents=True)
    (work / "specs" / "good.yaml").write_text(GOOD)
    (work / "specs" / "bad.yaml").write_text(BAD)
    code, output, summary = run_action(
        work, tmp_path, paths="specs", sarif_file="reports/specc.sarif"
    )
    assert code == 1, output
    assert "::error file=specs/bad.yaml,line=8,col=36," in output
    assert "title=E401 merge needs equal shapes::" in output
    assert "good.yaml" not in output  # a clean spec gets no annotation
    assert "files checked" not in output  # the SARIF run's text report stays out of the log
    sarif = json.loads((work / "reports" / "specc.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["E401"]
    text = summary.read_text()
    assert text.startswith("## specc: 2 files checked: 1 error, 0 warnings\n")
    assert "| spec | status | layers | Keras params | PyTorch params |" in text
    assert "| `specs/bad.yaml` | ❌ 1 error, 0 warnings | – | – | – |" in text
    assert "| `specs/good.yaml` | ✅ ok | 4 | 265,917 | 265,917 |" in text
    assert "- `specs/bad.yaml:8:36` **E401** (error) `add` merge `c` needs equal shapes" in text


@needs_bash
def test_good_specs_pass_and_warnings_fail_only_under_strict(tmp_path: Path):
    work = tmp_path / "repo"
    work.mkdir()
    (work / "good.yaml").write_text(GOOD)
    (work / "warned.yaml").write_text(WARNED)
    (work / "compose.yaml").write_text("services: {web: {image: nginx}}\n")  # no spec
    code, output, summary = run_action(work, tmp_path)  # paths: `.`, no SARIF
    assert code == 0, output
    assert "compose.yaml" not in output + summary.read_text()  # skipped, not failed
    assert "::warning file=warned.yaml," in output
    assert not list(work.rglob("*.sarif"))
    text = summary.read_text()
    assert "| `warned.yaml` | ⚠️ 0 errors, 1 warning | 1 |" in text
    code, output, summary = run_action(work, tmp_path, strict="true")
    assert code == 1, output
    assert "| `warned.yaml` | ❌ 0 errors, 1 warning (strict) | 1 |" in summary.read_text()
    code, output, summary = run_action(work, tmp_path, strict="true", args="--ignore W501")
    assert code == 0, output
    assert "| `warned.yaml` | ✅ ok | 1 |" in summary.read_text()


@needs_bash
def test_usage_errors_fail_the_step(tmp_path: Path):
    work = tmp_path / "repo"
    work.mkdir()
    (work / "good.yaml").write_text(GOOD)
    code, output, _ = run_action(work, tmp_path, paths="good.yaml missing")
    assert code == 2, output
    assert "no such file or folder: `missing`" in output
    code, output, _ = run_action(work, tmp_path, strict="yes")
    assert code == 2, output
    assert "input strict must be true or false" in output


def test_summary_text_cannot_break_the_table_or_reach_the_page_as_html():
    from specc.job_summary import code_span, markdown

    assert markdown("a|b <script> & `x`\nnext") == "a\\|b &lt;script&gt; &amp; `x`\\x0anext"
    assert code_span("specs/a|b.yaml") == "`specs/a\\|b.yaml`"
    assert code_span("odd`name.yaml") == "odd`name.yaml"


def test_job_summary_usage_errors(tmp_path: Path, capsys, monkeypatch):
    from specc.job_summary import main

    monkeypatch.chdir(tmp_path)
    assert main(["missing"]) == 2
    assert main(["-"]) == 2
    assert "not standard input" in capsys.readouterr().err


def test_docs_example_is_what_the_job_summary_prints(tmp_path: Path, capsys, monkeypatch):
    from specc.job_summary import main

    page = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    shown = re.search(r"```console\n\$ python -m specc.job_summary specs/\n(.*?)```", page, re.S)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "gru_stack.yaml").write_text(GOOD)
    (tmp_path / "specs" / "bad.yaml").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    assert main(["specs/"]) == 0
    assert capsys.readouterr().out == shown[1]
