"""Table-driven shape and parameter-count tests for every op (tests/op_table.py)."""

from __future__ import annotations

import json

import pytest

import specc
from specc.ops import RULES
from specc.schema import spec_schema

from .op_table import CASES, Case


def case_spec(case: Case) -> str:
    """A one-layer spec text for a table case."""
    lines = ["specc: 1", f"name: {case.id}"]
    if case.dims:
        lines.append("dims: " + json.dumps(case.dims))
    if case.batch_size:
        lines.append(f"batch_size: {case.batch_size}")
    lines.append("inputs:")
    for i, shape in enumerate(case.inputs):
        dtype = case.dtypes[i] if i < len(case.dtypes) else "float32"
        lines.append(f"  - {{name: x{i}, shape: {json.dumps(list(shape))}, dtype: {dtype}}}")
    names = [f"x{i}" for i in range(len(case.inputs))]
    layer = {"name": "layer", "op": case.op, "inputs": names, **case.attrs}
    lines += ["layers:", "  - " + json.dumps(layer)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_op_case(case: Case):
    report = specc.validate(case_spec(case))
    codes = [d.code for d in report.errors]
    if case.error:
        assert codes == [case.error], [d.message for d in report.diagnostics]
        return
    assert report.ok, [d.message for d in report.diagnostics]
    node = report.graph.node("layer")
    from specc.shapes import dim_json

    assert node.meta["shape"][0] is not None
    assert tuple(dim_json(d) for d in node.meta["shape"][1:]) == case.shape
    assert (node.meta["params"]["keras"], node.meta["params"]["torch"]) == case.params


def test_every_op_has_a_rule_and_cases():
    ops = set(spec_schema().ops)
    assert ops == set(RULES)
    assert ops <= {c.op for c in CASES}


def test_variable_dims_only_equal_themselves():
    text = (
        "specc: 1\nname: m\ndims: {T: null, U: null}\ninputs:\n"
        "  - {name: a, shape: [T, 4]}\n  - {name: b, shape: [U, 4]}\n"
        "layers:\n  - {name: s, op: add, inputs: [a, b]}\n"
    )
    report = specc.validate(text)
    assert [d.code for d in report.errors] == ["E401"]
    assert "(batch, U, 4) here, (batch, T, 4) from `a`" in report.errors[0].label


def test_same_expression_of_a_variable_dim_matches():
    """Two conv branches over one variable-length input give equal, mergeable lengths."""
    text = (
        "specc: 1\nname: m\ndims: {T: null}\ninputs:\n  - {name: x, shape: [T, 4]}\nlayers:\n"
        "  - {name: a, op: conv1d, filters: 4, kernel_size: 3, strides: 2, inputs: x}\n"
        "  - {name: b, op: conv1d, filters: 4, kernel_size: 3, strides: 2, inputs: x}\n"
        "  - {name: c, op: conv1d, filters: 4, kernel_size: 5, strides: 2, inputs: x}\n"
        "  - {name: s, op: add, inputs: [a, b]}\n"
        "  - {name: bad, op: add, inputs: [a, c]}\n"
        "outputs: [s, bad]\n"
    )
    report = specc.validate(text)
    assert [(d.code, d.span.line) for d in report.errors] == [("E401", 11)]


def test_error_downstream_is_reported_once():
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [5, 4]}\nlayers:\n"
        "  - {name: a, op: lstm, units: 3}\n"
        "  - {name: b, op: lstm, units: 3}\n"  # wrong: a is 2-D
        "  - {name: c, op: lstm, units: 3}\n"  # would be wrong too, but only because of b
        "  - {name: d, op: dense, units: 1}\n"
    )
    report = specc.validate(text)
    assert [(d.code, d.span.line) for d in report.errors] == [("E402", 7)]
    assert "set `return_sequences: true` on `a`" in report.errors[0].help


def test_same_padding_lengths_do_not_depend_on_the_window():
    text = (
        "specc: 1\nname: m\ndims: {T: null}\ninputs:\n  - {name: x, shape: [T, 4]}\nlayers:\n"
        "  - {name: a, op: conv1d, filters: 4, kernel_size: 3, strides: 2, padding: same, "
        "inputs: x}\n"
        "  - {name: b, op: conv1d, filters: 4, kernel_size: 5, strides: 2, padding: causal, "
        "inputs: x}\n"
        "  - {name: s, op: add, inputs: [a, b]}\n"
    )
    assert specc.validate(text).ok


@pytest.mark.parametrize(
    "value, code",
    [("64.0", "E103"), ("true", "E103"), ("'64'", "E103"), ("-1", "E104")],
)
def test_units_must_be_a_positive_integer(value, code):
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [5.0, 8]}\nlayers:\n"
        f"  - {{name: l, op: lstm, units: {value}}}\n"
    )
    assert [d.code for d in specc.validate(text).errors] == ["E103"]  # the shape, first
    text = text.replace("5.0", "5")
    assert [d.code for d in specc.validate(text).errors] == [code]


def test_all_missing_keys_in_one_diagnostic():
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [5], dtype: int32}\nlayers:\n"
        "  - {name: e, op: embedding}\n"
    )
    (d,) = specc.validate(text).errors
    assert d.message == "`embedding` layer `e` needs `input_dim` and `output_dim`"


def test_time_distributed_of_an_op_that_moves_values_keeps_the_ids():
    """Both frameworks keep int ids through a wrapped `flatten` (found by the differential test)."""
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [4, 5, 2], dtype: int64}\nlayers:\n"
        "  - {name: td, op: time_distributed, layer: {op: flatten}}\n"
        "  - {name: e, op: embedding, input_dim: 9, output_dim: 3}\n"
        "  - {name: d, op: time_distributed, layer: {op: dense, units: 2}}\n"
    )
    graph = specc.load(text)
    dtypes = [graph.node(n).meta["dtype"] for n in ("td", "e", "d")]
    assert dtypes == ["int64", "float32", "float32"]


def test_half_inputs_give_float32_results():
    """Keras's layers cast float16 to their float32 compute dtype, moving ops included."""
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [4, 6], dtype: bfloat16}\nlayers:\n"
        "  - {name: p, op: permute, dims: [2, 1]}\n"
        "  - {name: f, op: time_distributed, layer: {op: reshape, target_shape: [2, 2]}}\n"
    )
    graph = specc.load(text)
    assert [graph.node(n).meta["dtype"] for n in ("x", "p", "f")] == [
        "bfloat16",
        "float32",
        "float32",
    ]


def test_batch_size_fixes_the_batch_dimension():
    text = (
        "specc: 1\nname: m\nbatch_size: 4\ninputs:\n  - {name: x, shape: [5, 2]}\nlayers:\n"
        "  - {name: l, op: lstm, units: 3, stateful: true}\n"
    )
    graph = specc.load(text)
    assert str(graph).splitlines()[-1] == "l = lstm(x) -> (4, 3)"
