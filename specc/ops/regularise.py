"""Shape-keeping ops: `dropout`, `layer_norm`, `batch_norm`, `activation`."""

from __future__ import annotations

from ..shapes import RuleContext, Shape
from . import ParamCount, register, same


@register("dropout", "activation")
def identity_shape(ctx: RuleContext) -> Shape:
    return ctx.one_input()


def _affine(ctx: RuleContext) -> int:
    f = ctx.shapes[0][-1]
    return f * (int(ctx.attrs["scale"]) + int(ctx.attrs["center"]))


def layer_norm_params(ctx: RuleContext, shape: Shape) -> ParamCount:
    return same(_affine(ctx))


def batch_norm_params(ctx: RuleContext, shape: Shape) -> ParamCount:
    # Keras counts the moving mean and variance as (non-trainable) weights;
    # PyTorch keeps them as buffers, outside `parameters()`.
    f = ctx.shapes[0][-1]
    return {"keras": _affine(ctx) + 2 * f, "torch": _affine(ctx)}


@register("layer_norm", params=layer_norm_params)
def layer_norm_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, tuple(range(2, 9)), "(batch, ..., features)")
    ctx.static(x[-1], "feature size")
    return x


@register("batch_norm", params=batch_norm_params)
def batch_norm_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, (2, 3), "(batch, features) or (batch, time, features)")
    ctx.static(x[-1], "feature size")
    return x
