"""The PyTorch backend: emits a standalone `nn.Module` per spec (entry point `torch`).

`specc validate` loads every backend for its counts and lints (`_facts`), so
the emitter is imported only when something is emitted.
"""

from __future__ import annotations

from . import _facts


class TorchBackend:
    """The backend specc finds through the entry point: emitter, counts and lints."""

    name = "torch"
    codes = _facts.CODES
    params = staticmethod(_facts.params)
    lints = staticmethod(_facts.lints)

    def emit(self, graph, *, standalone: bool = True) -> str:
        from ._emit import TorchBackend as Emitter

        return Emitter().emit(graph, standalone=standalone)


def __getattr__(name: str):
    if name == "module_names":  # spec layer -> module attribute (the emitter's naming)
        from ._emit import module_names

        return module_names
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TorchBackend", "module_names"]
