"""Shape-keeping ops: `dropout`, `layer_norm`, `batch_norm`, `activation`, `masking`."""

from __future__ import annotations

from ..shapes import RuleContext, Shape
from . import register


@register("dropout", "activation")
def identity_shape(ctx: RuleContext) -> Shape:
    return ctx.one_input()


@register("layer_norm")
def layer_norm_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, tuple(range(2, 9)), "(batch, ..., features)")
    ctx.static(x[-1], "feature size")
    return x


@register("batch_norm")
def batch_norm_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, (2, 3), "(batch, features) or (batch, time, features)")
    ctx.static(x[-1], "feature size")
    return x


@register("masking")
def masking_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, (3,), "(batch, time, features)")
    return x
