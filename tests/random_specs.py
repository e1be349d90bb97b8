"""Random valid specs for the differential test: seeded, covering every op of the op table.

`random_spec(seed)` returns the YAML text of one spec that specc should accept:
chains and DAGs of every op in `specc.optable.OPS` (merges, attention with
several inputs, `time_distributed` of each wrappable op), recurrent layers
with random settings (bidirectional modes, LSTM variants, stateful layers
under a fixed batch size), blocks with parameters, nesting and `repeat`,
variable and named dims, integer ids into `embedding`, several inputs and
outputs, shared layers (`shares:` on another input that fits the root's
weights, naming a layer above or below, in blocks, chained and repeated). The
generator tracks its own shapes and dtypes to pick only valid layers,
independently of specc's shape rules: a spec specc refuses is a bug in one of
the two. Every op has a maker in `MAKERS`; an op added to the table
without one fails `test_random_specs` loudly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod

from specc.optable import OPS
from specc.schema_file import VALUE_TYPES
from specc.variants import VARIANTS

ACTIVATIONS = VALUE_TYPES["activation"]["enum"]
WRAPPABLE = [name for name, op in OPS.items() if op.wrappable]
# Ops drawn more often: they have the most settings (or wrap the others).
FAVOURED = ["time_distributed"] * 3 + ["lstm"] * 2
# Wrapped ops whose step must be a sequence (batch, T, F): the input is 4-D.
STEP_RANK_2 = {"lstm", "gru", "rnn", "conv1d", "global_avg_pool", "global_max_pool", "last_step"}
STEP_RANK_2 |= {"gated_feedback"}
YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}
MAX_LAYERS = 14  # per scope: keeps a graph small enough to build and train in well under 1 s


def enum(op: str, attr: str) -> list:
    """An attribute's allowed values, read from the op table."""
    return next(a.type["enum"] for a in OPS[op].attrs if a.name == attr)


class Invalid(Exception):
    """A maker cannot apply to the value it was given (the generator tries another)."""


@dataclass(frozen=True)
class Value:
    """A tensor of the graph as the generator sees it: batch excluded.

    A dim is an int, or a tuple naming a variable size: ("S",) for a named
    dim, ("anon", k) for a null in an input shape, and the same expressions
    specc builds ("add", a, b), ("mul", a, b), ("valid", L, span, stride),
    ("ceil", L, stride), plus ("unknown", k) for an axis reshape infers.
    """

    name: str
    shape: tuple
    dtype: str

    @property
    def is_int(self) -> bool:
        return self.dtype.startswith("int")

    @property
    def rank(self) -> int:
        return len(self.shape)


def static(dim) -> bool:
    return isinstance(dim, int)


@dataclass
class Made:
    """What a maker decided: the layer's op, attributes, sources and result."""

    op: str
    attrs: dict
    inputs: list[Value]
    shape: tuple
    dtype: str = "float32"
    repeatable: bool = False  # applied to its own result, it gives the same shape again


@dataclass
class Model:
    """The spec-level state every scope shares."""

    rng: random.Random
    dims: dict = field(default_factory=dict)
    batch_size: int | None = None
    blocks: dict = field(default_factory=dict)  # name -> (signature, result, repeatable, values)
    definitions: dict = field(default_factory=dict)  # name -> the block as written
    counter: int = 0

    def fresh(self) -> int:
        self.counter += 1
        return self.counter


