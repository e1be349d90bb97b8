"""`specc validate`'s report formats, --output-file, code selection, [tool.specc] and stdin."""

from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from specc.cli import main

ROOT = Path(__file__).resolve().parent.parent
WRONG = "tests/errors/E401_inside_block.yaml"
WARNED = "specs/imdb_lstm_recurrent_dropout.yaml"  # W501 and W502 on line 21
GOOD = """\
specc: 1
name: tiny
inputs:
  - {name: x, shape: [36, 8]}
layers:
  - {name: enc, op: lstm, units: 4, return_sequences: true}
  - {name: unused, op: dense, units: 2}
  - {name: out, op: dense, units: 1, inputs: enc}
"""


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def run(capsys, *argv, stdin: bytes | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# -- formats ------------------------------------------------------------------------


def test_concise(at_root, capsys):
    code, out, _ = run(capsys, "validate", "--format", "concise", WRONG, WARNED)
    assert code == 1
    assert out.splitlines() == [
        f"{WRONG}:11:42: E401 `add` merge `b1_sum` needs equal shapes",
        f"{WARNED}:21:76: W501 `lstm` layer `encoder`: `recurrent_dropout: 0.2` keeps Keras "
        "off its cuDNN kernel",
        f"{WARNED}:21:76: W502 `lstm` layer `encoder`: `recurrent_dropout: 0.2` makes PyTorch "
        "loop over time steps in Python",
        "2 files checked: 1 error, 2 warnings",
    ]


def test_json_counts(at_root, capsys):
    _, out, _ = run(capsys, "validate", "--format", "json", WRONG, WARNED)
    doc = json.loads(out)
    assert (doc["files"], doc["errors"], doc["warnings"]) == (2, 1, 2)
    assert len(doc["diagnostics"]) == 3


def test_json_lines(at_root, capsys):
    _, whole, _ = run(capsys, "validate", "--format", "json", WRONG, WARNED)
    _, out, _ = run(capsys, "validate", "--format", "json-lines", WRONG, WARNED)
    lines = out.splitlines()
    assert [json.loads(line) for line in lines] == json.loads(whole)["diagnostics"]


# A fragment of the SARIF 2.1.0 schema (OASIS, sarif-schema-2.1.0.json): the
# required properties of each object specc writes, their types and enums, and
# no properties beyond those the schema defines for them.
def _obj(required, properties):
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


_TEXT = _obj(["text"], {"text": {"type": "string"}})
_POSITIVE = {"type": "integer", "minimum": 1}
_LOCATION = _obj(
    [],
    {
        "id": {"type": "integer", "minimum": -1},
        "message": _TEXT,
        "physicalLocation": _obj(
            ["artifactLocation"],
            {
                "artifactLocation": _obj(["uri"], {"uri": {"type": "string"}}),
                "region": _obj(
                    ["startLine"],
                    {
                        "startLine": _POSITIVE,
                        "startColumn": _POSITIVE,
                        "endLine": _POSITIVE,
                        "endColumn": _POSITIVE,
                    },
                ),
            },
        ),
    },
)
SARIF_FRAGMENT = _obj(
    ["version", "runs"],
    {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "items": _obj(
                ["tool"],
                {
                    "tool": _obj(
                        ["driver"],
                        {
                            "driver": _obj(
                                ["name"],
                                {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "informationUri": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "uniqueItems": True,
                                        "items": _obj(
                                            ["id"],
                                            {
                                                "id": {"type": "string"},
                                                "name": {"type": "string"},
                                                "shortDescription": _TEXT,
                                                "helpUri": {"type": "string"},
                                                "defaultConfiguration": _obj(
                                                    [],
                                                    {
                                                        "level": {
                                                            "enum": [
                                                                "none",
                                                                "note",
                                                                "warning",
                                                                "error",
                                                            ]
                                                        }
                                                    },
                                                ),
                                            },
                                        ),
                                    },
                                },
                            )
                        },
                    ),
                    "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                    "results": {
                        "type": "array",
                        "items": _obj(
                            ["message"],
                            {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": _TEXT,
                                "locations": {"type": "array", "items": _LOCATION},
                                "relatedLocations": {"type": "array", "items": _LOCATION},
                            },
                        ),
                    },
                },
            ),
        },
    },
)


