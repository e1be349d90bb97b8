"""The recurrent family (`lstm`, `gru`, `rnn`): one shape rule for all of them."""

from __future__ import annotations

from ..optable import OPS
from ..shapes import RuleContext, Shape
from . import register


def width(attrs: dict) -> int:
    """Output width: units, doubled by a bidirectional concat."""
    units = attrs["units"]
    if attrs["bidirectional"] and attrs["merge_mode"] == "concat":
        return 2 * units
    return units


@register(*(name for name, op in OPS.items() if op.recurrent))
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
