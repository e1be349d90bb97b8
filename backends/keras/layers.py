"""specc's custom Keras objects, registered under the package `specc`.

An emitted model uses plain Keras layers where they do the job and these
where none does: `LastStep`, the `ForgetBias` initialiser, the LSTM variant
cell and its `DropoutRNN` layer, `TimeDistributed` on a time axis of variable
length, a GRU cell with recurrent dropout that keeps its memory, and the
gated-feedback RNN (`GatedFeedback` and its cell).
`specc.build` imports them from here; `specc compile` copies
the ones a model uses into its file (the same source, registered under the
same names). Either way a saved `.keras` file loads in a fresh process, with
`safe_mode` on, once this module (or the compiled file) has been imported:

    import keras
    import specc.backends.keras.layers  # noqa: F401 - registers specc's objects

    model = keras.saving.load_model("model.keras")

Each top-level class here is self-contained (it uses only `keras` and the other
classes), so that the emitter can copy it; keep it so.
"""

from __future__ import annotations

import keras

__all__ = [
    "DropoutRNN",
    "ForgetBias",
    "GatedFeedback",
    "GatedFeedbackCell",
    "LastStep",
    "MaskedGlobalMaxPooling1D",
    "MaskedLastStep",
    "SequenceMask",
    "UnmaskedTimeDistributed",
    "UpdateDropoutGRUCell",
    "VariableTimeDistributed",
    "VariantLSTMCell",
]


@keras.saving.register_keras_serializable(package="specc")
class LastStep(keras.layers.Layer):
    """The last time step of a sequence: (batch, T, ...) -> (batch, ...)."""

    def call(self, inputs):
        return inputs[:, -1]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])


@keras.saving.register_keras_serializable(package="specc")
class MaskedLastStep(keras.layers.Layer):
    """The last unmasked step of a right-padded sequence: (batch, T, F) -> (batch, F).

    Step `length - 1` of each row, `length` the number of unmasked steps; a row
    without any takes step 0. Without a mask, the last step.
    """

    def call(self, inputs, mask=None):
        if mask is None:
            return inputs[:, -1]
        length = keras.ops.sum(keras.ops.cast(mask, "int32"), axis=1)
        index = keras.ops.maximum(length - 1, 0)[:, None, None]
        return keras.ops.take_along_axis(inputs, index, axis=1)[:, 0]

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])


@keras.saving.register_keras_serializable(package="specc")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """The maximum over the unmasked steps: (batch, T, F) -> (batch, F).

    Keras's `GlobalMaxPooling1D` ignores a mask. A row without unmasked steps
    gives zeros.
    """

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.max(inputs, axis=1)
        keep = keras.ops.cast(mask, "bool")[:, :, None]
        lowest = keras.ops.full_like(inputs, float("-inf"))
        pooled = keras.ops.max(keras.ops.where(keep, inputs, lowest), axis=1)
        return keras.ops.where(keras.ops.any(keep, axis=1), pooled, 0.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="specc")
class SequenceMask(keras.layers.Layer):
    """The (batch, time) mask a sequence carries, as a boolean tensor.

    For a call Keras does not hand the mask to: a recurrent layer given
    `initial_state` (Keras 3 passes a mask by itself only to a layer called
    on one tensor), which then gets `mask=` explicitly.
    """

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.ones(keras.ops.shape(inputs)[:2], dtype="bool")
        return mask

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="specc")
class VariableTimeDistributed(keras.layers.TimeDistributed):
    """`TimeDistributed` that is also right on a time axis of unknown length.

    There Keras 3.15's maps the wrapped layer over as many steps as the batch
    has rows: the SavedModel of `model.export()` gets it, and so do `predict`
    and `fit` once a second length has relaxed the shapes they trace. Here the
    steps are folded into the batch, the same function for a layer that reads
    each row alone; batch normalisation, whose statistics are each step's, is
    mapped over the steps instead (as Keras does, over the right count).
    """

    def call(self, inputs, training=None, mask=None):
        if inputs.shape[1] is not None:
            return super().call(inputs, training=training, mask=mask)
        ops, layer = keras.ops, self.layer
        kwargs = {"training": training} if layer._call_has_training_arg else {}
        if not layer._call_has_mask_arg:
            mask = None
        if isinstance(layer, keras.layers.BatchNormalization):
            steps = ops.moveaxis(inputs, 1, 0)
            masks = None if mask is None else ops.moveaxis(mask, 1, 0)

            def step(i):
                if masks is not None:
                    kwargs["mask"] = masks[i]
                return layer.call(steps[i], **kwargs)

            outputs = ops.vectorized_map(step, ops.arange(ops.shape(steps)[0]))
            return ops.moveaxis(outputs, 0, 1)
        if mask is not None:
            kwargs["mask"] = ops.reshape(mask, (-1, *ops.shape(mask)[2:]))
        shape = ops.shape(inputs)
        outputs = layer.call(ops.reshape(inputs, (-1, *shape[2:])), **kwargs)
        return ops.reshape(outputs, (shape[0], shape[1], *ops.shape(outputs)[1:]))


