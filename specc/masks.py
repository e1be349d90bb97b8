"""Sequence masks: which layers carry a (batch, time) mask, where it was made, and W308.

A mask is made by an `embedding` with `mask_zero: true` (id 0 is padding) or
by a `masking` layer (a step whose features all equal `mask_value`), and
flows downstream as Keras 3 (3.15) propagates it:

- layers that act on each step on their own pass it on (`dense`,
  `time_distributed`, `dropout`, `activation`, `layer_norm`, `batch_norm`),
  and so does a recurrent layer (or `gated_feedback`) with `return_sequences:
  true`;
- recurrent layers (skip the masked steps), `global_avg_pool`,
  `global_max_pool` and `last_step` (the last unmasked step) honour it and
  end it, as do `gated_feedback` and a recurrent layer's state ports (the
  state at each row's last unmasked step);
- `attention` and `multi_head_attention` honour the value's (and key's) mask
  and pass on the query's;
- elementwise merges combine their inputs' masks (a step is masked where
  every input masks it) and drop the mask when any input carries none;
  `concatenate` treats an unmasked input as all-unmasked (features: a step is
  masked where any masked input masks it; time: the masks are joined);
- every other op drops it: W308, naming where the mask was made.

The pass writes `meta["mask"]` on every shaped node: a `Mask`, or None. A
mask's `owner` is the layer where the emitters make its variable (the masking
layer, or a merge or concatenation that makes a new one from several); its
`sources` are the `embedding`/`masking` layers it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import Diagnostics, Related
from .optable import OPS, is_recurrent
from .states import STATE

# Ops that act on each step on their own: the mask passes through unchanged.
PASSING = {"dense", "time_distributed", "dropout", "activation", "layer_norm", "batch_norm"}
# Ops that honour the mask and end it: their output has no time axis.
ENDING = {"global_avg_pool", "global_max_pool", "last_step"}
ATTENTION = {"attention", "multi_head_attention"}
ELEMENTWISE = {"add", "subtract", "multiply", "average", "maximum", "minimum"}


@dataclass(frozen=True)
class Mask:
    """A (batch, time) mask: the layer whose variable holds it, and the layers that made it."""

    owner: str
    sources: tuple[str, ...]


def makes_mask(node) -> bool:
    """Whether the layer makes a mask of its own (`mask_zero` or `masking`)."""
    return node.op == "masking" or (node.op == "embedding" and node.attrs.get("mask_zero", False))


def propagate_masks(model, diags: Diagnostics) -> None:
    """Write `meta["mask"]` on every shaped node; W308 where a live layer drops one."""
    for node in model.order:
        if not node.meta.get("shape") or node.op == "input":
            node.meta["mask"] = None
            continue
        inputs = [model.node(name).meta.get("mask") for name in node.inputs]
        mask, dropped = _mask_of(node, inputs)
        node.meta["mask"] = mask
        if dropped is not None and node.name in model.live:
            _warn_dropped(model, node, dropped, inputs, diags)


def _mask_of(node, inputs: list) -> tuple[Mask | None, str | None]:
    """(the layer's output mask, why it drops its input's mask or None)."""
    if makes_mask(node):
        return Mask(node.name, (node.name,)), None
    masked = [m for m in inputs if m is not None]
    if not masked:
        return None, None
    op = node.op
    if op in PASSING:
        return inputs[0], None
    if is_recurrent(op) or op == "gated_feedback":
        return (inputs[0] if node.attrs["return_sequences"] else None), None
    if op == STATE:  # a final state: at each row's last unmasked step, no time axis
        return None, None
    if op in ENDING:
        return None, None
    if op in ATTENTION:
        return inputs[0], None  # the query's mask; the value's is honoured inside
    if op in ELEMENTWISE:
        if len(masked) < len(inputs):
            return None, "merge"
        return _combined(node, masked), None
    if op == "concatenate":
        rank = len(node.meta["shape"])
        axis = node.attrs.get("axis", -1) % rank
        if rank == 3 and axis == 1:  # joined along time: a new mask, unmasked inputs all True
            return Mask(node.name, _sources(masked)), None
        return _combined(node, masked), None
    return None, "op"


def _combined(node, masked: list[Mask]) -> Mask:
    """One mask from several: the same one, or a new one the layer makes."""
    owners = {m.owner for m in masked}
    if len(owners) == 1:
        return masked[0]
    return Mask(node.name, _sources(masked))


def _sources(masks: list[Mask]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for m in masks for s in m.sources))


def combined_here(node) -> bool:
    """Whether the layer makes a new mask from its inputs' (a merge or concatenation)."""
    mask = node.meta.get("mask")
    return mask is not None and mask.owner == node.name and not makes_mask(node)


def _warn_dropped(model, node, why: str, inputs: list, diags: Diagnostics) -> None:
    masked = [m for m in inputs if m is not None]
    sources = _sources(masked)
    names = ", ".join(f"`{s}`" for s in sources)
    what = f"`{node.op}` layer `{node.name}`"
    if why == "merge":
        bare = [n for n, m in zip(node.inputs, inputs, strict=True) if m is None]
        others = ", ".join(f"`{n}`" for n in bare)
        message = f"{what} drops the mask made by {names}: its input {others} carries none"
        help = (
            "Keras keeps a merge's mask only when every input has one: mask the other input "
            "too, or pool each sequence first (`global_avg_pool`, or a recurrent layer with "
            "`return_sequences: false`)"
        )
    else:
        message = f"{what} drops the mask made by {names}: it reads the padded steps as data"
        help = (
            "take what the sequence says before this layer with a layer that honours the mask "
            "(a recurrent layer, `global_avg_pool`, `global_max_pool`, `last_step`), or move "
            "the masking after it"
        )
    related = [_made_here(model.node(s)) for s in sources]
    diags.warning("W308", message, node.span(), help=help, related=[*related, *node.origin])


def _made_here(source) -> Related:
    if source.op == "embedding":
        return Related(source.span("mask_zero"), f"`{source.name}` masks id 0 here")
    value = source.attrs["mask_value"]
    return Related(source.span(), f"`{source.name}` masks the steps equal to {value!r}")


def mask_sources(node) -> tuple[str, ...]:
    """The `embedding`/`masking` layers whose mask the node's output carries (none: ())."""
    mask = node.meta.get("mask")
    return () if mask is None else mask.sources


assert set(OPS) >= PASSING | ENDING | ATTENTION | ELEMENTWISE
