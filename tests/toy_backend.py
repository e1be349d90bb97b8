"""A third-party backend for the tests: registered the way any package would be."""

from __future__ import annotations

from specc.backend import EmitError, Lint, not_expressible
from specc.codegen import CodeWriter, header
from specc.counts import shared


class ToyBackend:
    """Emits a model that is a list of (layer, op, shape) tuples; refuses `conv1d`."""

    name = "toy"
    codes = {"W901": "layer is slow on the toy"}

    @staticmethod
    def params(ctx, shape) -> int:
        """Its own layout: the shared count, plus one scale per layer that has weights."""
        n = shared(ctx, shape)
        return n + 1 if n else 0

    @staticmethod
    def lints(op: str, attrs: dict) -> list[Lint]:
        if op == "lstm" and attrs["units"] % 8:
            return [Lint("W901", ["units"], "is slow on the toy", "use a multiple of 8")]
        return []

    def emit(self, graph) -> str:
        refused = [
            not_expressible(n, "toy", "`conv1d`", help="use `dense`")
            for n in graph.order
            if n.op == "conv1d"
        ]
        if refused:
            raise EmitError(refused)
        out = CodeWriter()
        out.lines(header(graph, "toy"))
        out.line("")
        out.line("")
        out.line("def build_model():")
        with out.indent():
            out.line("return [")
            with out.indent():
                for node in graph.order:
                    if node.name in graph.live:
                        out.line(f"({node.name!r}, {node.op!r}, {str(node.meta['shape'])!r}),")
            out.line("]")
        return out.text()
