"""The graph stage: references, names, cycles, outputs, reachability."""

from __future__ import annotations

import pytest

import specc

HEAD = "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [6, 4]}\n"


def found(text: str):
    return [(d.code, d.span.line, d.span.column) for d in specc.validate(text).diagnostics]


def test_unknown_reference_suggests_a_name():
    report = specc.validate(
        HEAD + "layers:\n  - {name: enc, op: lstm, units: 2}\n"
        "  - {name: out, op: dense, units: 1, inputs: enk}\n"
    )
    (d,) = report.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("E301", 7, 46)
    assert d.help == "did you mean `enc`?"


def test_duplicate_names_point_at_both():
    report = specc.validate(HEAD + "layers:\n  - {name: x, op: dense, units: 2}\n")
    (d,) = report.errors
    assert d.code == "E302" and d.span.line == 6 and d.related[0].span.line == 4


def test_cycle_is_reported_once_with_its_members():
    text = (
        HEAD + "layers:\n  - {name: a, op: add, inputs: [x, c]}\n"
        "  - {name: b, op: dense, units: 4, inputs: a}\n"
        "  - {name: c, op: dense, units: 4, inputs: b}\n"
    )
    report = specc.validate(text)
    (d,) = report.errors
    assert d.code == "E303" and "`a` -> `b` -> `c` -> `a`" in d.message


def test_forward_references_are_allowed():
    text = (
        HEAD + "layers:\n  - {name: out, op: dense, units: 1, inputs: h}\n"
        "  - {name: h, op: lstm, units: 3, inputs: x}\noutputs: out\n"
    )
    report = specc.validate(text)
    assert report.ok
    assert [n.name for n in report.graph.order] == ["x", "h", "out"]


def test_unknown_output_and_default_output():
    assert found(HEAD + "layers:\n  - {name: a, op: lstm, units: 2}\noutputs: [b]\n")[0][:2] == (
        "E301",
        7,
    )
    report = specc.validate(HEAD + "layers:\n  - {name: a, op: lstm, units: 2}\n")
    assert report.graph.outputs == ["a"]


def test_unreachable_layers_are_warnings():
    text = (
        HEAD + "layers:\n  - {name: a, op: lstm, units: 2, return_sequences: true}\n"
        "  - {name: dead, op: lstm, units: 2}\n  - {name: out, op: dense, units: 1, inputs: a}\n"
    )
    assert found(text) == [("W305", 7, 12)]


def test_undeclared_dimension():
    text = (
        "specc: 1\nname: m\ndims: {T: 3}\ninputs:\n  - {name: x, shape: [S, 4]}\n"
        "layers:\n  - {name: a, op: lstm, units: 2}\n"
    )
    (d,) = specc.validate(text).errors
    assert (d.code, d.span.line, d.span.column) == ("E304", 5, 23)
    assert d.help == "did you mean `T`?" or "declare" in d.help


def test_first_layer_with_several_inputs_needs_inputs():
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: a, shape: [4]}\n  - {name: b, shape: [4]}\n"
        "layers:\n  - {name: s, op: add}\n"
    )
    assert [c for c, *_ in found(text)] == ["E102"]


def test_debug_print_is_one_line_per_node():
    report = specc.validate(HEAD + "layers:\n  - {name: a, op: lstm, units: 2}\n")
    assert str(report.graph).splitlines() == [
        "x = input() -> (batch, 6, 4)",
        "a = lstm(x) -> (batch, 2)",
    ]


def test_load_raises_spec_error_with_location():
    import pytest

    with pytest.raises(specc.SpecError) as info:
        specc.load(HEAD + "layers:\n  - {name: a, op: lstn, units: 2}\n")
    assert "<string>:6:19: error[E105]: unknown op `lstn`" in str(info.value)
    assert info.value.diagnostics[0].help == "did you mean `lstm`?"


