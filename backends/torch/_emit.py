"""The PyTorch emitter: a shaped layer graph in, the source of one `nn.Module` out.

Each op has a lowering that gives the layer's constructor (an attribute of the
module named after the layer, or none for a function) and its forward
expression. Helper modules that PyTorch lacks (Keras's view of a recurrent
layer, a channels-last `Conv1d` with Keras's padding, Keras's attention
layers) are copied from `_runtime.py` into the emitted module, only those a
model uses, so that it imports nothing but torch. This module never imports
torch: `specc compile` works without it.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from specc.backend import EmitError, not_expressible
from specc.codegen import CodeWriter, Namespace, class_name, header
from specc.graph import ModelGraph
from specc.ir import Node
from specc.shapes import BATCH, show

BACKEND = "torch"
LINE_LENGTH = 100
IMPORTS = {
    "torch": "import torch",
    "F": "import torch.nn.functional as F",
    "nn": "from torch import nn",
}
# Helper definitions in _runtime.py that another one needs.
HELPER_DEPS = {
    "LSTM": ("KerasRecurrent",),
    "GRU": ("KerasRecurrent",),
    "RNN": ("KerasRecurrent",),
    "GRUResetBefore": ("KerasRecurrent", "StepByStep"),
    "LSTMVariant": ("KerasRecurrent",),
    "SteppedLSTM": ("KerasRecurrent", "StepByStep", "LSTM"),
    "SteppedGRU": ("KerasRecurrent", "StepByStep", "GRU"),
    "SteppedRNN": ("KerasRecurrent", "StepByStep", "RNN"),
}

# Keras activation names -> a template of the PyTorch call, with Keras's constants.
ACTIVATIONS = {
    "linear": "{}",
    "relu": "F.relu({})",
    "relu6": "F.relu6({})",
    "elu": "F.elu({})",
    "selu": "F.selu({})",
    "gelu": "F.gelu({})",
    "silu": "F.silu({})",
    "sigmoid": "torch.sigmoid({})",
    "hard_sigmoid": "F.hardsigmoid({})",  # relu6(x + 3) / 6, as Keras 3
    "tanh": "torch.tanh({})",
    "softmax": "F.softmax({}, dim=-1)",
    "log_softmax": "F.log_softmax({}, dim=-1)",
    "softplus": "F.softplus({})",
    "softsign": "F.softsign({})",
    "leaky_relu": "F.leaky_relu({}, 0.2)",  # Keras's slope; PyTorch's default is 0.01
    "exponential": "torch.exp({})",
}
# Wrapped by time_distributed, these act on the last axis of any rank: no folding of time.
LAST_AXIS_OPS = {"dense", "activation", "dropout", "layer_norm", "embedding"}
RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def activate(name: str, expr: str) -> str:
    return ACTIVATIONS[name].format(expr)


def function(name: str) -> str:
    """An activation as a callable: the function itself, or a lambda with Keras's constants."""
    template = ACTIVATIONS[name]
    if template.endswith("({})") and template.count("{}") == 1:
        return template[: -len("({})")]
    return f"lambda v: {template.format('v')}"


def number(value) -> str:
    """A float or int literal, without float noise (1 - 0.99 is 0.01)."""
    if isinstance(value, bool) or not isinstance(value, float):
        return repr(value)
    return repr(round(value, 12))


def call(func: str, args: list[str]) -> str:
    return f"{func}({', '.join(args)})"


@dataclass
class Lowered:
    """One layer in PyTorch: its module's constructor (or None) and its forward expression."""

    module: str | None
    forward: Callable[[list[str]], str]
    helpers: tuple[str, ...] = ()
    # time_distributed: the inner expression on a variable that holds the folded steps,
    # for a two-line form when the one-line form is too long.
    steps: Callable[[str], str] | None = None


