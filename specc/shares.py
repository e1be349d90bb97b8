"""Shared layers: `shares: OTHER` calls layer OTHER's weights on the layer's own inputs.

A sharing layer writes no op or attributes (`specc.schema.check_shared`
refuses them, E110); the check stage makes it a node with the op `SHARES`
and the layer it names in `meta["shares"]`. The graph builder resolves that
name here (`resolve_shares`, E301/E310) and gives the node its root's op and
attributes, with `meta["shares"]` set to the root: the layer that holds the
weights (a layer that shares a sharing layer shares its root). Shape
inference then runs the op's rule on the layer's own inputs, counts its
weights once (on the root), and checks that its inputs fit the root's
weights (`check_fit`, E420).

A backend holds one set of weights per root: Keras calls one layer object at
every call site, PyTorch calls one module. `held` says which layers own
weights in the emitted model (a root that reaches no output is still built
when a layer sharing it does).
"""

from __future__ import annotations

from collections.abc import Mapping

from .diagnostics import Diagnostics, Related, escape
from .ir import INVALID, Node
from .shapes import show

# The op a sharing layer has until the graph builder resolves it.
SHARES = "shares"


def resolve_shares(
    nodes: dict[str, Node], aliases: Mapping[str, str], diags: Diagnostics
) -> dict[str, Node]:
    """Each sharing layer (op SHARES) made a node with its root's op and attributes.

    Returns {name: new node}; a sharing layer whose target is wrong (reported)
    or failed its own checks (reported there) becomes INVALID.
    """
    sharing = {name: node for name, node in nodes.items() if node.op == SHARES}
    out: dict[str, Node] = {}
    targets: dict[str, str | None] = {}  # sharing layer -> the layer it names, None if wrong
    for name, node in sharing.items():
        targets[name] = _target(node, nodes, aliases, diags)
    for name, node in sharing.items():
        root = _root(name, targets, nodes, diags)
        if root is None or root.op == INVALID:
            out[name] = Node(name, INVALID, {}, node.inputs, dict(node.meta))
            continue
        if root.op == "timestep_attention":
            diags.error(
                "E310",
                f"layer `{escape(name)}` cannot share `timestep_attention` layer `{root.name}`",
                node.span("shares"),
                help="it lowers to several framework layers, not one to call again; write a "
                "second `timestep_attention` layer (its own weights)",
                related=node.origin,
            )
            out[name] = Node(name, INVALID, {}, node.inputs, dict(node.meta))
            continue
        if root.attrs.get("stateful"):
            diags.error(
                "E310",
                f"layer `{escape(name)}` cannot share stateful layer `{root.name}`",
                node.span("shares"),
                related=[Related(root.span("stateful"), f"`{root.name}` is stateful here")],
                help="the two call sites would overwrite one carried state; write a second "
                "stateful layer, or make the shared one not stateful",
            )
            out[name] = Node(name, INVALID, {}, node.inputs, dict(node.meta))
            continue
        meta = {**node.meta, "shares": root.name}
        # the states a layer starts from are an argument of its call, not a weight
        attrs = {k: v for k, v in root.attrs.items() if k != "initial_state"}
        out[name] = Node(name, root.op, attrs, node.inputs, meta)
    return out


def _target(node: Node, nodes, aliases, diags: Diagnostics) -> str | None:
    """The layer a sharing layer names (in its block copy), or None (reported)."""
    ref, scope = node.meta["shares"]
    span = node.span("shares")
    target = scope + ref
    if target in aliases and target not in nodes:
        what = "a block instance" if _is_instance(target, aliases, nodes) else "a repeated layer"
        diags.error(
            "E310",
            f"`shares: {escape(ref)}` names {what}, not one layer",
            span,
            help=f"name the layer whose weights to share, e.g. `{aliases[target]}`",
            related=node.origin,
        )
        return None
    other = nodes.get(target)
    if other is None or (scope and other.origin != node.origin):
        if diags.reported("E301", span):
            return None  # at this block line, for another copy: the hint costs a pass
        where = f" in block `{_block(node)}`" if scope else ""
        hint = diags.suggest(ref, [n[len(scope) :] for n in nodes if n.startswith(scope)])
        diags.error(
            "E301",
            f"unknown layer `{escape(ref)}` in `shares`{where}",
            span,
            help=" ".join(
                ([f"did you mean `{hint}`?"] if hint else [])
                + (["a block's layer shares only a layer of the same block"] if scope else [])
            ),
            related=node.origin,
        )
        return None
    if other.op == "input":
        diags.error(
            "E310",
            f"layer `{escape(node.name)}` shares input `{target}`, which has no weights",
            span,
            help="name a layer; to feed the input, list it under `inputs:`",
            related=node.origin,
        )
        return None
    return target


