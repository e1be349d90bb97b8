"""The Keras 3 emitter: a shaped `ModelGraph` to one functional-API module.

The module imports only `keras` (never `tf.*`), so it runs with KERAS_BACKEND
set to tensorflow, torch or jax. Each layer is one statement whose layer
carries its spec name, preceded by a comment with its spec line and output
shape; the Python variables go through a `Namespace`, so any spec name works.
Layer arguments are written only where they differ from Keras's defaults, so a
standard LSTM or GRU keeps Keras's cuDNN conditions. Each op has one lowering
in `LOWERINGS`. specc's custom objects come from `layers.py`: copied into the
module (standalone, what `specc compile` writes) or imported from
`specc.backends.keras.layers` (what `specc.build` runs).

This module never imports keras: `specc compile` works without it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from specc.backend import EmitError, not_expressible
from specc.codegen import LINE_LENGTH, Call, CodeWriter, Namespace, header
from specc.graph import ModelGraph
from specc.ir import Node
from specc.optable import OPS
from specc.shapes import show
from specc.shares import held, root_of
from specc.states import STATE, initial_states, state_order
from specc.variants import GATE_ORDER, VARIANTS, variant_of

BACKEND = "keras"
RUNTIME = "specc.backends.keras.layers"
LAYERS = "keras.layers."

RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}
MERGES = {
    "add": "Add",
    "subtract": "Subtract",
    "multiply": "Multiply",
    "average": "Average",
    "maximum": "Maximum",
    "minimum": "Minimum",
}

# The spec's defaults are Keras's (the format follows Keras): an attribute equal to
# its default is not written, so a standard layer keeps Keras's cuDNN conditions.
RECURRENT_DEFAULTS = {a.name: a.default for op in OPS.values() if op.recurrent for a in op.attrs}
RECURRENT_KEYWORDS = (
    "activation",
    "recurrent_activation",
    "use_bias",
    "unit_forget_bias",
    "reset_after",
    "dropout",
    "recurrent_dropout",
    "return_sequences",
    "return_state",
    "stateful",
    "unroll",
)

# specc.variants names the candidate gate `g` (as the papers and PyTorch); Keras, `c`
KERAS_GATES = str.maketrans("g", "c")


class KerasBackend:
    """Emits a `build_model() -> keras.Model` module from a shaped layer graph."""

    name = BACKEND

    def emit(self, graph: ModelGraph, *, standalone: bool = True) -> str:
        """The module's source; `standalone=False` imports specc's custom objects."""
        return _Emitter(graph, standalone).emit()


@dataclass(frozen=True)
class Lowered:
    """One layer in Keras: its constructor (without `name`) and what it is called on."""

    layer: Call
    args: tuple[str | Call, ...]


@dataclass
class Layer:
    """What a lowering sees: the node, its attributes, its inputs' variables."""

    node: Node
    attrs: dict
    sources: list[str]
    emitter: _Emitter
    path: tuple = ()  # the attributes' path in the spec: ("layer",) inside time_distributed

    @property
    def op(self) -> str:
        return self.attrs["op"] if self.path else self.node.op

    def use(self, name: str) -> str:
        """A custom object of layers.py, which the module then defines or imports."""
        self.emitter.custom.add(name)
        return name

    def one(self, layer: Call) -> Lowered:
        """The layer called on its one input."""
        return Lowered(layer, (self.sources[0],))

    def refuse(self, what: str, help: str, *path) -> None:
        full = (*self.path, *path)
        try:
            self.node.span(*full)
        except Exception:  # a default value: point at the layer
            full = ()
        self.emitter.refused.append(not_expressible(self.node, BACKEND, what, help=help, path=full))


Lowering = Callable[[Layer], "Lowered | None"]


