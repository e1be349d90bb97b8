"""Blocks and repeat: expansion, naming, parameters, and diagnostics inside expansions."""

from __future__ import annotations

import specc

from .block_specs import nested_spec, parameter_bomb_spec

HEAD = "specc: 1\nname: m\ndims: {T: 12}\ninputs:\n  - {name: x, shape: [T, 8]}\n"
BLOCK = """\
blocks:
  res:
    params: {units: 16, rate: 0.0}
    inputs: [src]
    layers:
      - {name: main, op: lstm, units: $units, return_sequences: true, dropout: $rate}
      - {name: skip, op: lstm, units: $units, return_sequences: true, inputs: src}
      - {name: sum, op: add, inputs: [main, skip]}
"""


def shaped(text: str):
    report = specc.validate(text)
    assert report.ok, [(d.code, d.message) for d in report.diagnostics]
    return report.graph


def errors(text: str):
    return [(d.code, d.span.line, d.span.column) for d in specc.validate(text).errors]


def test_instance_expands_under_its_prefix_and_names_its_output():
    g = shaped(
        HEAD + BLOCK + "layers:\n  - {name: b1, block: res, units: 32}\n"
        "  - {name: out, op: dense, units: 1}\n"
    )
    assert [n.name for n in g.order] == ["x", "b1_main", "b1_skip", "b1_sum", "out"]
    assert g.node("out").inputs == ("b1_sum",)
    assert g.node("b1_main").attrs["units"] == 32
    assert g.node("b1_main").attrs["dropout"] == 0.0  # the default
    assert g.node("b1_skip").inputs == ("x",)


def test_repeated_instance_chains_copies():
    g = shaped(HEAD + BLOCK + "layers:\n  - {name: b, block: res, repeat: 3}\n")
    names = [n.name for n in g.order]
    assert names[1:4] == ["b_1_main", "b_1_skip", "b_1_sum"]
    assert g.node("b_2_main").inputs == ("b_1_sum",)
    assert g.node("b_3_skip").inputs == ("b_2_sum",)
    assert g.outputs == ["b_3_sum"]


def test_repeated_layer_chains_copies_and_its_name_is_the_last():
    g = shaped(
        HEAD + "layers:\n  - {name: l, op: lstm, units: 4, return_sequences: true, "
        "repeat: 3}\n  - {name: out, op: dense, units: 1, inputs: l}\n"
    )
    assert [n.name for n in g.order] == ["x", "l_1", "l_2", "l_3", "out"]
    assert g.node("l_2").inputs == ("l_1",)
    assert g.node("out").inputs == ("l_3",)


def test_nested_blocks():
    text = (
        HEAD
        + BLOCK
        + """\
  pair:
    params: {units: 8}
    layers:
      - {name: a, block: res, units: $units}
      - {name: b, block: res, units: $units}
layers:
  - {name: p, block: pair, units: 4}
"""
    )
    g = shaped(text)
    assert "p_a_main" in [n.name for n in g.order]
    assert g.node("p_b_main").inputs == ("p_a_sum",)
    assert g.node("p_b_main").attrs["units"] == 4


def test_error_in_expansion_points_at_block_and_instance():
    text = (
        HEAD + BLOCK + "layers:\n  - {name: b1, block: res, units: 16}\n"
        "  - {name: b2, block: res, units: 0}\n"
    )
    report = specc.validate(text)
    (d,) = report.errors
    # The bad value was written at the instance: point there, name the block line.
    assert (d.code, d.span.line, d.span.column) == ("E104", 16, 35)
    # The instance's own line is the primary one, so only the block line is related.
    assert [r.span.line for r in d.related] == [11]
    assert "layer `main` of block `res`" in d.related[0].message


def test_shape_error_inside_block_names_the_instance():
    text = (
        HEAD
        + BLOCK.replace("inputs: [main, skip]", "inputs: [main, src]")
        + "layers:\n  - {name: b1, block: res, units: 4}\n"
    )
    report = specc.validate(text)
    (d,) = report.errors
    assert (d.code, d.span.line, d.span.column) == ("E401", 13, 45)
    assert d.related[-1].span.line == 15 and "b1" in d.related[-1].message
    assert d.help == "project `x` with a `dense` of 4 units"


