"""The source of the few custom Keras objects an emitted module may define.

Each is written into the module that uses it (the module stays standalone) and
registered with `keras.saving.register_keras_serializable(package="specc")`, so
a saved model loads again with `safe_mode=True` once the module has run (or
once any module defining the same objects has).
"""

from __future__ import annotations

LAST_STEP = '''\
@keras.saving.register_keras_serializable(package="specc")
class LastStep(keras.layers.Layer):
    """The last time step of a sequence: (batch, T, ...) -> (batch, ...)."""

    def call(self, inputs):
        return inputs[:, -1]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])
'''

FORGET_BIAS = '''\
@keras.saving.register_keras_serializable(package="specc")
class ForgetBias(keras.initializers.Initializer):
    """An LSTM bias: zeros, and `value` in the forget gate's slice (`gate` of `gates`)."""

    def __init__(self, value: float, gate: int = 1, gates: int = 4):
        self.value = value
        self.gate = gate
        self.gates = gates

    def __call__(self, shape, dtype=None):
        units = shape[0] // self.gates
        before, after = self.gate * units, (self.gates - self.gate - 1) * units
        return keras.ops.concatenate(
            [
                keras.ops.zeros((before,), dtype=dtype),
                keras.ops.full((units,), self.value, dtype=dtype),
                keras.ops.zeros((after,), dtype=dtype),
            ]
        )

    def get_config(self):
        return {"value": self.value, "gate": self.gate, "gates": self.gates}
'''

