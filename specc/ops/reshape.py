"""Ops that move axes around: `repeat_vector`, `permute`, `reshape`, `flatten`,
`global_avg_pool`, `global_max_pool`, `last_step`."""

from __future__ import annotations

from math import prod

from ..optable import is_recurrent
from ..shapes import RuleContext, Shape, Sym, dim_label, dim_mul, show
from . import register


@register("repeat_vector")
def repeat_vector_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(
        x,
        (2,),
        "2-D (batch, features)",
        help="`repeat_vector` repeats a vector; take the last step first, e.g. with `last_step`"
        if len(x) == 3
        else "",
    )
    n = ctx.dim(ctx.attrs["n"], ("n",))
    if not isinstance(n, int):
        ctx.fail(
            "E405",
            f"{ctx.what} needs a static `n`, but `{ctx.attrs['n']}` is variable",
            at=("n",),
            help=f"give `{ctx.attrs['n']}` a size under `dims:`",
        )
    return (x[0], n, x[1])


@register("permute")
def permute_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    dims = ctx.attrs["dims"]
    axes = len(x) - 1
    if sorted(dims) != list(range(1, axes + 1)):
        listed = ", ".join(str(d) for d in range(1, axes + 1))
        ctx.fail(
            "E404",
            f"`dims` {dims} of {ctx.what} is not a permutation of {listed} for the "
            f"input {show(x)} {ctx.origin_of(0)}",
            at=("dims",),
            help=f"list each of {listed} once (1-based, batch excluded, as Keras `Permute`)",
        )
    return (x[0], *(x[d] for d in dims))


@register("reshape")
def reshape_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    target = [
        ctx.dim(v, ("target_shape", i)) if isinstance(v, str) else v
        for i, v in enumerate(ctx.attrs["target_shape"])
    ]
    for i, (written, dim) in enumerate(zip(ctx.attrs["target_shape"], target, strict=True)):
        if isinstance(written, str) and not isinstance(dim, int):
            # Both frameworks take only sizes (and one -1): a variable dim named
            # here would be inferred, not kept, and could silently differ from it.
            ctx.fail(
                "E405",
                f"{ctx.what} needs a size for each axis of `target_shape`, but `{written}` is "
                "variable",
                at=("target_shape", i),
                help="write -1 for the one axis to infer, or give "
                f"`{written}` a size under `dims:`",
            )
    unknown = [i for i, v in enumerate(target) if v == -1]
    if len(unknown) > 1:
        ctx.fail(
            "E406",
            f"{ctx.what} can infer only one axis, got {len(unknown)} -1s",
            at=("target_shape", unknown[1]),
            help="give every axis but one a size",
        )
    size = x[1:]
    known = [v for v in target if v != -1]
    static_in = all(isinstance(d, int) for d in size)
    static_out = all(isinstance(d, int) for d in known)
    shown = "(batch, " + ", ".join(dim_label(d) for d in target) + ")"
    if static_in and static_out:
        total, rest = prod(size), prod(known)
        if unknown:
            if rest == 0 or total % rest:
                ctx.fail(
                    "E406",
                    f"{ctx.what} cannot reshape {show(x)} ({total} values per row) to {shown}",
                    at=("target_shape",),
                    help=f"the sizes must divide {total}",
                )
            target[unknown[0]] = total // rest
        elif total != rest:
            ctx.fail(
                "E406",
                f"{ctx.what} cannot reshape {show(x)} ({total} values per row) to "
                f"{shown} ({rest} values)",
                at=("target_shape",),
                help=f"the sizes must multiply to {total}",
            )
    elif unknown:
        target[unknown[0]] = Sym("None", ("reshape", tuple(size), tuple(known)))
    return (x[0], *target)


@register("flatten")
def flatten_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    if len(x) == 2:
        return x
    total = x[1]
    for d in x[2:]:
        total = dim_mul(total, d)
    return (x[0], total)


@register("last_step", "global_avg_pool", "global_max_pool")
def over_time_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    hint = ""
    source = ctx.sources[0]
    if len(x) == 2 and is_recurrent(source.op):
        hint = (
            f"`{source.name}` already returns its last step; remove this layer, or set "
            f"`return_sequences: true` on `{source.name}`"
        )
    ctx.rank(x, (3,), "3-D (batch, time, features)", help=hint)
    return (x[0], x[2])
