"""Builds the layer graph (a networkx DiGraph of IR nodes) and checks its structure.

Checks: unique names, references that exist, dimension names that exist, no
cycles, outputs that exist, and layers whose result reaches no output (a
warning; the backends leave them out, as Keras's functional API does). Every
check is linear in the graph's size: cycles are found with one topological
sort, never by enumerating cycles or paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .diagnostics import Diagnostics, Related, Span, escape
from .ir import INVALID, POISON, Node, Spec
from .shares import resolve_shares
from .states import STATE, ports_of, resolve_reference, resolve_states

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class ModelGraph:
    """The checked layer graph: nodes in a stable topological order, and the outputs."""

    spec: Spec
    graph: nx.DiGraph
    order: list[Node]  # topological, ties broken by position in the spec
    outputs: list[str]
    live: set[str] = field(default_factory=set)  # nodes that reach an output

    @property
    def name(self) -> str:
        return self.spec.name

    def node(self, name: str) -> Node:
        return self.graph.nodes[name]["node"]

    def __str__(self) -> str:
        return "\n".join(str(n) for n in self.order)


def resolve(name: str, aliases: Mapping[str, str]) -> str:
    """Follow instance and repeat aliases to the node a name stands for."""
    seen = 0
    while name in aliases and seen <= len(aliases):
        name = aliases[name]
        seen += 1
    return name


def build_graph(spec: Spec, diags: Diagnostics) -> ModelGraph | None:
    """The layer graph of a spec; None when its structure is too broken to shape."""
    # Imported here, not at the top: `specc --help` and `specc schema` never need
    # networkx, and it takes longer to import than the rest of the CLI.
    import networkx as nx

    graph = nx.DiGraph()
    nodes: dict[str, Node] = {}
    position: dict[str, int] = {}
    for node in [*spec.inputs, *spec.layers]:
        if node.name in nodes:
            first = nodes[node.name]
            diags.error(
                "E302",
                f"name `{escape(node.name)}` is used twice",
                node.span(),
                label="used again here" + _naming(node),
                related=[Related(first.span(), "first used here" + _naming(first)), *node.origin],
                help="names must be unique across inputs and layers, after expansion: a "
                "block's layers get the instance's name as a prefix (`b1_main`), and "
                "`repeat: N` names its copies `name_1` ... `name_N`",
            )
            continue
        nodes[node.name] = node
        position[node.name] = len(position)
        graph.add_node(node.name, node=node)
    suggestion_groups = (nodes, spec.aliases)  # what a misspelt reference may have meant
    for layer in spec.layers:
        if nodes.get(layer.name) is not layer:
            continue
        node = _resolved(layer, spec.aliases, nodes, suggestion_groups, diags)
        if node is not layer:
            nodes[node.name] = node
            graph.nodes[node.name]["node"] = node
    for name, node in resolve_shares(nodes, spec.aliases, diags).items():
        nodes[name] = node
        graph.nodes[name]["node"] = node
    outputs = _outputs(spec, nodes, suggestion_groups, diags)
    for name, node in resolve_states(nodes, outputs, diags).items():
        if name not in nodes:  # a port: after its layer, in the layer's order of ports
            layer = nodes[node.inputs[0]]
            rank = ports_of(layer).index(node.attrs["port"])
            position[name] = position[layer.name] + (1 + rank) / 16
            graph.add_node(name)
        nodes[name] = node
        graph.nodes[name]["node"] = node
    for name in position:
        node = nodes[name]
        for index, source in enumerate(node.inputs):
            if node.op != INVALID or source in nodes:
                graph.add_edge(source, name, index=index)
    outputs = [ref for ref, _ in outputs if ref in nodes]
    _check_dims(spec, diags)
    order = _order(graph, position, diags)
    if order is None:
        return None
    model = ModelGraph(spec, graph, [graph.nodes[n]["node"] for n in order], outputs)
    _check_reachable(model, diags, warn=not diags.has_errors)
    return model


def _outputs(spec: Spec, nodes, names, diags: Diagnostics) -> list[str]:
    """The resolved `outputs:` with their spans, each once; unknown ones reported (a port
    is checked by `resolve_states`)."""
    outputs: dict[str, Span] = {}
    for ref, span in spec.outputs:
        target = resolve_reference(ref, spec.aliases, resolve)
        if target.startswith(POISON):
            continue
        if target.partition(".")[0] not in nodes:
            _unknown(ref, span, names, (), diags, "output")
            continue
        outputs.setdefault(target, span)
    return list(outputs.items())


def _resolved(layer: Node, aliases: Mapping[str, str], nodes, names, diags: Diagnostics) -> Node:
    """The layer with its inputs resolved through the aliases; a new node if that changes it.

    A source that failed (POISON) or does not exist (reported) makes the layer
    INVALID, so nothing downstream of the mistake reports again.
    """
    resolved = []
    op = layer.op
    for ref, span in zip(layer.inputs, layer.input_spans, strict=True):
        target = resolve_reference(ref, aliases, resolve)
        if target.startswith(POISON):
            op = INVALID
            continue
        if target.partition(".")[0] not in nodes:
            _unknown(ref, span, names, layer.origin, diags, "layer or input")
            op = INVALID
            continue
        resolved.append(target)
    inputs = tuple(resolved)
    if op == layer.op and inputs == layer.inputs:
        return layer
    return Node(layer.name, op, layer.attrs, inputs, dict(layer.meta))


def _naming(node: Node) -> str:
    """Where a generated name comes from, when the spec does not write it as such."""
    yaml = node.meta.get("yaml")
    written = yaml.get("name") if yaml is not None else None
    written = written.value if written is not None else node.name
    if written == node.name:
        return ""
    return f" (as `{node.name}`, made from `{written}`)"


def _unknown(ref, span: Span, names, origin, diags: Diagnostics, what: str) -> None:
    hint = diags.suggest(str(ref), *names)
    diags.error(
        "E301",
        f"unknown {what} `{escape(ref)}`",
        span,
        help=f"did you mean `{hint}`?" if hint else "name an input or a layer of the spec",
        related=origin,
    )


def _check_dims(spec: Spec, diags: Diagnostics) -> None:
    """Dimension names in input shapes must be declared under `dims:`."""
    for node in spec.inputs:
        for index, dim in enumerate(node.attrs["shape"]):
            if isinstance(dim, str) and dim not in spec.dims:
                hint = diags.suggest(dim, spec.dims)
                diags.error(
                    "E304",
                    f"unknown dimension `{escape(dim)}` in the shape of `{node.name}`",
                    node.span("shape", index),
                    help=f"did you mean `{hint}`?"
                    if hint
                    else f"declare it: `dims: {{{escape(dim)}: null}}` (null for a variable size)",
                )


def _order(graph: nx.DiGraph, position: dict[str, int], diags: Diagnostics) -> list[str] | None:
    """Topological order, ties broken by position in the spec; None (reported) on a cycle."""
    import networkx as nx  # loaded already by `build_graph`

    if all(position[a] < position[b] for a, b in graph.edges):
        # every layer reads earlier ones: the spec's order is the order (ports next to
        # their layers)
        return sorted(position, key=position.__getitem__)
    try:
        return list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))
    except nx.NetworkXUnfeasible:
        # One cycle of each strongly connected knot, so that separate cycles are all reported.
        knots = [c for c in nx.strongly_connected_components(graph) if _is_cycle(graph, c)]
        for knot in sorted(knots, key=lambda c: min(position[m] for m in c)):
            _report_cycle(graph, nx.find_cycle(graph.subgraph(knot)), position, diags)
        return None


def _is_cycle(graph: nx.DiGraph, component: set) -> bool:
    """Whether a strongly connected component holds a cycle: two nodes, or one reading itself."""
    node = next(iter(component))
    return len(component) > 1 or graph.has_edge(node, node)


def _report_cycle(graph: nx.DiGraph, cycle: list, position: dict[str, int], diags) -> None:
    members = [edge[0] for edge in cycle]
    first = min(members, key=position.__getitem__)
    start = members.index(first)
    members = members[start:] + members[:start]
    node = graph.nodes[first]["node"]
    path = " -> ".join(f"`{m}`" for m in [*members, first])
    related = [
        Related(graph.nodes[m]["node"].span(), f"`{m}` is part of the cycle") for m in members[1:]
    ]
    diags.error(
        "E303",
        f"layers form a cycle: {path}",
        node.span(),
        related=related,
        help="a layer cannot read its own result; break the cycle",
    )


def _check_reachable(model: ModelGraph, diags: Diagnostics, warn: bool) -> None:
    """Find the nodes whose result an output uses (one reverse BFS); warn about the rest.

    No warnings once the spec has errors: a broken reference cuts the graph,
    and the layers above the cut would be reported as unused for nothing.
    """
    live = set(model.outputs)
    stack = list(model.outputs)
    graph = model.graph
    while stack:
        for source in graph.predecessors(stack.pop()):
            if source not in live:
                live.add(source)
                stack.append(source)
    # Inputs stay in the model even when unused, so that its call signature
    # is the spec's list of inputs whatever the layers do with them.
    model.live = live | {node.name for node in model.spec.inputs}
    if not warn:
        return
    for node in model.order:
        if node.name in live or node.op in (INVALID, STATE):
            continue  # a port is made only where it is read: its reader is reported
        if node.op == "input":
            what, fate = "input", "the emitted model still takes it, and ignores it"
        else:
            what, fate = "layer", "the emitted model leaves it out"
        diags.warning(
            "W305",
            f"{what} `{node.name}`{_naming(node)} reaches no output",
            node.span(),
            help=f"use it, list it under `outputs:`, or remove it; {fate}",
            related=node.origin,
        )