def test_a_reserved_name_is_reported_once_not_as_unknown_references():
    long = "a" * 65  # over the length cap: refused, but still a name others may read
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [4, 3]}\nlayers:\n"
        f"  - {{name: {long}, op: dense, units: 2}}\n"
        f"  - {{name: out, op: dense, units: 1, inputs: {long}}}\n"
        f"outputs: [{long}, out]\n"
    )
    assert [d.code for d in specc.validate(text).diagnostics] == ["E106"]


def test_many_unknown_references_are_each_reported():
    """Suggestions stop past a budget (benchmarks/validate_speed.py times it); errors do not."""
    layer = "  - {{name: l{0}, op: dense, units: 1, inputs: l{0}x}}\n"
    layers = "".join(layer.format(i) for i in range(3000))
    text = "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [4]}\nlayers:\n" + layers
    report = specc.validate(text)
    assert [d.code for d in report.errors] == ["E301"] * 3000
    assert "did you mean" in report.errors[0].help  # the first ones still get a suggestion


def test_each_separate_cycle_is_reported():
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [4, 3]}\nlayers:\n"
        "  - {name: a, op: add, inputs: [x, b]}\n"
        "  - {name: b, op: dense, units: 3, inputs: a}\n"
        "  - {name: c, op: dense, units: 3, inputs: c}\n"
        "  - {name: out, op: add, inputs: [b, c]}\n"
    )
    messages = [d.message for d in specc.validate(text).errors]
    assert messages == [
        "layers form a cycle: `a` -> `b` -> `a`",
        "layers form a cycle: `c` -> `c`",
    ]


@pytest.mark.parametrize(
    "top", ["dims: {T: 0}\n", "batch_size: 0\n", "outputs: {a: 1}\n", "dims: [T]\n"]
)
def test_a_bad_top_level_does_not_hide_the_layers_problems(top):
    text = (
        "specc: 1\nname: m\n" + top + "inputs:\n  - {name: x, shape: [4, 3]}\nlayers:\n"
        "  - {name: a, op: lstm, units: 0}\n"
        "  - {name: b, op: dense, units: 2, activation: relux}\n"
    )
    errors = specc.validate(text).errors
    assert len(errors) == 3, [d.message for d in errors]
    assert {d.span.line for d in errors} >= {7, 8}  # one of a, one of b, one of the top level


def test_an_op_in_capitals_gets_its_name_suggested():
    (d,) = specc.validate(HEAD + "layers:\n  - {name: a, op: LSTM, units: 2}\n").errors
    assert d.code == "E105" and d.help == "did you mean `lstm`?"


def test_a_missing_name_does_not_hide_the_layers_problems():
    text = "specc: 1\ninputs:\n  - {name: x, shape: [4, 3]}\nlayers:\n"
    text += "  - {name: a, op: dense, unitz: 2}\n"
    assert [d.code for d in specc.validate(text).errors] == ["E102", "E101"]


def test_a_node_made_by_a_pass_has_a_span():
    from specc.diagnostics import Span
    from specc.ir import Node, located

    span = Span("m.yaml", 3, 5, 3, 9)
    node = Node("made", "dense", {"units": 2}, ("x",), located(span))
    assert node.span() == span and node.span("units") == span
    assert node.written() == set() and node.input_spans == () and node.origin == ()


def test_written_names_the_keys_in_the_spec():
    g = specc.validate(
        HEAD + "layers:\n  - {name: t, op: time_distributed, layer: {op: dense, units: 2}}\n"
    ).graph
    node = g.node("t")
    assert node.written() == {"name", "op", "layer"}
    assert node.written("layer") == {"op", "units"}
    assert node.written("units") == set() and node.written("layer", "op") == set()


def test_the_graph_resolves_references_without_changing_the_expansions_nodes():
    text = (
        HEAD + "layers:\n  - {name: l, op: dense, units: 4, repeat: 2}\n"
        "  - {name: out, op: dense, units: 1, inputs: l}\n"
    )
    g = specc.validate(text).graph
    written = next(n for n in g.spec.layers if n.name == "out")
    assert written.inputs == ("l",) and "shape" not in written.meta
    assert g.node("out").inputs == ("l_2",) and g.node("out").span() == written.span()