@dataclass
class Layer:
    """What a lowering sees: the op, its attributes, shapes in and out, the module attribute."""

    node: Node
    op: str
    attrs: dict
    in_shapes: list[tuple]
    out_shape: tuple
    attr: str  # `self.name`
    dims: dict
    path: tuple = ()  # attribute path prefix: ("layer",) inside time_distributed
    refused: list = field(default_factory=list)
    batch_size: int | None = None

    def refuse(self, what: str, help: str, *path) -> None:
        full = (*self.path, *path)
        try:
            self.node.span(*full)
        except Exception:  # a default value: point at the layer
            full = ()
        self.refused.append(not_expressible(self.node, BACKEND, what, help=help, path=full))


class TorchBackend:
    """Emits a PyTorch `nn.Module` for a spec (entry point `torch` of `specc.backends`)."""

    name = BACKEND

    def emit(self, graph: ModelGraph) -> str:
        return _Emitter(graph).emit()


class _Emitter:
    def __init__(self, graph: ModelGraph):
        self.graph = graph
        self.refused: list = []
        self.helpers: set[str] = set()

    def emit(self) -> str:
        graph = self.graph
        nodes = [n for n in graph.order if n.name in graph.live]
        inputs = [n for n in nodes if n.op == "input"]
        layers = [n for n in nodes if n.op != "input"]
        lowered = {n.name: self.lower(n) for n in layers}
        if self.refused:
            raise EmitError(self.refused)
        helper_names = set(_helper_sources())
        names = Namespace({"self", "torch", "F", "nn", *helper_names})
        var = {n.name: names.name(n.name) for n in inputs}
        model = class_name(graph.name)
        if model in helper_names or model in IMPORTS:  # `attention`, `f`: keep `Attention`, `F`
            model = f"{model}Model"

        body = CodeWriter()
        body.line(f"class {model}(nn.Module):")
        with body.indent():
            for text in _docstring(graph.spec.description):
                body.line(text)
            body.line("")
            body.line("def __init__(self):")
            with body.indent():
                body.line("super().__init__()")
                for node in layers:
                    module = lowered[node.name].module
                    if module is not None:
                        body.lines(_statement(f"self.{node.name} = ", module, 8))
            body.line("")
            body.lines(_signature([var[n.name] for n in inputs]))
            with body.indent():
                for node in layers:
                    args = [var[s] for s in node.inputs]
                    var[node.name] = names.name(node.name)
                    expr = lowered[node.name].forward(args)
                    comment = f"# line {node.span().line}: {show(node.meta['shape'])}"
                    stmt = f"{var[node.name]} = {expr}"
                    steps = lowered[node.name].steps
                    if len(stmt) + len(comment) + 2 + 8 <= LINE_LENGTH:
                        body.line(f"{stmt}  {comment}")
                    elif len(stmt) + 8 > LINE_LENGTH and steps is not None:
                        name, x = var[node.name], args[0]
                        body.line(comment)
                        body.line(f"{name} = {x}.flatten(0, 1)  # time folded into the batch")
                        unfold = f"{_atom(steps(name))}.unflatten(0, {x}.shape[:2])"
                        body.lines(_split_last_call(f"{name} = {unfold}", 8))
                    else:
                        body.line(comment)
                        body.lines(_split_last_call(stmt, 8))
                outs = [var[o] for o in graph.outputs]
                body.line(f"return {', '.join(outs)}")
            stateful = [n.name for n in layers if n.attrs.get("stateful")]
            if stateful:
                body.line("")
                body.line("def reset_states(self):")
                with body.indent():
                    body.line('"""Forget the state the stateful layers carry between batches."""')
                    for name in stateful:
                        body.line(f"self.{name}.reset_states()")
        body.line("")
        body.line("")
        body.line("def build_model():")
        with body.indent():
            body.line(f"return {model}()")

        helpers = _helper_sources()
        used = [name for name in helpers if name in _closure(self.helpers)]
        chunks = [helpers[name] for name in used] + [body.text()]
        code = "\n\n\n".join(c.rstrip("\n") for c in chunks) + "\n"
        bound = {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}
        out = CodeWriter()
        out.lines(header(graph, BACKEND))
        out.line("")
        out.lines(line for name, line in IMPORTS.items() if name in bound)
        out.line("")
        out.line("")
        out.lines(code.splitlines())
        return out.text()

    # lowering --------------------------------------------------------------

    def lower(self, node: Node) -> Lowered:
        shapes = [self.graph.node(s).meta["shape"] for s in node.inputs]
        layer = Layer(
            node,
            node.op,
            node.attrs,
            shapes,
            node.meta["shape"],
            f"self.{node.name}",
            self.graph.spec.dims,
            refused=self.refused,
            batch_size=self.graph.spec.batch_size,
        )
        lowered = _lower(layer)
        self.helpers.update(lowered.helpers)
        return lowered


