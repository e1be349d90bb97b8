"""specc: YAML layer graphs, shape-checked without a framework, emitted as Keras 3 or PyTorch.

report = specc.validate("specs/skip_deep_lstm.yaml")   # diagnostics + shaped graph
graph = specc.load("specs/skip_deep_lstm.yaml")        # raises SpecError on errors
"""

from .diagnostics import Diagnostic, Related, Severity, Span, SpecError
from .graph import ModelGraph
from .ir import Node
from .pipeline import Report, load, validate

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "ModelGraph",
    "Node",
    "Related",
    "Report",
    "Severity",
    "Span",
    "SpecError",
    "load",
    "validate",
]
