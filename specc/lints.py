"""Lints (warnings): settings without effect (W306), `last_step` of a bidirectional
sequence (W307), and each backend's own on recurrent layers.

A setting that the layer's other settings make meaningless is a fact of the
format (W306, here). Which settings slow a layer down is a fact of each
framework: every installed backend names them through its `lints(op, attrs)`
(Keras: W501, off cuDNN; PyTorch: W502, a per-step loop), and this pass
locates and reports them.
"""

from __future__ import annotations

from .backend import backends_with
from .diagnostics import Diagnostics, Related, yaml_text
from .optable import OPS, is_recurrent
from .shares import held
from .variants import VARIANTS


def run_lints(model, diags: Diagnostics) -> None:
    """Settings without effect and backend lints, on every layer that reaches an output."""
    backends = backends_with("lints")
    owners = {node.name for node in held(model)}  # a shared layer is linted once, at its root
    for node in model.order:
        if node.name not in owners and not (node.name in model.live and node.op == "last_step"):
            continue
        if is_recurrent(node.op):
            _lint_recurrent(node, node.op, node.attrs, (), backends, diags)
        elif node.op == "time_distributed" and is_recurrent(node.attrs["layer"]["op"]):
            inner = node.attrs["layer"]
            _lint_recurrent(node, inner["op"], inner, ("layer",), backends, diags)
        elif node.op == "last_step":
            _lint_last_step(model, node, diags)


# Ops that act on each step on its own, so the step at the last index still
# holds what each direction of a bidirectional layer gave there.
STEPWISE_FAMILIES = {"dense", "merge", "regularise"}


def _lint_last_step(model, node, diags: Diagnostics) -> None:
    """`last_step` of a bidirectional sequence takes the backward direction's first step."""
    source = _bidirectional_source(model, node.inputs[0])
    if source is None:
        return
    diags.warning(
        "W307",
        f"`last_step` layer `{node.name}` takes the last index of bidirectional "
        f"`{source.name}`, where the backward direction has read only the last step",
        node.span(),
        help=f"set `return_sequences: false` on `{source.name}` to take each direction's "
        "final step, and drop `last_step`",
        related=[*node.origin, *_made_bidirectional(source)],
    )


def _made_bidirectional(source) -> list[Related]:
    """Where a layer is written and where `bidirectional` is set for it (once if one line)."""
    where = source.span("bidirectional")
    returns = f"`{source.name}` returns every step of both directions"
    if where.line == source.span().line and where.file == source.span().file:
        return [Related(where, returns), *source.origin]
    return [Related(source.span(), returns), Related(where, "set here"), *source.origin]


def _bidirectional_source(model, name: str):
    """The bidirectional sequence a name reads through stepwise ops, or None."""
    seen, stack = set(), [name]
    while stack:
        node = model.node(stack.pop())
        if node.name in seen:
            continue
        seen.add(node.name)
        if is_recurrent(node.op):
            if node.attrs["bidirectional"] and node.attrs["return_sequences"]:
                return node
        elif OPS.get(node.op) is not None and OPS[node.op].family in STEPWISE_FAMILIES:
            stack.extend(node.inputs)
    return None


def _lint_recurrent(node, op, attrs, prefix: tuple, backends, diags: Diagnostics) -> None:
    _lint_no_effect(node, op, attrs, prefix, diags)
    what = f"`{op}` layer `{node.name}`"
    for backend in backends:
        for lint in backend.lints(op, attrs):
            first, *rest = lint.settings
            setting = ", ".join(f"`{b}: {yaml_text(attrs[b])}`" for b in lint.settings)
            diags.warning(
                lint.code,
                f"{what}: {setting} {lint.message}",
                node.span(*prefix, first),
                help=f"{lint.help}; drop the setting to run on the fused kernel",
                related=[Related(node.span(*prefix, b), f"`{b}` is set here") for b in rest]
                + list(node.origin),
            )


# what W306's help adds to "remove `KEY`"
HELP = {"peepholes": "; `variant: peephole` is the LSTM with peepholes"}


def _lint_no_effect(node, op, attrs, prefix: tuple, diags: Diagnostics) -> None:
    """Settings written in the spec that the layer's other settings make meaningless."""
    written = node.written(*prefix)
    variant = VARIANTS[attrs.get("variant", "standard")]
    reasons = {}
    if "merge_mode" in written and not attrs["bidirectional"]:
        reasons["merge_mode"] = "the layer is not bidirectional"
    if "recurrent_dropout_mode" in written and not attrs["recurrent_dropout"]:
        reasons["recurrent_dropout_mode"] = "`recurrent_dropout` is 0"
    for key in ("forget_bias", "unit_forget_bias"):
        if key in written and variant.has_bias and not variant.own_forget_gate:
            reasons[key] = f"the `{variant.name}` variant has no forget gate of its own"
    for key in ("use_bias", "forget_bias", "unit_forget_bias"):
        if key in written and not variant.has_bias:
            reasons[key] = f"the `{variant.name}` variant has no biases (its norms shift instead)"
    if "peepholes" in written and not variant.peepholes:
        reasons["peepholes"] = f"the `{variant.name}` variant has no peepholes"
    for key, reason in reasons.items():
        diags.warning(
            "W306",
            f"`{key}` has no effect on `{op}` layer `{node.name}`: {reason}",
            node.span(*prefix, key),
            help=f"remove `{key}`" + HELP.get(key, ""),
            related=node.origin,
        )
