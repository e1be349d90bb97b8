"""A third-party backend for the tests: registered the way any package would be."""

from __future__ import annotations

from specc.backend import EmitError, not_expressible
from specc.codegen import CodeWriter, header


class ToyBackend:
    """Emits a model that is a list of (layer, op, shape) tuples; refuses `conv1d`."""

    name = "toy"

    def emit(self, graph) -> str:
        refused = [not_expressible(n, "toy", "`conv1d`", help="use `dense`")
                   for n in graph.order if n.op == "conv1d"]
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