class _Emitter:
    def __init__(self, graph: ModelGraph, standalone: bool = True):
        self.graph = graph
        self.standalone = standalone
        self.names = Namespace(["keras", "build_model", "self", *_runtime()])
        self.var: dict[str, str] = {}
        self.attention_names = attention_layer_names(graph)
        self.custom: set[str] = set()
        self.refused: list = []
        self.body = CodeWriter()
        # `shares:`: each root of a live sharing layer is one layer object, bound to a
        # variable where it is first called and called again at every sharing layer.
        self.shared = {root_of(n) for n in graph.order if n.name in graph.live} - {None}
        self.layer_var: dict[str, str] = {}
        self.mask_var: dict[str, str] = {}  # a masked sequence -> its mask (`SequenceMask`)

    def emit(self) -> str:
        graph = self.graph
        with self.body.indent():
            for node in graph.order:
                if node.name not in graph.live:
                    continue
                if node.op == STATE:
                    self.port(node)
                    continue
                self.body.line(f"# line {node.span().line}: {show(node.meta['shape'])}")
                if node.op == "input":
                    self.input(node)
                else:
                    self.layer(node)
            inputs = [self.var[n.name] for n in graph.spec.inputs]
            outputs = [self.var[name] for name in graph.outputs]
            model = Call(
                "keras.Model",
                [_one_or_list("inputs", inputs), _one_or_list("outputs", outputs)]
                + [_kw("name", graph.name)],
            )
            self.body.wrapped("return ", model)
        if self.refused:
            raise EmitError(self.refused)
        out = CodeWriter()
        out.lines(header(graph, BACKEND))
        out.line("")
        out.line("import keras")
        runtime = _runtime()
        if self.standalone:  # the classes the model names, and the ones they need
            for name in [name for name in runtime if name in _closure(self.custom)]:
                out.line("")
                out.line("")
                out.lines(runtime[name].splitlines())
        elif self.custom:  # one import block: ruff's isort sees specc as third-party
            imports = f"from {RUNTIME} import "
            names = sorted(self.custom)
            if len(imports) + len(", ".join(names)) <= LINE_LENGTH:
                out.line(imports + ", ".join(names))
            else:  # as ruff format writes a long import: one name a line
                out.lines([imports + "(", *(f"    {name}," for name in names), ")"])
        out.line("")
        out.line("")
        out.line("def build_model() -> keras.Model:")
        return out.text() + self.body.text()

    def assign(
        self, spec_name: str, layer: Call, args: tuple[str | Call, ...], node: Node | None = None
    ) -> str:
        """`var = layer(args)`, with a fresh variable for `spec_name`; for a `node` with
        `return_state`, `var, *states = layer(args)`, a variable for each state read."""
        var = self.names.name(spec_name)
        targets = [var]
        if node is not None and node.attrs.get("return_state"):
            if not self._output_read(node):
                targets = ["_"]
            read = {p.attrs["port"] for p in self._ports(node)}
            bidirectional = node.attrs["bidirectional"]
            for part in keras_states(node):
                # a bidirectional layer's `h` is both directions: it reads them
                whole = part.partition("_")[0] if bidirectional else None
                if part in read or whole in read:
                    self.var[f"{node.name}.{part}"] = self.names.name(f"{node.name}_{part}")
                    targets.append(self.var[f"{node.name}.{part}"])
                else:
                    targets.append("_")
        unpack = f"{', '.join(targets)} = "
        if len(targets) == 1 or 4 + len(unpack) + 1 <= LINE_LENGTH:
            self.body.wrapped(unpack, Call(layer, args))
            return var
        # too many names for one line: the call's list of results, then each by index
        results = self.names.name(f"{spec_name}_results")
        self.body.wrapped(f"{results} = ", Call(layer, args))
        for index, target in enumerate(targets):
            if target != "_":
                self.body.wrapped(f"{target} = ", f"{results}[{index}]")
        return var

    def _mask_arg(self, node: Node) -> list[str]:
        """`mask=...` for a recurrent layer given initial states on a masked sequence:
        called on several tensors, Keras would not pass it the mask by itself."""
        source = node.inputs[0]
        if self.graph.node(source).meta.get("mask") is None:
            return []
        if source not in self.mask_var:  # once per sequence
            self.mask_var[source] = var = self.names.name(f"{source}_mask")
            self.custom.add("SequenceMask")
            mask = Call(Call("SequenceMask", []), [self.var[source]])
            self.body.wrapped(f"{var} = ", mask)
        return [f"mask={self.mask_var[source]}"]

    def _output_read(self, node: Node) -> bool:
        """Whether a layer's own output is used (not only its states)."""
        graph = self.graph
        readers = [graph.node(name) for name in graph.graph.successors(node.name)]
        live = [r for r in readers if r.name in graph.live and r.op != STATE]
        return bool(live) or node.name in graph.outputs

    def _ports(self, node: Node) -> list[Node]:
        graph = self.graph
        return [
            graph.node(name)
            for name in graph.graph.successors(node.name)
            if graph.node(name).op == STATE and name in graph.live
        ]

    def port(self, node: Node) -> None:
        """A state port: the variable its layer's call set; both directions concatenated
        for a bidirectional layer's `h` and `c`."""
        if node.name in self.var:
            return
        layer = node.inputs[0]
        halves = [self.var[f"{layer}.{node.attrs['port']}_{d}"] for d in ("forward", "backward")]
        self.body.line(f"# line {node.span().line}: {show(node.meta['shape'])}")
        concat = Call(LAYERS + "Concatenate", [_kw("name", node.name)])
        self.var[node.name] = var = self.names.name(node.name.replace(".", "_"))
        self.body.wrapped(f"{var} = ", Call(concat, (_list(halves),)))

    def input(self, node: Node) -> None:
        shape = node.meta["shape"]
        dims = tuple(d if isinstance(d, int) else None for d in shape[1:])
        batch = self.graph.spec.batch_size
        args = [_kw("batch_shape", (batch, *dims)) if batch else _kw("shape", dims)]
        if node.attrs.get("dtype", "float32") != "float32":
            args.append(_kw("dtype", node.attrs["dtype"]))
        args.append(_kw("name", node.name))
        self.var[node.name] = var = self.names.name(node.name)
        self.body.wrapped(f"{var} = ", Call("keras.Input", args))

    def layer(self, node: Node) -> None:
        sources = [self.var[name] for name in node.inputs]
        lowered = lower(Layer(node, node.attrs, sources, self))
        if lowered is None:  # refused: the error is raised once every layer is seen
            self.var[node.name] = self.names.name(node.name)
            return
        states = initial_states(node)
        if states:
            given = Call("initial_state=", sources[-states:], "[]")
            lowered = Lowered(lowered.layer, (*lowered.args, given, *self._mask_arg(node)))
        root = root_of(node) or node.name
        if root not in self.shared:
            named = Call(lowered.layer.func, [*lowered.layer.args, _kw("name", node.name)])
            self.var[node.name] = self.assign(node.name, named, lowered.args, node)
            return
        if root not in self.layer_var:  # the shared layer object, made at its first call
            owner = self.graph.node(root)
            made = lowered if owner is node else lower(Layer(owner, owner.attrs, sources, self))
            if made is None:
                self.var[node.name] = self.names.name(node.name)
                return
            named = Call(made.layer.func, [*made.layer.args, _kw("name", root)])
            self.layer_var[root] = var = self.names.name(f"{root}_layer")
            self.body.wrapped(f"{var} = ", named)
        self.var[node.name] = self.assign(node.name, self.layer_var[root], lowered.args, node)


