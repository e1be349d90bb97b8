"""The PyTorch backend: emits a standalone `nn.Module` per spec (entry point `torch`)."""

from ._emit import TorchBackend

__all__ = ["TorchBackend"]
