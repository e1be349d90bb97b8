"""Recurrent states as values: `return_state` ports out, `initial_state` in.

A recurrent layer with `return_state: true` has ports, named `LAYER.PORT`:
`h` (and `c` for `lstm`), each (batch, units); a bidirectional layer's `h`
and `c` are both directions concatenated, forward first, (batch, 2*units),
and `h_forward`, `h_backward` (`c_forward`, `c_backward`) are the single
directions. A reference to a port is a reference like any other (`inputs:`,
`outputs:`, a block's `outputs:`); the graph builder makes one node with the
op STATE for each port that is read (`resolve_states`), so the passes and
emitters see a value with its own name, shape and edge from its layer.

`initial_state:` adds the states a layer starts from to its inputs, after
its sequence: the expansion resolves them like `inputs:` (so blocks and
copies rename them), and `resolve_states` turns the one-name form
(`initial_state: enc`: that layer's final states) into the ports it means.
`meta["initial_states"]` counts them; the recurrent shape rule checks them
against the layer (`check_initial_states`, E421).
"""

from __future__ import annotations

from collections.abc import Mapping

from .diagnostics import Diagnostics, Related, Span, escape
from .ir import INVALID, Node, located
from .names import split_port
from .optable import is_recurrent
from .shapes import RuleContext, Shape, show

# The op of a port node: its one input is the layer whose state it is.
STATE = "state"


def state_parts(op: str) -> tuple[str, ...]:
    """What a step hands the next: h, and c in an LSTM."""
    return ("h", "c") if op == "lstm" else ("h",)


def ports_of(node: Node) -> tuple[str, ...]:
    """The ports a layer has (none without `return_state`)."""
    if not is_recurrent(node.op) or not node.attrs.get("return_state"):
        return ()
    parts = state_parts(node.op)
    if not node.attrs["bidirectional"]:
        return parts
    return (*parts, *(f"{p}_{d}" for p in parts for d in ("forward", "backward")))


def port_shape(layer: Node, port: str) -> Shape:
    """(batch, units), or (batch, 2*units) for both directions of a bidirectional layer."""
    units = layer.attrs["units"]
    both = layer.attrs["bidirectional"] and "_" not in port
    return (layer.meta["shape"][0], 2 * units if both else units)


def initial_states(node: Node) -> int:
    """How many of a layer's inputs (the last ones) are its initial states."""
    return node.meta.get("initial_states", 0)


def state_order(op: str, bidirectional: bool) -> list[str]:
    """The ports a layer's whole initial state is made of, in the order both frameworks
    take them: the forward direction's parts, then the backward's."""
    parts = state_parts(op)
    if not bidirectional:
        return list(parts)
    return [f"{p}_{d}" for d in ("forward", "backward") for p in parts]


def resolve_reference(ref: str, aliases: Mapping[str, str], resolve) -> str:
    """A reference with its layer name followed through the aliases, the port kept (an
    instance whose output is a port resolves to that port of the layer it names)."""
    name, port = split_port(ref)
    target = resolve(name, aliases)
    layer, inner = split_port(target)
    if inner:
        target = resolve(layer, aliases) + inner
    return target + port


def resolve_states(
    nodes: dict[str, Node], outputs: list[tuple[str, Span]], diags: Diagnostics
) -> dict[str, Node]:
    """Port nodes for the ports that are read, and layers with their initial states resolved.

    Returns {name: node} to add or replace. A reference to a port that does not
    exist (E311) or an initial state that cannot be (E312) makes the layer
    that has it INVALID; such an output is left out (reported).
    """
    out: dict[str, Node] = {}
    for ref, span in outputs:
        if "." in ref:
            _port(ref, nodes, out, span, diags)
    for node in nodes.values():
        if _stateful_bidirectional(node):
            diags.error(
                "E311",
                f"stateful bidirectional layer `{escape(node.name)}` cannot return its states",
                node.span("return_state"),
                related=[Related(node.span("stateful"), "stateful here"), *node.origin],
                help="Keras 3's `Bidirectional` fails to build a stateful layer with "
                "`return_state`; drop one of `stateful`, `bidirectional`, `return_state`",
            )
    for node in list(nodes.values()):
        if node.op in (INVALID, "input", STATE):
            continue
        inputs, spans, ok = list(node.inputs), list(node.input_spans), True
        count = 0
        if "initial_state" in node.attrs and is_recurrent(node.op):
            given = node.attrs["initial_state"]
            count = 1 if isinstance(given, str) else len(given)
            if node.attrs.get("stateful"):
                diags.error(
                    "E312",
                    f"layer `{escape(node.name)}` is stateful, so it cannot take `initial_state`",
                    node.span("initial_state"),
                    related=[Related(node.span("stateful"), "stateful here"), *node.origin],
                    help="a stateful layer starts from the state it carried; remove one of the two",
                )
                ok = False
            elif node.attrs.get("variant") == "fgr":
                diags.error(
                    "E312",
                    f"layer `{escape(node.name)}` is the `fgr` variant, so it cannot take "
                    "`initial_state`",
                    node.span("initial_state"),
                    related=[Related(node.span("variant"), "`fgr` here"), *node.origin],
                    help="its cells also carry the last step's gates, which Keras's layer "
                    "cannot start from given values; use another variant",
                )
                ok = False
            elif isinstance(given, str):
                ports = _whole_state(node, nodes, inputs[-1], spans[-1], diags)
                if ports is None:
                    ok = False
                else:
                    inputs[-1:] = ports
                    spans[-1:] = [spans[-1]] * len(ports)
                    count = len(ports)
        for index, ref in enumerate(inputs):
            if ok and "." in ref:
                ok = _port(ref, nodes, out, spans[index], diags)
        if not ok:
            out[node.name] = Node(node.name, INVALID, {}, node.inputs, dict(node.meta))
        elif inputs != list(node.inputs) or count:
            meta = {**node.meta, "input_spans": tuple(spans), "initial_states": count}
            out[node.name] = Node(node.name, node.op, node.attrs, tuple(inputs), meta)
    return out