def _lower(layer: Layer) -> Lowered:
    rule = LOWERINGS.get(layer.op)
    if rule is None:
        layer.refuse(f"the op `{layer.op}`", "no PyTorch lowering exists for it")
        return Lowered(None, lambda args: "None")
    return rule(layer)


def _recurrent(layer: Layer) -> Lowered:
    a, op = layer.attrs, layer.op
    args = [str(layer.in_shapes[0][-1]), str(a["units"])]
    variant = a.get("variant", "standard")
    if variant != "standard":
        args.append(f'variant="{variant}"')
    if op == "rnn" and a["activation"] == "relu":
        args.append('nonlinearity="relu"')
    if a["bidirectional"]:
        args.append("bidirectional=True")
        if a["merge_mode"] != "concat":
            args.append(f'merge_mode="{a["merge_mode"]}"')
    if not a["use_bias"]:
        args.append("bias=False")
    if a["return_sequences"]:
        args.append("return_sequences=True")
    if a["dropout"]:
        args.append(f"dropout={number(a['dropout'])}")
    if op == "lstm" and a["use_bias"] and variant not in ("layer_norm", "nfg", "cifg"):
        forget = a.get("forget_bias")
        if forget is None and not a.get("unit_forget_bias", True):
            forget = 0.0
        if forget is not None and forget != 1.0:
            args.append(f"forget_bias={number(float(forget))}")
    if a["stateful"]:
        args.append(f"stateful_batch={layer.batch_size}")
    # Settings that no fused kernel has: Keras's cell, step by step (W502).
    stepped = False
    if a["activation"] != "tanh" and not (op == "rnn" and a["activation"] == "relu"):
        args.append(f"activation={function(a['activation'])}")
        stepped = True
    if op != "rnn" and a["recurrent_activation"] != "sigmoid":
        args.append(f"recurrent_activation={function(a['recurrent_activation'])}")
        stepped = True
    if a["recurrent_dropout"]:
        args.append(f"recurrent_dropout={number(a['recurrent_dropout'])}")
        stepped = True
        if op != "rnn" and a["recurrent_dropout_mode"] != "state":
            args.append(f'recurrent_dropout_mode="{a["recurrent_dropout_mode"]}"')
    cls = RECURRENT[op]
    if stepped:
        cls = f"Stepped{cls}"
    if op == "gru" and not a["reset_after"]:
        cls = "GRUResetBefore"
    if variant != "standard":
        cls = "LSTMVariant"
    return Lowered(call(cls, args), lambda x: f"{layer.attr}({x[0]})", (cls,))


def _dense(layer: Layer) -> Lowered:
    a = layer.attrs
    args = [str(layer.in_shapes[0][-1]), str(a["units"])]
    if not a["use_bias"]:
        args.append("bias=False")
    return Lowered(
        call("nn.Linear", args), lambda x: activate(a["activation"], f"{layer.attr}({x[0]})")
    )


