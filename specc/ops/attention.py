"""`timestep_attention`, `attention`, `multi_head_attention`."""

from __future__ import annotations

from ..shapes import RuleContext, Shape, dim_label, show
from . import register


@register("timestep_attention")
def timestep_attention_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, (3,), "3-D (batch, time, features)")
    ctx.static(
        x[1],
        "time length",
        help="its dense layer over time needs the length: give the time dimension a "
        "size under `dims:`",
    )
    return x


def _qkv(ctx: RuleContext, allow_self: bool) -> tuple[Shape, Shape, Shape]:
    n = len(ctx.shapes)
    lowest = 1 if allow_self else 2
    if not lowest <= n <= 3:
        forms = "[query], " if allow_self else ""
        ctx.fail(
            "E403",
            f"{ctx.what} takes {forms}[query, value] or [query, value, key], got "
            f"{n} input{'s' if n != 1 else ''}",
            at=("inputs",),
            help="list them: `inputs: [query, value]`"
            + (" (one name: self-attention)" if allow_self else ""),
        )
    for i, shape in enumerate(ctx.shapes):
        ctx.rank(shape, (3,), "3-D (batch, time, features)", index=i)
        ctx.static(shape[2], "feature size", index=i)
    query = ctx.shapes[0]
    value = ctx.shapes[1] if n > 1 else query
    key = ctx.shapes[2] if n > 2 else value
    if key[1] != value[1]:
        ctx.fail(
            "E407",
            f"{ctx.what} needs key and value of the same length, got "
            f"`{dim_label(key[1])}` and `{dim_label(value[1])}`",
            at=("input", 2),
            label=f"{show(key)} here, value {show(value)} {ctx.origin_of(1)}",
            help="a key step scores each value step: read both from one sequence",
        )
    return query, value, key


@register("attention")
def attention_shape(ctx: RuleContext) -> Shape:
    query, value, key = _qkv(ctx, allow_self=False)
    if query[2] != key[2]:
        which = 2 if len(ctx.shapes) > 2 else 1
        ctx.fail(
            "E407",
            f"{ctx.what} scores query against key, so both need the same width; got "
            f"{query[2]} and {key[2]}",
            at=("input", which),
            label=f"{show(ctx.shapes[which])} here, query {show(query)} {ctx.origin_of(0)}",
            help="project one side with a `dense` layer, or use `multi_head_attention`",
        )
    return (query[0], query[1], value[2])


@register("multi_head_attention")
def multi_head_attention_shape(ctx: RuleContext) -> Shape:
    query, _, _ = _qkv(ctx, allow_self=True)
    return query