def lower(layer: Layer) -> Lowered | None:
    """The layer's lowering, or None and a located E601 when the op has none."""
    rule = LOWERINGS.get(layer.op)
    if rule is None:
        layer.refuse(f"the op `{layer.op}`", "no Keras lowering exists for it", "op")
        return None
    return rule(layer)


# -- lowerings, one per op --------------------------------------------------------------


def _recurrent(layer: Layer) -> Lowered | None:
    attrs = layer.attrs
    variant = attrs.get("variant", "standard")
    if variant not in VARIANTS:
        known = ", ".join(f"`{name}`" for name in VARIANTS)
        layer.refuse(f"the LSTM variant `{variant}`", f"use one of {known}", "variant")
        return None
    update = attrs["recurrent_dropout"] and attrs.get("recurrent_dropout_mode") == "update"
    if layer.op == "gru" and update:
        return layer.one(_update_gru(layer))
    if variant != "standard" or update:
        return layer.one(_variant_lstm(layer))
    args: list[str | Call] = [str(attrs["units"])]
    for key in RECURRENT_KEYWORDS:
        if key in attrs and attrs[key] != RECURRENT_DEFAULTS[key]:
            if key == "unit_forget_bias" and "forget_bias" in attrs:
                continue
            args.append(_kw(key, attrs[key]))
    if attrs.get("forget_bias") is not None:  # it overrides unit_forget_bias, either way
        forget = layer.use("ForgetBias")
        args += ["unit_forget_bias=False", f"bias_initializer={forget}({attrs['forget_bias']!r})"]
    return layer.one(_bidirectional(Call(LAYERS + RECURRENT[layer.op], args), attrs))


