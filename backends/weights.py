"""Moving weights between the Keras and the PyTorch build of one spec.

The two backends build the same function with different weight layouts
(docs/ops.md has them): kernels transposed, GRU gates in another order, one
LSTM bias against two, multi-head projections kept per head. Each op below
lists its `Tie`s: one Keras variable, the PyTorch tensor(s) it becomes, and
the layout between them, so one table serves both directions. Every weight of
either model must be tied exactly once; anything left over is an error, never
a silent skip.

    keras_to_torch("spec.yaml", keras_model, torch_model)
    torch_to_keras("spec.yaml", torch_model, keras_model)

Importing this module imports neither framework (torch is imported when
weights are written into a PyTorch model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specc.graph import ModelGraph
from specc.optable import OPS
from specc.pipeline import load
from specc.shares import held

from .keras._emit import layer_names, unwrapped
from .torch._emit import module_names
from .torch._layout import recurrent_names


def _gru_order(a: np.ndarray) -> np.ndarray:
    """GRU gate blocks along axis 0: Keras's (z, r, h) <-> PyTorch's (r, z, n); its own inverse."""
    u = a.shape[0] // 3
    return np.concatenate([a[u : 2 * u], a[:u], a[2 * u :]])


@dataclass(frozen=True)
class Layout:
    """How a Keras array becomes PyTorch arrays (`to_torch`) and back (`to_keras`).

    `to_torch(array, torch_shapes)` returns one array per tensor;
    `to_keras(arrays, keras_shape)` returns the Keras array.
    """

    to_torch: Callable[[np.ndarray, list[tuple]], list[np.ndarray]]
    to_keras: Callable[[list[np.ndarray], tuple], np.ndarray]


SAME = Layout(lambda k, s: [k.reshape(s[0])], lambda t, s: t[0].reshape(s))
TRANSPOSED = Layout(lambda k, s: [k.T], lambda t, s: t[0].T)
# conv1d: Keras (kernel, in, out), PyTorch (out, in, kernel)
CONV = Layout(lambda k, s: [k.transpose(2, 1, 0)], lambda t, s: t[0].transpose(2, 1, 0))
# multi-head projections: Keras (F, heads, size) in, (heads, size, F) out; PyTorch Linear
HEADS_IN = Layout(lambda k, s: [k.reshape(k.shape[0], -1).T], lambda t, s: t[0].T.reshape(s))
HEADS_OUT = Layout(lambda k, s: [k.reshape(-1, k.shape[-1]).T], lambda t, s: t[0].T.reshape(s))
# LSTM and RNN: Keras's one bias is PyTorch's bias_ih + bias_hh
SPLIT_BIAS = Layout(lambda k, s: [k, np.zeros_like(k)], lambda t, s: t[0] + t[1])
GRU_KERNEL = Layout(lambda k, s: [_gru_order(k.T)], lambda t, s: _gru_order(t[0]).T)
GRU_BIAS = Layout(lambda k, s: [_gru_order(k)], lambda t, s: _gru_order(t[0]))
# reset_after: Keras's (2, 3u) bias holds bias_ih and bias_hh
GRU_BIASES = Layout(
    lambda k, s: [_gru_order(k[0]), _gru_order(k[1])],
    lambda t, s: np.stack([_gru_order(t[0]), _gru_order(t[1])]),
)


@dataclass(frozen=True)
class Tie:
    """One Keras variable and the PyTorch state-dict entries it corresponds to."""

    keras: object  # a keras.Variable
    torch: tuple[str, ...]
    layout: Layout


def _by_name(layer, depth: int = 1) -> dict:
    """A Keras layer's variables by the last `depth` parts of their paths."""
    return {"/".join(v.path.split("/")[-depth:]): v for v in layer.weights}


def _pairs(weights: dict, prefix: str, names: dict[str, str], layout: Layout = SAME) -> list[Tie]:
    """Ties for the Keras weights present, by Keras name -> PyTorch name."""
    return [Tie(weights[k], (prefix + t,), layout) for k, t in names.items() if k in weights]


def _kernel_and_bias(layout: Layout):
    """`kernel` -> `weight` in `layout`, `bias` -> `bias` as it is: dense and conv layers."""

    def rule(op: str, attrs: dict, layer, prefix: str) -> list[Tie]:
        w = _by_name(layer)
        return _pairs(w, prefix, {"kernel": "weight"}, layout) + _pairs(w, prefix, {"bias": "bias"})

    return rule


# Keras cell weight -> the PyTorch role (`recurrent_names`) it becomes
KERNELS = {"kernel": "input_kernel", "recurrent_kernel": "recurrent_kernel"}
# the LSTM variants' cell (`VariantLSTMCell`) beyond its kernels: fgr's gate
# kernel, the peepholes, one bias, and layer_norm's normalisations
VARIANT_MATRICES = {**KERNELS, "gate_kernel": "gate_recurrence"}
VARIANT_VECTORS = {"peephole": "peephole", "bias": "bias"}
VARIANT_NORMS = {"input": "input_norm", "recurrent": "recurrent_norm", "cell": "cell_norm"}


