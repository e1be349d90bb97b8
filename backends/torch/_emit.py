"""The PyTorch emitter: a shaped layer graph in, the source of one `nn.Module` out.

Each op has a lowering that gives the layer's constructor (an attribute of the
module, or none for a function) and its forward statements. A recurrent layer
that needs nothing Keras-only is a plain `nn.LSTM`/`nn.GRU`/`nn.RNN` with
Keras's outputs written inline; what PyTorch lacks (a stateful or step-by-step
recurrent layer, an LSTM variant, a channels-last `Conv1d` with Keras's
padding, Keras's attention layers) comes from `runtime.py`: imported from
`specc.backends.torch.runtime` (`standalone=False`, as `specc.build` asks), or
copied into the emitted module, only the definitions a model uses, so that it
imports nothing but torch. This module never imports torch: `specc compile`
works without it.
"""

from __future__ import annotations

import ast
import keyword
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from specc.backend import EmitError, not_expressible
from specc.codegen import (
    LINE_LENGTH,
    CodeWriter,
    Namespace,
    class_name,
    header,
    parse_expr,
    split_args,
    wrap,
)
from specc.graph import ModelGraph
from specc.ir import Node
from specc.masks import combined_here, makes_mask
from specc.optable import is_recurrent
from specc.shapes import BATCH, show
from specc.shares import held, root_of
from specc.states import STATE, initial_states, state_parts
from specc.variants import variant_of

from ._facts import stepped_settings

BACKEND = "torch"
RUNTIME = "specc.backends.torch.runtime"
HALF_DTYPES = ("float16", "bfloat16")  # inputs cast to float32 where they enter
IMPORTS = {
    "torch": "import torch",
    "F": "import torch.nn.functional as F",
    "nn": "from torch import nn",
}
# What an emitted module's attribute may not be called: the attributes and methods of
# `nn.Module` (dir() of an instance, torch 2.13), those of `torch.fx.GraphModule` (what
# `torch.export` makes of the module), and the methods the emitted model adds.
MODULE_ATTRIBUTES = frozenset(
    {
        "T_destination",
        "_apply",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_buffers",
        "_call_impl",
        "_compiled_call_impl",
        "_forward_hooks",
        "_forward_hooks_always_called",
        "_forward_hooks_with_kwargs",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_get_backward_hooks",
        "_get_backward_pre_hooks",
        "_get_name",
        "_is_full_backward_hook",
        "_load_from_state_dict",
        "_load_state_dict_post_hooks",
        "_load_state_dict_pre_hooks",
        "_maybe_warn_non_full_backward_hook",
        "_modules",
        "_named_members",
        "_non_persistent_buffers_set",
        "_parameters",
        "_register_load_state_dict_pre_hook",
        "_register_state_dict_hook",
        "_replicate_for_data_parallel",
        "_save_to_state_dict",
        "_slow_forward",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_version",
        "_wrapped_call_impl",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
        "_boxed_call",
        "_code",
        "_create_node_hooks",
        "_deepcopy_hooks",
        "_deepcopy_init",
        "_erase_node_hooks",
        "_graph",
        "_lineno_map",
        "_prologue_start",
        "_recompile_submodules",
        "_register_create_node_hook",
        "_register_deepcopy_hook",
        "_register_erase_node_hook",
        "_register_replace_node_hook",
        "_replace_hooks",
        "_set_replace_hook",
        "_tracer_cls",
        "_tracer_extras",
        "_unregister_create_node_hook",
        "_unregister_deepcopy_hook",
        "_unregister_erase_node_hook",
        "_unregister_replace_node_hook",
        "_wrapped_call",
        "add_submodule",
        "code",
        "delete_all_unused_submodules",
        "delete_submodule",
        "graph",
        "meta",
        "print_readable",
        "recompile",
        "shape_env",
        "to_folder",
        "reset_parameters",
        "reset_states",
    }
)

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
RESET_DOC = "Each layer's initial weights"
RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
MERGES = {"concat": "torch.cat([{}, {}], -1)", "sum": "{} + {}", "mul": "{} * {}"}
MERGES["ave"] = "({} + {}) / 2"


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