def _variant_lstm(layer: Layer) -> Call:
    """`keras.layers.RNN` of `VariantLSTMCell`, its gates as specc.variants has them."""
    attrs = layer.attrs
    variant = variant_of(attrs)
    gates = variant.gates.translate(KERAS_GATES)
    args: list[str | Call] = [str(attrs["units"])]
    if gates != GATE_ORDER.translate(KERAS_GATES):
        args.append(_kw("gates", gates))
    if variant.peepholes:
        args.append(_kw("peepholes", variant.peepholes))
    for flag in ("coupled_forget", "gate_recurrence", "layer_norm"):
        if getattr(variant, flag):
            args.append(_kw(flag, True))
    for flag in ("input_activation", "output_activation"):
        if not getattr(variant, flag):
            args.append(_kw(flag, False))
    keys = ("activation", "recurrent_activation")
    keys += ("use_bias", "unit_forget_bias") if variant.has_bias else ()
    for key in keys:
        if attrs[key] != RECURRENT_DEFAULTS[key]:
            if key == "unit_forget_bias" and "forget_bias" in attrs:
                continue
            args.append(_kw(key, attrs[key]))
    if variant.has_bias and attrs.get("forget_bias") is not None:
        args.append("unit_forget_bias=False")
        if variant.own_forget_gate:
            forget = layer.use("ForgetBias")
            value = f"{attrs['forget_bias']!r}, {gates.index('f')}, {len(gates)}"
            args.append(f"bias_initializer={forget}({value})")
    for key in ("dropout", "recurrent_dropout"):
        if attrs[key]:
            args.append(_kw(key, attrs[key]))
    if attrs["recurrent_dropout"] and attrs["recurrent_dropout_mode"] != "state":
        args.append(_kw("recurrent_dropout_mode", attrs["recurrent_dropout_mode"]))
    dropout = attrs["dropout"] or attrs["recurrent_dropout"]
    rnn = layer.use("DropoutRNN") if dropout else LAYERS + "RNN"
    return _rnn(Call(layer.use("VariantLSTMCell"), args), attrs, rnn)


def _update_gru(layer: Layer) -> Call:
    """`keras.layers.RNN` of a GRU cell whose recurrent dropout masks the candidate."""
    attrs = layer.attrs
    args: list[str | Call] = [str(attrs["units"])]
    for key in ("activation", "recurrent_activation", "use_bias", "reset_after", "dropout"):
        if attrs[key] != RECURRENT_DEFAULTS[key]:
            args.append(_kw(key, attrs[key]))
    args.append(_kw("recurrent_dropout", attrs["recurrent_dropout"]))
    return _rnn(Call(layer.use("UpdateDropoutGRUCell"), args), attrs, LAYERS + "RNN")


def _rnn(cell: Call, attrs: dict, rnn: str) -> Call:
    """A custom cell in its recurrent layer (`keras.layers.RNN` or `DropoutRNN`)."""
    args: list[str | Call] = [cell]
    for key in ("return_sequences", "return_state", "stateful", "unroll"):
        if attrs[key]:
            args.append(_kw(key, True))
    return _bidirectional(Call(rnn, args), attrs)


def _bidirectional(rnn: Call, attrs: dict) -> Call:
    """The recurrent layer, in `Bidirectional` (with its merge mode) when the spec says so."""
    if not attrs["bidirectional"]:
        return rnn
    args: list[str | Call] = [rnn]
    if attrs["merge_mode"] != "concat":
        args.append(_kw("merge_mode", attrs["merge_mode"]))
    return Call(LAYERS + "Bidirectional", args)


