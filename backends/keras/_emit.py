"""The Keras 3 emitter: a shaped `ModelGraph` to one standalone functional-API module.

The module imports only `keras` (never `tf.*`), so it runs with KERAS_BACKEND
set to tensorflow, torch or jax. Each layer is one statement named after its
spec layer, preceded by a comment with its spec line and output shape. Layer
arguments are written only where they differ from Keras's defaults, so a
standard LSTM or GRU keeps Keras's cuDNN conditions.

This module never imports keras: `specc compile` works without it.
"""

from __future__ import annotations

from specc.backend import EmitError, not_expressible
from specc.codegen import CodeWriter, Namespace, header
from specc.graph import ModelGraph
from specc.ir import Node
from specc.shapes import show

from ._layers import CUSTOM, NEEDS, VARIANTS, custom_source

BACKEND = "keras"
LINE_LENGTH = 100
INDENT = "    "

RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}
MERGES = {
    "add": "Add",
    "subtract": "Subtract",
    "multiply": "Multiply",
    "average": "Average",
    "maximum": "Maximum",
    "minimum": "Minimum",
}
POOLS = {"global_avg_pool": "GlobalAveragePooling1D", "global_max_pool": "GlobalMaxPooling1D"}

# Keras's own defaults: an attribute equal to its default is not written.
RECURRENT_DEFAULTS = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "return_sequences": False,
    "stateful": False,
    "unroll": False,
    "unit_forget_bias": True,
    "reset_after": True,
}
RECURRENT_KEYWORDS = (
    "activation",
    "recurrent_activation",
    "use_bias",
    "unit_forget_bias",
    "reset_after",
    "dropout",
    "recurrent_dropout",
    "return_sequences",
    "stateful",
    "unroll",
)


class Call:
    """A call expression `func(args)`, kept as parts so it can be wrapped like `ruff format`."""

    def __init__(self, func: str, args: list[str | Call]):
        self.func = func
        self.args = args

    def flat(self) -> str:
        return f"{self.func}({', '.join(_flat(a) for a in self.args)})"


def _flat(arg: str | Call) -> str:
    return arg.flat() if isinstance(arg, Call) else arg


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


class KerasBackend:
    """Emits a `build_model() -> keras.Model` module from a shaped layer graph."""

    name = BACKEND

    def emit(self, graph: ModelGraph) -> str:
        return _Emitter(graph).emit()