def test_unknown_parameter_suggests_the_closest():
    report = specc.validate(HEAD + BLOCK + "layers:\n  - {name: b1, block: res, unit: 4}\n")
    (d,) = report.errors
    assert d.code == "E202" and d.help == "did you mean `units`?"
    assert (d.span.line, d.span.column) == (15, 28)


def test_required_parameter():
    text = (
        HEAD
        + BLOCK.replace("{units: 16, rate: 0.0}", "{units: null, rate: 0.0}")
        + "layers:\n  - {name: b1, block: res}\n"
    )
    (d,) = specc.validate(text).errors
    assert d.code == "E202" and "needs parameter `units`" in d.message


def test_undeclared_dollar_parameter():
    text = (
        HEAD
        + BLOCK.replace("dropout: $rate", "dropout: $rat")
        + "layers:\n  - {name: b1, block: res}\n"
    )
    (d,) = specc.validate(text).errors
    assert d.code == "E202" and d.help == "did you mean `$rate`?"
    assert d.span.line == 11


def test_unknown_block_and_recursion():
    assert errors(HEAD + BLOCK + "layers:\n  - {name: b1, block: rez}\n") == [("E201", 15, 23)]
    text = (
        HEAD + "blocks:\n  loop:\n    layers:\n      - {name: a, block: loop}\n"
        "layers:\n  - {name: b1, block: loop}\n"
    )
    assert [e[0] for e in errors(text)] == ["E203"]


def test_block_layers_see_only_their_scope():
    text = (
        HEAD + BLOCK.replace("inputs: src}", "inputs: x}") + "layers:\n  - {name: b1, block: res}\n"
    )
    (d,) = specc.validate(text).errors
    assert d.code == "E301" and "in block `res`" in d.message


def test_instance_input_count_must_match_block():
    text = HEAD + BLOCK + "layers:\n  - {name: b1, block: res, inputs: [x, x]}\n"
    assert [e[0] for e in errors(text)] == ["E403"]


def test_expanded_names_collide_with_user_names():
    text = (
        HEAD + BLOCK + "layers:\n  - {name: b1, block: res}\n"
        "  - {name: b1_sum, op: dense, units: 2}\n"
    )
    assert [e[0] for e in errors(text)] == ["E302"]


def test_expansion_budget():
    text = (
        HEAD + BLOCK + "layers:\n  - {name: b, block: res, repeat: 10000}\n"
        "  - {name: c, block: res, repeat: 10000}\n"
        "  - {name: d, block: res, repeat: 10000}\n"
        "  - {name: e, block: res, repeat: 10000}\n"
    )
    assert [e[0] for e in errors(text)] == ["E204"]


def test_repeating_a_multi_input_block_is_an_error_not_a_crash():
    text = (
        HEAD
        + """\
blocks:
  pair:
    inputs: [p, q]
    layers:
      - {name: s, op: add, inputs: [p, q]}
layers:
  - {name: a, op: dense, units: 8}
  - {name: r, block: pair, inputs: [a, x], repeat: 2}
"""
    )
    (d,) = specc.validate(text).errors
    assert (d.code, d.span.line) == ("E403", 13) and "cannot be repeated" in d.message


def test_instance_keys_are_checked():
    base = HEAD + BLOCK + "layers:\n  - {name: b, block: res, repeat: %s}\n"
    assert [e[0] for e in errors(base % "0")] == ["E104"]
    assert [e[0] for e in errors(base % "'3'")] == ["E103"]
    assert [e[0] for e in errors(base % "20000")] == ["E104"]
    assert [e[0] for e in errors(base % "2.0")] == ["E103"]


def test_instance_repeat_from_a_parameter():
    text = (
        HEAD
        + BLOCK
        + """\
  many:
    params: {k: 2}
    layers:
      - {name: r, block: res, repeat: $k}
layers:
  - {name: m, block: many, k: 3}
"""
    )
    g = shaped(text)
    assert "m_r_3_sum" in [n.name for n in g.order]


def test_unused_block_is_a_warning():
    text = HEAD + BLOCK + "layers:\n  - {name: out, op: dense, units: 1}\n"
    report = specc.validate(text)
    assert report.ok
    assert [(d.code, d.span.line) for d in report.diagnostics] == [("W205", 7)]