VARIANT_CELL = '''\
@keras.saving.register_keras_serializable(package="specc")
class VariantLSTMCell(keras.layers.Layer):
    """The LSTM variants of Greff et al., "LSTM: A Search Space Odyssey" (2017).

    `variant` is `peephole` (their vanilla LSTM), `nig`, `nfg`, `nog` (no input,
    forget, output gate), `niaf`, `noaf` (no input, output activation), `cifg`
    (coupled input and forget gate, f = 1 - i) or `fgr` (full gate recurrence:
    i, f and o also read the i, f and o of the step before, nine u x u matrices
    kept as one `gate_kernel` of (3u, 3u)). One matmul for the input and one for
    the state cover all the gates with weights, in Keras's order (i, f, c, o)
    less the missing ones; the peepholes from the cell are diagonal, one vector
    for each of i, f, o that has weights, stored as one weight. `layer_norm` is
    Ba et al.'s equation 20 (2016): LN(x W) + LN(h U) for the gates, each over
    all four gates with a gain and a shift (its only biases), and
    h = o * tanh(LN(c)); epsilon 1e-5, as PyTorch's `LayerNorm`.
    """

    GATES = {
        "peephole": "ifco",
        "nig": "fco",
        "nfg": "ico",
        "nog": "ifc",
        "niaf": "ifco",
        "noaf": "ifco",
        "cifg": "ico",
        "fgr": "ifco",
        "layer_norm": "ifco",
        "standard": "ifco",
    }
    NORMS = {"input": 4, "recurrent": 4, "cell": 1}  # layer_norm: width in units
    EPSILON = 1e-5

    def __init__(
        self,
        units,
        variant="peephole",
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        unit_forget_bias=True,
        bias_initializer="zeros",
        dropout=0.0,
        recurrent_dropout=0.0,
        recurrent_dropout_mode="state",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.variant = variant
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.recurrent_dropout_mode = recurrent_dropout_mode
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.masks = None  # (input mask, recurrent mask), set by DropoutRNN while it runs
        self.gates = self.GATES[variant]
        plain = variant in ("standard", "layer_norm")
        self.peepholes = "" if plain else self.gates.replace("c", "")
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = use_bias and variant != "layer_norm"
        self.unit_forget_bias = unit_forget_bias
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = [units, units, 3 * units] if variant == "fgr" else [units, units]
        self.output_size = units

    def build(self, input_shape):
        width = len(self.gates) * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width), initializer="glorot_uniform", name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer="orthogonal", name="recurrent_kernel"
        )
        if self.peepholes:
            self.peephole = self.add_weight(
                shape=(len(self.peepholes) * self.units,),
                initializer="glorot_uniform",
                name="peephole",
            )
        if self.variant == "fgr":
            self.gate_kernel = self.add_weight(
                shape=(3 * self.units, 3 * self.units),
                initializer="orthogonal",
                name="gate_kernel",
            )
        if self.variant == "layer_norm":
            for norm, width in self.NORMS.items():
                for part, initializer in (("gamma", "ones"), ("beta", "zeros")):
                    weight = self.add_weight(
                        shape=(width * self.units,),
                        initializer=initializer,
                        name=f"{norm}_norm_{part}",
                    )
                    setattr(self, f"{norm}_norm_{part}", weight)
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias and "f" in self.gates:
                initializer = ForgetBias(1.0, self.gates.index("f"), len(self.gates))
            self.bias = self.add_weight(shape=(width,), initializer=initializer, name="bias")

    def dropout_masks(self, inputs, states):
        """One input mask and one recurrent mask for all the steps of a batch."""
        masks = []
        for rate, like in ((self.dropout, inputs), (self.recurrent_dropout, states[0])):
            ones = keras.ops.ones_like(like)
            masks.append(
                keras.random.dropout(ones, rate, seed=self.seed_generator) if rate else None
            )
        return tuple(masks)

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        in_mask, rec_mask = self.masks if training and self.masks else (None, None)
        if in_mask is not None:
            inputs = inputs * in_mask
        if rec_mask is not None and self.recurrent_dropout_mode == "state":
            h = h * rec_mask
        z = self.norm("input", keras.ops.matmul(inputs, self.kernel))
        z = z + self.norm("recurrent", keras.ops.matmul(h, self.recurrent_kernel))
        if self.use_bias:
            z = z + self.bias
        z = keras.ops.split(z, len(self.gates), axis=-1)
        z = dict(zip(self.gates, z, strict=True))
        if self.variant == "fgr":
            r = keras.ops.split(keras.ops.matmul(states[2], self.gate_kernel), 3, axis=-1)
            for name, extra in zip("ifo", r, strict=True):
                z[name] = z[name] + extra
        p = {name: 0.0 for name in "ifo"}
        if self.peepholes:
            p = keras.ops.split(self.peephole, len(self.peepholes))
            p = dict(zip(self.peepholes, p, strict=True))
        gate = self.recurrent_activation
        i = gate(z["i"] + p["i"] * c) if "i" in z else 1.0
        f = gate(z["f"] + p["f"] * c) if "f" in z else 1.0
        if self.variant == "cifg":
            f = 1.0 - i
        candidate = z["c"] if self.variant == "niaf" else self.activation(z["c"])
        if rec_mask is not None and self.recurrent_dropout_mode == "update":
            candidate = candidate * rec_mask  # Semeniuta et al.: no memory loss
        c = f * c + i * candidate
        o = gate(z["o"] + p["o"] * c) if "o" in z else 1.0
        h = o * (c if self.variant == "noaf" else self.activation(self.norm("cell", c)))
        if self.variant == "fgr":
            return h, [h, c, keras.ops.concatenate([i, f, o], axis=-1)]
        return h, [h, c]

    def norm(self, name, x):
        """The `layer_norm` variant's normalisation `name` of x; x itself for the others."""
        if self.variant != "layer_norm":
            return x
        mean = keras.ops.mean(x, axis=-1, keepdims=True)
        variance = keras.ops.var(x, axis=-1, keepdims=True)
        x = (x - mean) * keras.ops.rsqrt(variance + self.EPSILON)
        return x * getattr(self, f"{name}_norm_gamma") + getattr(self, f"{name}_norm_beta")

    def get_config(self):
        activation = keras.activations.serialize(self.activation)
        recurrent_activation = keras.activations.serialize(self.recurrent_activation)
        return {
            **super().get_config(),
            "units": self.units,
            "variant": self.variant,
            "activation": activation,
            "recurrent_activation": recurrent_activation,
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "recurrent_dropout_mode": self.recurrent_dropout_mode,
            "seed": self.seed,
        }
'''