def test_sarif(at_root, capsys):
    code, out, _ = run(capsys, "validate", "--format", "sarif", WRONG, WARNED)
    assert code == 1
    doc = json.loads(out)
    Draft202012Validator(SARIF_FRAGMENT).validate(doc)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    (run_,) = doc["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["E401", "W501", "W502"]
    assert rules[0]["shortDescription"]["text"] == "merge needs equal shapes"
    assert rules[0]["helpUri"] == "docs/diagnostics.md#e401-merge-needs-equal-shapes"
    docs = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for rule in rules:  # each help link is an anchor of the code table
        assert f"[{rule['id']}]({rule['helpUri'].split('docs/diagnostics.md')[1]})" in docs
    first, second, _ = run_["results"]
    assert (first["ruleId"], first["level"], second["level"]) == ("E401", "error", "warning")
    assert run_["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "E401"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == WRONG
    assert location["region"] == {
        "startLine": 11,
        "startColumn": 42,
        "endLine": 11,
        "endColumn": 43,
    }
    assert first["relatedLocations"][0]["message"]["text"] == "in block `res_lstm`, instance `b1`"


def test_paths_are_relative_for_absolute_paths(at_root, capsys):
    _, out, _ = run(capsys, "validate", "--format", "sarif", str(ROOT / WRONG))
    result = json.loads(out)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == WRONG
    _, out, _ = run(capsys, "validate", "--format", "gitlab", str(ROOT / WRONG))
    assert json.loads(out)[0]["location"]["path"] == WRONG


def test_sarif_of_a_clean_run_is_valid(at_root, capsys):
    code, out, _ = run(capsys, "validate", "--format", "sarif", "specs/stacked_lstm_2.yaml")
    assert code == 0
    doc = json.loads(out)
    Draft202012Validator(SARIF_FRAGMENT).validate(doc)
    assert doc["runs"][0]["results"] == []


def test_junit(at_root, capsys):
    clean = "specs/stacked_lstm_2.yaml"
    code, out, _ = run(capsys, "validate", "--format", "junit", WRONG, WARNED, clean)
    assert code == 1
    suites = ET.fromstring(out)
    assert suites.tag == "testsuites" and suites.get("failures") == "1"
    cases = suites.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [WRONG, WARNED, clean]
    failure = cases[0].find("failure")
    _, text, _ = run(capsys, "validate", WRONG)
    assert failure.text == text.rsplit("\n\n", 1)[0] + "\n"  # the text report, less the summary
    assert failure.get("message") == "1 error, 0 warnings"
    assert cases[1].find("failure") is None and "W501" in cases[1].find("system-out").text
    assert list(cases[2]) == []
    _, out, _ = run(capsys, "validate", "--format", "junit", "--strict", WARNED)
    assert ET.fromstring(out).find("testsuite/testcase/failure").get("type") == "warning"


def test_gitlab(at_root, capsys):
    code, out, _ = run(capsys, "validate", "--format", "gitlab", WRONG, WARNED)
    assert code == 1
    issues = json.loads(out)
    assert [i["check_name"] for i in issues] == ["E401", "W501", "W502"]
    assert issues[0] == {
        "description": "E401 `add` merge `b1_sum` needs equal shapes",
        "check_name": "E401",
        "fingerprint": issues[0]["fingerprint"],
        "severity": "major",
        "location": {"path": WRONG, "lines": {"begin": 11}},
    }
    assert issues[1]["severity"] == "minor"
    assert len({i["fingerprint"] for i in issues}) == 3
    _, again, _ = run(capsys, "validate", "--format", "gitlab", WARNED)
    assert [i["fingerprint"] for i in json.loads(again)] == [i["fingerprint"] for i in issues[1:]]


def test_github_and_text_still_offered(at_root, capsys):
    _, out, _ = run(capsys, "validate", "--format", "github", WRONG)
    assert out.startswith("::error file=tests/errors/E401_inside_block.yaml,line=11,")


def test_output_file_gets_the_format_and_the_terminal_text(at_root, capsys, tmp_path):
    report = tmp_path / "report.sarif"
    code, out, _ = run(
        capsys, "validate", "--format", "sarif", "--output-file", str(report), WRONG, WARNED
    )
    assert code == 1
    assert out.startswith("error[E401]: `add` merge `b1_sum` needs equal shapes\n")
    assert out.endswith("2 files checked: 1 error, 2 warnings\n")
    _, sarif, _ = run(capsys, "validate", "--format", "sarif", WRONG, WARNED)
    assert report.read_text(encoding="utf-8") == sarif


def test_output_file_that_cannot_be_written_exits_2(at_root, capsys, tmp_path):
    code, _, err = run(capsys, "validate", "--output-file", str(tmp_path / "no" / "x"), WRONG)
    assert code == 2 and "cannot write" in err


# -- suppression and --strict --------------------------------------------------------------


def test_strict_says_why(at_root, capsys):
    code, out, _ = run(capsys, "validate", "--strict", WARNED)
    assert code == 1
    assert out.endswith("1 file checked: 0 errors, 2 warnings under --strict\n")


def test_example_specs_pass_strict_with_the_gpu_lints_ignored(at_root, capsys):
    code, out, _ = run(capsys, "validate", "--strict", "specs/")
    assert code == 1
    code, out, _ = run(capsys, "validate", "--strict", "--ignore", "W501,W502", "specs/")
    assert code == 0
    assert out.endswith(" checked: 0 errors, 0 warnings\n")


@pytest.mark.parametrize(
    ("argv", "codes"),
    [
        (["--select", "W5"], ["W501", "W502"]),
        (["--select", "W501"], ["W501"]),
        (["--select", "E", "--select", "W502"], ["E401", "W502"]),
        (["--ignore", "W"], ["E401"]),
        (["--select", "W5", "--ignore", "W502"], ["W501"]),
    ],
)
def test_select_and_ignore(at_root, capsys, argv, codes):
    _, out, _ = run(capsys, "validate", "--format", "json", *argv, WRONG, WARNED)
    assert [d["code"] for d in json.loads(out)["diagnostics"]] == codes


def test_unknown_code_to_select_is_a_usage_error(at_root, capsys):
    code, _, err = run(capsys, "validate", "--ignore", "W999", WARNED)
    assert code == 2 and "`W999` is no code" in err


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.specc]\n{table}")
    specs = tmp_path / "specs"
    (specs / "drafts").mkdir(parents=True)
    (specs / "a.yaml").write_text(GOOD)
    (specs / "drafts" / "b.yaml").write_text("specc: 1\nname: broken\n")
    return specs


def test_config_in_pyproject(tmp_path, capsys, monkeypatch):
    specs = _project(tmp_path, 'ignore = ["W305"]\nstrict = true\nexclude = ["specs/drafts"]\n')
    monkeypatch.chdir(specs)  # found above the current folder
    code, out, _ = run(capsys, "validate", ".")
    assert (code, out) == (0, "1 file checked: 0 errors, 0 warnings\n")
    code, out, _ = run(capsys, "validate", "--ignore", "E", ".")  # flags win
    assert code == 1 and "2 warnings" not in out and "W305" in out
    code, out, _ = run(capsys, "validate", "--no-strict", "--ignore", "E", ".")
    assert code == 0
    code, out, _ = run(capsys, "validate", "--exclude", "nothing", ".")
    assert code == 1 and "2 files checked" in out
    code, out, _ = run(capsys, "validate", "drafts/b.yaml")  # named: always checked
    assert code == 1


def test_config_format_and_select(tmp_path, capsys, monkeypatch):
    specs = _project(tmp_path, 'format = "concise"\nselect = ["W3"]\n')
    monkeypatch.chdir(tmp_path.parent)  # no pyproject above: the spec's is used
    code, out, _ = run(capsys, "validate", str(specs / "a.yaml"))
    assert code == 0
    assert out.splitlines()[0].endswith(":7:12: W305 layer `unused` reaches no output")
    code, out, _ = run(capsys, "validate", "--format", "json", str(specs / "a.yaml"))
    assert json.loads(out)["warnings"] == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("colour = true\n", "unknown setting `colour`"),
        ("strict = 1\n", "`strict` must be true or false"),
        ('ignore = "W305"\n', "`ignore` must be a list of strings"),
        ('format = "xml"\n', "`xml` is none of"),
        ('select = ["X1"]\n', "`X1` is no code"),
        ("ignore = [\n", "cannot read"),
    ],
)
def test_bad_config_is_a_usage_error(tmp_path, capsys, monkeypatch, table, message):
    _project(tmp_path, table)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "validate", "specs")
    assert code == 2 and message in err, err