def _gated_feedback(layer: Layer) -> Lowered:
    """specc's `GatedFeedback` layer (Keras has none), its settings where not the defaults."""
    attrs = layer.attrs
    args: list[str | Call] = [str(attrs["units"]), str(attrs["layers"]), _kw("cell", attrs["cell"])]
    for key, default in (
        ("activation", "tanh"),
        ("recurrent_activation", "sigmoid"),
        ("use_bias", True),
        ("return_sequences", False),
    ):
        if attrs[key] != default:
            args.append(_kw(key, attrs[key]))
    return layer.one(Call(layer.use("GatedFeedback"), args))


def _dense(layer: Layer) -> Lowered:
    attrs = layer.attrs
    args = [str(attrs["units"]), *_activation(attrs), *_no_bias(attrs)]
    return layer.one(Call(LAYERS + "Dense", args))


def _time_distributed(layer: Layer) -> Lowered | None:
    """The wrapped layer itself where it acts on the last axis (`unwrapped`); otherwise
    `TimeDistributed`, `VariableTimeDistributed` on a time axis of unknown length, and
    on a masked sequence `UnmaskedTimeDistributed` where Keras would hand the wrapped
    layer a mask it cannot read."""
    inner = Layer(layer.node, layer.attrs["layer"], layer.sources, layer.emitter, ("layer",))
    wrapped = lower(inner)
    if wrapped is None or unwrapped(layer.attrs["layer"]):
        return wrapped
    wrapper = LAYERS + "TimeDistributed"
    steps = layer.emitter.graph.node(layer.node.inputs[0]).meta["shape"][1]
    if not isinstance(steps, int):
        wrapper = layer.use("VariableTimeDistributed")
    if _input_mask(layer) is not None and inner.op in MASK_READERS:
        wrapper = layer.use("UnmaskedTimeDistributed")
    return layer.one(Call(wrapper, [wrapped.layer]))


# Wrapped by time_distributed, these Keras layers act on the last axis of any rank:
# without the wrapper they are the same function, with the same weights and the same
# mask passed on (dropout: the same distribution, a mask drawn for every step)
LAST_AXIS_OPS = frozenset({"dense", "activation", "dropout", "layer_norm"})


def unwrapped(inner: dict) -> bool:
    """Whether the layer inside a `time_distributed` (its attributes) is emitted alone.

    Keras 3.15's `TimeDistributed` gets a time axis of unknown length wrong (see
    `VariableTimeDistributed`); an embedding without `mask_zero` reads ids on any
    rank too (with it, it would make a mask where `TimeDistributed` keeps its input's).
    """
    op = inner["op"]
    return op in LAST_AXIS_OPS or (op == "embedding" and not inner.get("mask_zero"))


# Wrappable ops whose Keras layer reads a mask it is handed (the recurrent layers and
# the poolings over time): inside `TimeDistributed` they would get the sequence's.
MASK_READERS = frozenset(
    {*(name for name, op in OPS.items() if op.recurrent), "gated_feedback", "global_avg_pool"}
)


def _embedding(layer: Layer) -> Lowered:
    args = [str(layer.attrs["input_dim"]), str(layer.attrs["output_dim"])]
    args += ["mask_zero=True"] if layer.attrs.get("mask_zero") else []
    return layer.one(Call(LAYERS + "Embedding", args))


def _repeat_vector(layer: Layer) -> Lowered:
    n = layer.attrs["n"]
    size = n if isinstance(n, int) else layer.emitter.graph.spec.dims[n]
    return layer.one(Call(LAYERS + "RepeatVector", [str(size)]))


def _permute(layer: Layer) -> Lowered:
    return layer.one(Call(LAYERS + "Permute", [_literal(tuple(layer.attrs["dims"]))]))


def _reshape(layer: Layer) -> Lowered:
    """`target_shape` in numbers: a named dim by its size (validation refuses a variable one)."""
    dims = layer.emitter.graph.spec.dims
    target = tuple(dims[v] if isinstance(v, str) else v for v in layer.attrs["target_shape"])
    return layer.one(Call(LAYERS + "Reshape", [_literal(target)]))