def test_expanded_names_are_the_users():
    """`state` + `dict` is a name like any other, and only written names are capped."""
    long = "b" * 60
    text = (
        HEAD
        + f"""\
blocks:
  b:
    layers:
      - {{name: dict, op: dense, units: 4}}
      - {{name: {long}, op: dense, units: 4}}
layers:
  - {{name: state, block: b}}
"""
    )
    g = shaped(text)
    assert [n.name for n in g.order] == ["x", "state_dict", f"state_{long}"]


def test_dollar_reference_in_inputs_is_reported_once():
    text = (
        HEAD
        + BLOCK.replace("inputs: src}", "inputs: $src}")
        + "layers:\n  - {name: b1, block: res}\n"
    )
    assert [e[0] for e in errors(text)] == ["E106"]


def test_blocks_nested_too_deep_are_refused_at_the_instance():
    lines = ["specc: 1", "name: m", "inputs:", "  - {name: x, shape: [4, 3]}", "blocks:"]
    for i in range(40):
        inner = f"{{name: i, block: b{i + 1}, inputs: x}}" if i < 39 else "{name: d, op: dense, "
        inner += "" if i < 39 else "units: 3, inputs: x}"
        lines += [f"  b{i}:", "    inputs: [x]", "    layers:", f"      - {inner}"]
    lines += ["layers:", "  - {name: top, block: b0}"]
    (d,) = specc.validate("\n".join(lines) + "\n").errors
    assert d.code == "E204" and "nested more than 32 deep" in d.message
    assert d.span.line == 9 + 4 * 31  # the instance of b32, inside block b31


def test_nesting_past_the_limit_stops_the_expansion():
    """Fanned out (each block holds two of the next), walking every path would never end."""
    lines = ["specc: 1", "name: m", "inputs:", "  - {name: x, shape: [4, 3]}", "blocks:"]
    lines += ["  b0:", "    inputs: [x]", "    layers:", "      - {name: d, op: dense, units: 3}"]
    for i in range(1, 40):
        lines += [f"  b{i}:", "    inputs: [x]", "    layers:"]
        lines += [f"      - {{name: p, block: b{i - 1}, inputs: x}}"]
        lines += [f"      - {{name: q, block: b{i - 1}, inputs: x}}"]
    lines += ["layers:", "  - {name: top, block: b39}"]
    codes = {d.code for d in specc.validate("\n".join(lines) + "\n").errors}
    assert codes == {"E204"}


def test_copies_with_other_parameter_values_are_checked_apart():
    text = (
        HEAD
        + """\
blocks:
  inner:
    params: {units: 2}
    layers:
      - {name: d, op: dense, units: $units}
  outer:
    params: {units: 2}
    layers:
      - {name: i, block: inner, units: $units, repeat: 2}
layers:
  - {name: a, block: outer, units: 3}
  - {name: b, block: outer, units: 5}
  - {name: c, block: outer, units: 0}
"""
    )
    report = specc.validate(text)
    assert [(d.code, d.span.line) for d in report.errors] == [("E104", 18)]
    report = specc.validate(text.replace("units: 0", "units: 7"))
    units = {n.name: n.attrs["units"] for n in report.graph.order if n.op == "dense"}
    assert units == {
        "a_i_1_d": 3,
        "a_i_2_d": 3,
        "b_i_1_d": 5,
        "b_i_2_d": 5,
        "c_i_1_d": 7,
        "c_i_2_d": 7,
    }


# -- renamed copies: a block is expanded once per place and parameter values -----

NESTED = """\
specc: 1
name: m
dims: {{T: 6}}
inputs:
  - {{name: x, shape: [T, 4]}}
  - {{name: y, shape: [T, 4]}}
blocks:
  leaf:
    params: {{units: 4}}
    layers:
      - {{name: d, op: dense, units: $units}}
      - {{name: e, op: dense, units: 4, repeat: 2}}
  pair:
    inputs: [a, b]
    layers:
      - {{name: s, op: add, inputs: [a, b]}}
      - {{name: l, block: leaf, inputs: s}}
  mid:
    params: {{units: 4}}
    layers:
      - {{name: i, block: leaf, units: $units}}
      - {{name: j, block: leaf, inputs: i}}
{extra_blocks}layers:
  - {{name: top, block: mid, repeat: 3, units: 4, inputs: x}}
  - {{name: other, block: mid, units: 4, inputs: top}}
  - {{name: third, block: mid, units: 8, inputs: x}}
  - {{name: p1, block: pair, inputs: [x, y]}}
  - {{name: p2, block: pair, inputs: [top_2_i, top_3_j_e]}}
  - {{name: p3, block: pair, inputs: [x, x]}}
  - {{name: out, op: add, inputs: [{last}]}}
"""


