"""The error catalogue: wrong specs, one or more per diagnostic code, checked end to end.

Every `tests/errors/*.yaml` starts with an expectation line listing, in output
order, every diagnostic `specc validate` must report for it (code, line and
column of the primary location):

    # expect: E401 at 11:41
    # expect: E006 at 7:33, E006 at 8:33

The expectation is what specc should report, which is not always what it
does. An optional second line marks a fixture on which the front end is known
to fall short (the line numbers above count this line):

    # known-problem[location]: ...  a wrong primary location
    # known-problem[missing]: ...   an expected diagnostic is not reported
    # known-problem[extra]: ...     a duplicate or follow-on diagnostic is reported
    # known-problem[text]: ...      wording only; no check fails

The checks it breaks run as strict expected failures: they fail with XPASS
once the front end is fixed, and the line is then deleted.

Beside each fixture, `NAME.out` holds the exact output of

    specc validate --format text tests/errors/NAME.yaml

run from the repository root. To rewrite the golden files after an intended
change of wording, run

    SPECC_UPDATE_GOLDEN=1 pytest tests/test_error_catalogue.py

and review `git diff tests/errors` before committing. Some inputs are
generated here rather than committed: E009 (a file over 1 MiB), E204 for an
expansion past the layer cap, and the
control-character and `::` cases of the escaping tests.

Every fixture runs through `specc.cli.main` once per output format; the
results are cached for the module, which keeps it fast.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest

from specc.backends.keras._facts import CODES as KERAS_CODES
from specc.backends.torch._facts import CODES as TORCH_CODES
from specc.cli import main
from specc.diagnostics import CODES as CORE_CODES

ROOT = Path(__file__).resolve().parent.parent
ERRORS = ROOT / "tests" / "errors"
UPDATE = os.environ.get("SPECC_UPDATE_GOLDEN") == "1"

# specc's catalogue: the core's codes and its own backends' lint codes.
CODES = {**CORE_CODES, **KERAS_CODES, **TORCH_CODES}

_EXPECT = re.compile(r"#\s*expect:\s*(.+)")
_ONE = re.compile(r"^([EW]\d{3}) at (\d+):(\d+)$")
_KNOWN = re.compile(r"#\s*known-problem\[(location|missing|extra|text)\]:\s*(.+)")

DIAGNOSTIC_KEYS = {
    "code",
    "severity",
    "message",
    "file",
    "line",
    "column",
    "end_line",
    "end_column",
    "help",
    "related",
}


class Fixture:
    def __init__(self, path: Path):
        self.path = path
        self.rel = path.relative_to(ROOT).as_posix()
        self.golden = path.with_suffix(".out")
        head = path.read_bytes().split(b"\n", 2)
        first = head[0].decode("utf-8", "replace")
        second = head[1].decode("utf-8", "replace") if len(head) > 1 else ""
        match = _EXPECT.fullmatch(first.strip())
        assert match, f"{self.rel}: the first line must be `# expect: CODE at LINE:COL`"
        self.expected: list[tuple[str, int, int]] = []
        for part in match.group(1).split(","):
            one = _ONE.fullmatch(part.strip())
            assert one, f"{self.rel}: cannot read expectation {part.strip()!r}"
            self.expected.append((one.group(1), int(one.group(2)), int(one.group(3))))
        known = _KNOWN.fullmatch(second.strip())
        assert known or not second.startswith("# known-problem"), f"{self.rel}: {second!r}"
        self.known = known.group(1) if known else None
        self.known_why = known.group(2) if known else ""

    @property
    def has_errors(self) -> bool:
        return any(code.startswith("E") for code, _, _ in self.expected)

    def __repr__(self) -> str:
        return self.path.stem


FIXTURES = [Fixture(p) for p in sorted(ERRORS.glob("*.yaml"))]
IDS = [f.path.stem for f in FIXTURES]


def _known(fixture: Fixture, *kinds: str):
    """Strict xfail when the fixture is marked with one of `kinds`."""
    if fixture.known in kinds:
        return pytest.mark.xfail(reason=fixture.known_why, strict=True)
    return ()


def _params(*kinds: str):
    return [pytest.param(f, id=f.path.stem, marks=_known(f, *kinds)) for f in FIXTURES]


_RUNS: dict[tuple[str, ...], tuple[int, str, str]] = {}


def run(capsys, *args: str, cache: bool = True) -> tuple[int, str, str]:
    """`specc ARGS` in-process, from the repository root; (exit code, stdout, stderr)."""
    if cache and args in _RUNS:
        return _RUNS[args]
    capsys.readouterr()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(list(args))
    finally:
        os.chdir(cwd)
    out, err = capsys.readouterr()
    if cache:
        _RUNS[args] = (code, out, err)
    return code, out, err


def diagnostics_of(capsys, target: str) -> list[dict]:
    code, out, err = run(capsys, "validate", "--format", "json", target)
    assert code in (0, 1), err
    return json.loads(out)["diagnostics"]


# -- (a) exit codes, (h) never a traceback ---------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=IDS)
def test_exit_code_and_no_traceback(fixture: Fixture, capsys):
    """Exit 1 for errors, 0 for warnings only (1 with --strict); never a traceback."""
    for fmt in ("text", "json", "github"):
        code, out, err = run(capsys, "validate", "--format", fmt, fixture.rel)
        assert "Traceback" not in out + err
        assert err == "", err  # internal errors and I/O errors go to stderr with exit 2
        if code != (1 if fixture.has_errors else 0) and fixture.known == "missing":
            pytest.xfail(fixture.known_why)
        assert code == (1 if fixture.has_errors else 0), fmt
    code, _, err = run(capsys, "validate", "--strict", fixture.rel)
    assert code == 1 and err == ""


def test_no_traceback_for_the_whole_folder(capsys):
    """All fixtures in one run: one report, files in sorted order, exit 1."""
    code, out, err = run(capsys, "validate", "--format", "json", "tests/errors")
    assert code == 1
    assert "Traceback" not in out + err
    doc = json.loads(out)
    assert doc["files"] == len(FIXTURES)
    order = {f.rel: i for i, f in enumerate(FIXTURES)}
    files = [d["file"] for d in doc["diagnostics"]]
    assert files == sorted(files, key=order.__getitem__)


# -- (b) the expected diagnostics -----------------------------------------------------


@pytest.mark.parametrize("fixture", _params("location", "missing"))
def test_expected_locations(fixture: Fixture, capsys):
    """Each expected diagnostic is reported (as often as expected) at its line:column."""
    found = Counter(
        (d["code"], d["line"], d["column"]) for d in diagnostics_of(capsys, fixture.rel)
    )
    missing = Counter(fixture.expected) - found
    assert not missing, f"not reported: {sorted(missing.elements())}; reported: {sorted(found)}"


@pytest.mark.parametrize("fixture", _params("location", "missing", "extra"))
def test_nothing_else_reported(fixture: Fixture, capsys):
    """Exactly the expected diagnostics, in that order: no duplicates, no follow-on noise."""
    found = [(d["code"], d["line"], d["column"]) for d in diagnostics_of(capsys, fixture.rel)]
    assert found == fixture.expected


def test_multiple_errors_are_reported_in_one_run(capsys):
    fixture = next(f for f in FIXTURES if f.path.stem == "multiple_errors_in_one_file")
    codes = [d["code"] for d in diagnostics_of(capsys, fixture.rel)]
    assert len(set(codes)) >= 6
    first = run(capsys, "validate", fixture.rel, cache=False)
    assert run(capsys, "validate", fixture.rel, cache=False) == first  # same bytes every run


# -- (c) golden text output -----------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=IDS)
def test_text_output_matches_golden(fixture: Fixture, capsys):
    _, out, _ = run(capsys, "validate", "--format", "text", fixture.rel)
    if UPDATE:
        fixture.golden.write_text(out, encoding="utf-8", newline="\n")
        return
    assert fixture.golden.exists(), (
        f"{fixture.golden.name} is missing; run with SPECC_UPDATE_GOLDEN=1 to create it"
    )
    assert out == fixture.golden.read_text(encoding="utf-8")


def test_docs_cover_every_code():
    docs = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### ([EW]\d{3})\b", docs, flags=re.M))
    assert sorted(set(CODES) - headings) == [], "docs/diagnostics.md lacks these codes"
    assert sorted(headings - set(CODES)) == [], "docs/diagnostics.md has unknown codes"


def test_no_stray_golden_files():
    stems = {f.path.stem for f in FIXTURES}
    stray = sorted(p.name for p in ERRORS.glob("*.out") if p.stem not in stems)
    assert not stray, f"golden files without a fixture: {stray}"


# -- (d) every code has a fixture -------------------------------------------------------

# Codes whose wrong input is generated by a test below instead of committed.
GENERATED = {"E009"}
# Emit-time codes: `specc validate` never reports them; the backend tests do.
EMIT_TIME = {code for code in CODES if code.startswith("E6")}


def test_every_code_has_a_fixture():
    covered = {code for f in FIXTURES for code, _, _ in f.expected} | GENERATED | EMIT_TIME
    missing = sorted(set(CODES) - covered)
    assert not missing, f"codes without a wrong spec under tests/errors/: {missing}"
    unknown = sorted(covered - set(CODES))
    assert not unknown, f"fixtures expect codes that are not in CODES: {unknown}"
    named = {part for f in FIXTURES for part in f.path.stem.split("_") if part in CODES}
    assert sorted(set(CODES) - named - GENERATED - EMIT_TIME) == [], (
        "a fixture named CODE_*.yaml per code"
    )


# -- (e) json, (f) github --------------------------------------------------------------
# One test each over all fixtures; a failure names the fixture.


def _check_json(fixture: Fixture, out: str) -> None:
    doc = json.loads(out)
    assert set(doc) == {"diagnostics", "files", "errors", "warnings"}
    assert doc["files"] == 1
    errors = sum(d["severity"] == "error" for d in doc["diagnostics"])
    assert (doc["errors"], doc["warnings"]) == (errors, len(doc["diagnostics"]) - errors)
    assert doc["diagnostics"] or fixture.known == "missing", "a wrong spec must report something"
    for d in doc["diagnostics"]:
        assert DIAGNOSTIC_KEYS <= set(d) <= DIAGNOSTIC_KEYS | {"label"}, sorted(d)
        assert d["code"] in CODES
        assert d["severity"] == ("error" if d["code"].startswith("E") else "warning")
        assert d["file"] == fixture.rel
        for key in ("line", "column", "end_line", "end_column"):
            assert isinstance(d[key], int) and d[key] >= 1
        assert (d["end_line"], d["end_column"]) >= (d["line"], d["column"])
        assert isinstance(d["message"], str) and d["message"]
        assert isinstance(d["help"], str) and isinstance(d.get("label", ""), str)
        for r in d["related"]:
            assert set(r) == {"file", "line", "column", "message"}
    # Sorted by file, line, column, code.
    keys = [(d["file"], d["line"], d["column"], d["code"]) for d in doc["diagnostics"]]
    assert keys == sorted(keys)


def _check_github(fixture: Fixture, out: str, count: int) -> None:
    assert out == "" or out.endswith("\n")
    lines = out.split("\n")[:-1]
    assert len(lines) == count  # one line per diagnostic: no raw newline inside one
    for line in lines:
        assert line.startswith(("::error ", "::warning ")), line
        assert "\r" not in line
        props = line.split(" ", 1)[1].split("::", 1)[0]
        assert props.startswith(f"file={fixture.rel},line=")


def test_github_annotations_name_the_related_locations(capsys):
    """An annotation sits on one line; the related ones (a block's instance) are in its text."""
    checked = 0
    for fixture in FIXTURES:
        diagnostics = diagnostics_of(capsys, fixture.rel)
        _, out, _ = run(capsys, "validate", "--format", "github", fixture.rel)
        for d, line in zip(diagnostics, out.split("\n"), strict=False):
            for r in d["related"]:
                assert f"%0A{r['file']}:{r['line']}:{r['column']}: " in line, fixture.rel
                checked += 1
    assert checked > 10


def test_json_output(capsys):
    for fixture in FIXTURES:
        _, out, _ = run(capsys, "validate", "--format", "json", fixture.rel)
        try:
            _check_json(fixture, out)
        except AssertionError as exc:
            raise AssertionError(f"{fixture.rel}: {exc}") from exc


def test_github_annotations(capsys):
    for fixture in FIXTURES:
        _, out, _ = run(capsys, "validate", "--format", "github", fixture.rel)
        try:
            _check_github(fixture, out, len(diagnostics_of(capsys, fixture.rel)))
        except AssertionError as exc:
            raise AssertionError(f"{fixture.rel}: {exc}") from exc


# -- (g) user text is escaped ------------------------------------------------------------

# Names must be identifiers, so user text reaches the output elsewhere: an
# unknown key, an unknown op, a value that is not allowed, and the source line
# shown under each header. Each carries terminal escapes, a newline or CR that
# would start a second workflow command, a Unicode line break, and text that
# is itself a workflow command.
_NASTY_SPEC = r"""specc: 1
name: nasty
inputs:
  - {name: x, shape: [36, 8]}
layers:
  - {name: a, op: dense, units: 4, "\e]0;pwned\a\n::error file=x.py::injected": 1}
  - {name: b, op: "::warning file=y.py::injected\r\n::error ::again"}
  - {name: c, op: dense, units: 4, activation: "\e[31mred\u2028::notice ::x\u0085"}
  - {name: d, op: dense, units: 4, "::set-output name=x::y": 1}
"""
_RAW = ("\x1b", "\x07", "\r", "\u2028", "\x85", "\n::error file=x.py", "\n::error ::again")


@pytest.fixture
def nasty(tmp_path) -> Path:
    path = tmp_path / "nasty.yaml"
    path.write_text(_NASTY_SPEC, encoding="utf-8")
    return path


def _assert_escaped(text: str) -> None:
    for raw in _RAW:
        assert raw not in text, f"unescaped {raw!r} in the output"


def test_text_output_escapes_user_text(nasty: Path, capsys):
    code, out, err = run(capsys, "validate", str(nasty))
    assert code == 1 and err == ""
    assert [line.split("]")[0] for line in out.splitlines() if line.startswith("error[")] == [
        "error[E101",
        "error[E105",
        "error[E104",
        "error[E101",
    ]
    _assert_escaped(out)
    assert not any(line.startswith("::") for line in out.split("\n"))


def test_github_output_escapes_user_text(nasty: Path, capsys):
    code, out, _ = run(capsys, "validate", "--format", "github", str(nasty))
    assert code == 1
    _assert_escaped(out)
    lines = out[:-1].split("\n")
    assert len(lines) == 4  # one line per annotation: no newline got through
    for line in lines:
        assert line.startswith("::error file=")
        # The properties end at the first `::`; everything after is the message.
        props = line[len("::error ") :].split("::", 1)[0]
        assert props.count("file=") == 1 and "title=" in props


def test_json_output_escapes_user_text(nasty: Path, capsys):
    _, out, _ = run(capsys, "validate", "--format", "json", str(nasty))
    _assert_escaped(out)  # ensure_ascii turns any raw character into a JSON escape
    for d in json.loads(out)["diagnostics"]:
        for raw in _RAW:
            assert raw not in d["message"] + d["help"] + d.get("label", ""), d["message"]


def test_file_name_is_escaped(tmp_path, capsys):
    path = tmp_path / "::error file=a::b\x1b.yaml"
    path.write_text("specc: 1\nname: m\n", encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert "\x1b" not in out
    assert not any(line.startswith("::") for line in out.split("\n"))
    code, out, _ = run(capsys, "validate", "--format", "github", str(path))
    assert code == 1
    for line in out.splitlines():
        assert line.startswith("::error file=")
        props = line[len("::error ") :].split("::", 1)[0]
        assert "%3A%3Aerror file=a%3A%3Ab" in props  # `:` of the name percent-encoded


def test_file_name_control_characters_in_github_output(tmp_path, capsys):
    path = tmp_path / "bad\x1b[2Jname.yaml"
    path.write_text("specc: 1\nname: m\n", encoding="utf-8")
    _, out, _ = run(capsys, "validate", "--format", "github", str(path))
    assert "\x1b" not in out


def test_control_character_in_source_line(tmp_path, capsys):
    path = tmp_path / "bell.yaml"
    path.write_bytes(b"specc: 1\nname: m\ndescription: ring\x07 ring\n")
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert out.startswith("error[E001]: YAML syntax error: character U+0007 is not allowed\n")
    assert "\x07" not in out and "ring\\x07 ring" in out


# -- generated inputs -------------------------------------------------------------------------


def test_E009_file_too_large(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    filler = "# " + "x" * 98 + "\n"
    path.write_text("specc: 1\nname: huge\n" + filler * 10_500, encoding="utf-8")
    assert path.stat().st_size > 1 << 20
    code, out, err = run(capsys, "validate", "--format", "json", str(path))
    assert code == 1 and err == ""
    (d,) = json.loads(out)["diagnostics"]
    assert (d["code"], d["line"], d["column"]) == ("E009", 1, 1)
    code, out, _ = run(capsys, "validate", str(path))
    assert out.startswith("error[E009]: file is larger than 1024 KiB\n")


def test_E009_text_too_large_through_the_api():
    import specc

    report = specc.validate("specc: 1\n" + "#" * (1 << 20) + "\n")
    assert [d.code for d in report.diagnostics] == ["E009"]


def test_E009_not_at_the_limit(tmp_path, capsys):
    path = tmp_path / "limit.yaml"
    head = "specc: 1\nname: m\n"
    path.write_text(head + "#" * ((1 << 20) - len(head) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == 1 << 20
    assert "E009" not in [d["code"] for d in diagnostics_of(capsys, str(path))]


_TOO_LARGE = """specc: 1
name: huge
inputs:
  - {name: x, shape: [36, 8]}
blocks:
  pair:
    layers:
      - {name: a, op: dense, units: 8}
      - {name: b, op: dense, units: 8, repeat: 10000}
layers:
  - {name: b1, block: pair, repeat: 10}
  - {name: out, op: dense, units: 1}
"""


def test_E204_expansion_too_large(tmp_path, capsys, monkeypatch):
    # The real cap (20,000 layers) costs over a second to reach; the code path
    # is the same with a lower one.
    monkeypatch.setattr("specc.expand.MAX_NODES", 2_000)
    path = tmp_path / "huge.yaml"
    path.write_text(_TOO_LARGE, encoding="utf-8")
    code, out, err = run(capsys, "validate", "--format", "json", str(path))
    assert code == 1 and "Traceback" not in out + err
    found = [(d["code"], d["line"], d["column"]) for d in json.loads(out)["diagnostics"]]
    assert found == [("E204", 9, 16)]  # the repeated block layer; one error, no noise
    _, out, _ = run(capsys, "validate", str(path))
    assert out.startswith("error[E204]: expansion makes more than 2000 layers\n")


# An integral float such as `64.0` passes JSON Schema's "integer"; where specc
# needs an int, it must refuse it (E103) at the value, never crash on it.
_FLOAT_CASES = {
    "permute_dims": ("{name: p, op: permute, dims: [2.0, 1]}", "[36, 8]"),
    "concatenate_axis": ("{name: p, op: concatenate, inputs: [x, x], axis: 2.0}", "[36, 8]"),
    "reshape_target": ("{name: p, op: reshape, target_shape: [-1, 4.0]}", "[36, 8]"),
    "dense_units": ("{name: p, op: dense, units: 64.0}", "[36, 8]"),
    "repeat_count": ("{name: p, op: dense, units: 4, repeat: 2.0}", "[36, 8]"),
    "repeat_vector_n": ("{name: p, op: repeat_vector, n: 4.0}", "[8]"),
    "input_shape": ("{name: p, op: dense, units: 4}", "[36.0, 8]"),
}


_FLOAT_KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(reason=_FLOAT_KNOWN[c], strict=True))
        if c in _FLOAT_KNOWN
        else c
        for c in sorted(_FLOAT_CASES)
    ],
)
def test_integral_float_is_not_an_integer(case, tmp_path, capsys):
    layer, shape = _FLOAT_CASES[case]
    text = f"specc: 1\nname: m\ninputs:\n  - {{name: x, shape: {shape}}}\nlayers:\n  - {layer}\n"
    lines = text.split("\n")
    line = next(i for i, t in enumerate(lines, 1) if ".0" in t)
    column = re.search(r"\d+\.0", lines[line - 1]).start() + 1
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "validate", "--format", "json", str(path))
    assert err == "" and code == 1
    found = [(d["code"], d["line"], d["column"]) for d in json.loads(out)["diagnostics"]]
    assert found == [("E103", line, column)]


def test_integral_float_dim_size(tmp_path, capsys):
    path = tmp_path / "dims.yaml"
    path.write_text(
        "specc: 1\nname: m\ndims: {T: 36.0}\ninputs:\n  - {name: x, shape: [T, 8]}\n"
        "layers:\n  - {name: a, op: timestep_attention}\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "validate", "--format", "json", str(path))
    assert err == "" and code == 1
    found = [(d["code"], d["line"], d["column"]) for d in json.loads(out)["diagnostics"]]
    assert found == [("E103", 3, 11)]