# -- standard input ----------------------------------------------------------------------


def test_validate_stdin(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "validate", "-", stdin=GOOD.encode(), monkeypatch=monkeypatch)
    assert code == 0
    assert " --> <stdin>:7:12\n" in out and "1 file checked" in out
    code, out, _ = run(
        capsys,
        "validate",
        "--format",
        "concise",
        "--stdin-filename",
        "specs/model.yaml",
        "-",
        stdin=GOOD.replace("units: 2}", "units: 0}").encode(),
        monkeypatch=monkeypatch,
    )
    assert code == 1
    assert out.startswith("specs/model.yaml:7:38: E104 ")


def test_validate_stdin_with_files(at_root, capsys, monkeypatch):
    code, out, _ = run(
        capsys,
        "validate",
        "--format",
        "json",
        WRONG,
        "-",
        stdin=b"specc: 1\n",
        monkeypatch=monkeypatch,
    )
    doc = json.loads(out)
    assert doc["files"] == 2
    assert [d["file"] for d in doc["diagnostics"]] == [WRONG, "<stdin>"]


def test_stdin_not_utf8(capsys, monkeypatch):
    code, out, _ = run(
        capsys, "validate", "-", stdin=b"specc: 1\nname: \xff\n", monkeypatch=monkeypatch
    )
    assert code == 1 and "error[E014]" in out and "<stdin>:2:7" in out