class _Emitter:
    def __init__(self, graph: ModelGraph):
        self.graph = graph
        self.names = Namespace(["keras", "build_model", *CUSTOM])
        self.var: dict[str, str] = {}
        self.attention_names = attention_layer_names(graph)
        self.custom: set[str] = set()
        self.refused = []
        self.body = CodeWriter()

    def emit(self) -> str:
        graph = self.graph
        live = [node for node in graph.order if node.name in graph.live]
        with self.body.indent():
            for node in live:
                self.body.line(f"# line {node.span().line}: {show(node.meta['shape'])}")
                if node.op == "input":
                    self.input(node)
                else:
                    self.layer(node)
            inputs = [self.var[n.name] for n in graph.spec.inputs]
            outputs = [self.var[name] for name in graph.outputs]
            self.statement(
                "return ",
                Call(
                    "keras.Model",
                    [
                        "inputs=" + (inputs[0] if len(inputs) == 1 else f"[{', '.join(inputs)}]"),
                        "outputs="
                        + (outputs[0] if len(outputs) == 1 else f"[{', '.join(outputs)}]"),
                        _kw("name", graph.name),
                    ],
                ),
            )
        if self.refused:
            raise EmitError(self.refused)
        out = CodeWriter()
        out.lines(header(graph, BACKEND))
        out.line("")
        out.line("import keras")
        for name in sorted(self.custom, key=list(CUSTOM).index):
            out.line("")
            out.line("")
            out.lines(custom_source(name))
        out.line("")
        out.line("")
        out.line("def build_model() -> keras.Model:")
        return out.text() + self.body.text()

    # -- statements ---------------------------------------------------------------

    def statement(self, target: str, call: Call, tail: str = "") -> None:
        """`target call tail`, wrapped the way `ruff format` wraps it when it is too long."""
        for line in _wrap(target, call, tail, len(INDENT)):
            self.body.line(line)

    def assign(self, node_name: str, call: Call, args: str) -> str:
        var = self.names.name(node_name)
        self.statement(f"{var} = ", call, f"({args})")
        return var

    # -- inputs and layers --------------------------------------------------------

    def input(self, node: Node) -> None:
        shape = node.meta["shape"]
        dims = tuple(d if isinstance(d, int) else None for d in shape[1:])
        batch = self.graph.spec.batch_size
        args = [_kw("batch_shape", (batch, *dims)) if batch else _kw("shape", dims)]
        if node.attrs.get("dtype", "float32") != "float32":
            args.append(_kw("dtype", node.attrs["dtype"]))
        args.append(_kw("name", node.name))
        var = self.names.name(node.name)
        self.var[node.name] = var
        self.statement(f"{var} = ", Call("keras.Input", args))

    def layer(self, node: Node) -> None:
        sources = [self.var[name] for name in node.inputs]
        if node.op == "timestep_attention":
            self.timestep_attention(node, sources[0])
            return
        call = self.constructor(node, node.op, node.attrs, ())
        if call is None:
            self.var[node.name] = self.names.name(node.name)
            return
        call.args.append(_kw("name", node.name))
        if node.op in MERGES or node.op in ("concatenate", "attention"):
            args = f"[{', '.join(sources)}]"
        elif node.op == "multi_head_attention":
            args = ", ".join(sources if len(sources) > 1 else sources * 2)
        else:
            args = sources[0]
        self.var[node.name] = self.assign(node.name, call, args)

    def constructor(self, node: Node, op: str, attrs: dict, at: tuple) -> Call | None:
        """The Keras layer for an op, without its name; None (and a refusal) if there is none."""
        layers = "keras.layers."
        if op in RECURRENT:
            return self.recurrent(node, op, attrs, at)
        if op == "dense":
            args = [str(attrs["units"])]
            args += _activation(attrs)
            if not attrs["use_bias"]:
                args.append("use_bias=False")
            return Call(layers + "Dense", args)
        if op == "time_distributed":
            inner = attrs["layer"]
            if inner["op"] == "timestep_attention":
                self.refuse(
                    node,
                    "`timestep_attention` inside `time_distributed`",
                    at + ("layer",),
                    help="apply `timestep_attention` to a sequence outside the wrapper",
                )
                return None
            wrapped = self.constructor(node, inner["op"], inner, at + ("layer",))
            return None if wrapped is None else Call(layers + "TimeDistributed", [wrapped])
        if op == "embedding":
            return Call(layers + "Embedding", [str(attrs["input_dim"]), str(attrs["output_dim"])])
        if op == "repeat_vector":
            n = attrs["n"]
            size = n if isinstance(n, int) else self.graph.spec.dims[n]
            return Call(layers + "RepeatVector", [str(size)])
        if op == "permute":
            return Call(layers + "Permute", [_literal(tuple(attrs["dims"]))])
        if op == "reshape":
            target = self.reshape_target(node, attrs, at)
            return None if target is None else Call(layers + "Reshape", [_literal(target)])
        if op == "flatten":
            return Call(layers + "Flatten", [])
        if op in POOLS:
            return Call(layers + POOLS[op], [])
        if op == "last_step":
            self.use("LastStep")
            return Call("LastStep", [])
        if op in MERGES:
            return Call(layers + MERGES[op], [])
        if op == "concatenate":
            axis = attrs.get("axis", -1)
            return Call(layers + "Concatenate", [] if axis == -1 else [_kw("axis", axis)])
        if op == "dropout":
            return Call(layers + "Dropout", [repr(attrs["rate"])])
        if op == "activation":
            return Call(layers + "Activation", [_literal(attrs["activation"])])
        if op == "layer_norm":
            args = [] if attrs["epsilon"] == 1e-3 else [_kw("epsilon", attrs["epsilon"])]
            args += [_kw(k, False) for k in ("center", "scale") if not attrs[k]]
            return Call(layers + "LayerNormalization", args)
        if op == "batch_norm":
            args = [] if attrs["momentum"] == 0.99 else [_kw("momentum", attrs["momentum"])]
            args += [] if attrs["epsilon"] == 1e-3 else [_kw("epsilon", attrs["epsilon"])]
            args += [_kw(k, False) for k in ("center", "scale") if not attrs[k]]
            return Call(layers + "BatchNormalization", args)
        if op == "attention":
            args = []
            if attrs["use_scale"]:
                args.append("use_scale=True")
            if attrs["score_mode"] != "dot":
                args.append(_kw("score_mode", attrs["score_mode"]))
            if attrs["dropout"]:
                args.append(_kw("dropout", attrs["dropout"]))
            return Call(layers + "Attention", args)
        if op == "multi_head_attention":
            args = [_kw("num_heads", attrs["num_heads"]), _kw("key_dim", attrs["key_dim"])]
            if "value_dim" in attrs:
                args.append(_kw("value_dim", attrs["value_dim"]))
            if attrs["dropout"]:
                args.append(_kw("dropout", attrs["dropout"]))
            if not attrs["use_bias"]:
                args.append("use_bias=False")
            return Call(layers + "MultiHeadAttention", args)
        if op == "conv1d":
            args = [str(attrs["filters"]), str(attrs["kernel_size"])]
            for key, default in (("strides", 1), ("padding", "valid"), ("dilation_rate", 1)):
                if attrs[key] != default:
                    args.append(_kw(key, attrs[key]))
            args += _activation(attrs)
            if not attrs["use_bias"]:
                args.append("use_bias=False")
            return Call(layers + "Conv1D", args)
        self.refuse(node, f"the op `{op}`", at + ("op",) if at else (), help="")
        return None

    def recurrent(self, node: Node, op: str, attrs: dict, at: tuple) -> Call | None:
        variant = attrs.get("variant", "standard")
        if variant != "standard" and variant not in VARIANTS:
            self.refuse(
                node,
                f"the LSTM variant `{variant}` yet",
                at + ("variant",),
                help="its custom Keras cell is not written yet; use `variant: standard`, or "
                "one of " + ", ".join(f"`{v}`" for v in VARIANTS if v != "standard"),
            )
            return None
        update = attrs["recurrent_dropout"] and attrs.get("recurrent_dropout_mode") == "update"
        if op == "gru" and update:
            return self.update_gru_cell(attrs)
        if variant != "standard" or update:
            return self.variant_cell(node, attrs, at)
        args: list[str | Call] = [str(attrs["units"])]
        for key in RECURRENT_KEYWORDS:
            if key in attrs and attrs[key] != RECURRENT_DEFAULTS[key]:
                if key == "unit_forget_bias" and "forget_bias" in attrs:
                    continue
                args.append(_kw(key, attrs[key]))
        if attrs.get("forget_bias") is not None:  # it overrides unit_forget_bias, either way
            self.use("ForgetBias")
            args.append("unit_forget_bias=False")
            args.append(f"bias_initializer=ForgetBias({attrs['forget_bias']!r})")
        return _bidirectional(Call("keras.layers." + RECURRENT[op], args), attrs)

    def variant_cell(self, node: Node, attrs: dict, at: tuple) -> Call | None:
        """`keras.layers.RNN` of a custom cell; the cell keeps the gate settings."""
        cell = "VariantLSTMCell"
        self.use(cell)
        cell_args: list[str | Call] = [str(attrs["units"]), _kw("variant", attrs["variant"])]
        biased = attrs["variant"] != "layer_norm"  # its norms' shifts are its only biases
        keys = ("activation", "recurrent_activation") + ("use_bias", "unit_forget_bias") * biased
        for key in keys:
            if attrs[key] != RECURRENT_DEFAULTS[key]:
                if key == "unit_forget_bias" and "forget_bias" in attrs:
                    continue
                cell_args.append(_kw(key, attrs[key]))
        if biased and attrs.get("forget_bias") is not None:
            cell_args.append("unit_forget_bias=False")
            gates = "ifco".replace(_MISSING_GATE.get(attrs["variant"], ""), "")
            if "f" in gates:
                forget = f"ForgetBias({attrs['forget_bias']!r}, {gates.index('f')}, {len(gates)})"
                cell_args.append(f"bias_initializer={forget}")
        for key in ("dropout", "recurrent_dropout"):
            if attrs[key]:
                cell_args.append(_kw(key, attrs[key]))
        if attrs["recurrent_dropout"] and attrs["recurrent_dropout_mode"] != "state":
            cell_args.append(_kw("recurrent_dropout_mode", attrs["recurrent_dropout_mode"]))
        dropout = attrs["dropout"] or attrs["recurrent_dropout"]
        if dropout:
            self.use("DropoutRNN")
        return _rnn(Call(cell, cell_args), attrs, "DropoutRNN" if dropout else "keras.layers.RNN")

    def update_gru_cell(self, attrs: dict) -> Call:
        """`keras.layers.RNN` of a GRU cell whose recurrent dropout masks the candidate."""
        cell = "UpdateDropoutGRUCell"
        self.use(cell)
        args: list[str | Call] = [str(attrs["units"])]
        for key in ("activation", "recurrent_activation", "use_bias", "reset_after", "dropout"):
            if attrs[key] != RECURRENT_DEFAULTS[key]:
                args.append(_kw(key, attrs[key]))
        args.append(_kw("recurrent_dropout", attrs["recurrent_dropout"]))
        return _rnn(Call(cell, args), attrs, "keras.layers.RNN")

    def use(self, name: str) -> None:
        """Emit a custom object (and what it needs) into the module."""
        for need in NEEDS.get(name, ()):
            self.use(need)
        self.custom.add(name)

    def reshape_target(self, node: Node, attrs: dict, at: tuple) -> tuple | None:
        """`target_shape` in numbers: named dims by their size, one variable size as -1."""
        target = []
        for value in attrs["target_shape"]:
            if isinstance(value, str):
                value = self.graph.spec.dims[value]
                value = -1 if value is None else value
            target.append(value)
        if target.count(-1) > 1:
            self.refuse(
                node,
                "a `reshape` with more than one unknown size",
                at + ("target_shape",),
                help="Keras's `Reshape` infers at most one axis; give the others a size",
            )
            return None
        return tuple(target)

    def timestep_attention(self, node: Node, source: str) -> None:
        """attention_3d_block: Permute, Dense(T) over time, Permute back, Multiply."""
        steps = node.meta["shape"][1]
        activation = node.attrs.get("activation", "tanh")
        dense = [str(steps)] + ([] if activation == "linear" else [_kw("activation", activation)])
        current = source
        parts = self.attention_names[node.name]
        for part, layer, args in (
            ("permute", "Permute", ["(2, 1)"]),
            ("dense", "Dense", dense),
            ("weights", "Permute", ["(2, 1)"]),
        ):
            name = parts[part]
            call = Call("keras.layers." + layer, [*args, _kw("name", name)])
            current = self.assign(name, call, current)
        call = Call("keras.layers.Multiply", [_kw("name", node.name)])
        self.var[node.name] = self.assign(node.name, call, f"[{source}, {current}]")

    def refuse(self, node: Node, what: str, at: tuple, help: str) -> None:
        self.refused.append(not_expressible(node, BACKEND, what, help=help, path=at))


