"""The shape-inference pass: runs each op's rule in topological order.

Writes `meta["shape"]`, `meta["params"]` (each installed backend's count, as
the backend gives it) and `meta["dtype"]` on every node. A
rule that finds a problem raises `ShapeProblem`; the pass turns it into one
located diagnostic and leaves the node unshaped, so nothing downstream of a
mistake reports again.
"""

from __future__ import annotations

from .backend import backends_with
from .counts import backend_counts
from .diagnostics import Diagnostics
from .graph import ModelGraph
from .ir import INVALID, Node
from .ops import RULES
from .optable import OPS
from .shapes import BATCH, RuleContext, ShapeProblem, input_shape, spec_dims
from .shares import check_fit, root_of
from .states import STATE, port_shape


def infer_shapes(model: ModelGraph, diags: Diagnostics) -> None:
    """Write `meta["shape"]`, `meta["params"]` and `meta["dtype"]` on every node."""
    dims = spec_dims(model.spec.dims)
    backends = backends_with("params")
    batch = model.spec.batch_size or BATCH
    for node in model.order:
        node.meta["shape"] = None
        node.meta["params"] = None
        if node.op == "input":
            node.meta["dtype"] = node.attrs["dtype"]
            node.meta["shape"] = input_shape(node, dims, batch)
            node.meta["params"] = {b.name: 0 for b in backends}
            continue
        if node.op == INVALID:
            continue
        sources = [model.node(name) for name in node.inputs]
        shapes = [source.meta["shape"] for source in sources]
        if any(shape is None for shape in shapes):
            continue
        if node.op == STATE:  # a recurrent layer's final state: no weights of its own
            node.meta["shape"] = port_shape(sources[0], node.attrs["port"])
            node.meta["params"] = {b.name: 0 for b in backends}
            node.meta["dtype"] = "float32"
            continue
        ctx = RuleContext(node, node.op, node.attrs, shapes, sources, dims, model.spec.batch_size)
        try:
            _check_dtypes(ctx)
            shape = RULES[node.op](ctx)
        except ShapeProblem as problem:
            _report(node, problem, diags)
            continue
        node.meta["shape"] = shape
        if root_of(node) is None:
            node.meta["params"] = backend_counts(backends, ctx, shape)
        else:  # the weights are counted once, on the layer that holds them
            node.meta["params"] = {b.name: 0 for b in backends}
        node.meta["dtype"] = _dtype(node, sources[0])
    check_fit(model, diags)


def _dtype(node: Node, source: Node) -> str:
    """Integer ids keep their dtype through ops that only move values (and `time_distributed`
    of one); every other result is float32, from float16 and bfloat16 inputs too: Keras's
    layers cast floating inputs to their float32 compute dtype, and the PyTorch model
    casts such an input once, where it enters."""
    wrapped = node.attrs["layer"]["op"] if node.op == "time_distributed" else node.op
    dtype = source.meta["dtype"]
    return dtype if OPS[wrapped].keeps_dtype and dtype.startswith("int") else "float32"


def _check_dtypes(ctx: RuleContext) -> None:
    """Integer ids reach only the ops that take them (embedding, ops that move values)."""
    wrapped = ctx.attrs["layer"]["op"] if ctx.op == "time_distributed" else ctx.op
    if OPS[wrapped].input_dtype != "float":
        return
    for index, source in enumerate(ctx.sources):
        dtype = source.meta["dtype"]
        if not dtype.startswith("int"):
            continue
        what = "input" if source.op == "input" else "layer"
        fix = (
            f"give `{source.name}` a float dtype (`dtype: float32`), or map its ids to "
            "vectors with an `embedding` first"
            if source.op == "input"
            else "map the ids to vectors with an `embedding` first"
        )
        raise ShapeProblem(
            "E411",
            f"{ctx.what} needs floating-point input, but {what} `{source.name}` gives {dtype}",
            at=("input", index),
            help=fix,
        )


def _report(node: Node, problem: ShapeProblem, diags: Diagnostics) -> None:
    if problem.at and problem.at[0] == "input":
        index = problem.at[1]
        span = node.input_spans[index] if index < len(node.input_spans) else node.span()
    elif problem.at:
        path = problem.at
        span = node.span(*path) if path[0] in node.written() else node.span()
    else:
        span = node.span()
    diags.error(
        problem.code,
        problem.message,
        span,
        label=problem.label,
        help=problem.help,
        related=[*problem.related, *node.origin],
    )
