"""The PyTorch backend: emits a standalone `nn.Module` per spec (entry point `torch`)."""

from . import _facts
from ._emit import TorchBackend as _Emitter
from ._emit import module_names


class TorchBackend(_Emitter):
    """The emitter, with the backend's own parameter counts and lints (framework-free)."""

    params = staticmethod(_facts.params)
    lints = staticmethod(_facts.lints)


__all__ = ["TorchBackend", "module_names"]
