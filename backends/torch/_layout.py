"""The PyTorch backend's weight names, without importing torch.

The runtime classes register their parameters by the names of
`runtime.recurrent_names`, and `specc compile` copies that function into a
standalone file with the classes that call it, so it lives in runtime.py
(which imports torch). This module takes the same function from runtime.py's
source, as the emitter takes the helpers, for the weight transfer
(`specc.backends.weights`): the names are written once.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

RUNTIME = Path(__file__).with_name("runtime.py")


@cache
def _pure_function(name: str):
    """The top-level function `name` of runtime.py, defined alone (it must need no import)."""
    tree = ast.parse(RUNTIME.read_text(encoding="utf-8"), filename=str(RUNTIME))
    (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    namespace: dict = {}
    exec(compile(ast.Module([node], type_ignores=[]), str(RUNTIME), "exec"), namespace)
    return namespace[name]


def recurrent_names(direction: int = 0) -> dict[str, str]:
    """A recurrent layer's parameter (and norm module) names in one direction, by role.

    Roles: `input_kernel`, `recurrent_kernel`, `input_bias`, `recurrent_bias`
    (the fused layers and `StepByStep`), `bias`, `peephole`, `gate_recurrence`,
    `input_norm`, `recurrent_norm`, `cell_norm` (`LSTMVariant`; a norm is an
    `nn.LayerNorm`, its tensors NAME.weight and NAME.bias). `direction` is 0
    (forward) or 1 (backward). See `runtime.recurrent_names`.
    """
    return dict(_pure_function("recurrent_names")(direction))
