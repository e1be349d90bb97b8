"""The graph IR: one plain record per input or layer, and the spec they form.

networkx holds the topology (`specc.graph`); a `Node` rides on each graph node.
A node's location is data in its `meta`, so a pass can make a node with one:

    meta["span"]         the node's own span (where its name is written)
    meta["yaml"]         the YAML mapping it was written as, for attribute spans
                         (absent on a node a pass made)
    meta["input_spans"]  where each of its inputs is named (or implied)
    meta["origin"]       the block instances it was expanded from (for a renamed
                         block copy, an object whose `related()` makes them:
                         read them through `Node.origin`)

Passes write into `meta` (`shape`, `params`, `dtype`) and never change a
node's other fields. The one stage that makes nodes from another stage's, the
graph builder, makes a new node where it changes `op` or `inputs` (resolving
a repeated layer's name to its last copy, or marking a layer whose source
failed as INVALID), and leaves the expansion's node as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .diagnostics import Related, Span
from .loader import YamlMap, node_at

# A layer that failed its own checks keeps its name (so references to it stay
# valid) but gets this op: later passes skip it and everything that reads it,
# so one mistake is reported once, not once per layer downstream.
INVALID = "invalid"
# The source of a layer whose source could not be resolved.
POISON = "<invalid>"


def located(
    span: Span,
    yaml: YamlMap | None = None,
    input_spans: tuple[Span, ...] = (),
    origin: tuple[Related, ...] = (),
) -> dict:
    """A node's first `meta`: where it is written (see the module's docstring)."""
    return {"span": span, "yaml": yaml, "input_spans": input_spans, "origin": origin}


@dataclass(eq=False, slots=True)
class Node:
    name: str
    op: str  # "input" for model inputs
    attrs: dict
    inputs: tuple[str, ...]
    meta: dict = field(default_factory=dict)  # must hold "span"; see `located`

    @property
    def input_spans(self) -> tuple[Span, ...]:
        """Where each input is named (or implied), in the order of `inputs`."""
        return self.meta.get("input_spans", ())

    @property
    def origin(self) -> tuple[Related, ...]:
        """The block instances the node was expanded from, innermost first."""
        origin = self.meta.get("origin", ())
        # A renamed block copy's origin is made when asked for (specc.expand).
        return origin if isinstance(origin, tuple) else origin.related()

    def span(self, *path: str | int) -> Span:
        """The span of an attribute (or list item) of the node, or of the node itself.

        A path that is not written stops at its last written step; a node a
        pass made has only its own span.
        """
        yaml = self.meta.get("yaml")
        if not path or yaml is None:
            return self.meta["span"]
        node, _ = node_at(yaml, path)
        return node.span

    def written(self, *path: str) -> set[str]:
        """The keys written in the spec at `path` (the layer's own keys without one)."""
        node = self.meta.get("yaml")
        for step in path:
            node = node.get(step) if isinstance(node, YamlMap) else None
        return set(node.entries) if isinstance(node, YamlMap) else set()

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
    layers: list[Node]  # inputs as written: the graph builder resolves `aliases`
    aliases: Mapping[str, str]  # an instance or repeated layer's name -> its last node
    outputs: list[tuple[str, Span]]
    text: str = ""  # the spec's source, for the hash in emitted headers