def module_names(graph: ModelGraph) -> dict[str, str]:
    """Each layer's attribute in the emitted module, by spec layer name.

    A spec name is kept when it is a safe attribute: not a Python keyword, not a
    dunder, and not an attribute of `nn.Module` or of the `GraphModule` that
    `torch.export` makes (`output`, `to`, `code`, `training`, ...). Any other
    gets a trailing underscore (`to_`), or a number when that is taken too
    (`to_1`). The keys are the live layers in graph order; the module's
    parameters are then named `ATTRIBUTE.weight`, `ATTRIBUTE.weight_ih_l0`, ...
    A layer that shares another's weights (`shares:`) maps to its root's
    attribute: one module, called at each site. A root that only a sharing
    layer keeps is a key too.
    """
    layers = [n.name for n in held(graph)]
    taken = {name for name in layers if _safe_attribute(name)}
    names = {}
    for name in layers:
        if _safe_attribute(name):
            names[name] = name
            continue
        # `__x` would be mangled to `_Model__x` in the class body: drop the underscores
        base = name.lstrip("_") or "layer" if name.startswith("__") else name
        candidate, n = f"{base}_", 0
        while candidate in taken or not _safe_attribute(candidate):
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        names[name] = candidate
    for node in graph.order:
        if node.name in graph.live and root_of(node) is not None:
            names[node.name] = names[root_of(node)]
    return {n.name: names[n.name] for n in graph.order if n.name in names}


def _safe_attribute(name: str) -> bool:
    """Not a keyword, an `nn.Module`/`GraphModule` attribute, or a dunder or mangled name."""
    return not (name.startswith("__") or keyword.iskeyword(name) or name in MODULE_ATTRIBUTES)


@dataclass
class Lowered:
    """One layer in PyTorch: its module's constructor (or None) and its forward code.

    `forward` gives the layer's expression from its inputs' variables; a layer
    that needs statements gives `statements(inputs, out)` instead, the last of
    which sets `out`. `init` names what `reset_parameters` sets as Keras does
    for a plain recurrent layer: ("LSTM", forget gate bias) or ("GRU"/"RNN", None).
    """

    module: str | None
    forward: Callable[[list[str]], str] | None = None
    helpers: tuple[str, ...] = ()
    # time_distributed: the inner expression on a variable that holds the folded steps,
    # for a two-line form when the one-line form is too long.
    steps: Callable[[str], str] | None = None
    statements: Callable[[list[str], str], list[str]] | None = None
    init: tuple | None = None

    def code(self, args: list[str], out: str) -> list[str]:
        if self.statements is not None:
            return self.statements(args, out)
        return [f"{out} = {self.forward(args)}"]


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
    local: Callable[[str], str] = str  # a fresh local variable of `forward`, when it is emitted
    # a recurrent layer with `return_state` -> the variables its final states are in,
    # PyTorch's (h_n, c_n), each (directions, batch, units); set when it is emitted
    state_vars: dict[str, list[str]] = field(default_factory=dict)
    ports_read: frozenset[str] = frozenset()  # its state ports that live layers read
    output_read: bool = True  # False when only its ports are read

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

    def emit(self, graph: ModelGraph, *, standalone: bool = True) -> str:
        """The model's source: self-contained, or importing the runtime (`standalone=False`)."""
        return _Emitter(graph).emit(standalone)


