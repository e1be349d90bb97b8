"""Lints (warnings) on recurrent layers: settings without effect (W306), and each backend's own.

A setting that the layer's other settings make meaningless is a fact of the
format (W306, here). Which settings slow a layer down is a fact of each
framework: every installed backend names them through its `lints(op, attrs)`
(Keras: W501, off cuDNN; PyTorch: W502, a per-step loop), and this pass
locates and reports them.
"""

from __future__ import annotations

from .backend import backends_with
from .diagnostics import Diagnostics, Related, yaml_text
from .optable import is_recurrent
from .variants import VARIANTS


def run_lints(model, diags: Diagnostics) -> None:
    """Settings without effect and backend lints, on every layer that reaches an output."""
    backends = backends_with("lints")
    for node in model.order:
        if node.name not in model.live:
            continue
        if is_recurrent(node.op):
            _lint_recurrent(node, node.op, node.attrs, (), backends, diags)
        elif node.op == "time_distributed" and is_recurrent(node.attrs["layer"]["op"]):
            inner = node.attrs["layer"]
            _lint_recurrent(node, inner["op"], inner, ("layer",), backends, diags)


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
    for key, reason in reasons.items():
        diags.warning(
            "W306",
            f"`{key}` has no effect on `{op}` layer `{node.name}`: {reason}",
            node.span(*prefix, key),
            help=f"remove `{key}`",
            related=node.origin,
        )
