"""GPU lints: recurrent layers whose settings keep them off the fast fused kernels.

Keras 3 runs `LSTM`/`GRU` on cuDNN only with its default activations, no
recurrent dropout, biases on, no unrolling, and (GRU) `reset_after`.
PyTorch's `nn.LSTM`/`nn.GRU`/`nn.RNN` cover fewer settings still, and
anything else needs a custom cell that loops over time steps in Python.
Keras's `SimpleRNN` has no cuDNN kernel at all, whatever its settings, so
`rnn` layers are not linted for Keras. LSTM variants are custom cells by
choice, so they are not linted either.
"""

from __future__ import annotations

from .diagnostics import Diagnostics, Related
from .schema import show_value

RECURRENT = ("lstm", "gru", "rnn")


def keras_blockers(op: str, attrs: dict) -> list[str]:
    """The attributes that keep a standard Keras LSTM/GRU off cuDNN."""
    if op == "rnn":
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


def torch_blockers(op: str, attrs: dict) -> list[str]:
    """The attributes that force a per-step Python loop instead of a fused PyTorch layer."""
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


def run_lints(model, diags: Diagnostics) -> None:
    for node in model.order:
        if node.op not in RECURRENT or node.attrs.get("variant", "standard") != "standard":
            continue
        if node.name not in model.live:
            continue
        for code, blockers, message, fix in (
            (
                "W501",
                keras_blockers(node.op, node.attrs),
                "keeps Keras off its cuDNN kernel",
                "Keras then runs a slower generic loop",
            ),
            (
                "W502",
                torch_blockers(node.op, node.attrs),
                "makes PyTorch loop over time steps in Python",
                "the fused `nn." + node.op.upper() + "` cannot express it",
            ),
        ):
            if not blockers:
                continue
            first, *rest = blockers
            setting = ", ".join(f"`{b}: {_plain(node.attrs[b])}`" for b in blockers)
            diags.warning(
                code,
                f"`{node.op}` layer `{node.name}`: {setting} {message}",
                node.span(first),
                help=f"{fix}; drop the setting to run on the fused kernel",
                related=[Related(node.span(b), f"`{b}` is set here") for b in rest]
                + list(node.origin),
            )


def _plain(value) -> str:
    return show_value(value).strip("`")
