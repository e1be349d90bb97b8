"""The backend interface: how specc finds an emitter, and what an emitter promises.

A backend is an object with a `name` and an `emit(graph) -> str` method,
registered in the entry-point group `specc.backends` (specc's own torch and
keras backends register there exactly as a third-party package would). It
receives the shaped `ModelGraph` of a valid spec and returns the Python source
of one standalone module that defines `build_model()`, which returns the
model: an `nn.Module` instance, a `keras.Model`, or whatever the framework's
model is. `emit` must not import the framework: compiling works without it.
An `emit` may take a keyword `standalone` (default True): with False, the
source may import the backend's runtime module instead of carrying copies of
its helpers; `specc.build` asks for that.

When a backend cannot express an op or an attribute, `emit` raises
`EmitError` with located diagnostics (code E601), never a KeyError.
docs/backends.md says more.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

from .diagnostics import Diagnostic, Diagnostics, Related, Severity, register_codes
from .graph import ModelGraph
from .ir import Node

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "specc.backends"


class Backend(Protocol):
    """What specc asks of a backend; `params` and `lints` are optional.

    `params(ctx, shape) -> int` counts a shaped layer's parameters as the
    framework does (`specc.counts.shared` covers the ops whose weights are
    the same everywhere); `lints(op, attrs) -> list[Lint]` names settings that
    slow the layer down in this framework, under codes the backend declares in
    `codes` ({code: title}, added to the catalogue). Neither may import the
    framework.
    """

    name: str

    def emit(self, graph: ModelGraph) -> str:
        """The source of a standalone module defining `build_model()` (see above)."""
        ...


@dataclass(frozen=True)
class Lint:
    """A backend's warning about a layer's settings; the core locates and reports it.

    `settings` are the attributes responsible (the first is the primary
    location); the diagnostic reads "`op` layer `name`: `a: 1`, `b: 2`
    {message}" with help "{help}; drop the setting to run on the fused kernel".
    """

    code: str
    settings: list[str]
    message: str
    help: str


class EmitError(Exception):
    """A backend cannot express part of a valid spec; carries located diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("; ".join(f"{d.span}: {d.message}" for d in diagnostics))


class UnknownBackend(LookupError):
    def __init__(self, name: str, available: list[str]):
        self.name = name
        self.available = available
        listed = ", ".join(available) or "none installed"
        super().__init__(f"no backend `{name}` (available: {listed})")


def not_expressible(
    node: Node, backend: str, what: str, help: str = "", path: tuple = ()
) -> Diagnostic:
    """The diagnostic for something a backend cannot express, at the node (or attribute)."""
    diags = Diagnostics()
    diags.error(
        "E601",
        f"the {backend} backend cannot express {what} (layer `{node.name}`)",
        node.span(*path),
        help=help,
        related=node.origin,
    )
    return diags.items[0]


def entry_points(group: str) -> list[EntryPoint]:
    """The installed entry points of `group`."""
    # Imported on the first look-up: importlib.metadata costs a CLI start that
    # needs no backend (`specc --help`, `specc schema`) tens of milliseconds.
    from importlib.metadata import entry_points as installed

    return list(installed(group=group))


def _registered() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_backends() -> list[str]:
    """The names of the installed backends, sorted."""
    return sorted(_registered())


@cache
def installed_backends() -> tuple:
    """Every installed backend, loaded once per process, in name order.

    A backend that fails to load is left out here (`specc compile` with it
    reports why): a broken third-party package must not stop validation.
    """
    found = []
    for name in available_backends():
        try:
            backend = load_backend(name)
        except Exception:  # noqa: BLE001
            continue
        register_codes(getattr(backend, "codes", {}))
        found.append(backend)
    return tuple(found)


def backends_with(method: str) -> tuple:
    """The installed backends that answer `method` (`params`, `lints`)."""
    return tuple(b for b in installed_backends() if callable(getattr(b, method, None)))


def load_backend(name: str) -> Backend:
    """The backend registered under `name`; raises UnknownBackend."""
    registered = _registered()
    if name not in registered:
        raise UnknownBackend(name, sorted(registered))
    backend = registered[name].load()
    return backend() if isinstance(backend, type) else backend


__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "EmitError",
    "Lint",
    "Related",
    "Severity",
    "UnknownBackend",
    "available_backends",
    "load_backend",
    "not_expressible",
]
