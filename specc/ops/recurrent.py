"""`lstm`, `gru`, `rnn`: shape rules and parameter counts for both frameworks.

Parameter layouts (docs/ops.md has the details):
- Keras keeps one bias per gate; PyTorch's fused layers keep two (`bias_ih`,
  `bias_hh`), so a standard LSTM has 4u more parameters in PyTorch. A Keras
  GRU with `reset_after` (the default) also keeps two, and then both agree.
- Standard cells that need a per-step loop in PyTorch (recurrent dropout, a
  non-tanh activation) keep `nn.LSTM`'s layout, so weights stay exchangeable.
- LSTM variants (Greff et al.) are custom cells with one bias per gate and
  diagonal peephole weights, the same layout in both frameworks.
"""

from __future__ import annotations

from ..shapes import RuleContext, Shape
from . import ParamCount, register, same

# variant -> (gates with weights, peephole vectors, extra u x u matrices)
VARIANT_LAYOUT = {
    "peephole": (4, 3, 0),
    "nig": (3, 2, 0),
    "nfg": (3, 2, 0),
    "nog": (3, 2, 0),
    "niaf": (4, 3, 0),
    "noaf": (4, 3, 0),
    "cifg": (3, 2, 0),
    "fgr": (4, 3, 9),  # recurrent connections from all gates to all gates
}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def width(attrs: dict) -> int:
    """Output width: units, doubled by a bidirectional concat."""
    units = attrs["units"]
    if attrs["bidirectional"] and attrs["merge_mode"] == "concat":
        return 2 * units
    return units


def recurrent_params(ctx: RuleContext, shape: Shape) -> ParamCount:
    attrs = ctx.attrs
    f = ctx.shapes[0][-1]
    u = attrs["units"]
    b = 1 if attrs["use_bias"] else 0
    dirs = 2 if attrs["bidirectional"] else 1
    variant = attrs.get("variant", "standard")
    if ctx.op == "lstm" and variant == "layer_norm":
        # Ba et al. (2016), eq. 20, with no bias vectors: the norms of the input
        # and of the recurrent projection (4u each) and of the cell (u) each
        # have a gain and a shift.
        n = 4 * (f * u + u * u) + 2 * 8 * u + 2 * u
        return same(dirs * n)
    if ctx.op == "lstm" and variant != "standard":
        gates, peepholes, extra = VARIANT_LAYOUT[variant]
        n = gates * (f * u + u * u + b * u) + peepholes * u + extra * u * u
        return same(dirs * n)
    gates = GATES[ctx.op]
    weights = gates * (f * u + u * u)
    keras_biases = gates * u * b
    if ctx.op == "gru" and attrs["reset_after"]:
        keras_biases *= 2
    torch_biases = 2 * gates * u * b
    if ctx.op == "gru" and not attrs["reset_after"]:
        torch_biases = keras_biases  # a custom cell with Keras's layout
    return {"keras": dirs * (weights + keras_biases), "torch": dirs * (weights + torch_biases)}


@register("lstm", "gru", "rnn", params=recurrent_params)
def recurrent_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, (3,), "3-D (batch, time, features)")
    ctx.static(x[2], "feature size")
    if ctx.attrs["stateful"] and ctx.batch_size is None:
        ctx.fail(
            "E405",
            f"stateful {ctx.what} needs a fixed batch size",
            at=("stateful",),
            help="set `batch_size: N` at the top of the spec",
        )
    w = width(ctx.attrs)
    return (x[0], x[1], w) if ctx.attrs["return_sequences"] else (x[0], w)
