"""Randomly broken specs never crash the validator: every problem is a diagnostic.

Mutations are made on the parsed example specs (values swapped for values of
other types, keys dropped, renamed or added, list items removed or
duplicated, references rewired), so they reach every stage, not only YAML
parsing. Seeded: a failure names the seed that reproduces it.
"""

from __future__ import annotations

import copy
import os
import random
from pathlib import Path

import pytest
import yaml

import specc
from specc.cli import main
from specc.render import render_github, render_json, render_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "specs").rglob("*.yaml"))]
VALUES = [
    0,
    -1,
    1,
    7,
    2.5,
    0.5,
    True,
    False,
    None,
    "",
    "x",
    "T",
    "lstm",
    "add",
    "$units",
    "::x",
    "\x1b[2J",
    [],
    [1, 2],
    ["x", "y"],
    {},
    {"op": "dense"},
    {"a": 1},
    "units",
    "inputs",
    "block",
    10_001,
]
# SPECC_FUZZ_SEEDS=3000 runs a longer campaign (45,000 mutants passed before release).
SEEDS = int(os.environ.get("SPECC_FUZZ_SEEDS", "40"))
KEYS = [
    "units",
    "inputs",
    "op",
    "name",
    "repeat",
    "block",
    "layer",
    "axis",
    "n",
    "dims",
    "shape",
    "params",
    "outputs",
    "unit",
    "return_sequences",
    "variant",
]


def mutate(node, rng: random.Random):
    """Apply one random mutation somewhere in a plain-data tree; returns the new tree."""
    if isinstance(node, dict) and node and rng.random() < 0.7:
        key = rng.choice(list(node))
        roll = rng.random()
        if roll < 0.15:
            del node[key]
        elif roll < 0.3:
            node[rng.choice(KEYS)] = rng.choice(VALUES)
        elif roll < 0.45:
            node[key] = copy.deepcopy(rng.choice(VALUES))
        else:
            node[key] = mutate(node[key], rng)
        return node
    if isinstance(node, list) and node and rng.random() < 0.7:
        i = rng.randrange(len(node))
        roll = rng.random()
        if roll < 0.15:
            del node[i]
        elif roll < 0.3:
            node.insert(i, copy.deepcopy(node[i]))
        elif roll < 0.4:
            node[i] = copy.deepcopy(rng.choice(VALUES))
        else:
            node[i] = mutate(node[i], rng)
        return node
    return copy.deepcopy(rng.choice(VALUES))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_mutated_specs_never_crash(seed: int):
    rng = random.Random(seed)
    for _ in range(15):
        data = copy.deepcopy(rng.choice(SPECS))
        for _ in range(rng.randint(1, 3)):
            data = mutate(data, rng)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        if "\n" not in text:
            text += "\n"
        report = specc.validate(text)
        # Every renderer copes with whatever came out.
        render_text(report.diagnostics, {report.file: report.text})
        render_json(report.diagnostics, 1)
        for line in render_github(report.diagnostics).splitlines():
            assert line.startswith(("::error ", "::warning "))
        for d in report.diagnostics:
            assert d.span is not None and d.span.line >= 1 and d.span.column >= 1


def test_cli_exit_codes_on_mutants(tmp_path, capsys):
    rng = random.Random(1234)
    for i in range(30):
        data = mutate(copy.deepcopy(rng.choice(SPECS)), rng)
        path = tmp_path / f"m{i}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        code = main(["validate", str(path)])
        out, err = capsys.readouterr()
        assert code in (0, 1), err
        assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "text, codes",
    [
        # a block name that is a list, and layer names that are not strings
        (
            "blocks: {b: {layers: [{name: a, op: dense, units: 2}]}}\n"
            "layers:\n  - {name: i, block: [b]}\n",
            ["E103"],
        ),
        (
            "blocks: {b: {layers: [{name: 5, op: dense, units: 2}, {name: c, op: dense, units: 2, "
            "inputs: h}]}}\nlayers:\n  - {name: i, block: b}\n",
            ["E103", "E301"],
        ),
        # block inputs that clash
        (
            "blocks: {b: {inputs: [p, p], layers: [{name: a, op: add, inputs: [p, p]}]}}\n"
            "layers:\n  - {name: i, block: b, inputs: [x, x]}\n",
            ["E204"],
        ),
        (
            "blocks: {b: {inputs: [a], layers: [{name: a, op: dense, units: 2}]}}\n"
            "layers:\n  - {name: i, block: b}\n",
            ["E204"],
        ),
        # a refused key is reported once, as what it is
        ("layers:\n  - {name: a, op: dense, units: 2, yes: 1}\n", ["E010"]),
        ("layers:\n  - {name: a, op: dense, units: 2, s: !!set {a, b}}\n", ["E005"]),
        # a list where a name belongs, inside a list
        ("layers:\n  - {name: a, op: dense, units: 2}\noutputs: [[a]]\n", ["E103"]),
        ("layers:\n  - {name: a, op: dense, units: 9999999999}\n", ["E104"]),
    ],
)
def test_odd_specs_get_one_clear_diagnostic(text, codes):
    head = "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [4, 3]}\n"
    report = specc.validate(head + text)
    assert sorted(d.code for d in report.errors) == codes, [d.message for d in report.errors]


def test_outputs_message_names_the_item_type():
    head = "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [4, 3]}\n"
    report = specc.validate(head + "layers:\n  - {name: a, op: dense, units: 2}\noutputs: [[a]]\n")
    assert report.errors[0].message == "`outputs[0]` must be a name, got a list"


