"""The Keras 3 backend: emits a standalone functional-API module per spec."""

from . import _facts
from ._emit import KerasBackend as _Emitter
from ._emit import layer_names


class KerasBackend(_Emitter):
    """The emitter, with the backend's own parameter counts and lints (framework-free)."""

    params = staticmethod(_facts.params)
    lints = staticmethod(_facts.lints)


__all__ = ["KerasBackend", "layer_names"]