class _Emitter:
    def __init__(self, graph: ModelGraph):
        self.graph = graph
        self.refused: list = []
        self.helpers: set[str] = set()
        self.attrs = module_names(graph)
        self.state_vars: dict[str, list[str]] = {}

        self.mask_vars: dict[str, str] = {}  # a mask's owner (specc.masks) -> its variable

    def emit(self, standalone: bool = True) -> str:
        graph = self.graph
        nodes = [n for n in graph.order if n.name in graph.live]
        inputs = [n for n in nodes if n.op == "input"]
        layers = [n for n in nodes if n.op != "input"]
        owners = held(graph)  # the layers whose modules hold weights (`shares:` reuses them)
        lowered = {n.name: self.lower(n) for n in dict.fromkeys([*owners, *layers])}
        if self.refused:
            raise EmitError(self.refused)
        helper_names = set(_helper_sources())
        names = self.names = Namespace({"self", "_", *IMPORTS, *helper_names})
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
                for node in owners:
                    module = lowered[node.name].module
                    if module is not None:
                        attr = self.attrs[node.name]
                        note = f"  # spec layer {node.name}" if attr != node.name else ""
                        stmt = f"self.{attr} = {module}"
                        if note and 8 + len(stmt) + len(note) > LINE_LENGTH:
                            body.line(note.strip())
                            note = ""
                        body.lines(_wrap(stmt, 8, note))
                body.line("self.reset_parameters()")
            body.line("")
            self._reset_parameters(body, owners, lowered)
            body.line("")
            body.lines(_signature([var[n.name] for n in inputs]))
            with body.indent():
                fed = self._cast_half_inputs(body, inputs, var)
                for node in layers:
                    args = [fed.get(s, var[s]) for s in node.inputs]
                    var[node.name] = names.name(node.name)
                    self._forward(body, node, lowered[node.name], args, var[node.name])
                outs = [var[o] for o in graph.outputs]
                body.lines(_wrap(f"return {', '.join(outs)}", 8))
            stateful = [self.attrs[n.name] for n in owners if n.attrs.get("stateful")]
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
        chunks = [body.text()]
        runtime = []
        if standalone:
            used = _closure(self.helpers)
            chunks = [helpers[name] for name in helpers if name in used] + chunks
        elif self.helpers:
            names = ", ".join(sorted(self.helpers))
            runtime = _wrap(f"from {RUNTIME} import {names}", 0)
            if len(runtime) > 1:
                runtime = _wrap(f"from {RUNTIME} import ({names})", 0)
        code = "\n\n\n".join(c.rstrip("\n") for c in chunks) + "\n"
        bound = {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}
        out = CodeWriter()
        out.lines(header(graph, BACKEND))
        out.line("")
        # one block, sorted as isort sorts it where specc is a third-party package
        imports = [line for name, line in IMPORTS.items() if name in bound]
        plain = [line for line in imports if line.startswith("import ")]
        out.lines([*plain, *runtime, *(line for line in imports if line not in plain)])
        out.line("")
        out.line("")
        out.lines(code.splitlines())
        return out.text()

    def _cast_half_inputs(self, body: CodeWriter, inputs: list[Node], var: dict) -> dict[str, str]:
        """float16 and bfloat16 inputs become float32 where they enter, as Keras's layers
        cast them: every op computes in float32 (mixed precision is autocast's job).
        Returns the variable each cast input's readers use; an input that is also an
        output is returned as it came."""
        fed = {}
        for node in inputs:
            if node.attrs["dtype"] not in HALF_DTYPES:
                continue
            source = var[node.name]
            target = (
                self.names.name(f"{node.name}_float32")
                if node.name in self.graph.outputs
                else source
            )
            body.line(f"{target} = {source}.float()")
            fed[node.name] = target
        return fed

    def _reset_parameters(self, body: CodeWriter, layers: list[Node], lowered: dict) -> None:
        """`reset_parameters`: each child's own, then Keras's initial recurrent biases."""
        groups: dict[tuple, list[str]] = {}
        for node in layers:
            init = lowered[node.name].init
            if init is not None:
                groups.setdefault(init, []).append(f"self.{self.attrs[node.name]}")
        body.line("def reset_parameters(self):")
        with body.indent():
            if groups:
                body.line(f'"""{RESET_DOC}, and Keras\'s initial recurrent biases."""')
            else:
                body.line(f'"""{RESET_DOC}."""')
            body.line("for layer in self.children():")
            with body.indent():
                body.line('if hasattr(layer, "reset_parameters"):')
                with body.indent():
                    body.line("layer.reset_parameters()")
            if not groups:
                return
            body.line("with torch.no_grad():  # Keras's biases start at zero")
            with body.indent():
                for (mode, forget), attrs in groups.items():
                    loop = mode.lower()
                    items = ", ".join(attrs) + ("," if len(attrs) == 1 else "")
                    body.lines(_wrap(f"for {loop} in ({items}):", 12))
                    with body.indent():
                        body.line(f"for name, bias in {loop}.named_parameters():")
                        with body.indent():
                            body.line('if name.startswith("bias"):')
                            with body.indent():
                                body.line("bias.zero_()")
                            if forget:
                                body.line('if name.startswith("bias_ih"):  # gates i, f, g, o')
                                with body.indent():
                                    body.line(f"bias.chunk(4)[1].fill_({number(forget)})")

    def _forward(self, body: CodeWriter, node: Node, lowered: Lowered, args, out) -> None:
        """The statements of one layer in `forward`, the last one with its spec line and shape."""
        comment = f"# line {node.span().line}: {show(node.meta['shape'])}"
        lines = lowered.code(args, out)
        *first, stmt = lines
        if 8 + len(stmt) + 2 + len(comment) <= LINE_LENGTH:
            for line in first:
                body.lines(_wrap(line, 8))
            body.line(f"{stmt}  {comment}")
        elif not first and 8 + len(stmt) > LINE_LENGTH and lowered.steps is not None:
            x = args[0]
            body.line(comment)
            fold, note = f"{out} = {x}.flatten(0, 1)", "  # time folded into the batch"
            if 8 + len(fold) + len(note) > LINE_LENGTH:
                body.line(note.strip())
                note = ""
            body.lines(_wrap(fold, 8, note))
            unfold = f"{_atom(lowered.steps(out))}.unflatten(0, {x}.shape[:2])"
            body.lines(_wrap(f"{out} = {unfold}", 8))
        else:
            body.line(comment)
            for line in lines:
                body.lines(_wrap(line, 8))

    # lowering --------------------------------------------------------------

    def lower(self, node: Node) -> Lowered:
        if node.op == STATE:
            return self._port(node)
        shapes = [self.graph.node(s).meta["shape"] for s in node.inputs]
        layer = Layer(
            node,
            node.op,
            node.attrs,
            shapes,
            node.meta["shape"],
            f"self.{self.attrs[node.name]}",
            self.graph.spec.dims,
            refused=self.refused,
            batch_size=self.graph.spec.batch_size,
            local=lambda wanted: self.names.name(wanted),
            state_vars=self.state_vars,
            **self._reads(node),
        )
        lowered = _with_masks(self, layer, _lower(layer))
        self.helpers.update(lowered.helpers)
        return lowered

    def _reads(self, node: Node) -> dict:
        """Which of a recurrent layer's results live layers read: its ports, its output."""
        graph = self.graph
        if not node.attrs.get("return_state"):
            return {}
        readers = [graph.node(r) for r in graph.graph.successors(node.name) if r in graph.live]
        ports = frozenset(r.attrs["port"] for r in readers if r.op == STATE)
        output = node.name in graph.outputs or any(r.op != STATE for r in readers)
        return {"ports_read": ports, "output_read": output}

    def _port(self, node: Node) -> Lowered:
        """A final state of a recurrent layer: one direction of PyTorch's (directions,
        batch, units) state, or both concatenated (forward first)."""
        layer = self.graph.node(node.inputs[0])
        part, _, direction = node.attrs["port"].partition("_")

        def forward(x: list[str]) -> str:
            state = self.state_vars[layer.name][state_parts(layer.op).index(part)]
            if direction or not layer.attrs["bidirectional"]:
                return f"{state}[{int(direction == 'backward')}]"
            return f"torch.cat([{state}[0], {state}[1]], -1)"

        return Lowered(None, forward)


