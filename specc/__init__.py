"""specc: YAML layer graphs, shape-checked without a framework, emitted as Keras 3 or PyTorch.

report = specc.validate("specs/skip_deep_lstm.yaml")  # diagnostics + shaped graph
graph = specc.load("specs/skip_deep_lstm.yaml")  # raises SpecError on errors
source = specc.emit("specs/skip_deep_lstm.yaml", backend="torch")  # model source
model = specc.build("specs/skip_deep_lstm.yaml", backend="keras")  # a live model
"""

__version__ = "0.1.0"

from .backend import EmitError, available_backends  # noqa: E402
from .build import build, emit  # noqa: E402
from .diagnostics import Diagnostic, Related, Severity, Span, SpecError  # noqa: E402
from .graph import ModelGraph  # noqa: E402
from .ir import Node  # noqa: E402
from .pipeline import Report, load, validate  # noqa: E402

__all__ = [
    "Diagnostic",
    "EmitError",
    "ModelGraph",
    "Node",
    "Related",
    "Report",
    "Severity",
    "Span",
    "SpecError",
    "available_backends",
    "build",
    "emit",
    "load",
    "validate",
]