def _keyed(roles: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    """Keras name -> role, given each role's PyTorch name: Keras name -> PyTorch name."""
    return {keras: names[role] for keras, role in roles.items()}


def _recurrent(op: str, attrs: dict, layer, prefix: str) -> list[Tie]:
    directions = [layer]
    if attrs["bidirectional"]:
        directions = [layer.forward_layer, layer.backward_layer]
    variant = attrs.get("variant", "standard")
    ties = []
    for direction, rnn in enumerate(directions):
        w = _by_name(rnn.cell)
        names = {role: prefix + name for role, name in recurrent_names(direction).items()}
        if op == "lstm" and variant != "standard":
            ties += _pairs(w, "", _keyed(VARIANT_MATRICES, names), TRANSPOSED)
            vectors = _keyed(VARIANT_VECTORS, names)
            for keras_norm, role in VARIANT_NORMS.items():  # layer_norm: nn.LayerNorm's
                vectors[f"{keras_norm}_norm_gamma"] = names[role] + ".weight"
                vectors[f"{keras_norm}_norm_beta"] = names[role] + ".bias"
            ties += _pairs(w, "", vectors)
        elif op == "gru":
            ties += _pairs(w, "", _keyed(KERNELS, names), GRU_KERNEL)
            biases = (names["input_bias"], names["recurrent_bias"])
            if "bias" in w and attrs["reset_after"]:
                ties.append(Tie(w["bias"], biases, GRU_BIASES))
            else:
                ties += _pairs(w, "", {"bias": biases[0]}, GRU_BIAS)
        else:  # a standard LSTM (update mode too: `VariantLSTMCell`'s layout) or an RNN
            ties += _pairs(w, "", _keyed(KERNELS, names), TRANSPOSED)
            if "bias" in w:
                biases = (names["input_bias"], names["recurrent_bias"])
                ties.append(Tie(w["bias"], biases, SPLIT_BIAS))
    return ties


# gated_feedback: Keras's `GatedFeedbackCell` weight NAME_j -> the runtime's NAME_lj, transposed
# (the gates in the same order in both; the bias as it is)
FEEDBACK_NAMES = {
    "kernel": "weight_ih",
    "recurrent_kernel": "weight_hh",
    "feedback_kernel": "weight_fb",
    "gate_kernel": "gate_ih",
    "gate_recurrent_kernel": "gate_hh",
}


def _gated_feedback(op: str, attrs: dict, layer, prefix: str) -> list[Tie]:
    w = _by_name(layer.cell)
    ties = []
    for j in range(attrs["layers"]):
        matrices = {f"{k}_{j}": f"{t}_l{j}" for k, t in FEEDBACK_NAMES.items()}
        ties += _pairs(w, prefix, matrices, TRANSPOSED)
        ties += _pairs(w, prefix, {f"bias_{j}": f"bias_l{j}"})
    return ties


def _time_distributed(op: str, attrs: dict, layer, prefix: str) -> list[Tie]:
    """The wrapped layer's ties; Keras holds it alone where it acts on the last axis."""
    inner = dict(attrs["layer"])
    keras_layer = layer if unwrapped(inner) else layer.layer
    return _ties(inner.pop("op"), inner, keras_layer, prefix)


def _renamed(names: dict[str, str], layout: Layout = SAME):
    def ties(op: str, attrs: dict, layer, prefix: str) -> list[Tie]:
        return _pairs(_by_name(layer), prefix, names, layout)

    return ties


def _multi_head_attention(op: str, attrs: dict, layer, prefix: str) -> list[Tie]:
    w = _by_name(layer, depth=2)
    ties = []
    for keras, torch in (
        ("query", "query"),
        ("key", "key"),
        ("value", "value"),
        ("attention_output", "output"),
    ):
        layout = HEADS_OUT if torch == "output" else HEADS_IN
        ties += _pairs(w, prefix, {f"{keras}/kernel": f"{torch}.weight"}, layout)
        ties += _pairs(w, prefix, {f"{keras}/bias": f"{torch}.bias"})
    return ties


TIES: dict[str, Callable[[str, dict, object, str], list[Tie]]] = {
    **{name: _recurrent for name, op in OPS.items() if op.recurrent},
    "gated_feedback": _gated_feedback,
    "dense": _kernel_and_bias(TRANSPOSED),
    "timestep_attention": _kernel_and_bias(TRANSPOSED),  # Keras's Dense(T), nn.Linear(T, T)
    "time_distributed": _time_distributed,
    "embedding": _renamed({"embeddings": "weight"}),
    "conv1d": _kernel_and_bias(CONV),
    "layer_norm": _renamed({"gamma": "weight", "beta": "bias"}),
    "batch_norm": _renamed(
        {
            "gamma": "weight",
            "beta": "bias",
            "moving_mean": "norm.running_mean",  # the runtime BatchNorm's nn.BatchNorm1d
            "moving_variance": "norm.running_var",
        }
    ),
    "attention": _renamed({"scale": "scale", "concat_score_weight": "concat_score_weight"}),
    "multi_head_attention": _multi_head_attention,
}


def _ties(op: str, attrs: dict, layer, prefix: str) -> list[Tie]:
    rule = TIES.get(op)
    if rule is None:
        if layer.weights:
            raise ValueError(f"no weight correspondence for the op `{op}`")
        return []
    return rule(op, attrs, layer, prefix)


def ties(graph: ModelGraph, keras_model) -> list[Tie]:
    """Every weight of the spec's Keras model with its PyTorch counterpart.

    Both emitters say where a spec layer's weights are: the Keras layer name
    (`layer_names`) and the PyTorch module attribute (`module_names`), which
    differ from the spec name where a name would collide. A layer that shares
    another's weights (`shares:`) has none of its own: they are tied once.
    """
    keras_layer, torch_module = layer_names(graph), module_names(graph)
    found = []
    for node in held(graph):  # a shared layer's weights once, at its root
        layer = keras_model.get_layer(keras_layer[node.name])
        found += _ties(node.op, node.attrs, layer, f"{torch_module[node.name]}.")
    return found


def _checked(graph: ModelGraph, keras_model, torch_model) -> tuple[list[Tie], dict]:
    """The ties and PyTorch's state dict; ValueError if either side has weights left over."""
    found = ties(graph, keras_model)
    state = torch_model.state_dict()
    tied = [name for tie in found for name in tie.torch]
    untied = [
        name for name in state if name not in tied and not name.endswith("num_batches_tracked")
    ]
    missing = [name for name in tied if name not in state]
    tied_keras = [id(tie.keras) for tie in found]
    keras_left = [v.path for v in keras_model.weights if id(v) not in tied_keras]
    twice = len(set(tied)) != len(tied) or len(set(tied_keras)) != len(tied_keras)
    if untied or missing or keras_left or twice:
        raise ValueError(
            f"the two models do not correspond: PyTorch tensors without a Keras weight "
            f"{untied}, names not in the PyTorch model {missing}, Keras weights without a "
            f"PyTorch tensor {keras_left}" + (", weights tied twice" if twice else "")
        )
    return found, state


def _graph(spec: str | Path | ModelGraph) -> ModelGraph:
    return spec if isinstance(spec, ModelGraph) else load(spec)


def _converted(tie: Tie, convert, arrays, shapes) -> list[np.ndarray]:
    """`convert(arrays, shapes)`, checked against `shapes`; ValueError naming the tie."""
    where = f"`{tie.keras.path}` / {', '.join(f'`{n}`' for n in tie.torch)}"
    try:
        out = convert(arrays, shapes)
    except ValueError as error:  # a reshape that cannot work: the sizes differ
        raise ValueError(f"{where}: {error}") from None
    out = out if isinstance(out, list) else [out]
    got = [tuple(a.shape) for a in out]
    if got != [tuple(s) for s in (shapes if isinstance(shapes, list) else [shapes])]:
        raise ValueError(f"{where}: shapes {got}, expected {shapes}")
    return out


def keras_to_torch(spec: str | Path | ModelGraph, keras_model, torch_model) -> None:
    """Copy the weights (and batch-norm statistics) of a spec's Keras model into its PyTorch one.

    Every array is converted and checked first: on an error, nothing has been written.
    """
    import torch

    found, state = _checked(_graph(spec), keras_model, torch_model)
    writes = []
    for tie in found:
        targets = [state[name] for name in tie.torch]
        shapes = [tuple(t.shape) for t in targets]
        arrays = _converted(tie, tie.layout.to_torch, np.asarray(tie.keras.numpy()), shapes)
        writes += zip(targets, arrays, strict=True)
    with torch.no_grad():
        for target, array in writes:
            target.copy_(torch.from_numpy(np.array(array, order="C")))  # 0-d stays 0-d


def torch_to_keras(spec: str | Path | ModelGraph, torch_model, keras_model) -> None:
    """Copy the weights (and batch-norm statistics) of a spec's PyTorch model into its Keras one.

    Every array is converted and checked first: on an error, nothing has been written.
    """
    found, state = _checked(_graph(spec), keras_model, torch_model)
    writes = []
    for tie in found:
        # float() first: NumPy has no bfloat16
        arrays = [state[name].detach().cpu().float().numpy() for name in tie.torch]
        (array,) = _converted(tie, tie.layout.to_keras, arrays, tuple(tie.keras.shape))
        writes.append((tie.keras, array))
    for variable, array in writes:
        variable.assign(array.astype(np.dtype(variable.dtype)))
