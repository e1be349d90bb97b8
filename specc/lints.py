"""Lints (warnings) on recurrent layers: GPU kernels (W501, W502), settings without effect (W306).

Keras 3 runs `LSTM`/`GRU` on cuDNN only with its default activations, no
recurrent dropout, biases on, no unrolling, and (GRU) `reset_after`.
PyTorch's `nn.LSTM`/`nn.GRU`/`nn.RNN` cover fewer settings still, and
anything else needs a custom cell that loops over time steps in Python.
Keras's `SimpleRNN` has no cuDNN kernel at all, whatever its settings, so
`rnn` layers are not linted for Keras. LSTM variants are custom cells by
choice, so they are not linted either.
"""

from __future__ import annotations

from .diagnostics import Diagnostics, Related, yaml_text

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
    """GPU lints and settings without effect, on every layer that reaches an output."""
    for node in model.order:
        if node.name not in model.live:
            continue
        if node.op in RECURRENT:
            _lint_recurrent(node, node.op, node.attrs, node.source, (), diags)
        elif node.op == "time_distributed" and node.attrs["layer"]["op"] in RECURRENT:
            inner = node.attrs["layer"]
            _lint_recurrent(node, inner["op"], inner, node.source.get("layer"), ("layer",), diags)


def _lint_recurrent(node, op: str, attrs: dict, source, prefix: tuple, diags: Diagnostics) -> None:
    _lint_no_effect(node, op, attrs, source, prefix, diags)
    if attrs.get("variant", "standard") != "standard":
        return
    what = f"`{op}` layer `{node.name}`"
    for code, blockers, message, fix in (
        (
            "W501",
            keras_blockers(op, attrs),
            "keeps Keras off its cuDNN kernel",
            "Keras then runs a slower generic loop",
        ),
        (
            "W502",
            torch_blockers(op, attrs),
            "makes PyTorch loop over time steps in Python",
            f"the fused `nn.{op.upper()}` cannot express it",
        ),
    ):
        if not blockers:
            continue
        first, *rest = blockers
        setting = ", ".join(f"`{b}: {yaml_text(attrs[b])}`" for b in blockers)
        diags.warning(
            code,
            f"{what}: {setting} {message}",
            node.span(*prefix, first),
            help=f"{fix}; drop the setting to run on the fused kernel",
            related=[Related(node.span(*prefix, b), f"`{b}` is set here") for b in rest]
            + list(node.origin),
        )


def _lint_no_effect(node, op, attrs, source, prefix: tuple, diags: Diagnostics) -> None:
    """Settings written in the spec that the layer's other settings make meaningless."""
    written = set(source.entries) if source is not None else set()
    variant = attrs.get("variant", "standard")
    reasons = {}
    if "merge_mode" in written and not attrs["bidirectional"]:
        reasons["merge_mode"] = "the layer is not bidirectional"
    if "recurrent_dropout_mode" in written and not attrs["recurrent_dropout"]:
        reasons["recurrent_dropout_mode"] = "`recurrent_dropout` is 0"
    for key in ("forget_bias", "unit_forget_bias"):
        if key in written and variant in ("nfg", "cifg"):
            reasons[key] = f"the `{variant}` variant has no forget gate of its own"
    for key in ("use_bias", "forget_bias", "unit_forget_bias"):
        if key in written and variant == "layer_norm":
            reasons[key] = "the `layer_norm` variant has no biases (its norms shift instead)"
    for key, reason in reasons.items():
        diags.warning(
            "W306",
            f"`{key}` has no effect on `{op}` layer `{node.name}`: {reason}",
            node.span(*prefix, key),
            help=f"remove `{key}`",
            related=node.origin,
        )