class Scope:
    """One namespace of layers: the model's, or a block's body."""

    def __init__(self, model: Model, pool: list[Value], depth: int, prefix: str):
        self.model = model
        self.rng = model.rng
        self.pool = list(pool)
        self.layers: list[dict] = []
        self.depth = depth
        self.prefix = prefix
        # name -> the Made of the layer holding its weights: the layers a later one may share
        self.shareable: dict[str, Made] = {}
        # name -> a recurrent layer with `return_state`: what `initial_state: NAME` may name
        self.state_sources: dict[str, Made] = {}

    # -- adding layers --------------------------------------------------------------

    def add(self, made: Made, repeat: int = 1, name: str | None = None) -> Value:
        name = name or f"{self.prefix}{len(self.layers)}"
        layer = {"name": name, "op": made.op}
        sources = [v.name for v in made.inputs]
        above = self.layers[-1]["name"] if self.layers else None
        first_of_one = not self.layers and len(self.pool) == 1
        reads_above = len(sources) == 1 and (sources[0] == above or first_of_one)
        if not (reads_above and self.rng.random() < 0.5):  # else the default rule
            layer["inputs"] = sources[0] if len(sources) == 1 else sources
        layer.update(made.attrs)
        if repeat > 1:
            layer["repeat"] = repeat
        self.layers.append(layer)
        value = Value(name, made.shape, made.dtype)
        self.pool += [*_ports(name, made.op, made.attrs), value]  # the layer itself last
        if made.attrs.get("return_state"):
            self.state_sources[name] = made
        if repeat == 1 and shareable(made):
            self.shareable[name] = made
        return value

    def apply(self, maker: Callable, x: Value, **kw) -> Value:
        return self.add(maker(self, x, **kw))

    def pick(self, want: Callable[[Value], bool]) -> Value | None:
        found = [v for v in self.pool if want(v)]
        return self.rng.choice(found) if found else None

    # -- coercions: make a value fit what an op needs ---------------------------------

    def floating(self, x: Value) -> Value:
        if not x.is_int:
            return x
        if x.rank > 4:
            raise Invalid
        return self.apply(make_embedding, x)

    def vector(self, x: Value) -> Value:
        """(batch, F), any dtype."""
        if x.rank == 1:
            return x
        if x.rank == 2 and self.rng.random() < 0.5:
            return self.apply(MAKERS["last_step"], x)
        return self.apply(make_flatten, x)

    def sequence(self, x: Value, static_features: bool = True) -> Value:
        """(batch, T, F), floating, F static when asked."""
        x = self.rank2(self.floating(x))
        if static_features and not static(x.shape[-1]):
            x = self._static_last(x)
        return x

    def rank2(self, x: Value) -> Value:
        """(batch, T, F), any dtype."""
        if x.rank == 1:
            return self.apply(make_repeat_vector, x)
        if x.rank == 2:
            return x
        flat = (x.shape[0], flat_dim(x.shape[1:]))
        return self.add(Made("time_distributed", {"layer": {"op": "flatten"}}, [x], flat, x.dtype))

    def _static_last(self, x: Value) -> Value:
        if static(x.shape[0]):  # swap the axes
            return self.add(Made("permute", {"dims": [2, 1]}, [x], x.shape[::-1], x.dtype))
        raise Invalid

    def features(self, x: Value, ranks=(1, 2, 3, 4)) -> Value:
        """Floating, of one of `ranks`, with a static last axis."""
        x = self.floating(x)
        if x.rank not in ranks:
            x = self.vector(x) if 1 in ranks else self.sequence(x)
        if not static(x.shape[-1]):
            if x.rank == 2:
                x = self._static_last(x)
            else:
                raise Invalid
        return x

    def partner(self, x: Value, axis: int | None = None) -> Value:
        """Another floating value shaped like `x`, except on `axis` (a shape index)."""
        if axis is not None:
            others = [
                v
                for v in self.pool
                if not v.is_int
                and v.rank == x.rank
                and all(
                    a == b
                    for i, (a, b) in enumerate(zip(v.shape, x.shape, strict=True))
                    if i != axis
                )
            ]
            if others and self.rng.random() < 0.7:
                return self.rng.choice(others)
        same = [v for v in self.pool if v.shape == x.shape and not v.is_int and v is not x]
        if same and self.rng.random() < 0.6:
            return self.rng.choice(same)
        if self.rng.random() < 0.1:
            return x  # a merge may read one value twice
        if static(x.shape[-1]) and (axis is None or axis != x.rank - 1):
            width = x.shape[-1]
            cousins = [
                v
                for v in self.pool
                if not v.is_int and v.shape[:-1] == x.shape[:-1] and static(v.shape[-1])
            ]
            source = self.rng.choice(cousins) if cousins else x
            return self.add(
                Made("dense", {"units": width}, [source], (*x.shape[:-1], width), "float32")
            )
        op = self.rng.choice(["activation", "dropout"])
        attrs = {"activation": "tanh"} if op == "activation" else {"rate": 0.25}
        return self.add(Made(op, attrs, [x], x.shape, "float32"))  # half computes in float32

    # -- one random step ------------------------------------------------------------

    def step(self) -> Value | None:
        """Add one op (and whatever it needs first); None when ten tries all failed."""
        ops = [*MAKERS, *FAVOURED] + (["block"] * 3 if self.depth < 2 else [])
        ops += ["share"] * 6 if self.shareable else []
        ops += ["decoder"] * 3 if self.state_sources else []
        for _ in range(10):
            op = self.rng.choice(ops)
            recent = self.pool[-1]
            x = recent if self.rng.random() < 0.6 else self.rng.choice(self.pool)
            mark = (len(self.layers), len(self.pool), set(self.model.definitions))
            try:
                if op == "block":
                    return self.block(x)
                if op == "share":
                    return self.share()
                if op == "decoder":  # a layer of the same kind, from a layer's final states
                    source = self.rng.choice(list(self.state_sources))
                    kind = self.state_sources[source].op
                    made = MAKERS[kind](self, x, states_from=source)
                else:
                    made = MAKERS[op](self, x)
            except Invalid:
                del self.layers[mark[0] :], self.pool[mark[1] :]
                kept = {layer["name"] for layer in self.layers}
                self.shareable = {k: v for k, v in self.shareable.items() if k in kept}
                self.state_sources = {k: v for k, v in self.state_sources.items() if k in kept}
                for name in set(self.model.definitions) - mark[2]:
                    del self.model.definitions[name], self.model.blocks[name]
                continue
            repeat = self.rng.choice([2, 3]) if made.repeatable and self.rng.random() < 0.15 else 1
            return self.add(made, repeat)
        return None

    # -- shared layers --------------------------------------------------------------

    def share(self) -> Value:
        """A layer sharing an earlier layer's weights (`shares:`), on an input that fits.

        Sometimes the two swap roles, so that the layer holding the weights is the
        later one (`shares:` names a layer below); a layer may share a sharing layer
        (specc follows it to the root), and repeat when it keeps its input's shape.
        """
        rng = self.rng
        # layers with weights (the point of sharing) drawn three times as often
        names = [n for n, made in self.shareable.items() for _ in range(1 + 2 * weighted(made))]
        target = rng.choice(names)
        root = self.shareable[target]
        x = self._fitting(root)
        shape, dtype = refit(root.op, root.attrs, root.inputs[0], x)
        repeat = 1
        if shape == x.shape and not x.is_int and rng.random() < 0.25:
            repeat = rng.choice([2, 3])
        name = f"{self.prefix}{len(self.layers)}"
        layer = {"name": name, "shares": target}
        above = self.layers[-1]["name"]
        if not (x.name == above and rng.random() < 0.5):
            layer["inputs"] = x.name
        if repeat > 1:
            layer["repeat"] = repeat
        held = next(i for i, entry in enumerate(self.layers) if entry["name"] == target)
        if repeat == 1 and "op" in self.layers[held] and rng.random() < 0.3:
            # the root is written below the layer that shares it
            old = self.layers[held]
            moved = {k: v for k, v in old.items() if k in ("name", "inputs")}
            self.layers[held] = {**moved, "shares": name}
            layer = {"name": name, **({"inputs": layer["inputs"]} if "inputs" in layer else {})}
            layer.update({k: v for k, v in old.items() if k not in ("name", "inputs")})
        self.layers.append(layer)
        value = Value(name, shape, dtype)
        self.pool.append(value)
        if repeat == 1:
            self.shareable[name] = root
        return value

    def _fitting(self, root: Made) -> Value:
        """A value `root`'s weights fit: same rank and feature size (any ids for
        `embedding`); another than the root's own input when one is at hand or can be
        made with a projection."""
        rng = self.rng
        want = root.inputs[0]
        others = [v for v in self.pool if v is not want and fits(root, v)]
        unlike = [v for v in others if v.shape != want.shape]  # another length, say
        if unlike and rng.random() < 0.7:
            return rng.choice(unlike)
        made = not want.is_int and want.rank in (1, 2) and static(want.shape[-1])
        if made and rng.random() < 0.6:  # project another value to the root's feature size
            source = rng.choice(self.pool)
            source = self.vector(self.floating(source)) if want.rank == 1 else self.sequence(source)
            width = want.shape[-1]
            if not static(source.shape[-1]):
                raise Invalid
            if source.shape[-1] != width:
                shape = (*source.shape[:-1], width)
                source = self.add(Made("dense", {"units": width}, [source], shape))
            if fits(root, source):
                return source
        return rng.choice(others) if others and rng.random() < 0.8 else want

    # -- blocks ---------------------------------------------------------------------

    def block(self, x: Value) -> Value:
        """A new block (or another instance of a fitting one), instantiated on `x`."""
        for name, (signature, out, repeatable, given) in self.model.blocks.items():
            if signature == (x.shape, x.dtype) and self.rng.random() < 0.5:
                return self._instance(name, [x], out, repeatable, given)
        sources = [x]
        if self.rng.random() < 0.25:
            sources.append(self.rng.choice(self.pool))
        local_names = ["x"] if len(sources) == 1 else ["a", "b"]
        local = [Value(n, v.shape, v.dtype) for n, v in zip(local_names, sources, strict=True)]
        body = Scope(self.model, local, self.depth + 1, "k")
        for _ in range(self.rng.randint(1, 3)):
            if body.step() is None:
                break
        if not body.layers:
            raise Invalid
        out = body.pool[-1]
        if out.name in local_names:
            raise Invalid
        repeatable = len(sources) == 1 and self._close(body, local[0], out)
        out = body.pool[-1]
        name = f"blk{self.model.fresh()}"
        definition: dict = {}
        if local_names != ["x"] or self.rng.random() < 0.3:
            definition["inputs"] = local_names
        params, given = self._params(body.layers)
        if params:
            definition["params"] = params
        definition["layers"] = body.layers
        if self.rng.random() < 0.3:
            definition["outputs"] = out.name
        if self.rng.random() < 0.15 and len(body.layers) > 1:
            # the output is not the last layer: the layers after it are dead
            definition["outputs"] = out.name
            body.layers.append({"name": f"k{len(body.layers)}_dead", "op": "flatten"})
        signature = (x.shape, x.dtype) if len(sources) == 1 else None
        self.model.blocks[name] = (signature, (out.shape, out.dtype), repeatable, given)
        self.model.definitions[name] = definition
        return self._instance(name, sources, (out.shape, out.dtype), repeatable, given)

    def _close(self, body: Scope, x: Value, out: Value) -> bool:
        """Make the body end in `x`'s shape when it can, so the block can be repeated."""
        if (out.shape, out.dtype) == (x.shape, x.dtype):
            return True
        if x.is_int or out.is_int or out.shape[:-1] != x.shape[:-1] or not static(x.shape[-1]):
            return False
        if not static(out.shape[-1]):
            return False
        back = body.add(Made("dense", {"units": x.shape[-1]}, [out], x.shape))
        if self.rng.random() < 0.5:
            body.add(Made("add", {}, [back, x], x.shape))
        return True

    def _params(self, layers: list[dict]) -> tuple[dict, dict]:
        """Turn up to two attribute values into `$param`s: (params, the instance's values)."""
        slots = []
        for layer in layers:
            if "block" in layer:
                continue
            for key, value in layer.items():
                skip = ("name", "op", "inputs", "repeat", "shares", "initial_state")
                if key in skip or isinstance(value, list):
                    continue
                if isinstance(value, dict):
                    slots += [(value, k) for k, v in value.items() if k != "op" and _scalar(v)]
                elif _scalar(value):
                    slots.append((layer, key))
        self.rng.shuffle(slots)
        params, given = {}, {}
        for i, (holder, key) in enumerate(slots[: self.rng.randint(0, 2)]):
            name = f"p{i}"
            value = holder[key]
            holder[key] = f"${name}"
            kind = self.rng.random()
            if kind < 0.4:
                params[name] = value  # the default is the value
            elif kind < 0.7:
                params[name] = None  # required
                given[name] = value
            else:
                params[name] = _other(value)  # a default the instance overrides
                given[name] = value
        return params, given

    def _instance(self, block, sources, out, repeatable, given) -> Value:
        name = f"b{len(self.layers)}"
        layer = {"name": name, "block": block}
        if not (len(sources) == 1 and self.layers and self.layers[-1]["name"] == sources[0].name):
            layer["inputs"] = [v.name for v in sources] if len(sources) > 1 else sources[0].name
        layer.update(given)
        if repeatable and self.rng.random() < 0.5:
            layer["repeat"] = self.rng.choice([2, 3])
        self.layers.append(layer)
        value = Value(name, *out)
        self.pool.append(value)
        return value


