"""What the Keras backend knows without Keras: its parameter counts and its GPU lint (W501).

Framework-free on purpose: `specc validate` asks every installed backend for
these, and must not import a framework to do it.
"""

from __future__ import annotations

from specc.backend import Lint
from specc.counts import affine, directions, recurrent_weights, shared
from specc.optable import OPS, is_recurrent
from specc.shapes import RuleContext, Shape

CODES = {"W501": "recurrent layer kept off the Keras cuDNN kernel"}


def params(ctx: RuleContext, shape: Shape) -> int:
    """What `keras.Model.count_params()` counts for the layer (moving statistics included)."""
    a = ctx.attrs
    if is_recurrent(ctx.op) and a.get("variant", "standard") == "standard":
        gates = OPS[ctx.op].gates
        biases = gates * a["units"] if a["use_bias"] else 0
        if ctx.op == "gru" and a["reset_after"]:
            biases *= 2  # an input and a recurrent bias, (2, 3u)
        return directions(ctx) * (recurrent_weights(ctx, gates) + biases)
    if ctx.op == "batch_norm":
        # Keras counts the moving mean and variance as (non-trainable) weights.
        return affine(ctx, shape) + 2 * ctx.shapes[0][-1]
    return shared(ctx, shape)


def cudnn_blockers(op: str, attrs: dict) -> list[str]:
    """The attributes that keep a standard Keras LSTM/GRU off cuDNN.

    Keras 3 runs `LSTM`/`GRU` on cuDNN only with its default activations, no
    recurrent dropout, biases on, no unrolling, and (GRU) `reset_after`.
    `SimpleRNN` has no cuDNN kernel whatever its settings, and the LSTM
    variants are custom cells by choice: neither is linted.
    """
    if op not in ("lstm", "gru") or attrs.get("variant", "standard") != "standard":
        return []
    out = []
    if attrs["activation"] != "tanh":
        out.append("activation")
    if attrs["recurrent_activation"] != "sigmoid":
        out.append("recurrent_activation")
    if attrs["recurrent_dropout"] > 0:
        out.append("recurrent_dropout")
    if not attrs["use_bias"]:
        out.append("use_bias")
    if attrs["unroll"]:
        out.append("unroll")
    if op == "gru" and not attrs["reset_after"]:
        out.append("reset_after")
    return out


def lints(op: str, attrs: dict) -> list[Lint]:
    blockers = cudnn_blockers(op, attrs)
    if not blockers:
        return []
    return [
        Lint(
            "W501",
            blockers,
            "keeps Keras off its cuDNN kernel",
            "Keras then runs a slower generic loop",
        )
    ]