def _outcome(text: str):
    """Everything a caller sees of a validation: nodes, their origins and shapes, diagnostics."""
    report = specc.validate(text)
    nodes = [
        (
            n.name,
            n.op,
            n.attrs,
            n.inputs,
            [(r.span, r.message) for r in n.origin],
            str(n.meta.get("shape")),
            str(n.meta.get("dtype")),
        )
        for n in (report.graph.order if report.graph is not None else [])
    ]
    return nodes, [
        (d.code, d.message, d.span, d.label, d.help, d.related) for d in report.diagnostics
    ]


def _corpus() -> list[str]:
    from pathlib import Path

    root = Path(__file__).parent
    texts = [p.read_text() for p in sorted((root.parent / "specs").rglob("*.yaml"))]
    texts += [p.read_text(errors="replace") for p in sorted((root / "errors").glob("*.yaml"))]
    texts.append(NESTED.format(extra_blocks="", last="p1_l_e, p2_l_e, p3, other_j, top_1_i_e"))
    # The same with mistakes inside copies: a bad unit, an unknown name, a
    # layer that fails its shape check in the 3rd copy only, a bad reference.
    # `grow` doubles its input's width, so only its second copy fails its `add`.
    broken = NESTED.format(
        extra_blocks="  bad:\n    layers:\n      - {name: q, op: dense, units: 0}\n"
        "      - {name: r, op: add, inputs: [q, nope]}\n"
        "  grow:\n    layers:\n      - {name: k, op: dense, units: 4}\n"
        "      - {name: a, op: add, inputs: [x, k]}\n"
        "      - {name: c, op: concatenate, inputs: [a, a]}\n"
        "  wrap:\n    layers:\n      - {name: g, block: grow}\n",
        last="p1_l_e, top_9_i, top_2_j",
    )
    texts.append(
        broken.replace(
            "  - {name: out",
            "  - {name: b, block: bad, repeat: 2}\n"
            "  - {name: w, block: wrap, repeat: 2, inputs: x}\n"
            "  - {name: out",
        )
    )
    # A name clash the spec does not refuse: the alias `a_z` (a repeated
    # layer) is also instance `a`'s layer `z`; instance `b` must still read `b_z`.
    head = "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [8]}\nblocks:\n"
    texts.append(
        head + "  B:\n    layers:\n      - {name: z, op: dense, units: 4}\n"
        "      - {name: w, op: dense, units: 5, inputs: z}\n"
        "layers:\n  - {name: a_z, op: dense, units: 3, repeat: 2}\n"
        "  - {name: a, block: B}\n  - {name: b, block: B, inputs: x}\n"
    )
    # The alias `a_i` is written twice (the repeated layer, then the renamed
    # copy `a`'s inner instance): the later one must win, as in a fresh expansion.
    texts.append(
        head + "  Q:\n    layers:\n      - {name: i, block: R}\n"
        "  R:\n    layers:\n      - {name: r, op: dense, units: 4}\n"
        "layers:\n  - {name: z, block: Q}\n"
        "  - {name: a_i, op: dense, units: 5, repeat: 2, inputs: x}\n"
        "  - {name: a, block: Q, inputs: x}\n"
        "  - {name: out, op: concatenate, inputs: [a, z]}\n"
    )
    texts.append(STATES_IN_BLOCKS)
    texts.append(STATES_IN_BLOCKS.replace("inputs: [enc.h, enc.c]", "inputs: [enc.h, enc.x]"))
    return texts


# Ports inside blocks, a block whose output is a port, ports of instances, and
# initial states of a repeated layer (each copy starts from the same states).
STATES_IN_BLOCKS = """\
specc: 1
name: states
dims: {T: null}
inputs:
  - {name: x, shape: [T, 8]}
blocks:
  encode:
    layers:
      - {name: enc, op: lstm, units: 4, return_state: true, return_sequences: true}
      - {name: both, op: concatenate, inputs: [enc.h, enc.c]}
      - {name: dec, op: lstm, units: 4, return_sequences: true, inputs: enc, initial_state: enc}
  summary:
    outputs: run.h
    layers:
      - {name: run, op: gru, units: 4, return_state: true, return_sequences: true}
layers:
  - {name: e1, block: encode, inputs: x}
  - {name: e2, block: encode, inputs: e1}
  - {name: s, block: summary, inputs: x}
  - name: again
    op: gru
    units: 4
    return_sequences: true
    repeat: 2
    inputs: x
    initial_state: [s]
  - {name: states, op: concatenate, inputs: [e1_both, e2_both, s, e2_enc.h]}
outputs: [states, again, e2]
"""