def _time_distributed(layer: Layer) -> Lowered:
    inner_attrs = dict(layer.attrs["layer"])
    op = inner_attrs.pop("op")
    inner_attrs.pop("description", None)
    steps = (BATCH, *layer.in_shapes[0][2:])
    inner = Layer(
        layer.node,
        op,
        inner_attrs,
        [steps],
        (BATCH, *layer.out_shape[2:]),
        layer.attr,
        layer.dims,
        ("layer",),
        layer.refused,
        layer.batch_size,
    )
    lowered = _lower(inner)
    if op in LAST_AXIS_OPS:
        return lowered
    if op == "flatten":  # each step's axes joined: no need to fold time into the batch
        return Lowered(None, lambda x: f"{x[0]}.flatten(2)")
    if op == "batch_norm":  # statistics of each step, as Keras's TimeDistributed keeps them
        return Lowered(
            lowered.module,
            lambda x: f"torch.stack([{layer.attr}(step) for step in {x[0]}.unbind(1)], 1)",
            lowered.helpers,
        )

    def forward(x: list[str]) -> str:
        folded = _atom(lowered.forward([f"{x[0]}.flatten(0, 1)"]))
        return f"{folded}.unflatten(0, {x[0]}.shape[:2])"

    return Lowered(lowered.module, forward, lowered.helpers, lambda v: lowered.forward([v]))


def _embedding(layer: Layer) -> Lowered:
    a = layer.attrs
    return Lowered(
        f"nn.Embedding({a['input_dim']}, {a['output_dim']})", lambda x: f"{layer.attr}({x[0]})"
    )


def _repeat_vector(layer: Layer) -> Lowered:
    n = layer.out_shape[1]
    return Lowered(None, lambda x: f"{x[0]}.unsqueeze(1).expand(-1, {n}, -1)")


def _permute(layer: Layer) -> Lowered:
    order = ", ".join(str(d) for d in layer.attrs["dims"])
    return Lowered(None, lambda x: f"{x[0]}.permute(0, {order})")


def _reshape(layer: Layer) -> Lowered:
    target = []
    for index, value in enumerate(layer.attrs["target_shape"]):
        if isinstance(value, str):
            value = layer.dims.get(value)
            if value is None:
                value = -1
                if -1 in target:
                    layer.refuse(
                        "a reshape to two unknown sizes",
                        "give the dimension a size under `dims:`",
                        "target_shape",
                        index,
                    )
        target.append(value)
    sizes = ", ".join(str(v) for v in target)
    shape = f"({sizes},)" if len(target) == 1 else f"({sizes})"
    return Lowered(None, lambda x: f"{x[0]}.flatten(1).unflatten(1, {shape})")


def _flatten(layer: Layer) -> Lowered:
    return Lowered(None, lambda x: f"{x[0]}.flatten(1)")


def _method(template: str) -> Callable[[Layer], Lowered]:
    return lambda layer: Lowered(None, lambda x: template.format(x[0]))


def _merge(join: str, wrap: str = "{}") -> Callable[[Layer], Lowered]:
    return lambda layer: Lowered(None, lambda x: wrap.format(join.join(x), n=len(x)))


def _fold(func: str) -> Callable[[Layer], Lowered]:
    def forward(x: list[str]) -> str:
        expr = x[0]
        for other in x[1:]:
            expr = f"{func}({expr}, {other})"
        return expr

    return lambda layer: Lowered(None, forward)


def _concatenate(layer: Layer) -> Lowered:
    axis = layer.attrs["axis"]
    return Lowered(None, lambda x: f"torch.cat([{', '.join(x)}], dim={axis})")


def _dropout(layer: Layer) -> Lowered:
    return Lowered(f"nn.Dropout({number(layer.attrs['rate'])})", lambda x: f"{layer.attr}({x[0]})")


def _partial_affine(module: str, a: dict) -> tuple[str, tuple[str, ...]]:
    """Keras's `scale` without `center` (or the reverse): PyTorch's flags cover both or neither."""
    kwargs = "scale=True" if a["scale"] else "center=True"
    return f"affine({module}, {kwargs})", ("affine",)


