"""The layer check stage: every expanded layer's attributes against its op's schema.

Reads the expansion's records as they are made (`specc.expand`): checks each
`Definition` once (a block repeated 10,000 times is checked once, its errors
reported once), the layer inside `time_distributed` included, and makes one
IR node per `Layer`; a layer that failed gets the op INVALID.
"""

from __future__ import annotations

from collections.abc import Iterable

from .diagnostics import Diagnostics, Related, did_you_mean, escape
from .expand import Definition, Layer, Record
from .ir import INVALID, Node, located
from .loader import YamlMap, YamlScalar
from .schema import check_layer, check_shared, spec_schema
from .shares import SHARES


def check_layers(records: Iterable[Record], diags: Diagnostics) -> list[Node]:
    """The IR nodes of the expanded layers, each definition checked as it comes."""
    checked: dict[Definition, dict | None] = {}  # a definition -> its attributes
    nodes = []
    for record in records:
        if isinstance(record, Definition):
            if record not in checked:
                checked[record] = _check(record, diags)
            continue
        nodes.append(_node(record, checked))
    return nodes


def _node(layer: Layer, checked: dict[Definition, dict | None]) -> Node:
    definition = layer.definition
    attrs = checked[definition] if definition is not None else None
    meta = located(layer.span, layer.item, layer.input_spans, layer.origin)
    if attrs is None:
        return Node(layer.name, INVALID, {}, layer.inputs, meta)
    if attrs is _SHARED:  # resolved by the graph builder (`specc.shares`)
        meta["shares"] = (definition.item.get("shares").value, _prefix(layer, definition))
        return Node(layer.name, SHARES, {}, layer.inputs, meta)
    return Node(layer.name, definition.op_node.value, attrs, layer.inputs, meta)


def _check(definition: Definition, diags: Diagnostics) -> dict | None:
    """A definition's attributes with defaults; None when it has a problem (reported)."""
    item, op_node, origin = definition.item, definition.op_node, definition.origin
    if not definition.checkable:
        return None  # a `$param` that is not a parameter: reported
    if item.get("shares") is not None:
        return _SHARED if check_shared(item, diags, _related(definition)) else None
    if op_node is None:
        if not item.dropped:  # else a refused key (reported) may have been its `op`
            diags.error(
                "E102",
                f"layer `{escape(definition.local)}` needs `op` (or `block`)",
                definition.span,
                help="add `op: ...`",
                related=origin,
            )
        return None
    op = op_node.value if isinstance(op_node, YamlScalar) else None
    if op not in spec_schema().ops:
        _unknown_op(op_node, origin, diags)
        return None
    attrs = check_layer(item, op, diags, _related(definition))
    if attrs is not None and op == "time_distributed":
        attrs = _wrapped(item, attrs, origin, diags)
    return attrs


# The attributes of a sharing layer: its op and attributes are its root's.
_SHARED: dict = {}


def _prefix(layer: Layer, definition: Definition) -> str:
    """The block copy's prefix of an expanded layer (`b1_` of `b1_enc` or `b1_enc_2`)."""
    if definition.block is None:
        return ""
    base = layer.name
    repeat = definition.item.get("repeat")
    if isinstance(repeat, YamlScalar) and type(repeat.value) is int and repeat.value > 1:
        base = base.rsplit("_", 1)[0]  # copy k of a repeated layer: `LOCAL_k`
    return base[: len(base) - len(definition.local)]


def _related(definition: Definition) -> tuple[Related, ...]:
    """Related locations for a layer's diagnostics: inside a block, the layer's line too.

    A substituted value's problem is reported where the value was written
    (the instance); this adds the block line that uses it. When the problem
    is on that block line already, the renderer shows it once.
    """
    if definition.block is None:
        return definition.origin
    here = Related(definition.span, f"layer `{definition.local}` of block `{definition.block}`")
    return (here, *definition.origin)


def _unknown_op(op_node, origin: tuple[Related, ...], diags: Diagnostics) -> None:
    op = op_node.value if isinstance(op_node, YamlScalar) else None
    if isinstance(op, str):
        hint = did_you_mean(op, spec_schema().ops)
        diags.error(
            "E105",
            f"unknown op `{escape(op)}`",
            op_node.span,
            help=f"did you mean `{hint}`?" if hint else "see docs/ops.md for the ops",
            related=origin,
        )
    else:
        diags.error("E103", "`op` must be a string", op_node.span, related=origin)


def _wrapped(
    item: YamlMap, attrs: dict, origin: tuple[Related, ...], diags: Diagnostics
) -> dict | None:
    """Check the layer inside `time_distributed`; its checked attributes replace the raw."""
    inner = item.get("layer")
    op_node = inner.get("op")
    if op_node is None:
        diags.error(
            "E102",
            "the wrapped `layer` needs `op`",
            inner.span,
            help="add `op: dense` or another op",
            related=origin,
        )
        return None
    op = op_node.value if isinstance(op_node, YamlScalar) else None
    if op not in spec_schema().ops:
        _unknown_op(op_node, origin, diags)
        return None
    inner_attrs = check_layer(inner, op, diags, origin, inner=True)
    if inner_attrs is None:
        return None
    for key in ("return_state", "initial_state"):  # states are values of the graph
        if inner_attrs.get(key, False) is not False:
            diags.error(
                "E104",
                f"`{key}` is not allowed on the layer inside `time_distributed`",
                inner.get(key).span,
                help="a wrapped layer runs once per time step and gives one result; use "
                "the recurrent layer on its own to read or set its states",
                related=origin,
            )
            return None
    return {**attrs, "layer": {"op": op, **inner_attrs}}