def _unpack(layer: Layer, out: str, value: str, *, pair: bool, need: str = "") -> list[str]:
    """`out, (out_h_n, out_c_n) = value`: a recurrent layer's call, its final states (with
    `return_state`) unpacked in PyTorch's layout, (directions, batch, units), and `_`
    for what nothing reads (`need` names a state the caller reads itself); by index when
    the names do not fit on one line. `pair`: the call returns (output, state) even
    without `return_state`, as a fused layer does."""
    first = out if layer.output_read else "_"
    if not layer.attrs.get("return_state"):
        return [f"{first}, _ = {value}"] if pair else [f"{first} = {value}"]
    read = {port.partition("_")[0] for port in layer.ports_read} | {need}
    parts = state_parts(layer.op)
    names = [layer.local(f"{out}_{part}_n") if part in read else "_" for part in parts]
    layer.state_vars[layer.node.name] = names
    states = f"({', '.join(names)})" if len(names) > 1 else names[0]
    if 8 + len(f"{first}, {states} = (") <= LINE_LENGTH:
        return [f"{first}, {states} = {value}"]
    results = layer.local(f"{out}_results")
    lines = [f"{results} = {value}"]
    if first != "_":
        lines.append(f"{out} = {results}[0]")
    for index, name in enumerate(names):
        if name != "_":
            lines.append(f"{name} = {results}[1]" + (f"[{index}]" if len(names) > 1 else ""))
    return lines


def _input_dropout(attrs: dict, source: str, out: str) -> tuple[list[str], str]:
    """(statements, the variable the layer then reads): Keras's input dropout, one mask
    for all time steps (`nn.LSTM`'s own `dropout` is between stacked layers)."""
    if not attrs["dropout"]:
        return [], source
    ones = f"torch.ones_like({source}[:, :1])"
    rate = number(attrs["dropout"])
    return [f"{out} = {source} * F.dropout({ones}, {rate}, self.training)"], out


def _initial_state(layer: Layer, x: list[str], out: str) -> tuple[list[str], list[str]]:
    """(statements, call arguments) for the state a recurrent layer starts from:
    `initial_state`'s (batch, units) tensors stacked into PyTorch's (directions, batch,
    units), in `out_state` (an LSTM's a pair, (h_0, c_0))."""
    count = initial_states(layer.node)
    if not count:
        return [], []
    states, parts = x[-count:], state_parts(layer.op)
    stacked = [f"torch.stack([{', '.join(states[i :: len(parts)])}])" for i in range(len(parts))]
    name = layer.local(f"{out}_state")
    return [f"{name} = {', '.join(stacked)}"], [name]


def _lower(layer: Layer) -> Lowered:
    rule = LOWERINGS.get(layer.op)
    if rule is None:
        layer.refuse(f"the op `{layer.op}`", "no PyTorch lowering exists for it")
        return Lowered(None, lambda args: "None")
    return rule(layer)


