"""The recurrent family (`lstm`, `gru`, `rnn`): one shape rule for all of them."""

from __future__ import annotations

from ..optable import OPS
from ..shapes import RuleContext, Shape
from ..states import check_initial_states, initial_states
from . import register


def width(attrs: dict) -> int:
    """Output width: units, doubled by a bidirectional concat."""
    units = attrs["units"]
    if attrs["bidirectional"] and attrs["merge_mode"] == "concat":
        return 2 * units
    return units


@register(*(name for name, op in OPS.items() if op.recurrent))
def recurrent_shape(ctx: RuleContext) -> Shape:
    """A sequence in, then the states it starts from (`initial_state`, specc.states)."""
    states = initial_states(ctx.node)
    x = ctx.one_input(len(ctx.shapes) - states)
    ctx.rank(x, (3,), "3-D (batch, time, features)")
    ctx.static(x[2], "feature size")
    if ctx.attrs["stateful"] and ctx.batch_size is None:
        ctx.fail(
            "E405",
            f"stateful {ctx.what} needs a fixed batch size",
            at=("stateful",),
            help="set `batch_size: N` at the top of the spec",
        )
    if states:
        check_initial_states(ctx, states)
    w = width(ctx.attrs)
    return (x[0], x[1], w) if ctx.attrs["return_sequences"] else (x[0], w)
