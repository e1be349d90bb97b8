"""From spec to model source (`emit`) and to a live model (`build`), on one code path.

`build` executes exactly the source `emit` returns, in a module whose source
is registered with `linecache`, so a traceback from the model shows the
generated line, and whose name (from the source's hash) is in `sys.modules`,
so a built model pickles.
"""

from __future__ import annotations

import linecache
import sys
import types
from pathlib import Path

from .backend import load_backend
from .diagnostics import SpecError
from .pipeline import validate


def emit(spec: str | Path, backend: str = "torch", *, standalone: bool = True) -> str:
    """The Python source of the model a spec describes; raises SpecError or EmitError.

    `standalone` (what `specc compile` writes) copies the runtime helpers the
    model uses into the source; otherwise the source imports them from the
    backend's runtime module, as `build` wants (so a saved Keras model names
    specc's registered layers, which load again after importing that module).
    A backend whose `emit` takes no `standalone` always writes standalone
    source.
    """
    import inspect  # here, not at the top: `import specc` stays quick for the CLI

    report = validate(spec)
    if not report.ok or report.graph is None:
        raise SpecError(report.diagnostics)
    found = load_backend(backend)
    if standalone or "standalone" not in inspect.signature(found.emit).parameters:
        return found.emit(report.graph)
    return found.emit(report.graph, standalone=False)


def load_source(source: str, label: str) -> types.ModuleType:
    """Execute generated source as a fresh module, visible to tracebacks."""
    import hashlib  # here, not at the top: `import specc` stays quick for the CLI

    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]
    filename = f"<specc {label} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    name = f"specc_generated_{digest}"
    if name in sys.modules:  # the same source again: one module, one set of classes
        return sys.modules[name]
    module = types.ModuleType(name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - our own output
    # Registered under a name the source fixes, so that pickle finds the model's class:
    # `torch.save(model)`, `mp.spawn` and Ray pickle it by `module.Class`. A fresh
    # process unpickles after `specc.build` of the same spec (or importing the file
    # `specc compile` wrote, under its own name) has made the module again.
    sys.modules[name] = module
    return module


def build(spec: str | Path, backend: str = "torch"):
    """The model a spec describes, built by executing the emitted source."""
    source = emit(spec, backend, standalone=False)
    is_text = isinstance(spec, str) and "\n" in spec
    label = f"{backend}:{'string' if is_text else Path(spec).stem}"
    return load_source(source, label).build_model()