def _plain(keras_layer: str) -> Lowering:
    """An op that is a Keras layer without arguments."""
    return lambda layer: layer.one(Call(LAYERS + keras_layer))


def _last_step(layer: Layer) -> Lowered:
    return layer.one(Call(layer.use("LastStep")))


def _merge(keras_layer: str) -> Lowering:
    """A merge: the Keras layer called on the list of its inputs."""
    return lambda layer: Lowered(Call(LAYERS + keras_layer), (_list(layer.sources),))


def _concatenate(layer: Layer) -> Lowered:
    axis = layer.attrs.get("axis", -1)
    args = [] if axis == -1 else [_kw("axis", axis)]
    return Lowered(Call(LAYERS + "Concatenate", args), (_list(layer.sources),))


def _dropout(layer: Layer) -> Lowered:
    return layer.one(Call(LAYERS + "Dropout", [repr(layer.attrs["rate"])]))


def _activation_layer(layer: Layer) -> Lowered:
    return layer.one(Call(LAYERS + "Activation", [_literal(layer.attrs["activation"])]))


def _layer_norm(layer: Layer) -> Lowered:
    attrs = layer.attrs
    args = [] if attrs["epsilon"] == 1e-3 else [_kw("epsilon", attrs["epsilon"])]
    args += [_kw(k, False) for k in ("center", "scale") if not attrs[k]]
    return layer.one(Call(LAYERS + "LayerNormalization", args))


def _batch_norm(layer: Layer) -> Lowered:
    attrs = layer.attrs
    args = [] if attrs["momentum"] == 0.99 else [_kw("momentum", attrs["momentum"])]
    args += [] if attrs["epsilon"] == 1e-3 else [_kw("epsilon", attrs["epsilon"])]
    args += [_kw(k, False) for k in ("center", "scale") if not attrs[k]]
    return layer.one(Call(LAYERS + "BatchNormalization", args))


def _timestep_attention(layer: Layer) -> Lowered:
    """attention_3d_block: Permute, Dense(T) over time, Permute back, then Multiply."""
    node, emitter = layer.node, layer.emitter
    activation = layer.attrs.get("activation", "tanh")
    dense = [str(node.meta["shape"][1])]
    dense += [] if activation == "linear" else [_kw("activation", activation)]
    parts = emitter.attention_names[node.name]
    current = source = layer.sources[0]
    for part, keras_layer, args in (
        ("permute", "Permute", ["(2, 1)"]),
        ("dense", "Dense", dense),
        ("weights", "Permute", ["(2, 1)"]),
    ):
        call = Call(LAYERS + keras_layer, [*args, _kw("name", parts[part])])
        current = emitter.assign(parts[part], call, (current,))
    return Lowered(Call(LAYERS + "Multiply"), (_list([source, current]),))


def _attention(layer: Layer) -> Lowered:
    attrs = layer.attrs
    args = ["use_scale=True"] if attrs["use_scale"] else []
    if attrs["score_mode"] != "dot":
        args.append(_kw("score_mode", attrs["score_mode"]))
    if attrs["dropout"]:
        args.append(_kw("dropout", attrs["dropout"]))
    return Lowered(Call(LAYERS + "Attention", args), (_list(layer.sources),))


def _multi_head_attention(layer: Layer) -> Lowered:
    attrs = layer.attrs
    args = [_kw("num_heads", attrs["num_heads"]), _kw("key_dim", attrs["key_dim"])]
    if "value_dim" in attrs:
        args.append(_kw("value_dim", attrs["value_dim"]))
    if attrs["dropout"]:
        args.append(_kw("dropout", attrs["dropout"]))
    args += _no_bias(attrs)
    sources = layer.sources if len(layer.sources) > 1 else layer.sources * 2  # self-attention
    return Lowered(Call(LAYERS + "MultiHeadAttention", args), tuple(sources))


def _conv1d(layer: Layer) -> Lowered:
    attrs = layer.attrs
    args = [str(attrs["filters"]), str(attrs["kernel_size"])]
    for key, default in (("strides", 1), ("padding", "valid"), ("dilation_rate", 1)):
        if attrs[key] != default:
            args.append(_kw(key, attrs[key]))
    args += [*_activation(attrs), *_no_bias(attrs)]
    return layer.one(Call(LAYERS + "Conv1D", args))


