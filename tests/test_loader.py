"""The YAML loader: locations, the strict scalar resolver, and hostile input."""

from __future__ import annotations

import pytest

from specc.diagnostics import Diagnostics
from specc.loader import MAX_DEPTH, YamlMap, load_text, node_at, read_source, to_plain


def load(text: str):
    diags = Diagnostics()
    doc = load_text(text, "t.yaml", diags)
    return doc, [(d.code, d.span.line, d.span.column) for d in diags.items]


def test_locations_are_one_based_for_keys_and_values():
    doc, problems = load("a: 1\nb:\n  - {c: x}\n")
    assert problems == []
    value, key = node_at(doc.root, ["b", 0, "c"])
    assert (key.span.line, key.span.column) == (3, 6)
    assert (value.span.line, value.span.column, value.span.end_column) == (3, 9, 10)


@pytest.mark.parametrize(
    "text, value",
    [
        ("v: 12", 12),
        ("v: -3", -3),
        ("v: 0", 0),
        ("v: 1e-3", 0.001),
        ("v: 2.5", 2.5),
        ("v: .5", 0.5),
        ("v: true", True),
        ("v: False", False),
        ("v: null", None),
        ("v: ~", None),
        ("v:", None),
        ("v: '010'", "010"),
        ('v: "no"', "no"),
        ("v: !!str 1:20", "1:20"),
        ("v: !!float 3", 3.0),
        ("v: nope", "nope"),
        ("v: y", "y"),
        ("v: 123456789012345678", 123456789012345678),
    ],
)
def test_yaml_1_2_core_scalars(text, value):
    doc, problems = load(text)
    assert problems == []
    result = to_plain(doc.root)["v"]
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(
    "text, code, column",
    [
        ("v: no", "E010", 4),
        ("v: Yes", "E010", 4),
        ("v: OFF", "E010", 4),
        ("v: on", "E010", 4),
        ("v: 010", "E011", 4),
        ("v: -007", "E011", 4),
        ("v: 1:20", "E011", 4),
        ("v: 0x1F", "E011", 4),
        ("v: 0o17", "E011", 4),
        ("v: 1_000", "E011", 4),
        ("v: .inf", "E012", 4),
        ("v: -.Inf", "E012", 4),
        ("v: .nan", "E012", 4),
        ("v: 1e999", "E012", 4),
        ("v: 1234567890123456789", "E013", 4),
        ("v: !!python/object/apply:os.system [ls]", "E005", 4),
        ("v: !!python/name:os.system ''", "E005", 4),
        ("v: !custom 3", "E005", 4),
        ("v: !!binary aGVsbG8=", "E005", 4),
        ("v: !!timestamp 2001-12-14", "E005", 4),
        ("v: !!set {a, b}", "E005", 4),
        ("v: !!omap [a: 1]", "E005", 4),
        ("v: !!int abc", "E005", 4),
        ("v: &a 1", "E006", 4),
        ("a: 1\n<<: {b: 2}", "E007", 1),
        ("a: 1\na: 2", "E002", 1),
        ("1: a", "E003", 1),
        ("true: a", "E003", 1),
        ("? [a]\n: b", "E003", 3),
        ("a: 1\n---\nb: 2", "E004", 1),
        ("a: [1, 2", "E001", 9),  # just past the text's last character, on its last line
        ("a:\tb: c", "E001", 5),
    ],
)
def test_refused(text, code, column):
    doc, problems = load(text)
    # A broken stream leaves no tree; a refused value leaves one with the
    # value marked, so that the rest of the file is still checked.
    assert (doc.root is None) == (code in ("E001", "E004", "E008"))
    assert problems[0][0] == code
    assert problems[0][2] == column


def test_all_loader_problems_in_one_run():
    doc, problems = load("a: no\nb: 010\nc: &x 1\nd: *x\ne: 1\ne: 2\n")
    assert [p[:2] for p in problems] == [
        ("E010", 1),
        ("E011", 2),
        ("E006", 3),
        ("E006", 4),
        ("E002", 6),
    ]


def test_duplicate_key_names_first_definition():
    diags = Diagnostics()
    load_text("units: 1\nunits: 2\n", "t.yaml", diags)
    (d,) = diags.items
    assert d.related[0].span.line == 1 and d.span.line == 2


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "{a: " * 50_000 + "1" + "}" * 50_000,
        "a:\n" + "".join(" " * (i + 1) + "b:\n" for i in range(200)),
        "- " * 10_000 + "x",
    ],
    ids=["flow-seq", "flow-map", "block-map", "block-seq"],
)
def test_deep_nesting_is_refused_at_the_limit(text):
    """Refused on the event stream at depth 65, before anything recurses.

    (How fast is measured in benchmarks/validate_speed.py, not here.)
    """
    doc, problems = load(text)
    assert doc.root is None
    assert problems[0][0] == "E008"  # libyaml's own depth limit is reported as E008 too
    assert problems[0][2] <= MAX_DEPTH * 4 + 2 or problems[0][1] <= MAX_DEPTH + 2


def test_refused_values_are_marked_and_the_rest_is_kept():
    from specc.loader import YamlScalar, has_refused

    doc, problems = load("a: no\nb: [1, *x]\nc: 3\n")
    assert [p[0] for p in problems] == ["E010", "E006"]
    assert to_plain(doc.root) == {"a": None, "b": [1, None], "c": 3}
    a, _ = node_at(doc.root, ["a"])
    assert isinstance(a, YamlScalar) and a.refused
    assert has_refused(doc.root) and not has_refused(node_at(doc.root, ["c"])[0])


def test_nesting_at_the_limit_is_accepted():
    doc, problems = load("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert problems == []
    doc, problems = load("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert problems[0][0] == "E008"


def test_alias_bomb_is_refused_without_expansion():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    doc, problems = load("\n".join(lines))
    assert problems[0][0] == "E006" and len(problems) == 12 + 110


def test_large_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" + "# padding\n" * 120_000)
    diags = Diagnostics()
    assert read_source(path, diags) is None
    assert [d.code for d in diags.items] == ["E009"]


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"a: 1\nb: \xff\n")
    diags = Diagnostics()
    assert read_source(path, diags) is None
    (d,) = diags.items
    assert (d.code, d.span.line, d.span.column) == ("E014", 2, 4)


def test_control_characters_are_refused():
    doc, problems = load("a: \x07\n")
    assert problems[0][0] == "E001"


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffa: 1\n".encode())
    diags = Diagnostics()
    text = read_source(path, diags)
    doc = load_text(text, str(path), diags)
    assert diags.items == [] and isinstance(doc.root, YamlMap)


def test_empty_document_has_no_root():
    doc, problems = load("")
    assert doc.root is None and problems == []


def test_a_refused_key_does_not_add_a_missing_op():
    import specc

    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [4, 3]}\nlayers:\n"
        "  - {<<: {op: dense}, name: out, units: 1}\n"
    )
    assert [d.code for d in specc.validate(text).errors] == ["E007"]