DROPOUT_RNN = '''\
@keras.saving.register_keras_serializable(package="specc")
class DropoutRNN(keras.layers.RNN):
    """`keras.layers.RNN` that draws its cell's dropout masks once per batch.

    The masks are drawn before the time loop (as Keras does for its own cells),
    so every step of a sequence uses the same masks and the loop stays stateless.
    """

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if training:
            batch = keras.ops.shape(sequences)[0]
            state = keras.ops.zeros((batch, self.cell.units), dtype=self.cell.compute_dtype)
            self.cell.masks = self.cell.dropout_masks(sequences[:, 0], [state])
        try:
            return super().call(sequences, initial_state, mask=mask, training=training)
        finally:
            self.cell.masks = None
'''

UPDATE_GRU_CELL = '''\
@keras.saving.register_keras_serializable(package="specc")
class UpdateDropoutGRUCell(keras.layers.GRUCell):
    """Keras's `GRUCell` with recurrent dropout without memory loss (Semeniuta et al., 2016).

    The recurrent mask scales the candidate state instead of h(t-1), so a dropped
    unit never erases what the state holds. The weights are `GRUCell`'s; one
    input mask and one candidate mask serve all the steps of a batch (drawn by
    `keras.layers.RNN` before its loop).
    """

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.implementation = 2  # one matmul for all gates
        self.dropout_mask_count = None  # one mask each, not one per gate

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        units = self.units
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        x = keras.ops.matmul(inputs, self.kernel)
        inner_bias = None
        if self.use_bias:
            x = x + (self.bias[0] if self.reset_after else self.bias)
            inner_bias = self.bias[1] if self.reset_after else None
        x_z, x_r, x_h = keras.ops.split(x, 3, axis=-1)
        kernel = self.recurrent_kernel
        inner = keras.ops.matmul(h_tm1, kernel if self.reset_after else kernel[:, : 2 * units])
        if inner_bias is not None:
            inner = inner + inner_bias
        z = self.recurrent_activation(x_z + inner[:, :units])
        r = self.recurrent_activation(x_r + inner[:, units : 2 * units])
        if self.reset_after:
            recurrent_h = r * inner[:, 2 * units :]
        else:
            recurrent_h = keras.ops.matmul(r * h_tm1, self.recurrent_kernel[:, 2 * units :])
        candidate = self.activation(x_h + recurrent_h)
        if training and self.recurrent_dropout > 0:
            candidate = candidate * self.get_recurrent_dropout_mask(h_tm1)
        h = z * h_tm1 + (1 - z) * candidate
        return h, [h] if isinstance(states, (list, tuple)) else h
'''

# name -> source, in the order they are emitted (a cell after the initialiser it uses)
CUSTOM: dict[str, str] = {
    "LastStep": LAST_STEP,
    "ForgetBias": FORGET_BIAS,
    "VariantLSTMCell": VARIANT_CELL,
    "DropoutRNN": DROPOUT_RNN,
    "UpdateDropoutGRUCell": UPDATE_GRU_CELL,
}

# the custom objects each one uses
NEEDS: dict[str, tuple[str, ...]] = {"VariantLSTMCell": ("ForgetBias",), "DropoutRNN": ()}

# the LSTM variants `VariantLSTMCell` covers
VARIANTS = (
    "peephole",
    "nig",
    "nfg",
    "nog",
    "niaf",
    "noaf",
    "cifg",
    "fgr",
    "layer_norm",
    "standard",
)


def custom_source(name: str) -> list[str]:
    return CUSTOM[name].rstrip("\n").split("\n")