def _recurrent(layer: Layer) -> Lowered:
    """A plain fused layer when Keras's settings allow; else a runtime helper."""
    a, op = layer.attrs, layer.op
    variant = variant_of(a)
    relu_rnn = op == "rnn" and a["activation"] == "relu"
    activation = None if a["activation"] == "tanh" or relu_rnn else a["activation"]
    gate = a.get("recurrent_activation", "sigmoid")
    gate = None if op == "rnn" or gate == "sigmoid" else gate
    reset_before = op == "gru" and not a["reset_after"]
    forget = None
    if op == "lstm" and a["use_bias"] and variant.has_bias and variant.own_forget_gate:
        forget = a.get("forget_bias")
        if forget is None:
            forget = 1.0 if a.get("unit_forget_bias", True) else 0.0
        forget = float(forget)
    stepped = stepped_settings(op, a)  # W502's settings: what no fused layer has
    if variant.name == "standard" and not stepped and not a["stateful"]:
        return _fused(layer, forget, relu_rnn)

    args = [str(layer.in_shapes[0][-1]), str(a["units"])]
    # without peepholes, nig, nfg, nog, cifg (and peephole) are a fused LSTM's weights
    fused = variant.fused and not stepped_settings(op, {**a, "variant": "standard"})
    if variant.name != "standard" and fused:
        cls = "FusedLSTMVariant"
        args.append(f'gates="{variant.gates}"')
        if variant.coupled_forget:
            args.append("coupled_forget=True")
    elif variant.name != "standard":
        cls = "LSTMVariant"
        args += [f'gates="{variant.gates}"', f'peepholes="{variant.peepholes}"']
        for flag in ("coupled_forget", "gate_recurrence", "layer_norm"):
            if getattr(variant, flag):
                args.append(f"{flag}=True")
        for flag in ("input_activation", "output_activation"):
            if not getattr(variant, flag):
                args.append(f"{flag}=False")
    elif stepped:
        cls = "StepByStep"
        args.insert(0, f'"{RECURRENT[op]}"')
        if relu_rnn:
            activation = "relu"
    else:
        cls = f"Keras{RECURRENT[op]}"
        if relu_rnn:
            args.append('nonlinearity="relu"')
    if a["bidirectional"]:
        args.append("bidirectional=True")
        if a["merge_mode"] != "concat":
            args.append(f'merge_mode="{a["merge_mode"]}"')
    if not a["use_bias"]:
        args.append("bias=False")
    if reset_before:
        args.append("reset_after=False")
    if a["return_sequences"]:
        args.append("return_sequences=True")
    if a["dropout"]:
        args.append(f"dropout={number(a['dropout'])}")
    if forget is not None and forget != 1.0:
        args.append(f"forget_bias={number(forget)}")
    if a["stateful"]:  # named: the layer's messages say which one
        args += [f"stateful_batch={layer.batch_size}", f'name="{layer.node.name}"']
    if activation:
        args.append(f"activation={function(activation)}")
    if gate:
        args.append(f"recurrent_activation={function(gate)}")
    if a["recurrent_dropout"]:
        args.append(f"recurrent_dropout={number(a['recurrent_dropout'])}")
        if op != "rnn" and a["recurrent_dropout_mode"] != "state":
            args.append(f'recurrent_dropout_mode="{a["recurrent_dropout_mode"]}"')
    if not a.get("return_state") and not initial_states(layer.node):
        return Lowered(call(cls, args), lambda x: f"{layer.attr}({x[0]})", (cls,))
    if a.get("return_state"):
        args.append("return_state=True")
    return Lowered(
        call(cls, args),
        statements=lambda x, out: _runtime_call(layer, x, out),
        helpers=(cls,),
    )


def _runtime_call(layer: Layer, x: list[str], out: str, mask: str = "") -> list[str]:
    """A runtime recurrent layer's call, from its initial states, on a masked sequence
    when `mask` names one; with `return_state`, its final states unpacked too."""
    lines, state = _initial_state(layer, x, out)
    value = call(layer.attr, [x[0], *state, *([f"mask={mask}"] * bool(mask))])
    return [*lines, *_unpack(layer, out, value, pair=False)]