def test_summary_stdin(capsys, monkeypatch):
    code, out, _ = run(
        capsys, "summary", "--format", "json", "-", stdin=GOOD.encode(), monkeypatch=monkeypatch
    )
    assert code == 0 and json.loads(out)["name"] == "tiny"
    bad = GOOD.replace("units: 4,", "units: x,").encode()
    code, out, err = run(
        capsys, "summary", "--stdin-filename", "m.yaml", "-", stdin=bad, monkeypatch=monkeypatch
    )
    assert code == 1 and out == "" and "--> m.yaml:6:" in err


def test_no_config_outside_a_project(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text(GOOD)
    assert not any((p / "pyproject.toml").exists() for p in (tmp_path, *tmp_path.parents))
    code, out, _ = run(capsys, "validate", "a.yaml")
    assert code == 0 and "W305" in out
    assert os.getcwd() == str(tmp_path)


# -- a layer's `ignore:` --------------------------------------------------------------------

IGNORED = """\
specc: 1
name: m
inputs:
  - {name: x, shape: [36, 8]}
blocks:
  pair:
    layers:
      - {name: a, op: rnn, units: 4, activation: sigmoid, return_sequences: true,
         ignore: [W502]}
      - {name: b, op: dense, units: 4}
layers:
  - {name: enc, op: lstm, units: 4, recurrent_dropout: 0.2, return_sequences: true,
     ignore: [W501, W502]}
  - {name: p, block: pair}
  - name: side
    op: dense
    units: 2
    inputs: enc
    ignore: [W305]
  - {name: out, op: lstm, units: 1, inputs: p, recurrent_dropout: 0.1, ignore: [W502]}
"""


def test_layer_ignore_suppresses_its_own_warnings(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_text(IGNORED)
    code, out, _ = run(capsys, "validate", "--format", "concise", "--strict", str(path))
    assert out.splitlines() == [
        f"{path}:20:67: W501 `lstm` layer `out`: `recurrent_dropout: 0.1` keeps Keras off its "
        "cuDNN kernel",
        "1 file checked: 0 errors, 1 warning under --strict",
    ]
    assert code == 1
    path.write_text(re.sub(r",?\s*ignore: \[[^\]]*\]", "", IGNORED))
    _, out, _ = run(capsys, "validate", "--format", "json", str(path))
    codes = sorted(d["code"] for d in json.loads(out)["diagnostics"])
    assert codes == ["W305", "W501", "W501", "W502", "W502", "W502"]


def test_layer_ignore_does_not_hide_errors_and_keeps_unused_quiet_then(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_text(IGNORED.replace("units: 2\n", "units: 0\n").replace("[W305]", "[W305, E104]"))
    _, out, _ = run(capsys, "validate", "--format", "json", str(path))
    found = [(d["code"], d["line"]) for d in json.loads(out)["diagnostics"]]
    # E104 is no warning; `W305` is not called unused while there are errors
    assert found == [("E104", 17), ("W109", 19), ("W501", 20)]


def test_layer_ignore_through_the_api():
    import specc

    report = specc.validate(IGNORED)
    assert [d.code for d in report.diagnostics] == ["W501"]


def test_schema_has_ignore_on_every_kind_of_layer():
    from specc.schema import spec_schema

    defs = spec_schema().schema["$defs"]
    assert "ignore" in defs["layer"]["else"]["else"]["properties"]
    for kind in ("shared_layer", "block_instance", "block_layer"):
        assert "ignore" in defs[kind]["properties"], kind