def _layer_norm(layer: Layer) -> Lowered:
    a = layer.attrs
    args = [str(layer.in_shapes[0][-1]), f"eps={number(a['epsilon'])}"]
    module, helpers = "", ()
    if a["center"] and not a["scale"]:
        args.append("elementwise_affine=False")
        module, helpers = _partial_affine(call("nn.LayerNorm", args), a)
    elif not a["scale"]:
        args.append("elementwise_affine=False")
    elif not a["center"]:
        args.append("bias=False")
    return Lowered(module or call("nn.LayerNorm", args), lambda x: f"{layer.attr}({x[0]})", helpers)


def _batch_norm(layer: Layer) -> Lowered:
    a = layer.attrs
    args = [
        str(layer.in_shapes[0][-1]),
        f"eps={number(a['epsilon'])}",
        f"momentum={number(1 - a['momentum'])}",
    ]
    module, helpers = call("BatchNorm", args), ("BatchNorm",)
    if a["center"] != a["scale"]:
        module, more = _partial_affine(call("BatchNorm", [*args, "affine=False"]), a)
        helpers += more
    elif not a["scale"]:
        module = call("BatchNorm", [*args, "affine=False"])
    return Lowered(module, lambda x: f"{layer.attr}({x[0]})", helpers)


def _activation(layer: Layer) -> Lowered:
    return Lowered(None, lambda x: activate(layer.attrs["activation"], x[0]))


def _timestep_attention(layer: Layer) -> Lowered:
    steps = layer.in_shapes[0][1]
    act = layer.attrs["activation"]

    def forward(x: list[str]) -> str:
        scores = activate(act, f"{layer.attr}({x[0]}.transpose(1, 2))")
        return f"{x[0]} * {scores}.transpose(1, 2)"

    return Lowered(f"nn.Linear({steps}, {steps})", forward)


def _attention(layer: Layer) -> Lowered:
    a = layer.attrs
    args = []
    if a["use_scale"]:
        args.append("use_scale=True")
    if a["score_mode"] != "dot":
        args.append(f'score_mode="{a["score_mode"]}"')
    if a["dropout"]:
        args.append(f"dropout={number(a['dropout'])}")
    return Lowered(call("Attention", args), lambda x: call(layer.attr, x), ("Attention",))


def _multi_head_attention(layer: Layer) -> Lowered:
    a = layer.attrs
    shapes = layer.in_shapes
    query = shapes[0]
    value = shapes[1] if len(shapes) > 1 else query
    key = shapes[2] if len(shapes) > 2 else value
    value_dim = a.get("value_dim") or a["key_dim"]
    args = [
        str(query[-1]),
        str(key[-1]),
        str(value[-1]),
        str(a["num_heads"]),
        str(a["key_dim"]),
        str(value_dim),
    ]
    if not a["use_bias"]:
        args.append("bias=False")
    if a["dropout"]:
        args.append(f"dropout={number(a['dropout'])}")
    return Lowered(
        call("MultiHeadAttention", args), lambda x: call(layer.attr, x), ("MultiHeadAttention",)
    )


def _conv1d(layer: Layer) -> Lowered:
    a = layer.attrs
    args = [str(layer.in_shapes[0][-1]), str(a["filters"]), str(a["kernel_size"])]
    if a["strides"] != 1:
        args.append(f"stride={a['strides']}")
    if a["dilation_rate"] != 1:
        args.append(f"dilation={a['dilation_rate']}")
    if not a["use_bias"]:
        args.append("bias=False")
    if a["padding"] != "valid":
        args.append(f'padding="{a["padding"]}"')
    return Lowered(
        call("Conv1d", args),
        lambda x: activate(a["activation"], f"{layer.attr}({x[0]})"),
        ("Conv1d",),
    )