def _is_instance(name: str, aliases, nodes) -> bool:
    """A repeated layer's alias names `NAME_N`; anything else is a block instance's output."""
    last = aliases[name]
    return not (last.startswith(name + "_") and last[len(name) + 1 :].isdigit())


def _block(node: Node) -> str:
    origin = node.origin
    return getattr(origin[0], "block", "") if origin else ""


def _root(name: str, targets: dict, nodes: dict[str, Node], diags: Diagnostics) -> Node | None:
    """The layer holding the weights: follow `shares` until a layer with an op; None on a
    wrong target or a cycle (reported once, at the cycle's first member in the spec)."""
    chain = [name]
    while True:
        target = targets.get(chain[-1])
        if chain[-1] in targets and target is None:
            return None
        if target not in targets:
            return nodes[target]
        if target in chain:
            cycle = chain[chain.index(target) :]
            if name == min(cycle, key=list(nodes).index):
                path = " -> ".join(f"`{m}`" for m in [*cycle, target])
                diags.error(
                    "E310",
                    f"shared layers form a cycle: {path}",
                    nodes[name].span("shares"),
                    related=[
                        Related(nodes[m].span("shares"), f"`{m}` shares `{targets[m]}`")
                        for m in cycle
                        if m != name
                    ],
                    help="one layer of the cycle must hold the weights: give it `op:` and "
                    "its attributes instead of `shares:`",
                )
            return None
        chain.append(target)


def root_of(node: Node) -> str | None:
    """The layer whose weights `node` uses, or None when it holds its own."""
    return node.meta.get("shares")


def held(model) -> list[Node]:
    """The layers that own weights in the emitted model, in graph order: every live layer
    that shares nothing, and every root of a live sharing layer."""
    roots = {root_of(n) for n in model.order if n.name in model.live} - {None}
    return [
        n
        for n in model.order
        if n.op not in _NO_LAYER
        and root_of(n) is None
        and (n.name in model.live or n.name in roots)
    ]


# What is not a layer: the model's inputs, and recurrent layers' state ports (specc.states).
_NO_LAYER = frozenset({"input", "state"})


# Ops with weights build them on the last axis of each input, but `embedding`, whose
# table fits any ids.
_NO_WEIGHTS = frozenset(
    {
        "repeat_vector",
        "permute",
        "reshape",
        "flatten",
        "global_avg_pool",
        "global_max_pool",
        "last_step",
        "add",
        "subtract",
        "multiply",
        "average",
        "maximum",
        "minimum",
        "concatenate",
        "dropout",
        "activation",
        "attention",  # a scalar scale at most: no input size in it
    }
)


def _fit_axis(node: Node) -> int | None:
    op = node.attrs["layer"]["op"] if node.op == "time_distributed" else node.op
    return None if op in _NO_WEIGHTS or op == "embedding" else -1


def _inputs_of(node: Node, model) -> list[tuple]:
    """The shapes of the inputs weights are built on (a recurrent layer's initial states
    are not: specc.states checks them)."""
    sources = node.inputs[: len(node.inputs) - node.meta.get("initial_states", 0)]
    shapes = [model.node(s).meta["shape"] for s in sources]
    if node.op == "multi_head_attention":  # [query, value] means key = value
        shapes = [*shapes, shapes[-1]][:3]
    return shapes


def check_fit(model, diags: Diagnostics) -> None:
    """Each shaped sharing layer's inputs fit its root's weights (E420): the same rank, and
    the same feature (last) size, the axis weights are built on; `embedding`'s table and
    ops without weights fit any input their rule takes."""
    for node in model.order:
        root_name = root_of(node)
        if root_name is None or node.meta.get("shape") is None:
            continue
        root = model.node(root_name)
        axis = _fit_axis(root)
        if axis is None or root.meta.get("shape") is None:
            continue
        mine, theirs = _inputs_of(node, model), _inputs_of(root, model)
        for index, (got, want) in enumerate(zip(mine, theirs, strict=True)):
            if len(got) == len(want) and got[axis] == want[axis]:
                continue
            at = min(index, len(node.input_spans) - 1)
            diags.error(
                "E420",
                f"layer `{node.name}` shares `{root.name}`, whose weights were made for "
                f"input {show(want)}",
                node.input_spans[at] if node.input_spans else node.span(),
                label=f"{show(got)} here",
                related=[
                    Related(root.span(), f"`{root.name}` reads {show(want)}"),
                    *node.origin,
                ],
                help="a shared layer's input needs the same rank and feature size as its "
                f"root's ({want[axis]}); project it with a `dense` first, or give the "
                "layer its own weights",
            )
            break
