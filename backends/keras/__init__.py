"""The Keras 3 backend: emits a standalone functional-API module per spec.

`specc validate` loads every backend for its counts and lints (`_facts`), so
the emitter is imported only when something is emitted.
"""

from __future__ import annotations

from . import _facts


class KerasBackend:
    """The backend specc finds through the entry point: emitter, counts and lints."""

    name = "keras"
    codes = _facts.CODES
    params = staticmethod(_facts.params)
    lints = staticmethod(_facts.lints)

    def emit(self, graph, *, standalone: bool = True) -> str:
        from ._emit import KerasBackend as Emitter

        return Emitter().emit(graph, standalone=standalone)


def __getattr__(name: str):
    if name == "layer_names":  # spec layer -> Keras layer holding its weights
        from ._emit import layer_names

        return layer_names
    if name == "layer_calls":  # spec layer -> (Keras layer, index of its call)
        from ._emit import layer_calls

        return layer_calls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["KerasBackend", "layer_calls", "layer_names"]