def _stateful_bidirectional(node: Node) -> bool:
    """A layer Keras cannot build: stateful, bidirectional and returning its states."""
    attrs = node.attrs
    if not is_recurrent(node.op) or node.meta.get("shares"):
        return False
    return bool(attrs.get("return_state") and attrs["stateful"] and attrs["bidirectional"])


def _port(ref: str, nodes: dict[str, Node], out: dict, span: Span, diags: Diagnostics) -> bool:
    """Make the port node `ref` (once); False when the port does not exist (reported)."""
    if ref in out or ref in nodes:
        return True
    name, port = split_port(ref)
    layer = nodes.get(name)
    if layer is None or layer.op == INVALID:
        return False  # reported where the layer failed
    port = port[1:]
    ports = ports_of(layer)
    if port not in ports:
        diags.error("E311", *_no_port(layer, port, name), span, **_no_port_help(layer, port))
        return False
    meta = located(layer.span(), layer.meta.get("yaml"), (layer.span(),), layer.origin)
    out[ref] = Node(ref, STATE, {"port": port}, (name,), meta)
    return True


def _no_port(layer: Node, port: str, name: str) -> tuple[str]:
    what = f"`{layer.op}` layer" if layer.op != "input" else "input"
    return (f"{what} `{escape(name)}` has no state `{escape(port)}`",)


def _no_port_help(layer: Node, port: str) -> dict:
    """The help line: turn `return_state` on, or name the ports the layer has."""
    related = [Related(layer.span(), f"`{layer.name}` is defined here"), *layer.origin]
    if not is_recurrent(layer.op):
        return {"help": "only `lstm`, `gru` and `rnn` layers have states", "related": related}
    if not layer.attrs.get("return_state"):
        fix = f"set `return_state: true` on `{layer.name}` to read its final states"
        return {"help": fix, "related": related}
    have = ", ".join(f"`{layer.name}.{p}`" for p in ports_of(layer))
    return {"help": f"its states are {have}", "related": related}


def _whole_state(node: Node, nodes, source: str, span, diags) -> list[str] | None:
    """The ports `initial_state: NAME` means, or None (reported, E312)."""
    layer = None if "." in source else nodes[source]
    if layer is not None and layer.op == INVALID:
        return None  # reported where it failed
    where = node.span("initial_state")
    if layer is None or not is_recurrent(layer.op):
        diags.error(
            "E312",
            f"`initial_state: {escape(source)}` needs a recurrent layer with `return_state: "
            f"true`, but `{escape(source)}` is not one",
            where,
            help=f"write `initial_state: [{escape(source)}]` to start from that value as the "
            "state `h`",
            related=node.origin,
        )
        return None
    related = [Related(layer.span(), f"`{layer.name}` is defined here"), *node.origin]
    if not layer.attrs.get("return_state"):
        diags.error(
            "E312",
            f"`initial_state: {escape(source)}` reads the final states of `{source}`, which "
            "does not return them",
            where,
            help=f"set `return_state: true` on `{source}`",
            related=related,
        )
        return None
    if state_parts(layer.op) != state_parts(node.op):
        diags.error(
            "E312",
            f"`{node.op}` layer `{escape(node.name)}` starts from {_listed(node.op)}, but "
            f"`{layer.op}` layer `{source}` gives {_listed(layer.op)}",
            where,
            help="list the states to start from instead: `initial_state: [...]`",
            related=related,
        )
        return None
    if node.attrs["bidirectional"] and not layer.attrs["bidirectional"]:
        diags.error(
            "E312",
            f"bidirectional layer `{escape(node.name)}` needs each direction's states, but "
            f"`{source}` has one direction",
            where,
            help=f"make `{source}` bidirectional, or list the states: "
            f"`initial_state: [{', '.join(state_order(node.op, True))}]`",
            related=related,
        )
        return None
    ports = state_order(node.op, node.attrs["bidirectional"])
    return [f"{source}.{p}" for p in ports]


def _listed(op: str) -> str:
    """`h` and `c` (an LSTM's states), or the state `h`."""
    parts = state_parts(op)
    return "the state `h`" if len(parts) == 1 else " and ".join(f"`{p}`" for p in parts)


def check_initial_states(ctx: RuleContext, count: int) -> None:
    """A layer's initial states: as many as its state has parts, each (batch, units) (E421)."""
    node, attrs = ctx.node, ctx.attrs
    order = state_order(node.op, attrs["bidirectional"])
    first = len(ctx.shapes) - count
    if count != len(order):
        ctx.fail(
            "E421",
            f"{ctx.what} starts from {len(order)} state{'s' if len(order) > 1 else ''} "
            f"({', '.join(order)}), `initial_state` gives {count}",
            at=("initial_state",),
            help=f"give them in this order: `initial_state: [{', '.join(order)}]`",
        )
    units = attrs["units"]
    for index in range(first, len(ctx.shapes)):
        shape, part = ctx.shapes[index], order[index - first]
        if len(shape) == 2 and shape[1] == units:
            continue
        ctx.fail(
            "E421",
            f"{ctx.what}'s state `{part}` is (batch, {units}), but `initial_state` gives "
            f"{show(shape)} {ctx.origin_of(index)}",
            at=("input", index),
            label=f"{show(shape)} here",
            help=f"each initial state needs the layer's `units` ({units}) as its width; "
            "project it with a `dense` first",
        )
