"""`dense`, `time_distributed`, `embedding`."""

from __future__ import annotations

from dataclasses import replace

from ..optable import OPS
from ..shapes import RuleContext, Shape, ShapeProblem
from . import RULES, register


@register("dense")
def dense_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, tuple(range(2, 9)), "(batch, ..., features)")
    ctx.static(x[-1], "feature size")
    return (*x[:-1], ctx.attrs["units"])


def _inner(ctx: RuleContext) -> RuleContext:
    """The context of the wrapped layer: one time step of the input."""
    x = ctx.shapes[0]
    inner = ctx.attrs["layer"]
    attrs = {k: v for k, v in inner.items() if k != "op"}
    return replace(ctx, op=inner["op"], attrs=attrs, shapes=[(x[0], *x[2:])], at_prefix=("layer",))


@register("time_distributed")
def time_distributed_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    wrapped = ctx.attrs["layer"]["op"]
    if not OPS[wrapped].wrappable:
        ctx.fail(
            "E104",
            f"`time_distributed` cannot wrap `{wrapped}`",
            at=("layer", "op"),
            help="wrap a layer that works on one time step, such as `dense`; apply "
            f"`{wrapped}` outside the wrapper",
        )
    if ctx.attrs["layer"].get("stateful"):
        ctx.fail(
            "E104",
            f"`time_distributed` cannot wrap a stateful `{wrapped}`",
            at=("layer", "stateful"),
            help="the wrapped layer runs on each time step separately; drop `stateful` here",
        )
    ctx.rank(x, tuple(range(3, 9)), "(batch, time, ...)")
    inner = _inner(ctx)
    try:
        out = RULES[inner.op](inner)
    except ShapeProblem as problem:
        if problem.at and problem.at[0] == "input":
            # The wrapped layer sees one time step: say so, with the full shape.
            problem.message += " (one time step of the input)"
        raise
    return (x[0], x[1], *out[1:])


@register("embedding")
def embedding_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, tuple(range(2, 9)), "(batch, time) integer")
    source = ctx.sources[0]
    dtype = source.meta.get("dtype", "float32")
    if not dtype.startswith("int"):
        what = "input" if source.op == "input" else "layer"
        fix = (
            f"give `{source.name}` `dtype: int32`"
            if source.op == "input"
            else "feed it integer token ids, from an input with `dtype: int32`"
        )
        ctx.fail(
            "E409",
            f"{ctx.what} needs integer token ids, but {what} `{source.name}` gives {dtype}",
            at=("input", 0),
            help=fix,
        )
    if ctx.attrs.get("mask_zero"):
        _mask_zero_rank(ctx, x)
    return (*x, ctx.attrs["output_dim"])


def _mask_zero_rank(ctx: RuleContext, x: Shape) -> None:
    """A mask marks time steps: `mask_zero` needs (batch, time) ids."""
    if len(x) != 2:
        ctx.fail(
            "E402",
            f"{ctx.what} with `mask_zero` needs (batch, time) ids, got rank {len(x)}",
            at=("mask_zero",),
            help="masks mark the time steps of a sequence: embed (batch, time) ids, or drop "
            "`mask_zero`",
        )
