"""The graph IR: one plain record per input or layer, and the spec they form.

networkx holds the topology (`specc.graph`); a `Node` rides on each graph node.
Passes write into `Node.meta` (`shape`, `params`), never into the other fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import Related, Span
from .loader import YamlMap, node_at

# A layer that failed its own checks keeps its name (so references to it stay
# valid) but gets this op: later passes skip it and everything that reads it,
# so one mistake is reported once, not once per layer downstream.
INVALID = "invalid"
# The source of a layer whose source could not be resolved.
POISON = "<invalid>"


@dataclass(eq=False, slots=True)
class Node:
    name: str
    op: str  # "input" for model inputs
    attrs: dict
    inputs: tuple[str, ...]
    source: YamlMap  # the YAML mapping the node came from, for spans
    input_spans: tuple[Span, ...] = ()  # where each input is named (or implied)
    origin: tuple[Related, ...] = ()  # the block instances it was expanded from
    meta: dict = field(default_factory=dict)

    def span(self, *path) -> Span:
        """The span of an attribute (or list item) of the node, or of the node itself."""
        if not path:
            name = self.source.get("name")
            return name.span if name is not None else self.source.span
        node, _ = node_at(self.source, path)
        return node.span

    def __str__(self) -> str:
        shape = self.meta.get("shape")
        args = ", ".join(self.inputs)
        return f"{self.name} = {self.op}({args}) -> {shape}"


@dataclass
class Spec:
    """A spec after blocks and repeats are expanded: flat lists of nodes."""

    file: str
    name: str
    description: str
    dims: dict[str, int | None]
    batch_size: int | None
    inputs: list[Node]
    layers: list[Node]
    aliases: dict[str, str]  # an instance or repeated layer's name -> its last node
    outputs: list[tuple[str, Span]]
    text: str = ""  # the spec's source, for the hash in emitted headers
