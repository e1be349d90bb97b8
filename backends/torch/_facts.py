"""What the PyTorch backend knows without torch: its parameter counts, and which
settings make a recurrent layer run step by step (the emitter's choice and the
W502 lint, from one function).

Framework-free on purpose: `specc validate` asks every installed backend for
these, and must not import a framework to do it.
"""

from __future__ import annotations

from specc.backend import Lint
from specc.counts import directions, recurrent_weights, shared
from specc.optable import OPS, is_recurrent
from specc.shapes import RuleContext, Shape

# The fused layers.
FUSED = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


CODES = {"W502": "recurrent layer runs a per-step loop in PyTorch"}


def params(ctx: RuleContext, shape: Shape) -> int:
    """What `sum(p.numel() for p in model.parameters())` counts for the layer.

    The fused layers keep two bias vectors (`bias_ih`, `bias_hh`) per gate;
    a GRU with `reset_after: false` is a custom cell with Keras's one bias.
    Batch-norm statistics are buffers, not parameters.
    """
    a = ctx.attrs
    if is_recurrent(ctx.op) and a.get("variant", "standard") == "standard":
        gates = OPS[ctx.op].gates
        biases = 2 * gates * a["units"] if a["use_bias"] else 0
        if ctx.op == "gru" and not a["reset_after"]:
            biases //= 2
        return directions(ctx) * (recurrent_weights(ctx, gates) + biases)
    return shared(ctx, shape)


def stepped_settings(op: str, attrs: dict) -> list[str]:
    """The attributes that no fused `nn.LSTM`/`nn.GRU`/`nn.RNN` can express.

    A standard layer with any of them runs Keras's cell one step at a time in
    Python, on the fused layer's weights. The LSTM variants always run step
    by step, by choice, and are not listed here.
    """
    if op not in FUSED or attrs.get("variant", "standard") != "standard":
        return []
    out = []
    allowed = ("tanh", "relu") if op == "rnn" else ("tanh",)
    if attrs["activation"] not in allowed:
        out.append("activation")
    if op != "rnn" and attrs["recurrent_activation"] != "sigmoid":
        out.append("recurrent_activation")
    if attrs["recurrent_dropout"] > 0:
        out.append("recurrent_dropout")
    if op == "gru" and not attrs["reset_after"]:
        out.append("reset_after")
    return out


def lints(op: str, attrs: dict) -> list[Lint]:
    stepped = stepped_settings(op, attrs)
    if not stepped:
        return []
    return [
        Lint(
            "W502",
            stepped,
            "makes PyTorch loop over time steps in Python",
            f"the fused `nn.{FUSED[op]}` cannot express it",
        )
    ]