LOWERINGS: dict[str, Callable[[Layer], Lowered]] = {
    "lstm": _recurrent,
    "gru": _recurrent,
    "rnn": _recurrent,
    "dense": _dense,
    "time_distributed": _time_distributed,
    "embedding": _embedding,
    "repeat_vector": _repeat_vector,
    "permute": _permute,
    "reshape": _reshape,
    "flatten": _flatten,
    "global_avg_pool": _method("{}.mean(1)"),
    "global_max_pool": _method("{}.amax(1)"),
    "last_step": _method("{}[:, -1]"),
    "add": _merge(" + "),
    "subtract": _merge(" - "),
    "multiply": _merge(" * "),
    "average": _merge(" + ", "({}) / {n}"),
    "maximum": _fold("torch.maximum"),
    "minimum": _fold("torch.minimum"),
    "concatenate": _concatenate,
    "dropout": _dropout,
    "layer_norm": _layer_norm,
    "batch_norm": _batch_norm,
    "activation": _activation,
    "timestep_attention": _timestep_attention,
    "attention": _attention,
    "multi_head_attention": _multi_head_attention,
    "conv1d": _conv1d,
}


# source layout ----------------------------------------------------------------


def _statement(prefix: str, expr: str, indent: int) -> list[str]:
    """`prefix + expr` on one line, or a call split one argument per line (ruff's style)."""
    if indent + len(prefix) + len(expr) <= LINE_LENGTH or not expr.endswith(")"):
        return [prefix + expr]
    func, _, rest = expr.partition("(")
    args = _split_args(rest[:-1])
    return [f"{prefix}{func}(", *(f"    {arg}," for arg in args), ")"]


def _atom(expr: str) -> str:
    """The expression, parenthesised when an operator outside brackets would bind a method call."""
    depth = 0
    for ch in expr:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(ch, 0)
        if ch == " " and depth == 0:
            return f"({expr})"
    return expr


def _split_last_call(stmt: str, indent: int) -> list[str]:
    """A long statement split inside its last call's parentheses, as `ruff format` does."""
    if indent + len(stmt) <= LINE_LENGTH or not stmt.endswith(")"):
        return [stmt]
    depth = 0
    for i in range(len(stmt) - 1, -1, -1):
        depth += {")": 1, "]": 1, "}": 1, "(": -1, "[": -1, "{": -1}.get(stmt[i], 0)
        if depth == 0:
            break
    inner = stmt[i + 1 : -1]
    if indent + 4 + len(inner) <= LINE_LENGTH:
        return [stmt[: i + 1], f"    {inner}", ")"]
    return [stmt[: i + 1], *(f"    {arg}," for arg in _split_args(inner)), ")"]


def _split_args(text: str) -> list[str]:
    args, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
    if text[start:].strip():
        args.append(text[start:].strip())
    return args


def _signature(params: list[str]) -> list[str]:
    line = f"def forward(self, {', '.join(params)}):"
    if 4 + len(line) <= LINE_LENGTH:
        return [line]
    return ["def forward(", "    self,", *(f"    {p}," for p in params), "):"]


def _docstring(description: str) -> list[str]:
    text = " ".join((description or "").split()) or "A model generated by specc."
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    if len(text) + 10 <= LINE_LENGTH:
        return [f'"""{text}"""']
    return ['"""', *textwrap.wrap(text, LINE_LENGTH - 8, break_on_hyphens=False), '"""']


@cache
def _helper_sources() -> dict[str, str]:
    """The top-level definitions of _runtime.py, by name, in file order."""
    source = Path(__file__).with_name("_runtime.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    return {
        node.name: ast.get_source_segment(source, node)
        for node in tree.body
        if isinstance(node, ast.ClassDef | ast.FunctionDef)
    }


def _closure(names: set[str]) -> set[str]:
    """The helpers named and every helper they need, directly or not."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(HELPER_DEPS.get(name, ()))
    return found