# -- masks (specc.masks): what changes where a layer reads a masked sequence ------------


def _input_mask(layer: Layer):
    """The mask of the layer's first input (specc.masks), or None; none inside time_distributed."""
    if layer.path:
        return None
    return layer.emitter.graph.node(layer.node.inputs[0]).meta.get("mask")


def _masked_recurrent(layer: Layer) -> Lowered | None:
    """A recurrent layer; on a masked sequence returning every step, masked steps give zeros.

    Keras's generic loop repeats the last output at a masked step, its cuDNN
    kernel gives zeros: `zero_output_for_mask=True` makes both (and PyTorch)
    agree. Not with `return_sequences: false`, where it would zero the final
    output of a row that ends in padding (keras-team/keras#17596).
    """
    lowered = _recurrent(layer)
    if lowered is None or _input_mask(layer) is None or not layer.attrs["return_sequences"]:
        return lowered
    outer = lowered.layer
    inner = outer.args[0] if outer.func == LAYERS + "Bidirectional" else outer
    zeroed = Call(inner.func, [*inner.args, "zero_output_for_mask=True"])
    if inner is not outer:
        zeroed = Call(outer.func, [zeroed, *outer.args[1:]])
    return Lowered(zeroed, lowered.args)


def _masked_last_step(layer: Layer) -> Lowered:
    """On a masked sequence, the last unmasked step (right padding assumed)."""
    if _input_mask(layer) is None:
        return _last_step(layer)
    return layer.one(Call(layer.use("MaskedLastStep")))


def _masked_global_max_pool(layer: Layer) -> Lowered:
    """On a masked sequence, the maximum over the unmasked steps (Keras's own ignores masks)."""
    if _input_mask(layer) is None:
        return layer.one(Call(LAYERS + "GlobalMaxPooling1D"))
    return layer.one(Call(layer.use("MaskedGlobalMaxPooling1D")))


def _masking(layer: Layer) -> Lowered:
    value = layer.attrs["mask_value"]
    args = [] if value == 0.0 else [_kw("mask_value", value)]
    return layer.one(Call(LAYERS + "Masking", args))


LOWERINGS: dict[str, Lowering] = {
    **{name: _masked_recurrent for name, op in OPS.items() if op.recurrent},
    "gated_feedback": _gated_feedback,
    "dense": _dense,
    "time_distributed": _time_distributed,
    "embedding": _embedding,
    "repeat_vector": _repeat_vector,
    "permute": _permute,
    "reshape": _reshape,
    "flatten": _plain("Flatten"),
    "global_avg_pool": _plain("GlobalAveragePooling1D"),
    "global_max_pool": _masked_global_max_pool,
    "last_step": _masked_last_step,
    **{op: _merge(keras_layer) for op, keras_layer in MERGES.items()},
    "concatenate": _concatenate,
    "dropout": _dropout,
    "activation": _activation_layer,
    "layer_norm": _layer_norm,
    "batch_norm": _batch_norm,
    "timestep_attention": _timestep_attention,
    "attention": _attention,
    "multi_head_attention": _multi_head_attention,
    "conv1d": _conv1d,
    "masking": _masking,
}


# -- names -------------------------------------------------------------------------------


def layer_names(graph: ModelGraph) -> dict[str, str]:
    """Each live spec layer (and input) -> the name of the Keras layer holding its weights.

    Keras layer names are the spec names; a `timestep_attention` layer's
    weights are in its dense part (see `attention_layer_names`).
    A layer that shares another's weights (`shares:`) maps to its root's layer,
    which the model holds (and calls at each site) even when only a sharing
    layer reaches an output; such a root is a key too.
    """
    attention = attention_layer_names(graph)
    owners = {node.name for node in held(graph)}
    return {
        node.name: attention[node.name]["dense"]
        if node.name in attention
        else root_of(node) or node.name
        for node in graph.order
        if (node.name in graph.live or node.name in owners) and node.op != STATE
    }


