"""The op table: every op declared once, with its attributes and family flags.

Like Keras 3's `RNN` base class for `LSTM`, `GRU` and `SimpleRNN`, shared
attributes are declared once, in groups, and each op lists the groups it has.
Everything else reads this table: the schema check and its defaults
(`specc.schema`), the editor-facing JSON Schema (`specc.schema_file`, committed
as schemas/spec.schema.json), the attribute tables of docs/ops.md, the shape
rules' family tests, the lints and both backends. An op's shape rule lives in
`specc.ops` (one per op, registered by name); its parameter counts and GPU
lints belong to each backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from .variants import VARIANTS


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")  # the attribute must be given
UNSET = _Marker("UNSET")  # optional, and absent from the layer's attributes when not given

# Value types, as JSON Schema fragments; the named ones are `$defs` of the schema.
POSITIVE_INT = {"$ref": "#/$defs/positive_int"}
NUMBER = {"$ref": "#/$defs/number"}
POSITIVE_NUMBER = {"$ref": "#/$defs/positive_number"}
RATE = {"$ref": "#/$defs/rate"}
ACTIVATION = {"$ref": "#/$defs/activation"}
DIM = {"$ref": "#/$defs/dim"}
BOOLEAN = {"type": "boolean"}


def one_of(*values: str) -> dict:
    return {"enum": list(values)}


@dataclass(frozen=True)
class Attr:
    """One attribute: its name, value type, default and description."""

    name: str
    type: dict  # a JSON Schema fragment for the value
    default: object
    description: str
    backends: tuple[str, ...] = ()  # the backends that honour it; () means every backend

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def schema(self) -> dict:
        """The attribute's JSON Schema, as the editor-facing file has it."""
        out = dict(self.type)
        if self.default is not REQUIRED and self.default is not UNSET:
            out["default"] = self.default
        out["description"] = self.description
        return out


@dataclass(frozen=True)
class AttrGroup:
    """Attributes that several ops share (a `$defs` entry of the schema)."""

    name: str
    attrs: tuple[Attr, ...]


@dataclass(frozen=True)
class Op:
    """One op: what it computes, its attributes, and the flags the passes ask about."""

    name: str
    family: str
    description: str
    groups: tuple[AttrGroup, ...] = ()
    own: tuple[Attr, ...] = ()
    keeps_dtype: bool = False  # moves values without computing new ones (permute, ...)
    wrappable: bool = True  # may be wrapped by `time_distributed` (one input, per step)
    gates: int = 0  # recurrent ops: weight blocks per cell (LSTM 4, GRU 3, RNN 1)
    # What its inputs must hold: "float" (it computes: integer ids are refused,
    # E411), "int" (token ids: `embedding`), or "any" (it only moves values).
    input_dtype: str = "float"

    @property
    def attrs(self) -> tuple[Attr, ...]:
        return tuple(a for group in self.groups for a in group.attrs) + self.own

    @property
    def recurrent(self) -> bool:
        return self.family == "recurrent"

    @property
    def merge(self) -> bool:
        """Reads two or more inputs and combines them (the merge family)."""
        return self.family == "merge"

    def defaults(self) -> dict:
        return {
            a.name: a.default
            for a in self.attrs
            if a.default is not REQUIRED and a.default is not UNSET
        }


# -- shared attribute groups ----------------------------------------------------------

