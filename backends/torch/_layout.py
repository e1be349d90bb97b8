"""The PyTorch backend's recurrent weight names, by role, written once and without torch.

The runtime classes (`runtime.py`) register their parameters by these names,
and the weight transfer (`specc.backends.weights`) finds them by the same
roles. `specc compile` copies this function into a standalone file along
with the runtime classes that call it (the emitter reads both files' source).
"""


def recurrent_names(direction=0):
    """A recurrent layer's parameter (and norm module) names in one direction, by role.

    PyTorch's names for layer 0 of `nn.LSTM`, `nn.GRU` and `nn.RNN`
    (`weight_ih_l0`, `bias_hh_l0_reverse`, ...), which `StepByStep` registers
    too, and those `LSTMVariant` adds: one bias per gate (`bias`), `peephole`,
    `gate_recurrence` (fgr) and layer_norm's three `nn.LayerNorm`s (tensors
    NAME.weight and NAME.bias). `direction` is 0 (forward) or 1 (backward).
    """
    suffix = "_l0_reverse" if direction else "_l0"
    names = {
        "input_kernel": "weight_ih",
        "recurrent_kernel": "weight_hh",
        "input_bias": "bias_ih",
        "recurrent_bias": "bias_hh",
        "bias": "bias",
        "peephole": "peephole",
        "gate_recurrence": "gate_recurrence",
        "input_norm": "norm_input",
        "recurrent_norm": "norm_hidden",
        "cell_norm": "norm_cell",
    }
    return {role: name + suffix for role, name in names.items()}
