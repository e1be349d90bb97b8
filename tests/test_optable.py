"""The op table declares each op once: the schema file, the rules and the docs agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from specc.backend import backends_with
from specc.ops import RULES
from specc.optable import OPS, UNSET
from specc.schema_file import build_schema, schema_json

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schemas" / "spec.schema.json"
REGENERATE = "specc schema > schemas/spec.schema.json"


def test_committed_schema_is_the_generated_one():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_json(), (
        f"schemas/spec.schema.json is stale; regenerate it with `{REGENERATE}`"
    )


def test_every_op_has_a_shape_rule_and_every_rule_an_op():
    assert set(RULES) == set(OPS)


def test_every_installed_backend_counts_and_lints_every_op():
    backends = {b.name for b in backends_with("params")}
    assert {"keras", "torch"} <= backends
    assert {"keras", "torch"} <= {b.name for b in backends_with("lints")}


def test_shared_groups_are_refs_in_the_schema():
    schema = build_schema()
    lstm = schema["$defs"]["op_lstm"]
    assert {"$ref": "#/$defs/recurrent_attributes"} in lstm["allOf"]
    assert "units" in schema["$defs"]["recurrent_attributes"]["properties"]
    assert "units" not in lstm.get("properties", {})


EDITOR = Draft202012Validator(build_schema())


@pytest.mark.parametrize("path", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_editor_schema_accepts_every_example_spec(path):
    """What an editor sees: the whole schema, run by plain jsonschema, on the example specs."""
    errors = list(EDITOR.iter_errors(yaml.safe_load(path.read_text())))
    assert errors == []


@pytest.mark.parametrize(
    "layer",
    [
        {"name": "h", "op": "lstm", "units": 4, "return_sequence": True},  # misspelt
        {"name": "h", "op": "gru", "units": 4, "variant": "peephole"},  # lstm only
        {"name": "h", "op": "lstm"},  # units missing
        {"name": "h", "op": "rnn", "units": 4, "recurrent_activation": "tanh"},  # gated only
        {"name": "h", "op": "dense", "units": 4, "merge_mode": "sum"},
        {"name": "h", "op": "lstmm", "units": 4},
    ],
)
def test_editor_schema_refuses_a_wrong_layer(layer):
    spec = {"specc": 1, "name": "m", "inputs": [{"name": "x", "shape": [3, 2]}], "layers": [layer]}
    assert list(EDITOR.iter_errors(spec)) != []


# -- docs/ops.md ------------------------------------------------------------------

OPS_DOC = ROOT / "docs" / "ops.md"
HEADING = re.compile(r"^#{2,3} (.*)$")


def _doc_value(attr) -> str:
    if attr.required:
        return "required"
    if attr.default is UNSET:
        return "none"
    value = attr.default
    return f"`{value}`" if isinstance(value, str) else f"`{json.dumps(value)}`"


def documented() -> dict[tuple[str, str], str]:
    """(op, attribute) -> the default column, from every attribute table of docs/ops.md."""
    found = {}
    ops: list[str] = []
    columns: list[str] = []
    for line in OPS_DOC.read_text().splitlines():
        heading = HEADING.match(line)
        if heading:
            ops = [op for op in re.findall(r"`([a-z_0-9]+)`", heading[1]) if op in OPS]
            columns = []
            continue
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "attribute":
            columns = cells
            continue
        if not columns or set(cells[0]) <= {"-", " "}:
            continue
        row = dict(zip(columns, cells, strict=False))
        attr = row["attribute"].strip("`")
        owners = ops if row.get("ops", "all") == "all" else re.findall(r"`(\w+)`", row["ops"])
        for op in owners:
            found[(op, attr)] = row["default"]
    return found


def test_docs_attribute_tables_match_the_op_table():
    expected = {(op.name, a.name): _doc_value(a) for op in OPS.values() for a in op.attrs}
    got = documented()
    assert set(got) == set(expected), "docs/ops.md lists other attributes than the op table"
    wrong = {
        key: (got[key], value)
        for key, value in expected.items()
        if got[key] != value and not (value == "none" and got[key] != "required")
    }
    assert wrong == {}, "defaults in docs/ops.md differ from the op table: (docs, table)"