RECURRENT_ATTRS = AttrGroup(
    "recurrent_attributes",
    (
        Attr(
            "units",
            POSITIVE_INT,
            REQUIRED,
            "Width of the hidden state (and of each direction's output).",
        ),
        Attr(
            "return_sequences",
            BOOLEAN,
            False,
            "Return the output of every time step (batch, time, width) rather than only the last "
            "(batch, width).",
        ),
        Attr(
            "bidirectional",
            BOOLEAN,
            False,
            "Run a second layer over the reversed sequence and merge both (Keras `Bidirectional`).",
        ),
        Attr(
            "merge_mode",
            one_of("concat", "sum", "mul", "ave"),
            "concat",
            "How a bidirectional layer merges its two directions: `concat` doubles the width; "
            "`sum`, `mul`, `ave` keep it.",
        ),
        Attr(
            "activation",
            ACTIVATION,
            "tanh",
            "Activation of the candidate state (and of the output for `lstm`). Anything but "
            "`tanh` keeps the layer off cuDNN.",
        ),
        Attr(
            "use_bias", BOOLEAN, True, "Add bias vectors. `false` keeps Keras off its cuDNN kernel."
        ),
        Attr(
            "dropout",
            RATE,
            0.0,
            "Fraction of the inputs dropped during training, one mask shared by all time steps "
            "(as Keras does).",
        ),
        Attr(
            "recurrent_dropout",
            RATE,
            0.0,
            "Fraction of the recurrent signal dropped during training. Anything above 0 needs a "
            "per-step cell (no cuDNN).",
        ),
        Attr(
            "stateful",
            BOOLEAN,
            False,
            "Carry the last state of each batch row into the next batch. Needs a fixed "
            "`batch_size:` at the top of the spec.",
        ),
        Attr(
            "unroll",
            BOOLEAN,
            False,
            "Keras only: unroll the loop over time steps. Keeps Keras off its cuDNN kernel; "
            "ignored by PyTorch.",
            backends=("keras",),
        ),
    ),
)

REFERENCE_OR_LIST = {
    "anyOf": [
        {"$ref": "#/$defs/reference"},
        {"type": "array", "items": {"$ref": "#/$defs/reference"}, "minItems": 1, "maxItems": 4},
    ]
}

STATE_ATTRS = AttrGroup(
    "state_attributes",
    (
        Attr(
            "return_state",
            BOOLEAN,
            False,
            "Also give the final states, as ports other layers read: `LAYER.h`, and `LAYER.c` "
            "for `lstm`, each (batch, units); a bidirectional layer's are both directions "
            "concatenated (forward first), and `LAYER.h_forward`, `LAYER.h_backward` (and "
            "`c_...`) are the single directions. The layer's own output is unchanged.",
        ),
        Attr(
            "initial_state",
            REFERENCE_OR_LIST,
            UNSET,
            "The states to start from: a layer with `return_state: true` (its final states; "
            "direction to direction when both are bidirectional), or a list in state order, "
            "each (batch, units): `[h]`, `[h, c]` for `lstm`, and for a bidirectional layer "
            "the forward direction's, then the backward's. Not with `stateful`.",
        ),
    ),
)

GATED_ATTRS = AttrGroup(
    "gated_attributes",
    (
        Attr(
            "recurrent_activation",
            ACTIVATION,
            "sigmoid",
            "Activation of the gates. Anything but `sigmoid` keeps the layer off cuDNN.",
        ),
        Attr(
            "recurrent_dropout_mode",
            one_of("state", "update"),
            "state",
            "Where `recurrent_dropout` applies: `state` masks the recurrent state (Keras); "
            "`update` masks the candidate update, without memory loss (Semeniuta et al., 2016).",
        ),
    ),
)

# The two names of a learnt gain and shift, as Keras's normalisation layers have them.
AFFINE = (
    Attr("center", BOOLEAN, True, "Learn an offset (beta)."),
    Attr("scale", BOOLEAN, True, "Learn a gain (gamma)."),
)


def _activation(default: str, description: str) -> Attr:
    return Attr("activation", ACTIVATION, default, description)


def _merge(name: str, description: str) -> Op:
    return Op(name, "merge", description, wrappable=False)


