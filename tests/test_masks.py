"""The mask propagation pass (specc.masks) and W308, framework-free."""

from __future__ import annotations

import json

import specc
from specc.summary import summary_data, summary_text

HEAD = """\
specc: 1
name: m
dims: {T: null}
inputs:
  - {name: tokens, shape: [T], dtype: int32}
  - {name: x, shape: [T, 4]}
layers:
  - {name: embed, op: embedding, input_dim: 50, output_dim: 4, mask_zero: true, inputs: tokens}
  - {name: pad, op: masking, inputs: x}
"""


def _masks(layers: str, outputs: str) -> tuple[dict, list]:
    report = specc.validate(HEAD + layers + f"outputs: {outputs}\n")
    assert report.ok, report.diagnostics
    masks = {
        n.name: (None if n.meta["mask"] is None else (n.meta["mask"].owner, n.meta["mask"].sources))
        for n in report.graph.order
    }
    return masks, [d for d in report.diagnostics if d.code == "W308"]


def test_masks_pass_through_stepwise_ops_and_end_at_pools():
    masks, warnings = _masks(
        """\
  - {name: d, op: dense, units: 4, inputs: embed}
  - {name: drop, op: dropout, rate: 0.1}
  - {name: seq, op: lstm, units: 4, return_sequences: true}
  - {name: last, op: lstm, units: 4}
  - {name: avg, op: global_avg_pool, inputs: seq}
""",
        "[last, avg]",
    )
    assert masks["embed"] == ("embed", ("embed",))
    for name in ("d", "drop", "seq"):
        assert masks[name] == ("embed", ("embed",)), name
    assert masks["last"] is None and masks["avg"] is None
    assert masks["x"] is None and masks["tokens"] is None
    assert warnings == []


def test_merges_combine_masks_as_keras():
    masks, warnings = _masks(
        """\
  - {name: both, op: add, inputs: [embed, pad]}
  - {name: same, op: multiply, inputs: [embed, embed]}
  - {name: wide, op: concatenate, inputs: [embed, x]}
  - {name: long, op: concatenate, axis: 1, inputs: [embed, x]}
  - {name: half, op: add, inputs: [embed, x]}
""",
        "[both, same, wide, long, half]",
    )
    assert masks["both"] == ("both", ("embed", "pad"))  # a new mask: embed_mask | pad_mask
    assert masks["same"] == ("embed", ("embed",))
    assert masks["wide"] == ("embed", ("embed",))  # an unmasked input counts as all True
    assert masks["long"] == ("long", ("embed",))
    assert masks["half"] is None
    assert [w.message for w in warnings] == [
        "`add` layer `half` drops the mask made by `embed`: its input `x` carries none"
    ]


def test_w308_names_where_the_mask_was_made():
    _, warnings = _masks(
        """\
  - {name: conv, op: conv1d, filters: 4, kernel_size: 2, inputs: pad}
  - {name: flat, op: flatten, inputs: embed}
  - {name: dead, op: permute, dims: [2, 1], inputs: embed}
""",
        "[conv, flat]",
    )
    assert [w.span.line for w in warnings] == [10, 11]  # `dead` reaches no output
    conv, flat = warnings
    assert "drops the mask made by `pad`" in conv.message
    assert conv.related[0].span.line == 9
    assert flat.related[0].span.line == 8 and "masks id 0" in flat.related[0].message
    assert flat.help


def test_summary_names_each_layers_mask():
    report = specc.validate(HEAD + "  - {name: seq, op: gru, units: 3, return_sequences: true}\n")
    data = summary_data(report.graph)
    marks = {layer["name"]: layer.get("mask") for layer in data["layers"]}
    assert marks == {"pad": ["pad"], "seq": ["pad"]}  # `embed` reaches no output
    assert "mask" in summary_text(report.graph).splitlines()[1]
    json.dumps(data)


def test_an_unmasked_summary_has_no_mask_column():
    report = specc.validate(
        "specc: 1\nname: u\ninputs:\n  - {name: x, shape: [5, 3]}\nlayers:\n"
        "  - {name: seq, op: gru, units: 3}\n"
    )
    assert "mask" not in summary_text(report.graph)
    assert "mask" not in summary_data(report.graph)["layers"][0]


def test_mask_zero_needs_time_ids():
    report = specc.validate(
        "specc: 1\nname: u\ninputs:\n  - {name: t, shape: [5, 2], dtype: int32}\nlayers:\n"
        "  - {name: e, op: embedding, input_dim: 9, output_dim: 3, mask_zero: true}\n"
    )
    assert [d.code for d in report.errors] == ["E402"]