@pytest.mark.parametrize(
    "name, ok",
    [
        ("torch", True),
        ("nn", True),
        ("class", True),
        ("forward", True),
        ("my_model", True),
        ("m" * 65, False),
    ],
)
def test_model_name(name, ok):
    text = (
        f"specc: 1\nname: {name}\ninputs:\n  - {{name: x, shape: [3]}}\nlayers:\n"
        "  - {name: a, op: dense, units: 2}\n"
    )
    assert specc.validate(text).ok is ok


def test_dimension_named_batch_is_refused():
    text = (
        "specc: 1\nname: m\ndims: {batch: 3}\ninputs:\n  - {name: x, shape: [batch]}\n"
        "layers:\n  - {name: a, op: dense, units: 2}\n"
    )
    assert [d.code for d in specc.validate(text).errors] == ["E106"]


def test_carriage_returns_count_as_line_ends():
    text = (
        "specc: 1\rname: m\rinputs:\r  - {name: x, shape: [3]}\rlayers:\r"
        "  - {name: a, op: dense, unit: 2}\r"
    )
    (d,) = specc.validate(text + "\n").errors
    assert (d.line if hasattr(d, "line") else d.span.line) == 6
    out = render_text([d], {"<string>": specc.validate(text + "\n").text})
    assert "6 |   - {name: a, op: dense, unit: 2}" in out


def test_integer_ids_into_dropout_are_refused():
    """Neither framework's dropout takes ids (int32 in eval, a crash in training): E411."""
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [5], dtype: int32}\nlayers:\n"
        "  - {name: d, op: dropout, rate: 0.1}\n"
        "  - {name: e, op: embedding, input_dim: 10, output_dim: 4}\n"
    )
    assert [d.code for d in specc.validate(text).errors] == ["E411"]


@pytest.mark.parametrize(
    "layer",
    [
        "{name: h, op: lstm, units: 4}",
        "{name: h, op: conv1d, filters: 2, kernel_size: 2}",
        "{name: h, op: layer_norm}",
        "{name: h, op: global_avg_pool}",
        "{name: h, op: activation, activation: gelu}",
        "{name: h, op: add, inputs: [x, x]}",
        "{name: h, op: time_distributed, layer: {op: dense, units: 2}}",
        "{name: h, op: multi_head_attention, num_heads: 1, key_dim: 2}",
    ],
)
def test_integer_ids_into_ops_that_compute_are_refused(layer):
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [5, 3], dtype: int32}\n"
        f"layers:\n  - {layer}\n"
    )
    (error,) = specc.validate(text).errors
    assert error.code == "E411" and "gives int32" in error.message


@pytest.mark.parametrize(
    "layer",
    [
        "{name: h, op: reshape, target_shape: [15]}",
        "{name: h, op: permute, dims: [2, 1]}",
        "{name: h, op: flatten}",
        "{name: h, op: last_step}",
        "{name: h, op: time_distributed, layer: {op: embedding, input_dim: 9, output_dim: 2}}",
    ],
)
def test_integer_ids_may_be_moved_and_embedded(layer):
    text = (
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [5, 3], dtype: int32}\n"
        f"layers:\n  - {layer}\n"
    )
    assert specc.validate(text).ok


def test_broken_pipe_is_not_an_internal_error(monkeypatch, tmp_path, capsys):
    import specc.cli

    def closed(*args, **kwargs):
        raise BrokenPipeError

    path = tmp_path / "s.yaml"
    path.write_text(
        "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [3]}\nlayers:\n"
        "  - {name: a, op: dense, units: 2}\n"
    )
    monkeypatch.setattr(specc.cli, "render_report", closed)
    assert main(["validate", str(path)]) == 2
    assert "internal error" not in capsys.readouterr().err


@pytest.mark.parametrize("where", ["block", "param", "block_input"])
def test_every_written_name_is_capped(where):
    """Block, parameter and block input names are capped like every other written name."""
    names = {"block": "blk", "param": "p", "block_input": "y"}
    names[where] = "n" * 65
    text = (
        "specc: 1\nname: m\ninputs: [{name: x, shape: [5, 4]}]\nblocks:\n"
        f"  {names['block']}:\n    params: {{{names['param']}: 3}}\n"
        f"    inputs: [{names['block_input']}]\n    layers: [{{name: d, op: dense, units: 2}}]\n"
        f"layers:\n  - {{name: b, block: {names['block']}}}\n"
    )
    report = specc.validate(text)
    assert [d.code for d in report.errors] == ["E106"]
    assert "longer than 64" in report.errors[0].message


def test_a_block_may_be_called_batch():
    text = (
        "specc: 1\nname: m\ninputs: [{name: x, shape: [5, 4]}]\nblocks:\n"
        "  batch: {layers: [{name: d, op: dense, units: 2}]}\n"
        "layers:\n  - {name: b, block: batch}\n"
    )
    assert specc.validate(text).ok


@pytest.mark.parametrize(
    "text, where",
    [("\ud800\n", (1, 1)), ('specc: 1\nname: m\ndescription: "a \udc80 b"\n', (3, 17))],
)
def test_lone_surrogates_are_a_located_diagnostic(text, where):
    """Text from the API can hold what no UTF-8 file can: reported, never raised (issue 9)."""
    (d,) = specc.validate(text).diagnostics
    assert (d.code, d.span.line, d.span.column) == ("E014", *where)
    assert "lone surrogate" in d.message
