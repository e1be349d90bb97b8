"""The Keras 3 backend: emits a standalone functional-API module per spec."""

from ._emit import KerasBackend

__all__ = ["KerasBackend"]