def attention_layer_names(graph: ModelGraph) -> dict[str, dict[str, str]]:
    """The Keras layers each live `timestep_attention` expands to: {node: {part: name}}.

    `NAME_permute`, `NAME_dense` and `NAME_weights`, numbered where a spec name
    takes one already. The weight transfer finds the dense layer through it too.
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


# the gate each variant goes without (cifg's forget gate is 1 - i: no weights of its own)
_MISSING_GATE = {"nig": "i", "nfg": "f", "nog": "o", "cifg": "f"}


def _rnn(cell: Call, attrs: dict, layer: str) -> Call:
    """A custom cell in its recurrent layer (`layer`: `keras.layers.RNN` or a subclass)."""
    args: list[str | Call] = [cell]
    for key in ("return_sequences", "stateful", "unroll"):
        if attrs[key]:
            args.append(_kw(key, True))
    return _bidirectional(Call(layer, args), attrs)


def _bidirectional(layer: Call, attrs: dict) -> Call:
    """The recurrent layer, in `Bidirectional` (with its merge mode) when the spec says so."""
    if not attrs["bidirectional"]:
        return layer
    wrapper: list[str | Call] = [layer]
    if attrs["merge_mode"] != "concat":
        wrapper.append(_kw("merge_mode", attrs["merge_mode"]))
    return Call("keras.layers.Bidirectional", wrapper)


def _activation(attrs: dict) -> list[str]:
    activation = attrs.get("activation", "linear")
    return [] if activation == "linear" else [_kw("activation", activation)]


def _wrap(target: str, call: Call, tail: str, indent: int) -> list[str]:
    """`target + call + tail` on one line, or split inside the call's parentheses."""
    flat = f"{target}{call.flat()}{tail}"
    if indent + len(flat) <= LINE_LENGTH:
        return [flat]
    if tail.startswith("(") and tail.endswith(")"):
        # ruff format splits the last parentheses first, when the line before them fits
        head = f"{target}{call.flat()}("
        inner = tail[1:-1]
        if indent + len(head) <= LINE_LENGTH and indent + 4 + len(inner) <= LINE_LENGTH:
            return [head, INDENT + inner, ")"]
    return [f"{target}{call.func}(", *_args(call.args, indent + 4), f"){tail}"]


def _args(args: list, indent: int) -> list[str]:
    pad = INDENT
    joined = ", ".join(_flat(a) for a in args)
    if indent + len(joined) <= LINE_LENGTH:
        return [pad + joined]
    lines = []
    for arg in args:
        text = _flat(arg) + ","
        if indent + len(text) <= LINE_LENGTH or not isinstance(arg, Call):
            lines.append(pad + text)
        else:
            lines.append(f"{pad}{arg.func}(")
            lines += [pad + line for line in _args(arg.args, indent + 4)]
            lines.append(pad + "),")
    return lines
