"""Parameter counts: the formulas every backend shares, and how the core asks a backend.

A count is a backend fact (PyTorch's fused LSTM keeps two bias vectors where
Keras keeps one; Keras counts batch-norm statistics as weights), so each
backend answers `params(ctx, shape)` for the ops whose layout is its own and
falls back to `shared` for the rest: the ops whose weights are the same
arrays in any framework (a dense kernel and bias, a convolution, the LSTM
variant cells that specc writes with one layout for both). docs/ops.md gives
each formula.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .shapes import RuleContext, Shape
from .variants import variant_of

CountRule = Callable[[RuleContext, Shape], int]


def recurrent_weights(ctx: RuleContext, gates: int) -> int:
    """Kernel and recurrent kernel of one direction, for `gates` gates, no biases."""
    f, u = ctx.shapes[0][-1], ctx.attrs["units"]
    return gates * (f * u + u * u)


def directions(ctx: RuleContext) -> int:
    return 2 if ctx.attrs["bidirectional"] else 1


def lstm_variant(ctx: RuleContext, shape: Shape) -> int:
    """An LSTM variant cell (specc's own layout, the same in every backend)."""
    a = ctx.attrs
    u = a["units"]
    variant = variant_of(a)
    if variant.layer_norm:
        # Ba et al. (2016), eq. 20, with no bias vectors: the norms of the input
        # and of the recurrent projection (4u each) and of the cell (u) each
        # have a gain and a shift.
        return directions(ctx) * (recurrent_weights(ctx, 4) + 2 * 8 * u + 2 * u)
    gates = len(variant.gates)
    bias = gates * u if a["use_bias"] else 0
    n = recurrent_weights(ctx, gates) + bias + len(variant.peepholes) * u
    return directions(ctx) * (n + variant.extra_matrices * u * u)


def _kernel(ctx: RuleContext, width_in: int, width_out: int) -> int:
    return width_in * width_out + (width_out if ctx.attrs["use_bias"] else 0)


def dense(ctx: RuleContext, shape: Shape) -> int:
    return _kernel(ctx, ctx.shapes[0][-1], ctx.attrs["units"])


def conv1d(ctx: RuleContext, shape: Shape) -> int:
    a = ctx.attrs
    return _kernel(ctx, a["kernel_size"] * ctx.shapes[0][-1], a["filters"])


def embedding(ctx: RuleContext, shape: Shape) -> int:
    return ctx.attrs["input_dim"] * ctx.attrs["output_dim"]


def affine(ctx: RuleContext, shape: Shape) -> int:
    """A normalisation's learnt gain and shift (`scale`, `center`) over the last axis."""
    return ctx.shapes[0][-1] * (int(ctx.attrs["scale"]) + int(ctx.attrs["center"]))


def timestep_attention(ctx: RuleContext, shape: Shape) -> int:
    t = shape[1]
    return t * t + t  # a dense layer over time


def attention(ctx: RuleContext, shape: Shape) -> int:
    return int(ctx.attrs["use_scale"]) + int(ctx.attrs["score_mode"] == "concat")


def multi_head_attention(ctx: RuleContext, shape: Shape) -> int:
    a = ctx.attrs
    n = len(ctx.shapes)
    query = ctx.shapes[0]
    value = ctx.shapes[1] if n > 1 else query
    key = ctx.shapes[2] if n > 2 else value
    heads, kd = a["num_heads"], a["key_dim"]
    vd = a.get("value_dim") or kd
    b = 1 if a["use_bias"] else 0
    dq, dk, dv = query[2], key[2], value[2]
    return (
        dq * heads * kd
        + dk * heads * kd
        + dv * heads * vd
        + heads * vd * dq
        + b * (2 * heads * kd + heads * vd + dq)
    )


# Weight blocks per cell of a gated-feedback layer (LSTM i, f, c, o; GRU z, r, h; tanh RNN).
FEEDBACK_GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def gated_feedback(ctx: RuleContext, shape: Shape) -> int:
    """A gated-feedback stack (Chung et al., 2015), one layout in every backend.

    Layer j reads F_j features (F for the first, u above): its cell's k gates
    from below (F_j x ku), its k - 1 gates but the candidate from its own last
    state (u x (k-1)u), the candidate's feedback from every layer (Lu x u),
    its L global reset gates from below (F_j x L) and from all last states
    (Lu x L), and k biases (ku) with `use_bias`.
    """
    a = ctx.attrs
    f, u, layers = ctx.shapes[0][-1], a["units"], a["layers"]
    k = FEEDBACK_GATES[a["cell"]]
    bias = k * u if a["use_bias"] else 0
    per_layer = (k - 1 + layers) * u * u + layers * layers * u + bias
    return (f + (layers - 1) * u) * (k * u + layers) + layers * per_layer


SHARED: dict[str, CountRule] = {
    "dense": dense,
    "conv1d": conv1d,
    "embedding": embedding,
    "layer_norm": affine,
    "batch_norm": affine,  # the learnt part; a backend may count the statistics too
    "timestep_attention": timestep_attention,
    "attention": attention,
    "multi_head_attention": multi_head_attention,
    "gated_feedback": gated_feedback,
}


def shared(ctx: RuleContext, shape: Shape) -> int:
    """The count any framework has, for ops whose weights are the same arrays everywhere."""
    if ctx.op == "lstm" and ctx.attrs["variant"] != "standard":
        return lstm_variant(ctx, shape)
    rule = SHARED.get(ctx.op)
    return rule(ctx, shape) if rule is not None else 0


def unwrapped(ctx: RuleContext, shape: Shape) -> tuple[RuleContext, Shape]:
    """The layer that holds the weights: the one inside `time_distributed`, on one step."""
    if ctx.op != "time_distributed":
        return ctx, shape
    x = ctx.shapes[0]
    inner = ctx.attrs["layer"]
    attrs = {k: v for k, v in inner.items() if k != "op"}
    step = replace(ctx, op=inner["op"], attrs=attrs, shapes=[(x[0], *x[2:])], at_prefix=("layer",))
    return step, (shape[0], *shape[2:])


def backend_counts(backends, ctx: RuleContext, shape: Shape) -> dict[str, int]:
    """{backend name: its parameter count} for a shaped layer, from each backend that counts."""
    ctx, shape = unwrapped(ctx, shape)
    return {b.name: b.params(ctx, shape) for b in backends}