# Its own family, not "recurrent": code keyed on `Op.recurrent` (the recurrent shape rule,
# bidirectional and stateful handling, cuDNN lints, the fused lowerings) does not apply.
GATED_FEEDBACK = Op(
    "gated_feedback",
    "feedback",
    "Gated-feedback RNN (Chung et al., 2015): a stack of `layers` recurrent layers in which "
    "every layer reads every layer's previous state through a learnt global reset gate. Own "
    "family, not `recurrent`: no bidirectional, stateful or fused (cuDNN) form.",
    own=(
        Attr(
            "cell",
            one_of("lstm", "gru", "rnn"),
            REQUIRED,
            "The recurrent unit of every layer: GF-LSTM, GF-GRU or GF-RNN (tanh).",
        ),
        Attr(
            "layers",
            {"type": "integer", "minimum": 2},
            REQUIRED,
            "Number of stacked layers, at least 2 (feedback needs a layer above another).",
        ),
        Attr("units", POSITIVE_INT, REQUIRED, "Width of every layer's hidden state."),
        Attr(
            "return_sequences",
            BOOLEAN,
            False,
            "Return the top layer's state at every time step (batch, time, units) rather than "
            "only the last (batch, units).",
        ),
        Attr(
            "activation",
            ACTIVATION,
            "tanh",
            "Activation of the candidate state (and, with `cell: lstm`, of the cell output).",
        ),
        Attr(
            "recurrent_activation",
            ACTIVATION,
            "sigmoid",
            "Activation of the gates: the cell's and the global reset gates.",
        ),
        Attr("use_bias", BOOLEAN, True, "Add a bias vector to each layer's cell gates."),
    ),
)


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        # -- recurrent ------------------------------------------------------------
        Op(
            "lstm",
            "recurrent",
            "Long short-term memory layer (Keras `LSTM`, PyTorch `nn.LSTM`, batch first).",
            (RECURRENT_ATTRS, GATED_ATTRS, STATE_ATTRS),
            gates=4,
            own=(
                Attr(
                    "unit_forget_bias",
                    BOOLEAN,
                    True,
                    "Initialise the forget-gate bias to 1 (Jozefowicz et al., 2015).",
                ),
                Attr(
                    "forget_bias",
                    NUMBER,
                    UNSET,
                    "Initial value of the forget-gate bias; overrides `unit_forget_bias`.",
                ),
                Attr(
                    "variant",
                    one_of(*VARIANTS),
                    "standard",
                    "LSTM variant (Greff et al., 'LSTM: A Search Space Odyssey'; `layer_norm` "
                    "after Ba et al.). `standard` is the fused cuDNN LSTM; the others are custom "
                    "cells.",
                ),
                Attr(
                    "peepholes",
                    BOOLEAN,
                    True,
                    "The variant's peephole vectors (Greff's variants have them). `false` drops "
                    "them: `nig`, `nfg`, `nog`, `cifg` and `peephole` then run on the fused LSTM "
                    "kernel (cuDNN).",
                ),
            ),
        ),
        Op(
            "gru",
            "recurrent",
            "Gated recurrent unit layer (Keras `GRU`, PyTorch `nn.GRU`, batch first).",
            (RECURRENT_ATTRS, GATED_ATTRS, STATE_ATTRS),
            gates=3,
            own=(
                Attr(
                    "reset_after",
                    BOOLEAN,
                    True,
                    "Apply the reset gate after the recurrent matrix multiplication (the cuDNN "
                    "and PyTorch convention). `false` needs a custom cell.",
                ),
            ),
        ),
        Op(
            "rnn",
            "recurrent",
            "Fully connected recurrent layer (Keras `SimpleRNN`, PyTorch `nn.RNN`, batch first).",
            (RECURRENT_ATTRS, STATE_ATTRS),
            gates=1,
        ),
        # -- feedback -------------------------------------------------------------
        GATED_FEEDBACK,
        # -- dense ----------------------------------------------------------------
        Op(
            "dense",
            "dense",
            "Fully connected layer over the last axis.",
            own=(
                Attr("units", POSITIVE_INT, REQUIRED, "Number of output features."),
                _activation("linear", "Activation applied to the output."),
                Attr("use_bias", BOOLEAN, True, "Add a bias vector."),
            ),
        ),
        Op(
            "time_distributed",
            "dense",
            "Applies one layer to every time step of a (batch, time, ...) input.",
            own=(
                Attr(
                    "layer",
                    {"$ref": "#/$defs/inner_layer"},
                    REQUIRED,
                    "The wrapped layer: an op and its attributes, without `name` or `inputs`.",
                ),
            ),
            wrappable=False,
        ),
        Op(
            "embedding",
            "dense",
            "Maps integer token ids (batch, time) to vectors (batch, time, output_dim).",
            input_dtype="int",
            own=(
                Attr(
                    "input_dim",
                    POSITIVE_INT,
                    REQUIRED,
                    "Vocabulary size: ids run from 0 to input_dim - 1.",
                ),
                Attr("output_dim", POSITIVE_INT, REQUIRED, "Width of each embedding vector."),
                Attr(
                    "mask_zero",
                    BOOLEAN,
                    False,
                    "Id 0 is padding: mask the steps that hold it (Keras's `mask_zero`), so "
                    "recurrent layers, pools and attention skip them. Needs (batch, time) ids, "
                    "right-padded.",
                ),
            ),
        ),
        # -- shape ----------------------------------------------------------------
        Op(
            "repeat_vector",
            "shape",
            "Repeats a (batch, features) input n times into (batch, n, features).",
            own=(
                Attr(
                    "n",
                    DIM,
                    REQUIRED,
                    "Number of repetitions: an integer, or the name of a dimension from `dims:`.",
                ),
            ),
            keeps_dtype=True,
            input_dtype="any",
        ),
        Op(
            "permute",
            "shape",
            "Permutes the non-batch axes; dims are 1-based and exclude the batch, as in Keras "
            "`Permute`.",
            own=(
                Attr(
                    "dims",
                    {"type": "array", "items": POSITIVE_INT, "minItems": 1},
                    REQUIRED,
                    "The new order of the axes, 1-based, batch excluded: `[2, 1]` swaps time "
                    "and features.",
                ),
            ),
            keeps_dtype=True,
            input_dtype="any",
        ),
        Op(
            "reshape",
            "shape",
            "Reshapes the non-batch axes (Keras `Reshape`).",
            own=(
                Attr(
                    "target_shape",
                    {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "anyOf": [
                                POSITIVE_INT,
                                {"const": -1},
                                {"$ref": "#/$defs/identifier"},
                            ]
                        },
                    },
                    REQUIRED,
                    "New shape, batch excluded: integers, dimension names, and at most one -1 "
                    "for the axis to infer.",
                ),
            ),
            keeps_dtype=True,
            input_dtype="any",
        ),
        Op(
            "flatten",
            "shape",
            "Flattens the non-batch axes into one.",
            keeps_dtype=True,
            input_dtype="any",
        ),
        Op(
            "global_avg_pool",
            "shape",
            "Averages over time: (batch, time, features) to (batch, features).",
        ),
        Op(
            "global_max_pool",
            "shape",
            "Maximum over time: (batch, time, features) to (batch, features).",
        ),
        Op(
            "last_step",
            "shape",
            "Takes the last time step: (batch, time, features) to (batch, features).",
            keeps_dtype=True,
            input_dtype="any",
        ),
        # -- merge ----------------------------------------------------------------
        _merge("add", "Element-wise sum of two or more inputs of equal shape."),
        _merge("subtract", "Element-wise difference of exactly two inputs of equal shape."),
        _merge("multiply", "Element-wise product of two or more inputs of equal shape."),
        _merge("average", "Element-wise mean of two or more inputs of equal shape."),
        _merge("maximum", "Element-wise maximum of two or more inputs of equal shape."),
        _merge("minimum", "Element-wise minimum of two or more inputs of equal shape."),
        Op(
            "concatenate",
            "merge",
            "Joins two or more inputs along one axis; all other axes must be equal.",
            own=(
                Attr(
                    "axis",
                    {"type": "integer", "not": {"const": 0}},
                    -1,
                    "Axis to join along, counting the batch as axis 0 as Keras does; -1 is the "
                    "last axis. The batch axis cannot be joined.",
                ),
            ),
            wrappable=False,
        ),
        # -- regularise -----------------------------------------------------------
        Op(
            "dropout",
            "regularise",
            "Drops a fraction of the inputs during training.",
            own=(Attr("rate", RATE, REQUIRED, "Fraction of the inputs to drop."),),
        ),
        Op(
            "layer_norm",
            "regularise",
            "Layer normalisation over the last axis.",
            own=(
                Attr(
                    "epsilon",
                    POSITIVE_NUMBER,
                    0.001,
                    "Added to the variance (Keras's default, 1e-3; PyTorch's is 1e-5).",
                ),
                *AFFINE,
            ),
        ),
        Op(
            "batch_norm",
            "regularise",
            "Batch normalisation of the last (feature) axis.",
            own=(
                Attr(
                    "momentum",
                    {"type": "number", "minimum": 0, "maximum": 1},
                    0.99,
                    "Keras's momentum of the moving statistics (PyTorch's momentum is 1 minus "
                    "this).",
                ),
                Attr("epsilon", POSITIVE_NUMBER, 0.001, "Added to the variance."),
                *AFFINE,
            ),
        ),
        Op(
            "activation",
            "regularise",
            "Applies an activation function.",
            own=(Attr("activation", ACTIVATION, REQUIRED, "The activation function."),),
        ),
        Op(
            "masking",
            "regularise",
            "Masks the time steps whose features all equal `mask_value` (Keras `Masking`): "
            "they are zeroed, and recurrent layers, pools and attention downstream skip them.",
            own=(
                Attr(
                    "mask_value",
                    NUMBER,
                    0.0,
                    "A step whose features all equal this value is padding.",
                ),
            ),
            wrappable=False,  # it makes a (batch, time) mask: whole sequences only
        ),
        # -- attention ------------------------------------------------------------
        Op(
            "timestep_attention",
            "attention",
            "Attention over time steps (the classic Keras attention_3d_block): permute, dense "
            "over time, permute back, multiply with the input. Needs a static time length.",
            own=(_activation("tanh", "Activation of the dense layer over time."),),
            wrappable=False,  # it reads whole sequences; Keras's TimeDistributed cannot hold it
        ),
        Op(
            "attention",
            "attention",
            "Dot-product attention (Keras `Attention`): inputs [query, value] or [query, value, "
            "key].",
            own=(
                Attr(
                    "use_scale",
                    BOOLEAN,
                    False,
                    "Learn a scalar that scales the attention scores.",
                ),
                Attr(
                    "score_mode",
                    one_of("dot", "concat"),
                    "dot",
                    "How scores are computed: `dot` (Luong) or `concat` (a tanh of the sum, "
                    "Bahdanau-like).",
                ),
                Attr(
                    "dropout",
                    RATE,
                    0.0,
                    "Fraction of the attention weights dropped during training.",
                ),
            ),
            wrappable=False,
        ),
        Op(
            "multi_head_attention",
            "attention",
            "Multi-head attention (Keras `MultiHeadAttention`): one input (self-attention) or "
            "[query, value] or [query, value, key].",
            own=(
                Attr("num_heads", POSITIVE_INT, REQUIRED, "Number of attention heads."),
                Attr("key_dim", POSITIVE_INT, REQUIRED, "Width of each head for query and key."),
                Attr(
                    "value_dim",
                    POSITIVE_INT,
                    UNSET,
                    "Width of each head for value; defaults to `key_dim`.",
                ),
                Attr(
                    "dropout",
                    RATE,
                    0.0,
                    "Fraction of the attention weights dropped during training.",
                ),
                Attr("use_bias", BOOLEAN, True, "Add biases to the projections."),
            ),
            wrappable=False,
        ),
        # -- conv -----------------------------------------------------------------
        Op(
            "conv1d",
            "conv",
            "1-D convolution over time, (batch, time, channels) in and out.",
            own=(
                Attr("filters", POSITIVE_INT, REQUIRED, "Number of output channels."),
                Attr("kernel_size", POSITIVE_INT, REQUIRED, "Width of the convolution window."),
                Attr("strides", POSITIVE_INT, 1, "Step between windows."),
                Attr(
                    "padding",
                    one_of("valid", "same", "causal"),
                    "valid",
                    "`valid` (no padding), `same` (output length ceil(time / strides)) or "
                    "`causal` (padded on the left only).",
                ),
                Attr("dilation_rate", POSITIVE_INT, 1, "Spacing between the window's taps."),
                _activation("linear", "Activation applied to the output."),
                Attr("use_bias", BOOLEAN, True, "Add a bias vector."),
            ),
        ),
    )
}

FAMILIES = tuple(dict.fromkeys(op.family for op in OPS.values()))


def is_recurrent(op: str) -> bool:
    """Whether `op` names a recurrent layer (False for unknown ops and `input`)."""
    found = OPS.get(op)
    return found is not None and found.recurrent