@keras.saving.register_keras_serializable(package="specc")
class UnmaskedTimeDistributed(VariableTimeDistributed):
    """`TimeDistributed` whose wrapped layer runs on each step unmasked; the sequence's
    (batch, time) mask passes by it to the layers after.

    Keras's own hands the wrapped layer the mask flattened to (batch * time,),
    which a recurrent layer or a pooling over the step's own axis cannot take
    (IndexError, ValueError). Used only where a masked sequence meets such a
    wrapped layer.
    """

    def call(self, inputs, training=None, mask=None):
        return super().call(inputs, training=training, mask=None)

    def compute_mask(self, inputs, mask=None):
        return mask


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


@keras.saving.register_keras_serializable(package="specc")
class VariantLSTMCell(keras.layers.Layer):
    """An LSTM cell with the variations of Greff et al., "LSTM: A Search Space Odyssey".

    `gates` names the gates that have weights, in Keras's order: `i`nput,
    `f`orget, `c`andidate, `o`utput (a missing gate is 1). `peepholes` names the
    gates among i, f, o that also read the cell through a diagonal weight.
    `coupled_forget`: f = 1 - i (CIFG). `gate_recurrence`: i, f and o also read
    the i, f and o of the step before (nine u x u matrices, one `gate_kernel`).
    `input_activation` / `output_activation` False: the candidate / the cell is
    not squashed. `layer_norm`: Ba et al.'s equation 20 (2016), LN(x W) + LN(h U)
    over all four gates, h = o * tanh(LN(c)), each norm with a gain and a shift
    (its only biases), epsilon 1e-5 as PyTorch's `LayerNorm`. The defaults are
    the standard LSTM. One matmul for the input and one for the state cover all
    the gates.
    """

    NORMS = (("input", 4), ("recurrent", 4), ("cell", 1))  # layer_norm: width in units
    EPSILON = 1e-5

    def __init__(
        self,
        units,
        gates="ifco",
        peepholes="",
        coupled_forget=False,
        gate_recurrence=False,
        input_activation=True,
        output_activation=True,
        layer_norm=False,
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
        if "c" not in gates or gates != "".join(g for g in "ifco" if g in gates):
            raise ValueError(f"gates: `c` and some of i, f, o, in order; got {gates!r}")
        if not set(peepholes) <= set(gates) - {"c"}:
            raise ValueError(f"peepholes: some of the gates i, f, o; got {peepholes!r}")
        self.units = units
        self.gates = gates
        self.peepholes = "".join(g for g in "ifo" if g in peepholes)
        self.coupled_forget = coupled_forget
        self.gate_recurrence = gate_recurrence
        self.input_activation = input_activation
        self.output_activation = output_activation
        self.layer_norm = layer_norm
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.recurrent_dropout_mode = recurrent_dropout_mode
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.masks = None  # (input mask, recurrent mask): set by DropoutRNN as it runs
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = use_bias and not layer_norm
        self.unit_forget_bias = unit_forget_bias
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = [units, units] + [3 * units] * gate_recurrence
        self.output_size = units

    def build(self, input_shape):
        units, width = self.units, len(self.gates) * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width), initializer="glorot_uniform", name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(units, width), initializer="orthogonal", name="recurrent_kernel"
        )
        if self.peepholes:
            self.peephole = self.add_weight(
                shape=(len(self.peepholes) * units,),
                initializer="glorot_uniform",
                name="peephole",
            )
        if self.gate_recurrence:
            self.gate_kernel = self.add_weight(
                shape=(3 * units, 3 * units),
                initializer="orthogonal",
                name="gate_kernel",
            )
        if self.layer_norm:
            for norm, size in self.NORMS:
                for part, initializer in (("gamma", "ones"), ("beta", "zeros")):
                    name = f"{norm}_norm_{part}"
                    weight = self.add_weight(
                        shape=(size * units,), initializer=initializer, name=name
                    )
                    setattr(self, name, weight)
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias and "f" in self.gates:
                forget = self.gates.index("f")
                initializer = ForgetBias(1.0, forget, len(self.gates))
            self.bias = self.add_weight(
                shape=(width,),
                initializer=initializer,
                name="bias",
            )

    def dropout_masks(self, inputs, states):
        """One input mask and one recurrent mask for all the steps of a batch."""
        masks = []
        for rate, like in ((self.dropout, inputs), (self.recurrent_dropout, states[0])):
            ones = keras.ops.ones_like(like)
            mask = keras.random.dropout(ones, rate, seed=self.seed_generator)
            masks.append(mask if rate else None)
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
        if self.gate_recurrence:
            r = keras.ops.matmul(states[2], self.gate_kernel)
            for name, extra in zip("ifo", keras.ops.split(r, 3, axis=-1), strict=True):
                z[name] = z[name] + extra
        if self.peepholes:  # the gates that read the cell: i and f the last one's
            vectors = keras.ops.split(self.peephole, len(self.peepholes))
            p = dict(zip(self.peepholes, vectors, strict=True))
            for name in self.peepholes.replace("o", ""):
                z[name] = z[name] + p[name] * c
        gate = self.recurrent_activation
        i = gate(z["i"]) if "i" in z else 1.0
        f = gate(z["f"]) if "f" in z else 1.0
        if self.coupled_forget:
            f = 1.0 - i
        candidate = self.activation(z["c"]) if self.input_activation else z["c"]
        if rec_mask is not None and self.recurrent_dropout_mode == "update":
            candidate = candidate * rec_mask  # Semeniuta et al.: no memory loss
        c = f * c + i * candidate
        if "o" in self.peepholes:  # the output gate reads the new cell
            z["o"] = z["o"] + p["o"] * c
        o = gate(z["o"]) if "o" in z else 1.0
        cell = self.norm("cell", c)
        h = o * (self.activation(cell) if self.output_activation else cell)
        if self.gate_recurrence:
            return h, [h, c, keras.ops.concatenate([i, f, o], axis=-1)]
        return h, [h, c]

    def norm(self, name, x):
        """The normalisation `name` of x under `layer_norm`; x itself otherwise.
        `keras.ops`' own: on the torch backend one fused kernel (as fast as the
        composed form on TensorFlow, measured)."""
        if not self.layer_norm:
            return x
        gamma, beta = (getattr(self, f"{name}_norm_{p}") for p in ("gamma", "beta"))
        return keras.ops.layer_normalization(x, gamma, beta, epsilon=self.EPSILON)

    def get_config(self):
        activation = keras.activations.serialize(self.activation)
        recurrent_activation = keras.activations.serialize(self.recurrent_activation)
        return {
            **super().get_config(),
            "units": self.units,
            "gates": self.gates,
            "peepholes": self.peepholes,
            "coupled_forget": self.coupled_forget,
            "gate_recurrence": self.gate_recurrence,
            "input_activation": self.input_activation,
            "output_activation": self.output_activation,
            "layer_norm": self.layer_norm,
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


@keras.saving.register_keras_serializable(package="specc")
class DropoutRNN(keras.layers.RNN):
    """`keras.layers.RNN` that draws its cell's dropout masks once per batch.

    The masks are drawn before the time loop (as Keras does for its own cells),
    so every step of a sequence uses the same masks and the loop stays stateless.
    """

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if training:
            cell = self.cell
            batch = keras.ops.shape(sequences)[0]
            state = keras.ops.zeros((batch, cell.units), dtype=cell.compute_dtype)
            cell.masks = cell.dropout_masks(sequences[:, 0], [state])
        try:
            return super().call(sequences, initial_state, mask=mask, training=training)
        finally:
            self.cell.masks = None


@keras.saving.register_keras_serializable(package="specc")
class UpdateDropoutGRUCell(keras.layers.GRUCell):
    """Keras's `GRUCell` with recurrent dropout without memory loss (Semeniuta et al.).

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
        units, reset_after = self.units, self.reset_after
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        x = keras.ops.matmul(inputs, self.kernel)
        inner_bias = None
        if self.use_bias:
            x = x + (self.bias[0] if reset_after else self.bias)
            inner_bias = self.bias[1] if reset_after else None
        x_z, x_r, x_h = keras.ops.split(x, 3, axis=-1)
        kernel = self.recurrent_kernel
        recurrent = kernel if reset_after else kernel[:, : 2 * units]
        inner = keras.ops.matmul(h_tm1, recurrent)
        if inner_bias is not None:
            inner = inner + inner_bias
        z = self.recurrent_activation(x_z + inner[:, :units])
        r = self.recurrent_activation(x_r + inner[:, units : 2 * units])
        if reset_after:
            recurrent_h = r * inner[:, 2 * units :]
        else:
            recurrent_h = keras.ops.matmul(r * h_tm1, kernel[:, 2 * units :])
        candidate = self.activation(x_h + recurrent_h)
        if training and self.recurrent_dropout > 0:
            candidate = candidate * self.get_recurrent_dropout_mask(h_tm1)
        h = z * h_tm1 + (1 - z) * candidate
        return h, [h] if isinstance(states, (list, tuple)) else h


@keras.saving.register_keras_serializable(package="specc")
class GatedFeedbackCell(keras.layers.Layer):
    """One time step of a gated-feedback stack (Chung et al., 2015, "Gated Feedback RNNs").

    `layers` cells of one kind (`cell`: "lstm", "gru" or "rnn"), each `units` wide.
    Layer j reads h[j-1] of this step from below (the input for the first) and,
    through its global reset gates g[i->j] = recurrent_activation(h[j-1] w + h* u),
    h* being all layers' last states, every layer's last state: the feedback
    sum_i g[i->j] h[i] U[i->j] enters the candidate only (the tanh RNN's whole
    update; a GRU's under its reset gate r). The other gates are the cell's own,
    from below and from the layer's own last state. Gates in Keras's order: LSTM
    i, f, c, o; GRU z, r, h (h = z * h_last + (1 - z) * candidate). Weights of
    layer j: `kernel_j` (F_j, k*u), `recurrent_kernel_j` (u, (k-1)*u; none for
    rnn), `feedback_kernel_j` (L*u, u), `gate_kernel_j` (F_j, L),
    `gate_recurrent_kernel_j` (L*u, L), `bias_j` (k*u). States: every layer's h,
    then (lstm) every layer's c.
    """

    # each layer's weights, `NAME_j` for layer j
    WEIGHTS = (
        "kernel",
        "recurrent_kernel",
        "feedback_kernel",
        "gate_kernel",
        "gate_recurrent_kernel",
        "bias",
    )

    def __init__(
        self,
        units,
        layers,
        cell="lstm",
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.gates = {"lstm": 4, "gru": 3, "rnn": 1}.get(cell)  # weight blocks per cell
        if self.gates is None:
            raise ValueError(f"cell: one of lstm, gru, rnn; got {cell!r}")
        if layers < 2:
            raise ValueError(f"layers: at least 2; got {layers!r}")
        self.units = units
        self.depth = layers  # `layers` would read as a list of sub-layers
        self.kind = cell
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.state_size = [units] * layers * (2 if cell == "lstm" else 1)
        self.output_size = units

    def build(self, input_shape):
        units, depth, gates = self.units, self.depth, self.gates
        for j in range(depth):
            width = input_shape[-1] if j == 0 else units
            shapes = {
                "kernel": ((width, gates * units), "glorot_uniform"),
                "recurrent_kernel": ((units, (gates - 1) * units), "orthogonal"),
                "feedback_kernel": ((depth * units, units), "orthogonal"),
                "gate_kernel": ((width, depth), "glorot_uniform"),
                "gate_recurrent_kernel": ((depth * units, depth), "glorot_uniform"),
            }
            if gates == 1:
                del shapes["recurrent_kernel"]
            if self.use_bias:
                bias = ForgetBias(1.0) if self.kind == "lstm" else "zeros"
                shapes["bias"] = ((gates * units,), bias)
            for name, (shape, init) in shapes.items():
                key = f"{name}_{j}"
                weight = self.add_weight(shape=shape, initializer=init, name=key)
                setattr(self, key, weight)

    def call(self, inputs, states, training=False):
        ops, units, depth = keras.ops, self.units, self.depth
        act, gate = self.activation, self.recurrent_activation
        hs, cs = list(states[:depth]), list(states[depth:])
        every = ops.concatenate(hs, axis=-1)  # h*: all layers' last states
        below, new_h, new_c = inputs, [], []
        for j in range(depth):
            w = {name: getattr(self, f"{name}_{j}", None) for name in self.WEIGHTS}
            g = ops.matmul(below, w["gate_kernel"])
            g = gate(g + ops.matmul(every, w["gate_recurrent_kernel"]))
            # g[i->j] * h[i], side by side
            gated = ops.repeat(g, units, axis=-1) * every
            feedback = ops.matmul(gated, w["feedback_kernel"])
            z = ops.matmul(below, w["kernel"])
            if self.use_bias:
                z = z + w["bias"]
            if self.kind != "rnn":  # the gates but the candidate, from its own h
                own = ops.matmul(hs[j], w["recurrent_kernel"])
            if self.kind == "rnn":
                h = act(z + feedback)
            elif self.kind == "lstm":
                z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
                r_i, r_f, r_o = ops.split(own, 3, axis=-1)
                c = gate(z_f + r_f) * cs[j] + gate(z_i + r_i) * act(z_c + feedback)
                h = gate(z_o + r_o) * act(c)
                new_c.append(c)
            else:
                z_z, z_r, z_h = ops.split(z, 3, axis=-1)
                r_z, r_r = ops.split(own, 2, axis=-1)
                update, reset = gate(z_z + r_z), gate(z_r + r_r)
                h = update * hs[j] + (1 - update) * act(z_h + reset * feedback)
            new_h.append(h)
            below = h
        return below, new_h + new_c

    def get_config(self):
        serialize = keras.activations.serialize
        return {
            **super().get_config(),
            "units": self.units,
            "layers": self.depth,
            "cell": self.kind,
            "activation": serialize(self.activation),
            "recurrent_activation": serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
        }


@keras.saving.register_keras_serializable(package="specc")
class GatedFeedback(keras.layers.RNN):
    """A gated-feedback RNN (Chung et al., 2015): `GatedFeedbackCell` over time.

    Returns the top layer's state, at every step with `return_sequences`. It is
    `keras.layers.RNN`'s loop, so `call(sequences, mask=None)` takes a mask
    (batch, time), True for a real step: a masked step carries every layer's
    state unchanged, and its output (with `return_sequences`) is zeros.
    """

    def __init__(
        self,
        units,
        layers,
        cell="lstm",
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        return_sequences=False,
        **kwargs,
    ):
        step = GatedFeedbackCell(
            units,
            layers,
            cell,
            activation,
            recurrent_activation,
            use_bias,
            name="gated_feedback_cell",
        )
        kwargs["zero_output_for_mask"] = return_sequences
        super().__init__(step, return_sequences=return_sequences, **kwargs)

    def get_config(self):
        config = self.cell.get_config()
        keys = ("units", "layers", "cell", "activation", "recurrent_activation")
        return {
            **keras.layers.Layer.get_config(self),
            **{key: config[key] for key in (*keys, "use_bias")},
            "return_sequences": self.return_sequences,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
