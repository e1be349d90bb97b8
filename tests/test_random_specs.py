"""The generator of random specs (tests/random_specs.py): deterministic, valid, covering.

Framework-free (core): specc must accept the generated specs, and together
they must use every op of the op table, wrapped and unwrapped, and the
features the differential test is meant to reach (shared layers among them).
A spec that specc refuses is a bug in the generator or in the validator: the
failure prints the spec.
"""

from __future__ import annotations

import collections

import pytest
import yaml

import specc
from specc.optable import OPS
from specc.variants import VARIANTS

from .random_specs import MAKERS, WRAPPABLE, enum, random_spec

SEEDS = range(500)


@pytest.fixture(scope="module")
def generated() -> list[tuple[str, specc.Report]]:
    texts = [random_spec(seed) for seed in SEEDS]
    return [(text, specc.validate(text)) for text in texts]


def test_every_op_of_the_table_has_a_maker():
    assert set(MAKERS) == set(OPS), "an op without a generator maker, or a maker without an op"


def test_the_same_seed_gives_the_same_spec():
    assert random_spec(7) == random_spec(7)
    assert random_spec(7) != random_spec(8)


def test_specc_accepts_every_generated_spec(generated):
    refused = [(text, r.errors) for text, r in generated if not r.ok]
    assert not refused, "\n\n".join(
        text + "\n".join(f"  {d.code} {d.message}" for d in errors) for text, errors in refused[:3]
    )


def _features(text: str, report: specc.Report) -> collections.Counter:
    """What one spec exercises: ops (and wrapped ops), attribute values, structure."""
    seen = collections.Counter()
    data = yaml.safe_load(text)
    for node in report.graph.order:
        seen[node.op] += 1
        attrs = node.attrs
        if node.op == "time_distributed":
            seen[f"wrapped {attrs['layer']['op']}"] += 1
            attrs = attrs["layer"]
        if attrs.get("bidirectional"):
            seen[f"merge_mode {attrs['merge_mode']}"] += 1
        if attrs.get("op", node.op) == "lstm":
            seen[f"variant {attrs['variant']}"] += 1
            seen["variant without peepholes"] += attrs.get("peepholes") is False
        if attrs.get("stateful"):
            seen["stateful"] += 1
        if node.op == "state":
            layer = report.graph.node(node.inputs[0])
            seen["state port"] += 1
            seen["state port of a bidirectional layer"] += bool(layer.attrs["bidirectional"])
        if node.meta.get("initial_states"):
            given = attrs["initial_state"]
            seen["initial_state NAME" if isinstance(given, str) else "initial_state list"] += 1
            seen["bidirectional initial_state"] += bool(attrs["bidirectional"])
        root = node.meta.get("shares")
        if root:
            seen["shares"] += 1
            seen[f"shares {attrs.get('op', node.op)}"] += 1
            seen["shares time_distributed"] += node.op == "time_distributed"
            seen["shares bidirectional"] += bool(attrs.get("bidirectional"))
            mine, theirs = (
                report.graph.node(n.inputs[0]).meta["shape"]
                for n in (node, report.graph.node(root))
            )
            seen["shares on another shape"] += mine != theirs
    seen["blocks"] += bool(data.get("blocks"))
    for block in (data.get("blocks") or {}).values():
        seen["block params"] += bool(block.get("params"))
        seen["nested block"] += any("block" in layer for layer in block["layers"])
    for layer in data["layers"]:
        seen["repeated block"] += "block" in layer and "repeat" in layer
        seen["repeated layer"] += "op" in layer and "repeat" in layer
    scopes = [data["layers"], *(b["layers"] for b in (data.get("blocks") or {}).values())]
    for layers in scopes:
        where = {layer["name"]: (i, layer) for i, layer in enumerate(layers)}
        for i, layer in enumerate(layers):
            if "shares" not in layer:
                continue
            seen["shares in a block"] += layers is not data["layers"]
            seen["repeated shares"] += "repeat" in layer
            j, target = where[layer["shares"]]
            seen["shares a layer below"] += j > i
            seen["shares a sharing layer"] += "shares" in target
    dims = data.get("dims") or {}
    written = [d for i in data["inputs"] for d in i["shape"]]
    seen["variable dim"] += any(dims.get(d, 0) is None for d in written if isinstance(d, str))
    seen["named static dim"] += any(isinstance(dims.get(d), int) for d in written)
    seen["anonymous dim"] += None in written
    seen["int input into embedding"] += (
        any(i.get("dtype", "").startswith("int") for i in data["inputs"]) and "embedding" in seen
    )
    seen["several inputs"] += len(data["inputs"]) > 1
    seen["several outputs"] += len(report.graph.outputs) > 1
    return seen


def test_the_specs_cover_the_table_and_the_features(generated):
    seen = collections.Counter()
    for text, report in generated:
        if report.ok:
            seen.update(_features(text, report))
    wanted = [
        *OPS,
        *(f"wrapped {op}" for op in WRAPPABLE),
        *(f"merge_mode {mode}" for mode in enum("lstm", "merge_mode")),
        *(f"variant {name}" for name in VARIANTS),
        "variant without peepholes",
        "stateful",
        "blocks",
        "block params",
        "nested block",
        "repeated block",
        "repeated layer",
        "variable dim",
        "named static dim",
        "anonymous dim",
        "int input into embedding",
        "several inputs",
        "several outputs",
        "shares",
        *(f"shares {op}" for op in ("dense", "lstm", "embedding", "layer_norm", "activation")),
        "shares time_distributed",
        "shares bidirectional",
        "shares on another shape",
        "shares in a block",
        "repeated shares",
        "shares a layer below",
        "shares a sharing layer",
        "state port",
        "state port of a bidirectional layer",
        "initial_state NAME",
        "initial_state list",
        "bidirectional initial_state",
    ]
    missing = [w for w in wanted if not seen[w]]
    assert not missing, f"never generated in {len(SEEDS)} specs: {missing}"
