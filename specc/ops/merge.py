"""Element-wise merges (`add` and friends) and `concatenate`."""

from __future__ import annotations

from ..diagnostics import Related
from ..optable import OPS, is_recurrent
from ..shapes import RuleContext, Shape, dim_add, show
from . import register

ELEMENTWISE = [name for name, op in OPS.items() if op.merge and name != "concatenate"]


def _count(ctx: RuleContext) -> None:
    n = len(ctx.shapes)
    if ctx.op == "subtract" and n != 2:
        ctx.fail(
            "E403",
            f"{ctx.what} takes exactly 2 inputs, got {n}",
            at=("inputs",),
            help="`subtract` computes inputs[0] - inputs[1]",
        )
    if n < 2:
        ctx.fail(
            "E403",
            f"{ctx.what} merges 2 or more inputs, got {n}",
            at=("inputs",),
            help="list its sources: `inputs: [a, b]`",
        )


def _fix_help(ctx: RuleContext, index: int) -> str:
    """How to make input `index` match input 0, in the user's terms."""
    want, got = ctx.shapes[0], ctx.shapes[index]
    first, odd = ctx.sources[0], ctx.sources[index]
    if len(want) != len(got) or want[:-1] != got[:-1]:
        return f"make `{odd.name}` produce {show(want)}"
    target = want[-1]
    units = odd.attrs.get("units")
    if units is not None and (is_recurrent(odd.op) or odd.op == "dense"):
        doubled = odd.attrs.get("bidirectional") and odd.attrs.get("merge_mode") == "concat"
        if not doubled:
            return (
                f"give `{odd.name}` {target} units, or project `{first.name}` with a "
                f"`dense` of {got[-1]} units"
            )
        if isinstance(target, int) and target % 2 == 0:
            return (
                f"give `{odd.name}` {target // 2} units (it is bidirectional), or project "
                f"`{first.name}` with a `dense` of {got[-1]} units"
            )
    return f"project `{odd.name}` with a `dense` of {target} units"


@register(*ELEMENTWISE)
def elementwise_shape(ctx: RuleContext) -> Shape:
    _count(ctx)
    want = ctx.shapes[0]
    for index, shape in enumerate(ctx.shapes[1:], start=1):
        if shape != want:
            ctx.fail(
                "E401",
                f"`{ctx.op}` merge `{ctx.node.name}` needs equal shapes",
                at=("input", index),
                label=f"{show(shape)} here, {show(want)} {ctx.origin_of(0)}",
                help=_fix_help(ctx, index),
                related=[Related(ctx.node.input_spans[0], f"{show(want)} {ctx.origin_of(0)}")]
                if index > 1
                else [],
            )
    return want


@register("concatenate")
def concatenate_shape(ctx: RuleContext) -> Shape:
    _count(ctx)
    want = ctx.shapes[0]
    rank = len(want)
    axis = ctx.attrs["axis"]
    if not (-rank < axis < rank) or axis == 0:
        ctx.fail(
            "E408",
            f"{ctx.what} cannot join along axis {axis} of {rank}-D inputs {show(want)}",
            at=("axis",),
            help=f"use an axis from 1 to {rank - 1}, or -1 for the last",
        )
    axis %= rank
    total = want[axis]
    for index, shape in enumerate(ctx.shapes[1:], start=1):
        same_rest = len(shape) == rank and all(
            a == b for i, (a, b) in enumerate(zip(shape, want, strict=True)) if i != axis
        )
        if not same_rest:
            ctx.fail(
                "E401",
                f"`concatenate` `{ctx.node.name}` needs equal shapes except on axis {axis}",
                at=("input", index),
                label=f"{show(shape)} here, {show(want)} {ctx.origin_of(0)}",
                help=f"make `{ctx.sources[index].name}` match {show(want)} outside axis {axis}",
            )
        total = dim_add(total, shape[axis])
    return (*want[:axis], total, *want[axis + 1 :])