def keras_states(node: Node) -> list[str]:
    """The states a recurrent layer's call returns after its output, in Keras's order, as
    the ports they are: each direction's h (and c), then, for the `fgr` variant, the
    gates it carries (`gates`, no port)."""
    parts = state_order(node.op, False)
    if node.attrs.get("variant") == "fgr":
        parts = [*parts, "gates"]
    if not node.attrs["bidirectional"]:
        return parts
    return [f"{part}_{d}" for d in ("forward", "backward") for part in parts]


def layer_calls(graph: ModelGraph) -> dict[str, tuple[str, int, int]]:
    """Each live spec layer -> (the Keras layer that computes it, the index of its call,
    the index of the result among the call's outputs).

    A layer's result is `model.get_layer(name).output` when both indices are 0
    and the layer returns one tensor; a shared layer object is called once per
    site, in graph order, and the k-th call's results are the k-th of its
    inbound nodes' output tensors. A layer with `return_state` returns
    [output, *states] (Keras's order: `keras_states`), where its unidirectional
    ports are; a bidirectional layer's `h` and `c` are a Concatenate of their
    own. `timestep_attention` ends in its Multiply, named after the spec layer.
    """
    calls: dict[str, int] = {}
    out: dict[str, tuple[str, int, int]] = {}
    for node in graph.order:
        if node.name not in graph.live or node.op == "input":
            continue
        if node.op == STATE:
            layer = graph.node(node.inputs[0])
            port = node.attrs["port"]
            order = keras_states(layer)
            if port in order:
                name, call, _ = out[layer.name]  # live: its port is
                out[node.name] = (name, call, 1 + order.index(port))
            else:
                out[node.name] = (node.name, 0, 0)
            continue
        name = root_of(node) or node.name
        out[node.name] = (name, calls.get(name, 0), 0)
        calls[name] = calls.get(name, 0) + 1
    return out


def attention_layer_names(graph: ModelGraph) -> dict[str, dict[str, str]]:
    """The Keras layers each live `timestep_attention` expands to: {node: {part: name}}.

    `NAME_permute`, `NAME_dense` and `NAME_weights`, numbered where a spec name
    takes one already; the Multiply that ends it is named NAME.
    """
    taken = {node.name for node in graph.order}
    names: dict[str, dict[str, str]] = {}
    for node in graph.order:
        if node.op != "timestep_attention" or node.name not in graph.live:
            continue
        names[node.name] = {}
        for part in ("permute", "dense", "weights"):
            name = wanted = f"{node.name}_{part}"
            n = 1
            while name in taken:
                name, n = f"{wanted}_{n}", n + 1
            taken.add(name)
            names[node.name][part] = name
    return names


# -- the runtime's source ----------------------------------------------------------------


@cache
def _runtime() -> dict[str, str]:
    """The classes of layers.py, decorators included, by name, in file order."""
    source = Path(__file__).with_name("layers.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found[node.name] = "\n".join(lines[start - 1 : node.end_lineno])
    return found


@cache
def _needs() -> dict[str, frozenset[str]]:
    """The other classes of layers.py that each one names."""
    runtime = _runtime()
    return {
        name: frozenset(
            n.id
            for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Name) and n.id in runtime and n.id != name
        )
        for name, source in runtime.items()
    }


def _closure(names: set[str]) -> set[str]:
    """The custom objects named and every one they need, directly or not."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(_needs()[name])
    return found


# -- literals ----------------------------------------------------------------------------


def _kw(name: str, value) -> str:
    return f"{name}={_literal(value)}"


def _literal(value) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        items = ", ".join(_literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)


def _list(items: list[str]) -> Call:
    return Call("", items, "[]")


def _one_or_list(keyword: str, names: list[str]) -> str | Call:
    """`keyword=name`, or `keyword=[a, b]` as a Call that splits one name a line."""
    return f"{keyword}={names[0]}" if len(names) == 1 else Call(f"{keyword}=", names, "[]")


def _activation(attrs: dict) -> list[str]:
    activation = attrs.get("activation", "linear")
    return [] if activation == "linear" else [_kw("activation", activation)]


def _no_bias(attrs: dict) -> list[str]:
    return [] if attrs["use_bias"] else ["use_bias=False"]