def _fused(layer: Layer, forget: float | None, relu: bool) -> Lowered:
    """`nn.LSTM`/`nn.GRU`/`nn.RNN`, batch first, with Keras's dropout and outputs inline."""
    a, units = layer.attrs, layer.attrs["units"]
    args = [str(layer.in_shapes[0][-1]), str(units)]
    if relu:
        args.append('nonlinearity="relu"')
    if not a["use_bias"]:
        args.append("bias=False")
    args.append("batch_first=True")
    if a["bidirectional"]:
        args.append("bidirectional=True")
    mode = RECURRENT[layer.op]

    def statements(x: list[str], out: str) -> list[str]:
        lines, source = _input_dropout(a, x[0], out)
        starts, state = _initial_state(layer, x, out)
        lines += [*starts, *_unpack(layer, out, call(layer.attr, [source, *state]), pair=True)]
        if not layer.output_read:  # only its states are read
            return lines
        if a["bidirectional"]:
            if a["return_sequences"]:  # each step: both directions' outputs at that step
                halves = f"{out}[..., :{units}]", f"{out}[..., {units}:]"
            else:  # each direction's last step: the backward one's is at t = 0
                halves = f"{out}[:, -1, :{units}]", f"{out}[:, 0, {units}:]"
            if a["return_sequences"] and a["merge_mode"] == "concat":
                return lines
            lines.append(f"{out} = {MERGES[a['merge_mode']].format(*halves)}")
        elif not a["return_sequences"]:
            lines.append(f"{out} = {out}[:, -1]")
        return lines

    init = (mode, forget) if a["use_bias"] else None
    return Lowered(call(f"nn.{mode}", args), statements=statements, init=init)


def _gated_feedback(layer: Layer) -> Lowered:
    """The runtime's `GatedFeedback` (PyTorch has none), its settings where not the defaults."""
    a = layer.attrs
    args = [str(layer.in_shapes[0][-1]), str(a["units"]), str(a["layers"]), f'cell="{a["cell"]}"']
    if not a["use_bias"]:
        args.append("bias=False")
    if a["return_sequences"]:
        args.append("return_sequences=True")
    if a["activation"] != "tanh":
        args.append(f"activation={function(a['activation'])}")
    if a["recurrent_activation"] != "sigmoid":
        args.append(f"recurrent_activation={function(a['recurrent_activation'])}")
    cls = "GatedFeedback"
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
        layer.local,
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
    if lowered.statements is not None:  # time folded into the batch, the layer, unfolded

        def statements(x: list[str], out: str) -> list[str]:
            steps = layer.local(f"{out}_steps")
            fold = f"{steps} = {x[0]}.flatten(0, 1)"
            unfold = f"{out} = {out}.unflatten(0, {x[0]}.shape[:2])"
            return [fold, *lowered.statements([steps], out), unfold]

        return replace(lowered, statements=statements)

    def forward(x: list[str]) -> str:
        folded = _atom(lowered.forward([f"{x[0]}.flatten(0, 1)"]))
        return f"{folded}.unflatten(0, {x[0]}.shape[:2])"

    return replace(lowered, forward=forward, steps=lambda v: lowered.forward([v]))


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
    """`target_shape` in numbers: a named dim by its size (validation refuses a variable one)."""
    target = [layer.dims[v] if isinstance(v, str) else v for v in layer.attrs["target_shape"]]
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


def _layer_norm(layer: Layer) -> Lowered:
    a = layer.attrs
    args = [str(layer.in_shapes[0][-1]), f"eps={number(a['epsilon'])}"]
    cls, helpers = "nn.LayerNorm", ()
    if a["center"] and not a["scale"]:  # a shift without a gain: PyTorch's flags lack it
        cls, helpers = "LayerNorm", ("LayerNorm",)
    elif not a["scale"]:
        args.append("elementwise_affine=False")
    elif not a["center"]:
        args.append("bias=False")
    return Lowered(call(cls, args), lambda x: f"{layer.attr}({x[0]})", helpers)


def _batch_norm(layer: Layer) -> Lowered:
    a = layer.attrs
    args = [
        str(layer.in_shapes[0][-1]),
        f"eps={number(a['epsilon'])}",
        f"momentum={number(1 - a['momentum'])}",
    ]
    if not a["scale"]:
        args.append("scale=False")
    if not a["center"]:
        args.append("center=False")
    return Lowered(call("BatchNorm", args), lambda x: f"{layer.attr}({x[0]})", ("BatchNorm",))


def _activation(layer: Layer) -> Lowered:
    return Lowered(None, lambda x: activate(layer.attrs["activation"], x[0]))


def _timestep_attention(layer: Layer) -> Lowered:
    steps = layer.in_shapes[0][1]
    act = layer.attrs["activation"]

    def statements(x: list[str], out: str) -> list[str]:
        scores = activate(act, f"{layer.attr}({x[0]}.transpose(1, 2))")
        return [f"{out} = {scores}", f"{out} = {x[0]} * {out}.transpose(1, 2)"]

    return Lowered(f"nn.Linear({steps}, {steps})", statements=statements)


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


