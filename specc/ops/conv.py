"""`conv1d` over (batch, time, channels), as Keras's Conv1D."""

from __future__ import annotations

from ..shapes import RuleContext, Shape, Sym, dim_label
from . import register


def conv_length(length, kernel: int, stride: int, dilation: int, padding: str):
    """Output length, as Keras computes it; a Sym in, a Sym out."""
    span = dilation * (kernel - 1) + 1
    if isinstance(length, int):
        if padding == "valid":
            return (length - span) // stride + 1
        return -(-length // stride)
    if padding == "valid":
        key = ("valid", length, span, stride)
        return Sym(f"({dim_label(length)}-{span})//{stride}+1", key)
    # `same` and `causal` lengths depend on the stride only, not on the window.
    return (
        length
        if stride == 1
        else Sym(f"ceil({dim_label(length)}/{stride})", ("ceil", length, stride))
    )


@register("conv1d")
def conv1d_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, (3,), "3-D (batch, time, channels)")
    ctx.static(x[2], "channel count")
    a = ctx.attrs
    if a["strides"] > 1 and a["dilation_rate"] > 1:
        ctx.fail(
            "E104",
            f"{ctx.what} cannot combine `strides: {a['strides']}` with "
            f"`dilation_rate: {a['dilation_rate']}`",
            at=("strides",),
            help="Keras supports strides or dilation, not both: set one of them to 1",
        )
    length = conv_length(x[1], a["kernel_size"], a["strides"], a["dilation_rate"], a["padding"])
    if isinstance(length, int) and length < 1:
        span = a["dilation_rate"] * (a["kernel_size"] - 1) + 1
        ctx.fail(
            "E410",
            f"{ctx.what} needs at least {span} time steps with `padding: valid`, "
            f"got {x[1]} {ctx.origin_of(0)}",
            at=("kernel_size",),
            help="use a smaller `kernel_size`, or `padding: same`",
        )
    return (x[0], length, a["filters"])