def test_ports_resolve_inside_blocks_and_copies():
    g = shaped(STATES_IN_BLOCKS)
    assert g.node("e2_both").inputs == ("e2_enc.h", "e2_enc.c")
    assert g.node("e2_dec").inputs == ("e2_enc", "e2_enc.h", "e2_enc.c")
    assert g.node("e2_enc").inputs == ("e1_dec",)
    assert g.node("again_2").inputs == ("again_1", "s_run.h")  # the block's output: a port
    assert g.node("states").inputs == ("e1_both", "e2_both", "s_run.h", "e2_enc.h")
    assert g.node("e2_enc.h").meta["shape"][1:] == (4,)
    assert g.node("states").meta["shape"][1:] == (8 + 8 + 4 + 4,)


def test_renamed_copies_are_what_expanding_every_copy_gives(monkeypatch):
    """The templates change nothing a caller can see, on every spec and wrong spec we have."""
    import specc.expand

    texts = _corpus()
    renamed = [_outcome(text) for text in texts]
    monkeypatch.setattr(specc.expand, "make_template", lambda *args: None)  # expand every copy
    for text, outcome in zip(texts, renamed, strict=True):
        assert _outcome(text) == outcome, text


def test_nested_copies_reach_inner_names_and_name_their_origin():
    text = NESTED.format(extra_blocks="", last="p1_l_e, p2_l_e, p3, other_j, top_1_i_e")
    g = shaped(text)
    assert g.node("p2_s").inputs == ("top_2_i_e_2", "top_3_j_e_2")  # inner instances, by name
    assert g.node("top_3_i_d").inputs == ("top_2_j_e_2",)
    (inner, outer) = g.node("top_3_j_d").origin
    assert inner.message == "in block `leaf`, instance `top_3_j`"
    assert outer.message == "in block `mid`, instance `top`"
    assert inner.span.line == 22 and outer.span.line == 24


def test_deep_nesting_expands_each_block_once(monkeypatch):
    """10,000 copies of 31 nested blocks: 31 expansions, then renamings (issue 9)."""
    import specc.expand

    expanded = []
    expand = specc.expand._Expander._expand

    def counting(self, items, child, key, nested):
        expanded.append(child.prefix)
        return expand(self, items, child, key, nested)

    monkeypatch.setattr(specc.expand._Expander, "_expand", counting)
    g = shaped(nested_spec(31, 10_000))
    assert len(expanded) == 31
    assert len([n for n in g.order if n.op == "dense"]) == 10_000
    last = "top_10000" + "_i" * 30 + "_d"
    assert g.outputs == [last]
    assert g.node(last).inputs == ("top_9999" + "_i" * 30 + "_d",)


def test_distinct_parameter_values_cannot_multiply_expansions():
    """Each level passes its parameters on shifted: 2^12 distinct copies per level."""
    (d,) = specc.validate(parameter_bomb_spec(30, 12)).errors
    assert d.code == "E204" and "expanded more than 2000 times" in d.message, d.message


def test_a_wrong_shares_in_a_repeated_block_looks_for_a_hint_once(monkeypatch):
    """Found by the fuzzer: each of 10,000 copies listed every layer for a hint (15 s)."""
    from specc.diagnostics import Diagnostics

    calls = []
    suggest = Diagnostics.suggest
    monkeypatch.setattr(
        Diagnostics, "suggest", lambda self, *a: calls.append(a[0]) or suggest(self, *a)
    )
    text = (
        HEAD
        + """\
blocks:
  blk:
    layers:
      - {name: twin, shares: embed}
layers:
  - {name: embed, op: dense, units: 8}
  - {name: copies, block: blk, repeat: 1000}
"""
    )
    (d,) = specc.validate(text).errors
    assert (d.code, d.span.line) == ("E301", 9)
    assert calls.count("embed") == 1