def _masking(layer: Layer) -> Lowered:
    """Without its mask (see `_with_masks`): the steps equal to `mask_value` zeroed."""
    value = number(float(layer.attrs["mask_value"]))
    keep = f"({{}} != {value}).any(-1, keepdim=True)"
    return Lowered(None, lambda x: f"{x[0]} * {keep.format(x[0])}")


LOWERINGS: dict[str, Callable[[Layer], Lowered]] = {
    "lstm": _recurrent,
    "gru": _recurrent,
    "rnn": _recurrent,
    "gated_feedback": _gated_feedback,
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
    "masking": _masking,
}


# masks (specc.masks) -----------------------------------------------------------
# A mask is a boolean (batch, time) variable of `forward`, True at the steps that count,
# made where the mask is made (`tokens_mask = tokens != 0`) and named after that layer.
EXTREMA = {"maximum": "torch.maximum", "minimum": "torch.minimum"}
MASKED_POOLS = {
    "global_avg_pool": "masked_mean",
    "global_max_pool": "masked_max",
    "last_step": "last_unmasked",
}


def _mask_var(emitter: _Emitter, mask) -> str:
    """The variable that holds a mask, named after the layer that makes it."""
    if mask.owner not in emitter.mask_vars:
        emitter.mask_vars[mask.owner] = emitter.names.name(f"{mask.owner}_mask")
    return emitter.mask_vars[mask.owner]


def _with_masks(emitter: _Emitter, layer: Layer, lowered: Lowered) -> Lowered:
    """The lowering, changed where the layer makes a mask or reads a masked sequence."""
    node, graph = layer.node, emitter.graph
    masks = [graph.node(name).meta.get("mask") for name in node.inputs]
    out_mask = node.meta.get("mask")

    def var(mask) -> str:
        return _mask_var(emitter, mask)

    if node.op == "embedding" and makes_mask(node):
        return replace(
            lowered,
            statements=lambda x, out: [f"{var(out_mask)} = {x[0]} != 0", *lowered.code(x, out)],
            steps=None,
        )
    if node.op == "masking":
        value = number(float(layer.attrs["mask_value"]))

        def masking(x: list[str], out: str) -> list[str]:
            made = f"{var(out_mask)} = ({x[0]} != {value}).any(-1)"
            return [made, f"{out} = {x[0]} * {var(out_mask)}.unsqueeze(-1)"]

        return replace(lowered, statements=masking)
    if not any(masks):
        return lowered
    first = masks[0]
    if is_recurrent(node.op) and first is not None:
        if not lowered.module.startswith("nn."):  # a runtime layer: it masks in its loop
            return replace(
                lowered,
                forward=None,
                statements=lambda x, out: _runtime_call(layer, x, out, var(first)),
            )
        return replace(lowered, statements=_packed(layer, lambda: var(first)), helpers=("packed",))
    if node.op == "gated_feedback" and first is not None:  # it masks in its loop
        return replace(lowered, forward=lambda x: f"{layer.attr}({x[0]}, mask={var(first)})")
    if node.op in MASKED_POOLS and first is not None:
        helper = MASKED_POOLS[node.op]
        return Lowered(None, lambda x: f"{helper}({x[0]}, {var(first)})", (helper,))
    if node.op in ("attention", "multi_head_attention"):
        return replace(lowered, forward=_attention_masks(layer, masks, var))
    if node.op in EXTREMA:
        func = EXTREMA[node.op]

        def extremum(x: list[str]) -> str:
            given = ", ".join("None" if m is None else var(m) for m in masks)
            return f"masked_merge({func}, [{', '.join(x)}], [{given}])"

        lowered = Lowered(None, extremum, ("masked_merge",))
    if combined_here(node):
        return replace(lowered, statements=_combine(node, lowered, masks, var), steps=None)
    return lowered


def _attention_masks(layer: Layer, masks: list, var) -> Callable:
    """Keras's attention layers read the query's and the value's masks (and, for
    `multi_head_attention`, a separate key's); a self-attention's value is its query."""
    roles = ["query_mask", "value_mask", "key_mask"]
    if layer.op == "attention":
        roles = roles[:2]  # Keras's `Attention` uses no key mask
    if len(masks) == 1:  # self-attention: the value is the query
        masks = masks * 2

    def forward(x: list[str]) -> str:
        given = [f"{role}={var(m)}" for role, m in zip(roles, masks, strict=False) if m is not None]
        return call(layer.attr, [*x, *given])

    return forward