def _scalar(value) -> bool:
    return isinstance(value, bool | int | float | str)


def _other(value):
    """A different default of the same type (the instance always overrides it)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return round(value / 2, 3)
    return "relu" if value in ACTIVATIONS else value


# -- dims ----------------------------------------------------------------------------


def flat_dim(shape: tuple):
    """The size of a flattened shape, as specc folds it (left to right)."""
    total = shape[0]
    for d in shape[1:]:
        total = total * d if static(total) and static(d) else ("mul", total, d)
    return total


def sum_dim(a, b):
    return a + b if static(a) and static(b) else ("add", a, b)


def conv_length(length, kernel: int, strides: int, dilation: int, padding: str):
    """conv1d's output length, as specc folds it; Invalid when a static length is too short."""
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        if not static(length):
            return ("valid", length, span, strides)
        if length < span:
            raise Invalid
        return (length - span) // strides + 1
    if strides == 1:
        return length
    return -(-length // strides) if static(length) else ("ceil", length, strides)


# -- shared layers: the shape of a layer's op called again, on another input ------------
# Ops with weights need the root's rank and feature (last) size; `embedding` takes any
# ids; the ops without weights here take what their maker takes.
_FEATURE_OPS = {"dense", "layer_norm", "batch_norm", "lstm", "gru", "rnn", "conv1d"}
_FREE_OPS = {"dropout", "activation", "flatten"}


def refit(op: str, attrs: dict, root_in: Value, x: Value) -> tuple[tuple, str]:
    """(shape, dtype) of `op` with `attrs` (built for `root_in`) called on `x`; Invalid
    when `x` does not fit the weights or the op's rule."""
    if op == "time_distributed":
        inner = dict(attrs["layer"])
        inner_op = inner.pop("op")
        if x.rank < 2 or x.rank != root_in.rank:
            raise Invalid
        step = refit(
            inner_op,
            inner,
            Value(root_in.name, root_in.shape[1:], root_in.dtype),
            Value(x.name, x.shape[1:], x.dtype),
        )
        return (x.shape[0], *step[0]), step[1]
    if op == "embedding":
        if not x.is_int or x.rank > 4:
            raise Invalid
        return (*x.shape, attrs["output_dim"]), "float32"
    if op in _FREE_OPS:
        if op == "flatten":
            return (flat_dim(x.shape),), x.dtype
        if x.is_int:
            raise Invalid
        return x.shape, "float32"
    if op not in _FEATURE_OPS:
        raise Invalid
    last = root_in.shape[-1]
    if x.is_int or x.rank != root_in.rank or not static(last) or x.shape[-1] != last:
        raise Invalid
    if op == "dense":
        return (*x.shape[:-1], attrs["units"]), "float32"
    if op in ("layer_norm", "batch_norm"):
        return x.shape, "float32"
    if op == "conv1d":
        length = conv_length(
            x.shape[0],
            attrs["kernel_size"],
            attrs.get("strides", 1),
            attrs.get("dilation_rate", 1),
            attrs.get("padding", "valid"),
        )
        return (length, attrs["filters"]), "float32"
    width = attrs["units"]  # a recurrent layer
    if attrs.get("bidirectional") and attrs.get("merge_mode", "concat") == "concat":
        width *= 2
    return ((x.shape[0], width) if attrs.get("return_sequences") else (width,)), "float32"


def weighted(made: Made) -> bool:
    op = made.attrs["layer"]["op"] if made.op == "time_distributed" else made.op
    return op not in _FREE_OPS


def fits(root: Made, x: Value) -> bool:
    if root.attrs.get("mask_zero") and x.rank != 1:
        return False  # a mask marks time steps: (batch, time) ids only
    try:
        refit(root.op, root.attrs, root.inputs[0], x)
    except Invalid:
        return False
    return True


def shareable(made: Made) -> bool:
    """Whether a later layer may share `made`'s layer: one input, not stateful, an op
    `refit` knows; on its own input `refit` must give the maker's shape and dtype."""
    if len(made.inputs) != 1 or made.attrs.get("stateful"):
        return False
    try:
        again = refit(made.op, made.attrs, made.inputs[0], made.inputs[0])
    except Invalid:
        return False
    assert again == (made.shape, made.dtype), (made, again)  # the generator's own rules agree
    return True


# -- makers: one per op --------------------------------------------------------------
# A maker takes the scope and a value, coerces the value when it may (adding
# layers), and returns the layer it chose. `inner=True` (inside
# `time_distributed`) forbids coercion: the value is one time step.


def _recurrent(op: str):
    def make(scope: Scope, x: Value, inner: bool = False, states_from: str = "") -> Made:
        rng = scope.rng
        if not inner:
            x = scope.sequence(x)
        elif x.rank != 2 or x.is_int or not static(x.shape[-1]):
            raise Invalid
        units = rng.randint(1, 5)
        attrs: dict = {"units": units}
        sequences = rng.random() < 0.6
        if sequences or rng.random() < 0.3:
            attrs["return_sequences"] = sequences
        width = units
        if rng.random() < 0.35:
            attrs["bidirectional"] = True
            if rng.random() < 0.7:
                attrs["merge_mode"] = rng.choice(enum(op, "merge_mode"))
            if attrs.get("merge_mode", "concat") == "concat":
                width = 2 * units
        if rng.random() < 0.15:
            attrs["activation"] = rng.choice(ACTIVATIONS)
        if op != "rnn" and rng.random() < 0.1:
            attrs["recurrent_activation"] = rng.choice(ACTIVATIONS)
        if rng.random() < 0.15:
            attrs["use_bias"] = False
        if rng.random() < 0.2:
            attrs["dropout"] = 0.25
        if rng.random() < 0.1:
            attrs["recurrent_dropout"] = 0.25
            if op != "rnn" and rng.random() < 0.5:
                attrs["recurrent_dropout_mode"] = rng.choice(enum(op, "recurrent_dropout_mode"))
        if scope.model.batch_size and not inner and rng.random() < 0.3:
            attrs["stateful"] = True
        if rng.random() < 0.1:
            attrs["unroll"] = True
        if op == "lstm":
            if rng.random() < 0.6:
                attrs["variant"] = rng.choice(list(VARIANTS))
                if VARIANTS[attrs["variant"]].peepholes and rng.random() < 0.3:
                    attrs["peepholes"] = False  # nig, nfg, nog, cifg: the fused form
            if rng.random() < 0.1:
                attrs["unit_forget_bias"] = False
            if rng.random() < 0.1:
                attrs["forget_bias"] = 0.5
        if op == "gru" and rng.random() < 0.2:
            attrs["reset_after"] = False
        keras_fails = attrs.get("stateful") and attrs.get("bidirectional")  # E311
        if not inner and not keras_fails and rng.random() < 0.25:
            attrs["return_state"] = True
        fgr = attrs.get("variant") == "fgr"  # its carried gates cannot be given (E312)
        if states_from:  # `initial_state: NAME`, as wide as NAME's states
            if fgr or attrs.get("stateful"):
                raise Invalid
            source = scope.state_sources[states_from].attrs
            two = source.get("bidirectional", False)
            if not two:
                attrs.pop("bidirectional", None)
                attrs.pop("merge_mode", None)
            both = attrs.get("bidirectional", False)
            attrs["units"] = source["units"] * (2 if two and not both else 1)
            attrs["initial_state"] = states_from
        elif not inner and not attrs.get("stateful") and not fgr and rng.random() < 0.2:
            attrs["initial_state"] = _initial_state(scope, op, attrs)
        units = attrs["units"]  # an earlier layer's states may have set it
        doubled = attrs.get("bidirectional") and attrs.get("merge_mode", "concat") == "concat"
        width = 2 * units if doubled else units
        shape = (x.shape[0], width) if sequences else (width,)
        return Made(op, attrs, [x], shape, repeatable=sequences)

    return make


def _state_parts(op: str) -> list[str]:
    return ["h", "c"] if op == "lstm" else ["h"]


def _ports(name: str, op: str, attrs: dict) -> list[Value]:
    """The state ports of a layer with `return_state` (specc.states), as values."""
    if not attrs.get("return_state"):
        return []
    units = attrs["units"]
    both = 2 * units if attrs.get("bidirectional") else units
    ports = [Value(f"{name}.{part}", (both,), "float32") for part in _state_parts(op)]
    if attrs.get("bidirectional"):
        for part in _state_parts(op):
            for direction in ("forward", "backward"):
                ports.append(Value(f"{name}.{part}_{direction}", (units,), "float32"))
    return ports


def _initial_state(scope: Scope, op: str, attrs: dict) -> str | list[str]:
    """`initial_state`: an earlier layer's final states (`NAME`) when one fits, else a list
    of (units,) values in state order, found in the pool or projected with a `dense`."""
    rng, units = scope.rng, attrs["units"]
    bidirectional = attrs.get("bidirectional", False)
    for name, made in scope.state_sources.items():
        two = made.attrs.get("bidirectional", False)
        if _state_parts(made.op) != _state_parts(op) or (bidirectional and not two):
            continue
        if rng.random() < 0.6:  # the units its states have: direction to direction, or
            # both directions' states concatenated
            attrs["units"] = made.attrs["units"] * (2 if two and not bidirectional else 1)
            return name
        units = attrs["units"]
    count = len(_state_parts(op)) * (2 if bidirectional else 1)
    states = []
    for _ in range(count):
        found = [v for v in scope.pool if v.shape == (units,) and not v.is_int]
        if found and rng.random() < 0.7:
            states.append(rng.choice(found).name)
            continue
        source = scope.vector(scope.floating(rng.choice(scope.pool)))
        if not static(source.shape[-1]):
            raise Invalid
        states.append(scope.add(Made("dense", {"units": units}, [source], (units,))).name)
    return states


def make_gated_feedback(scope: Scope, x: Value, inner: bool = False) -> Made:
    """A gated-feedback stack: 2 or 3 layers of one cell kind, random gate settings."""
    rng = scope.rng
    if not inner:
        x = scope.sequence(x)
    elif x.rank != 2 or x.is_int or not static(x.shape[-1]):
        raise Invalid
    units = rng.randint(1, 4)
    attrs: dict = {"cell": rng.choice(enum("gated_feedback", "cell")), "layers": rng.randint(2, 3)}
    attrs["units"] = units
    sequences = rng.random() < 0.6
    if sequences or rng.random() < 0.3:
        attrs["return_sequences"] = sequences
    if rng.random() < 0.15:
        attrs["activation"] = rng.choice(ACTIVATIONS)
    if rng.random() < 0.15:
        attrs["recurrent_activation"] = rng.choice(ACTIVATIONS)
    if rng.random() < 0.15:
        attrs["use_bias"] = False
    shape = (x.shape[0], units) if sequences else (units,)
    return Made("gated_feedback", attrs, [x], shape, repeatable=sequences)


def make_dense(scope: Scope, x: Value, inner: bool = False) -> Made:
    if not inner:
        x = scope.features(x)
    elif x.is_int or not static(x.shape[-1]):
        raise Invalid
    units = scope.rng.randint(1, 6)
    attrs: dict = {"units": units}
    if scope.rng.random() < 0.3:
        attrs["activation"] = scope.rng.choice(ACTIVATIONS)
    if scope.rng.random() < 0.15:
        attrs["use_bias"] = False
    return Made("dense", attrs, [x], (*x.shape[:-1], units), repeatable=True)


def make_time_distributed(scope: Scope, x: Value, inner: bool = False) -> Made:
    """Picks the wrapped op first, then gives `x` the rank its step needs."""
    if inner:
        raise Invalid
    op = scope.rng.choice(WRAPPABLE)
    if any(v.is_int and v.rank <= 5 for v in scope.pool) and scope.rng.random() < 0.15:
        op = "embedding"  # ids at hand are rare: wrap an embedding of them more often
    if op == "embedding":
        x = scope.pick(lambda v: v.is_int and 2 <= v.rank <= 5)
        if x is None:  # plain ids (batch, T): repeated into (batch, n, T), still ids
            ids = scope.pick(lambda v: v.is_int and v.rank == 1)
            if ids is None:
                raise Invalid
            x = scope.rank2(ids)
    else:
        if OPS[op].input_dtype == "float":
            x = scope.floating(x)
        if op in STEP_RANK_2:  # the step must be a sequence: (batch, T, S, F) in
            x = scope.rank2(x)
            x = scope.add(TD_REPEAT(x, scope.rng.randint(1, 3)))
        elif op == "repeat_vector" or x.rank == 1:  # the step must be a vector, at least
            x = scope.rank2(x)
    made = MAKERS[op](scope, Value(x.name, x.shape[1:], x.dtype), inner=True)
    return Made(
        "time_distributed",
        {"layer": {"op": op, **made.attrs}},
        [x],
        (x.shape[0], *made.shape),
        made.dtype,
        made.repeatable,
    )


def TD_REPEAT(x: Value, n: int) -> Made:  # noqa: N802 - reads as the layer it makes
    """`time_distributed` of `repeat_vector`: (T, F) to (T, n, F), dtype kept."""
    layer = {"op": "repeat_vector", "n": n}
    return Made("time_distributed", {"layer": layer}, [x], (x.shape[0], n, x.shape[1]), x.dtype)


def make_embedding(scope: Scope, x: Value, inner: bool = False) -> Made:
    if not x.is_int:
        if inner:
            raise Invalid
        x = scope.pick(lambda v: v.is_int and v.rank <= 4)
        if x is None:
            raise Invalid
    if x.rank > 4:
        raise Invalid
    width = scope.rng.randint(1, 5)
    attrs = {"input_dim": scope.rng.randint(3, 12), "output_dim": width}
    # id 0 is padding: a (batch, time) mask downstream (chosen without a draw of its own,
    # which would move every later draw of the generator)
    if x.rank == 1 and not inner and attrs["input_dim"] % 3 == 0:
        attrs["mask_zero"] = True
    return Made("embedding", attrs, [x], (*x.shape, width))


def make_masking(scope: Scope, x: Value, inner: bool = False) -> Made:
    if inner:
        raise Invalid  # not wrappable: it masks whole sequences
    x = scope.sequence(x, static_features=False)
    attrs = {"mask_value": scope.rng.choice([0.0, 0.5])} if scope.rng.random() < 0.5 else {}
    return Made("masking", attrs, [x], x.shape)


def make_repeat_vector(scope: Scope, x: Value, inner: bool = False) -> Made:
    if x.rank != 1:
        if inner:
            raise Invalid
        x = scope.vector(x)
    named = [n for n, size in scope.model.dims.items() if size is not None]
    n = scope.rng.choice(named) if named and scope.rng.random() < 0.3 else scope.rng.randint(1, 4)
    size = scope.model.dims[n] if isinstance(n, str) else n
    return Made("repeat_vector", {"n": n}, [x], (size, *x.shape), x.dtype)


def make_permute(scope: Scope, x: Value, inner: bool = False) -> Made:
    axes = list(range(1, x.rank + 1))
    scope.rng.shuffle(axes)
    return Made("permute", {"dims": axes}, [x], tuple(x.shape[a - 1] for a in axes), x.dtype)


def make_reshape(scope: Scope, x: Value, inner: bool = False) -> Made:
    rng = scope.rng
    fixed = prod(d for d in x.shape if static(d))
    factors = _factors(fixed, rng)
    variable = not all(static(d) for d in x.shape)
    if variable or rng.random() < 0.3:
        # -1 takes what is left: the variable part, or one static factor
        if not variable and factors:
            factors.pop(rng.randrange(len(factors)))
        target: list = list(factors)
        target.insert(rng.randint(0, len(target)), -1)
        unknown = ("unknown", scope.model.fresh())
        rest = prod(factors)
        shape = tuple((unknown if variable else fixed // rest) if t == -1 else t for t in target)
    else:
        target = list(factors) or [1]
        shape = tuple(target)
    named = {size: n for n, size in scope.model.dims.items() if size is not None}
    target = [named[t] if t in named and rng.random() < 0.5 else t for t in target]
    return Made("reshape", {"target_shape": target}, [x], shape, x.dtype)


def _factors(total: int, rng: random.Random) -> list[int]:
    """`total` split into one to three factors, in random order."""
    out = []
    for _ in range(rng.randint(0, 2)):
        divisors = [d for d in range(2, total + 1) if total % d == 0]
        if not divisors:
            break
        d = rng.choice(divisors)
        out.append(d)
        total //= d
    out.append(total)
    rng.shuffle(out)
    return out


def make_flatten(scope: Scope, x: Value, inner: bool = False) -> Made:
    return Made("flatten", {}, [x], (flat_dim(x.shape),), x.dtype)


def _over_time(op: str):
    def make(scope: Scope, x: Value, inner: bool = False) -> Made:
        keeps = OPS[op].keeps_dtype
        if inner and (x.rank != 2 or (x.is_int and not keeps)):
            raise Invalid
        if not keeps:
            x = scope.floating(x)
        x = scope.rank2(x)
        return Made(op, {}, [x], (x.shape[1],), x.dtype if keeps else "float32")

    return make


def _elementwise(op: str):
    def make(scope: Scope, x: Value, inner: bool = False) -> Made:
        x = scope.floating(x)
        count = 2 if op == "subtract" else scope.rng.choice([2, 2, 3])
        sources = [x] + [scope.partner(x) for _ in range(count - 1)]
        return Made(op, {}, sources, x.shape, repeatable=False)

    return make


def make_concatenate(scope: Scope, x: Value, inner: bool = False) -> Made:
    x = scope.floating(x)
    index = scope.rng.randrange(x.rank)  # a shape index: the axis is index + 1
    others = [scope.partner(x, axis=index) for _ in range(scope.rng.choice([1, 1, 2]))]
    total = x.shape[index]
    for v in others:
        total = sum_dim(total, v.shape[index])
    shape = tuple(total if i == index else d for i, d in enumerate(x.shape))
    attrs = {}
    if index != x.rank - 1 or scope.rng.random() < 0.3:
        attrs["axis"] = index + 1 if scope.rng.random() < 0.6 else index - x.rank
    return Made("concatenate", attrs, [x, *others], shape)


def make_dropout(scope: Scope, x: Value, inner: bool = False) -> Made:
    if x.is_int:
        if inner:
            raise Invalid
        x = scope.floating(x)
    return Made(
        "dropout", {"rate": scope.rng.choice([0.0, 0.1, 0.5])}, [x], x.shape, repeatable=True
    )


def make_layer_norm(scope: Scope, x: Value, inner: bool = False) -> Made:
    if not inner:
        x = scope.features(x)
    elif x.is_int or not static(x.shape[-1]):
        raise Invalid
    attrs = _affine(scope.rng)
    if scope.rng.random() < 0.3:
        attrs["epsilon"] = 1e-5
    return Made("layer_norm", attrs, [x], x.shape, repeatable=True)


def make_batch_norm(scope: Scope, x: Value, inner: bool = False) -> Made:
    if not inner:
        x = scope.features(x, ranks=(1, 2))
    elif x.is_int or x.rank not in (1, 2) or not static(x.shape[-1]):
        raise Invalid
    attrs = _affine(scope.rng)
    if scope.rng.random() < 0.3:
        attrs["momentum"] = 0.9
    if scope.rng.random() < 0.3:
        attrs["epsilon"] = 1e-5
    return Made("batch_norm", attrs, [x], x.shape, repeatable=True)


def _affine(rng: random.Random) -> dict:
    return {k: rng.random() < 0.7 for k in ("center", "scale") if rng.random() < 0.4}


def make_activation(scope: Scope, x: Value, inner: bool = False) -> Made:
    if x.is_int:
        if inner:
            raise Invalid
        x = scope.floating(x)
    attrs = {"activation": scope.rng.choice(ACTIVATIONS)}
    return Made("activation", attrs, [x], x.shape, repeatable=True)


def make_timestep_attention(scope: Scope, x: Value, inner: bool = False) -> Made:
    x = scope.sequence(x, static_features=False)
    if not static(x.shape[0]):
        x = scope.pick(lambda v: v.rank == 2 and not v.is_int and static(v.shape[0]))
        if x is None:
            raise Invalid
    attrs = {"activation": scope.rng.choice(ACTIVATIONS)} if scope.rng.random() < 0.3 else {}
    return Made("timestep_attention", attrs, [x], x.shape, repeatable=True)


def _query_value(scope: Scope, x: Value) -> tuple[Value, Value]:
    query = scope.sequence(x)
    value = scope.pick(lambda v: v.rank == 2 and not v.is_int and static(v.shape[-1]))
    return query, value if value is not None and scope.rng.random() < 0.7 else query


def _project(scope: Scope, x: Value, width: int) -> Value:
    return scope.add(Made("dense", {"units": width}, [x], (x.shape[0], width)))


def make_attention(scope: Scope, x: Value, inner: bool = False) -> Made:
    query, value = _query_value(scope, x)
    width = query.shape[-1]
    if scope.rng.random() < 0.4:
        sources = [query, value, _project(scope, value, width)]
    else:
        if value.shape[-1] != width:
            value = _project(scope, value, width)
        sources = [query, value]
    attrs = {}
    if scope.rng.random() < 0.4:
        attrs["use_scale"] = True
    if scope.rng.random() < 0.4:
        attrs["score_mode"] = scope.rng.choice(enum("attention", "score_mode"))
    if scope.rng.random() < 0.3:
        attrs["dropout"] = 0.25
    return Made("attention", attrs, sources, (query.shape[0], value.shape[-1]))


def make_multi_head_attention(scope: Scope, x: Value, inner: bool = False) -> Made:
    query, value = _query_value(scope, x)
    form = scope.rng.choice(["self", "pair", "triple"])
    if form == "self":
        sources = [query]
    elif form == "pair":
        sources = [query, value]
    else:
        sources = [query, value, _project(scope, value, scope.rng.randint(1, 4))]
    attrs = {"num_heads": scope.rng.randint(1, 3), "key_dim": scope.rng.randint(1, 4)}
    if scope.rng.random() < 0.3:
        attrs["value_dim"] = scope.rng.randint(1, 4)
    if scope.rng.random() < 0.3:
        attrs["dropout"] = 0.25
    if scope.rng.random() < 0.2:
        attrs["use_bias"] = False
    return Made("multi_head_attention", attrs, sources, query.shape, repeatable=form == "self")


def make_conv1d(scope: Scope, x: Value, inner: bool = False) -> Made:
    rng = scope.rng
    if not inner:
        x = scope.sequence(x)
    elif x.rank != 2 or x.is_int or not static(x.shape[-1]):
        raise Invalid
    kernel = rng.randint(1, 3)
    strides = rng.choice([1, 1, 2])
    dilation = rng.choice([1, 1, 2]) if strides == 1 else 1
    padding = rng.choice(enum("conv1d", "padding"))
    span = dilation * (kernel - 1) + 1
    length = x.shape[0]
    if padding == "valid" and static(length) and length < span:
        padding = "same"
    out = conv_length(length, kernel, strides, dilation, padding)
    attrs = {"filters": rng.randint(1, 5), "kernel_size": kernel}
    if strides > 1:
        attrs["strides"] = strides
    if dilation > 1:
        attrs["dilation_rate"] = dilation
    if padding != "valid" or rng.random() < 0.3:
        attrs["padding"] = padding
    if rng.random() < 0.3:
        attrs["activation"] = rng.choice(ACTIVATIONS)
    if rng.random() < 0.15:
        attrs["use_bias"] = False
    return Made("conv1d", attrs, [x], (out, attrs["filters"]), repeatable=out == length)


MAKERS: dict[str, Callable[..., Made]] = {
    "lstm": _recurrent("lstm"),
    "gru": _recurrent("gru"),
    "rnn": _recurrent("rnn"),
    "gated_feedback": make_gated_feedback,
    "dense": make_dense,
    "time_distributed": make_time_distributed,
    "embedding": make_embedding,
    "repeat_vector": make_repeat_vector,
    "permute": make_permute,
    "reshape": make_reshape,
    "flatten": make_flatten,
    "global_avg_pool": _over_time("global_avg_pool"),
    "global_max_pool": _over_time("global_max_pool"),
    "last_step": _over_time("last_step"),
    "add": _elementwise("add"),
    "subtract": _elementwise("subtract"),
    "multiply": _elementwise("multiply"),
    "average": _elementwise("average"),
    "maximum": _elementwise("maximum"),
    "minimum": _elementwise("minimum"),
    "concatenate": make_concatenate,
    "dropout": make_dropout,
    "layer_norm": make_layer_norm,
    "batch_norm": make_batch_norm,
    "activation": make_activation,
    "timestep_attention": make_timestep_attention,
    "attention": make_attention,
    "multi_head_attention": make_multi_head_attention,
    "conv1d": make_conv1d,
    "masking": make_masking,
}


# -- the spec ------------------------------------------------------------------------


def _inputs(model: Model) -> tuple[list[dict], list[Value]]:
    rng = model.rng
    written, values = [], []
    for i in range(rng.choice([1, 1, 1, 2, 2, 3])):
        name = f"x{i}"
        kind = rng.choice(["sequence", "sequence", "vector", "ids", "grid"])
        axes: list = []
        if kind in ("sequence", "ids"):
            axes = [_length(model, i)]
            if kind == "ids" and rng.random() < 0.2:
                axes.append(rng.randint(1, 3))
        elif kind == "grid":
            axes = [rng.randint(1, 3), _length(model, i)]
        if kind != "ids":
            axes.append(rng.randint(1, 5))
        if kind == "ids":
            dtype = rng.choice(["int32", "int64"])
        else:
            dtype = rng.choice(["float32"] * 8 + ["float16", "bfloat16"])
        entry = {"name": name, "shape": [a[0] if isinstance(a, tuple) else a for a in axes]}
        if dtype != "float32" or rng.random() < 0.2:
            entry["dtype"] = dtype
        written.append(entry)
        shape = tuple(a[1] if isinstance(a, tuple) else a for a in axes)
        values.append(Value(name, shape, dtype))
    return written, values


def _length(model: Model, i: int):
    """A time axis: (as written, as tracked), or a plain int."""
    rng = model.rng
    choice = rng.random()
    if choice < 0.25 and "S" in model.dims:
        return ("S", ("S",))
    if choice < 0.4 and "T" in model.dims:
        return ("T", model.dims["T"])
    if choice < 0.5:
        return (None, ("anon", i))
    return rng.randint(1, 6)


def random_spec(seed: int) -> str:
    """The YAML text of one random spec that specc should accept."""
    rng = random.Random(seed)
    model = Model(rng)
    if rng.random() < 0.5:
        model.dims["S"] = None
    if rng.random() < 0.4:
        model.dims["T"] = rng.randint(2, 5)
    if rng.random() < 0.2:
        model.batch_size = rng.randint(2, 3)
    written, values = _inputs(model)
    scope = Scope(model, values, depth=0, prefix="l")
    for _ in range(rng.randint(1, 5)):
        if scope.step() is None or len(scope.layers) >= MAX_LAYERS:
            break
    if not scope.layers:
        scope.apply(make_dropout, scope.floating(values[0]))
    outputs = [scope.pool[-1].name]
    for _ in range(rng.choice([0, 0, 1, 2])):
        extra = rng.choice(scope.pool).name
        if extra not in outputs:
            outputs.append(extra)
    spec: dict = {"specc": 1, "name": f"random_{seed}"}
    if model.dims:
        spec["dims"] = model.dims
    if model.batch_size:
        spec["batch_size"] = model.batch_size
    spec["inputs"] = written
    if model.definitions:
        spec["blocks"] = model.definitions
    spec["layers"] = scope.layers
    if outputs != [scope.layers[-1]["name"]] or rng.random() < 0.5:
        spec["outputs"] = outputs if len(outputs) > 1 or rng.random() < 0.5 else outputs[0]
    return to_yaml(spec)


def to_yaml(spec: dict) -> str:
    """Block style at the top, one flow mapping per layer (as the example specs are written)."""
    lines = []
    for key, value in spec.items():
        if key in ("inputs", "layers"):
            lines.append(f"{key}:")
            lines += [f"  - {_flow(item)}" for item in value]
        elif key == "blocks":
            lines.append("blocks:")
            for name, block in value.items():
                lines.append(f"  {name}:")
                for k, v in block.items():
                    if k == "layers":
                        lines.append("    layers:")
                        lines += [f"      - {_flow(item)}" for item in v]
                    else:
                        lines.append(f"    {k}: {_flow(v)}")
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str):
        plain = value.startswith("$") or value.isidentifier()
        return value if plain and value.lower() not in YAML_WORDS else json.dumps(value)
    return json.dumps(value)