def _combine(node: Node, lowered: Lowered, masks: list, var) -> Callable:
    """A merge's statements, then the mask it makes from its inputs' (as Keras 3 does)."""

    def statements(x: list[str], out: str) -> list[str]:
        made = var(node.meta["mask"])
        owners = [var(m) for m in dict.fromkeys(m for m in masks if m is not None)]
        rank = len(node.meta["shape"])
        if node.op != "concatenate":  # a step counts where any input counts
            mask = " | ".join(owners)
        elif node.attrs.get("axis", -1) % rank == 1:  # joined along time
            parts = [
                f"{v}.new_ones({v}.shape[:2], dtype=torch.bool)" if m is None else var(m)
                for v, m in zip(x, masks, strict=True)
            ]
            mask = f"torch.cat([{', '.join(parts)}], 1)"
        else:  # joined along features: a step counts where every masked input counts
            mask = " & ".join(owners)
        return [*lowered.code(x, out), f"{made} = {mask}"]

    return statements


def _packed(layer: Layer, mask: Callable[[], str]) -> Callable:
    """A fused layer on a masked sequence: packed by the mask's lengths (cuDNN kept).

    `packed` (runtime.py) gives the padded outputs (zeros at masked steps) and
    each direction's final state, at each row's last unmasked step (the
    backward direction's at t = 0), as Keras's masked layers return them.
    """
    a, units = layer.attrs, layer.attrs["units"]

    def statements(x: list[str], out: str) -> list[str]:
        lines, source = _input_dropout(a, x[0], out)
        starts, state = _initial_state(layer, x, out)
        lines += starts
        run = call("packed", [layer.attr, source, mask(), *state])
        if a["return_sequences"]:
            lines += _unpack(layer, out, run, pair=True)
            halves = f"{out}[..., :{units}]", f"{out}[..., {units}:]"
            if a["bidirectional"] and a["merge_mode"] != "concat" and layer.output_read:
                lines.append(f"{out} = {MERGES[a['merge_mode']].format(*halves)}")
            return lines
        if a.get("return_state"):  # the output is h of the final state, which is kept
            need = "h" if layer.output_read else ""
            lines += _unpack(replace(layer, output_read=False), out, run, pair=True, need=need)
            if not layer.output_read:
                return lines
            h = layer.state_vars[layer.node.name][0]
        else:
            h = out
            final = f"({out}, _)" if layer.op == "lstm" else out  # h: (directions, batch, units)
            lines.append(f"_, {final} = {run}")
        if a["bidirectional"]:
            lines.append(f"{out} = {MERGES[a['merge_mode']].format(f'{h}[0]', f'{h}[1]')}")
        else:
            lines.append(f"{out} = {h}[0]")
        return lines

    return statements


# source layout ----------------------------------------------------------------


def _wrap(stmt: str, indent: int, comment: str = "") -> list[str]:
    """A statement split to fit, as `ruff format` splits it (`specc.codegen.wrap`).

    A call's arguments go on one line of their own when that fits, else one per
    line. A `for` header's tuple or an import's names always go one per line,
    as ruff splits those. `comment` is a trailing comment.
    """
    if indent + len(stmt) + len(comment) <= LINE_LENGTH:
        return [stmt + comment]
    if stmt.endswith("):"):  # `for x in (a, b):` / `from m import (a, b)`
        head, _, inner = stmt[:-2].partition("(")
        items = [f"    {item}," for item in split_args(inner)]
        return [f"{head}(", *items, f"):{comment}"]
    if stmt.endswith(")") and " import (" in stmt:
        head, _, inner = stmt[:-1].partition("(")
        return [f"{head}(", *(f"    {item}," for item in split_args(inner)), ")"]
    prefix, sep, expr = stmt.partition(" = ")
    if not sep:
        prefix, expr = "", stmt
        if stmt.startswith("return "):
            prefix, expr = "return ", stmt[len("return ") :]
    return wrap(prefix + sep, parse_expr(expr), indent, comment)


def _atom(expr: str) -> str:
    """The expression, parenthesised when an operator outside brackets would bind a method call."""
    depth = 0
    for ch in expr:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(ch, 0)
        if ch == " " and depth == 0:
            return f"({expr})"
    return expr


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
    """The top-level definitions of _layout.py and runtime.py, by name, in file order."""
    found = {}
    for file in ("_layout.py", "runtime.py"):
        source = Path(__file__).with_name(file).read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef):
                found[node.name] = ast.get_source_segment(source, node)
    return found


@cache
def _helper_deps() -> dict[str, set[str]]:
    """The other runtime definitions each one names (its bases included)."""
    sources = _helper_sources()
    return {
        name: {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)} & set(sources)
        for name, text in sources.items()
    }


def _closure(names: set[str]) -> set[str]:
    """The helpers named and every helper they need, directly or not."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(_helper_deps()[name])
    return found
