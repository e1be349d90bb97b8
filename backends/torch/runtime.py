"""The helper modules that emitted PyTorch models carry, as real code.

The emitter never imports this file: it reads the source of the definitions a
model needs (`specc.backends.torch._emit` picks them with `ast`) and copies
them into the emitted module, which then imports only torch. Keeping them
here, as ordinary Python, lets ruff and the tests see them.
"""

import torch
import torch.nn.functional as F
from torch import nn


class KerasRecurrent:
    """Keras's view of a fused `nn.LSTM`/`nn.GRU`/`nn.RNN` (batch first).

    Adds what Keras's recurrent layers do and PyTorch's do not: one input
    dropout mask shared by all time steps, `merge_mode` for a bidirectional
    layer, the last step of each direction for `return_sequences=False` (the
    backward direction's is at t = 0), `stateful` state kept in buffers, and
    biases that start at zero, as Keras's do.
    """

    def _keras_setup(
        self,
        *,
        return_sequences=False,
        merge_mode="concat",
        dropout=0.0,
        stateful_batch=0,
        activation=None,
        recurrent_activation=None,
        recurrent_dropout=0.0,
        recurrent_dropout_mode="state",
    ):
        """Keras's settings, the same for every recurrent layer here (the emitter's keywords)."""
        self.return_sequences = return_sequences
        self.merge_mode = merge_mode
        self.input_dropout = dropout
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.recurrent_dropout = recurrent_dropout
        self.recurrent_dropout_mode = recurrent_dropout_mode
        # Settings that no fused kernel has run in `_loop` (StepByStep), on the same weights.
        self.loop = activation is not None or recurrent_activation is not None
        self.loop = self.loop or recurrent_dropout > 0
        with torch.no_grad():  # Keras's initial biases: zeros (an LSTM's forget gate aside)
            for name, value in self.named_parameters():
                if name.startswith(("bias_ih", "bias_hh")):
                    value.zero_()
        self.stateful = stateful_batch > 0
        if self.stateful:
            shape = (self.num_layers * (2 if self.bidirectional else 1), stateful_batch)
            for name, width in self._state_widths():
                self.register_buffer(name, torch.zeros(*shape, width), persistent=False)

    def _has_cell(self):
        """Whether the state is (h, c): any LSTM."""
        return isinstance(self, nn.LSTM) or hasattr(self, "variant")

    def _state_widths(self):
        """What a step hands the next one: h; c in an LSTM; the last i, f, o in `fgr`."""
        widths = [("h", self.hidden_size)]
        if self._has_cell():
            widths.append(("c", self.hidden_size))
        if getattr(self, "variant", None) == "fgr":
            widths.append(("last_gates", 3 * self.hidden_size))
        return widths

    def reset_states(self):
        """Forget the state carried between batches (stateful layers)."""
        if self.stateful:
            for name, _ in self._state_widths():
                getattr(self, name).zero_()

    def forward(self, x):
        masked = self.loop and self.recurrent_dropout and self.recurrent_dropout_mode == "state"
        masked = masked and not hasattr(self, "variant")  # per-gate input masks in `_loop`
        if self.input_dropout and self.training and not masked:
            mask = x.new_ones(x.shape[0], 1, x.shape[2])
            x = x * F.dropout(mask, self.input_dropout, training=True)
        state = None
        if self.stateful:
            buffers = [getattr(self, name) for name, _ in self._state_widths()]
            # copies: autograd keeps the starting state, and the buffers change below
            state = tuple(b.clone() for b in buffers) if len(buffers) > 1 else buffers[0].clone()
        run = self._loop if self.loop else super().forward
        out, state = run(x, state)
        if self.stateful:
            with torch.no_grad():
                for buffer, value in zip(
                    buffers, state if len(buffers) > 1 else [state], strict=True
                ):
                    buffer.copy_(value)
        units = self.hidden_size
        if not self.return_sequences:
            if self.bidirectional:
                out = torch.cat([out[:, -1, :units], out[:, 0, units:]], -1)
            else:
                out = out[:, -1]
        if not self.bidirectional or self.merge_mode == "concat":
            return out
        forward, backward = out[..., :units], out[..., units:]
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) / 2


class StepByStep:
    """Keras's cell one time step at a time, for settings no fused kernel has (W502).

    Mixed into a fused layer's class, it keeps that layer's weights: a custom
    activation, recurrent dropout, or GRU's reset gate before the matmul.
    """

    def _loop(self, x, state=None):
        """The layer one step at a time, for what the fused kernels lack (Keras's cell).

        Same weights and outputs as the fused layer. The input projection of
        all steps is one matmul, the recurrent one of all gates one per step.
        Keras's recurrent dropout (`state`) uses one mask per gate for the
        state and, with input dropout, one per gate for the input, as Keras's
        cells do then; `update` masks the candidate (Semeniuta et al., 2016).
        """
        before = getattr(self, "reset_after", True) is False
        lstm, gru = isinstance(self, nn.LSTM), isinstance(self, nn.GRU) or before
        gates = 4 if lstm else 3 if gru else 1
        units, batch, directions = self.hidden_size, x.shape[0], 2 if self.bidirectional else 1
        relu = getattr(self, "nonlinearity", "tanh") == "relu"
        act = self.activation or (torch.relu if relu else torch.tanh)
        gate = self.recurrent_activation or torch.sigmoid
        if state is None:
            h0 = x.new_zeros(directions, batch, units)
            c0 = h0
        else:
            h0, c0 = state if lstm else (state, state)
        drop = self.training and self.recurrent_dropout > 0
        per_gate = drop and self.recurrent_dropout_mode == "state"
        outs, hs, cs = [], [], []
        for d in range(directions):
            suffix = "_reverse" if d else ""
            w_ih, w_hh = (
                getattr(self, f"weight_ih_l0{suffix}"),
                getattr(self, f"weight_hh_l0{suffix}"),
            )
            b_ih = getattr(self, f"bias_ih_l0{suffix}", None) if self.bias else None
            b_hh = getattr(self, f"bias_hh_l0{suffix}", None) if self.bias else None
            seq = x.flip(1) if d else x
            if per_gate and self.input_dropout:
                ones = x.new_ones(gates, batch, x.shape[2])
                masks = F.dropout(ones, self.input_dropout, training=True)
                wide = w_ih.view(gates, units, -1)
                xs = torch.einsum("btf,gbf,guf->btgu", seq, masks, wide).flatten(2)
                xs = xs if b_ih is None else xs + b_ih
            else:
                xs = F.linear(seq, w_ih, b_ih)
            mask = None
            if drop:
                shape = (gates, batch, units) if per_gate else (batch, units)
                mask = F.dropout(x.new_ones(shape), self.recurrent_dropout, training=True)
            h, c, steps = h0[d], c0[d], []
            for t in range(seq.shape[1]):
                if before:  # Keras's reset_after=False: the reset gate scales h before its matmul
                    x_r, x_z, x_n = xs[:, t].chunk(3, -1)
                    if per_gate:
                        wide = w_hh[: 2 * units].view(2, units, units)
                        hh = torch.einsum("gbv,guv->bgu", h * mask[:2], wide).flatten(1)
                        h_in = h * mask[2]
                    else:
                        hh, h_in = F.linear(h, w_hh[: 2 * units]), h
                    h_r, h_z = hh.chunk(2, -1)
                    r, z = gate(x_r + h_r), gate(x_z + h_z)
                    n = act(x_n + F.linear(r * h_in, w_hh[2 * units :]))
                    n = n if mask is None or per_gate else n * mask
                    h = (1 - z) * n + z * h
                    steps.append(h)
                    continue
                if per_gate:
                    wide = w_hh.view(gates, units, units)
                    hh = torch.einsum("gbv,guv->bgu", h * mask, wide).flatten(1)
                    hh = hh if b_hh is None else hh + b_hh
                else:
                    hh = F.linear(h, w_hh, b_hh)
                if lstm:
                    i, f, g, o = (xs[:, t] + hh).chunk(4, -1)
                    g = act(g) if mask is None or per_gate else act(g) * mask
                    c = gate(f) * c + gate(i) * g
                    h = gate(o) * act(c)
                elif gru:
                    x_r, x_z, x_n = xs[:, t].chunk(3, -1)
                    h_r, h_z, h_n = hh.chunk(3, -1)
                    r, z = gate(x_r + h_r), gate(x_z + h_z)
                    n = act(x_n + r * h_n)
                    n = n if mask is None or per_gate else n * mask
                    h = (1 - z) * n + z * h
                else:
                    h = act(xs[:, t] + hh)
                steps.append(h)
            out = torch.stack(steps, 1)
            outs.append(out.flip(1) if d else out)
            hs.append(h)
            cs.append(c)
        h_n = torch.stack(hs)
        return torch.cat(outs, -1), ((h_n, torch.stack(cs)) if lstm else h_n)


class LSTM(KerasRecurrent, nn.LSTM):
    """`nn.LSTM` (batch first, cuDNN on a GPU) with Keras's outputs and bias initialisation.

    The biases start at zero, and the forget gate's input bias at `forget_bias`
    (1.0 for Keras's `unit_forget_bias`); `bias_ih + bias_hh` is Keras's one bias.
    """

    def __init__(
        self, input_size, units, *, bidirectional=False, bias=True, forget_bias=1.0, **keras
    ):
        super().__init__(
            input_size, units, bias=bias, batch_first=True, bidirectional=bidirectional
        )
        self._keras_setup(**keras)
        if bias:
            with torch.no_grad():
                for name, value in self.named_parameters():
                    if name.startswith("bias_ih"):
                        value[units : 2 * units] = forget_bias


class LSTMVariant(KerasRecurrent, nn.Module):
    """An LSTM variant of Greff et al. (2017), or a layer-normalised LSTM (Ba et al., 2016).

    Per direction: `weight_ih_l0` (gates*u, F) and `weight_hh_l0` (gates*u, u)
    for the gates that have weights, in the order i, f, g, o; one bias per gate
    (`bias_l0`); diagonal peepholes from the cell to the i, f, o gates that
    exist (`peephole_l0`, one row each); for `fgr`, `gate_recurrence_l0`
    (3u, 3u): the i, f, o gates also read the previous step's i, f, o. The
    `layer_norm` variant is Ba et al.'s equation 20, whose norms' shifts are its
    only biases: LN(W_x x) + LN(W_h h) for the gates (`norm_input_l0`,
    `norm_hidden_l0`, 4u each) and h = o * tanh(LN(c)) (`norm_cell_l0`, u).
    """

    GATES = {
        "peephole": "ifgo",
        "nig": "fgo",
        "nfg": "igo",
        "nog": "ifg",
        "niaf": "ifgo",
        "noaf": "ifgo",
        "cifg": "igo",
        "fgr": "ifgo",
        "layer_norm": "ifgo",
    }

    def __init__(
        self,
        input_size,
        units,
        *,
        variant,
        bidirectional=False,
        bias=True,
        forget_bias=1.0,
        **keras,
    ):
        super().__init__()
        self.variant, self.gates = variant, self.GATES[variant]
        self.input_size, self.hidden_size, self.num_layers = input_size, units, 1
        self.bidirectional = bidirectional
        self.bias = bias and variant != "layer_norm"
        self.peepholes = "" if variant == "layer_norm" else [g for g in "ifo" if g in self.gates]
        n, bound = len(self.gates), units**-0.5
        for suffix in ["", "_reverse"] if bidirectional else [""]:
            shapes = {"weight_ih": (n * units, input_size), "weight_hh": (n * units, units)}
            if self.peepholes:
                shapes["peephole"] = (len(self.peepholes), units)
            if variant == "fgr":
                shapes["gate_recurrence"] = (3 * units, 3 * units)
            for name, shape in shapes.items():
                weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
                self.register_parameter(f"{name}_l0{suffix}", weight)
            if self.bias:
                value = torch.zeros(n, units)
                if "f" in self.gates:
                    value[self.gates.index("f")] = forget_bias
                self.register_parameter(f"bias_l0{suffix}", nn.Parameter(value.flatten()))
            if variant == "layer_norm":
                self.add_module(f"norm_input_l0{suffix}", nn.LayerNorm(4 * units))
                self.add_module(f"norm_hidden_l0{suffix}", nn.LayerNorm(4 * units))
                self.add_module(f"norm_cell_l0{suffix}", nn.LayerNorm(units))
        self._keras_setup(**keras)
        self.loop = True

    def _loop(self, x, state=None):
        """Greff et al.'s equations, one step at a time; input projection for all steps at once."""
        units, batch = self.hidden_size, x.shape[0]
        directions = 2 if self.bidirectional else 1
        act = self.activation or torch.tanh
        gate = self.recurrent_activation or torch.sigmoid
        cell_in = (lambda v: v) if self.variant == "niaf" else act
        cell_out = (lambda v: v) if self.variant == "noaf" else act
        if state is None:
            state = [x.new_zeros(directions, batch, width) for _, width in self._state_widths()]
        h0, c0 = state[:2]
        drop = self.training and self.recurrent_dropout > 0
        outs, hs, cs, gates = [], [], [], []
        for d in range(directions):
            suffix = "_reverse" if d else ""
            w_hh = getattr(self, f"weight_hh_l0{suffix}")
            bias = getattr(self, f"bias_l0{suffix}", None)
            peep = getattr(self, f"peephole_l0{suffix}", None)
            peep = dict(zip(self.peepholes, peep, strict=True)) if peep is not None else {}
            seq = x.flip(1) if d else x
            xs = F.linear(seq, getattr(self, f"weight_ih_l0{suffix}"), bias)
            norm_hidden = getattr(self, f"norm_hidden_l0{suffix}", None)
            if norm_hidden is not None:  # layer_norm: the input part for all steps at once
                xs = getattr(self, f"norm_input_l0{suffix}")(xs)
            mask = None
            if drop:
                mask = F.dropout(x.new_ones(batch, units), self.recurrent_dropout, training=True)
            state_mask = mask if self.recurrent_dropout_mode == "state" else None
            update_mask = mask if self.recurrent_dropout_mode == "update" else None
            h, c, steps = h0[d], c0[d], []
            previous = state[2][d] if self.variant == "fgr" else None  # the last step's i, f, o
            for t in range(seq.shape[1]):
                recurrent = F.linear(h if state_mask is None else h * state_mask, w_hh)
                pre = xs[:, t] + (recurrent if norm_hidden is None else norm_hidden(recurrent))
                parts = dict(zip(self.gates, pre.chunk(len(self.gates), -1), strict=True))
                if self.variant == "fgr":
                    extra = F.linear(previous, getattr(self, f"gate_recurrence_l0{suffix}"))
                    for name, part in zip("ifo", extra.chunk(3, -1), strict=True):
                        parts[name] = parts[name] + part
                for name in "if":
                    if name in peep:
                        parts[name] = parts[name] + peep[name] * c
                i = gate(parts["i"]) if "i" in parts else 1.0
                f = gate(parts["f"]) if "f" in parts else 1.0
                if self.variant == "cifg":
                    f = 1 - i
                g = cell_in(parts["g"])
                if update_mask is not None:
                    g = g * update_mask
                c = f * c + i * g
                if "o" in parts:
                    o = gate(parts["o"] + peep["o"] * c if "o" in peep else parts["o"])
                else:
                    o = 1.0
                if self.variant == "layer_norm":
                    h = o * cell_out(getattr(self, f"norm_cell_l0{suffix}")(c))
                else:
                    h = o * cell_out(c)
                if self.variant == "fgr":
                    previous = torch.cat([i, f, o], -1)
                steps.append(h)
            out = torch.stack(steps, 1)
            outs.append(out.flip(1) if d else out)
            hs.append(h)
            cs.append(c)
            gates.append(previous)
        state = (torch.stack(hs), torch.stack(cs))
        if self.variant == "fgr":
            state = (*state, torch.stack(gates))
        return torch.cat(outs, -1), state


class GRU(KerasRecurrent, nn.GRU):
    """`nn.GRU` (batch first, reset gate after the matmul, as Keras) with Keras's outputs."""

    def __init__(self, input_size, units, *, bidirectional=False, bias=True, **keras):
        super().__init__(
            input_size, units, bias=bias, batch_first=True, bidirectional=bidirectional
        )
        self._keras_setup(**keras)


class GRUResetBefore(StepByStep, KerasRecurrent, nn.Module):
    """Keras's GRU with `reset_after=False`: no fused kernel has it, so it runs step by step.

    `nn.GRU`'s weight names and gate order (reset, update, new), with one bias
    per direction (`bias_ih_l0`) as Keras keeps for this layout.
    """

    def __init__(self, input_size, units, *, bidirectional=False, bias=True, **keras):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, units, 1
        self.bidirectional, self.bias, self.reset_after = bidirectional, bias, False
        bound = units**-0.5
        for suffix in ["", "_reverse"] if bidirectional else [""]:
            shapes = {"weight_ih": (3 * units, input_size), "weight_hh": (3 * units, units)}
            if bias:
                shapes["bias_ih"] = (3 * units,)
            for name, shape in shapes.items():
                weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
                self.register_parameter(f"{name}_l0{suffix}", weight)
        self._keras_setup(**keras)
        self.loop = True


class RNN(KerasRecurrent, nn.RNN):
    """`nn.RNN` (batch first, tanh or relu) with Keras's `SimpleRNN` outputs."""

    def __init__(
        self, input_size, units, *, nonlinearity="tanh", bidirectional=False, bias=True, **keras
    ):
        super().__init__(
            input_size,
            units,
            nonlinearity=nonlinearity,
            bias=bias,
            batch_first=True,
            bidirectional=bidirectional,
        )
        self._keras_setup(**keras)


class SteppedLSTM(StepByStep, LSTM):
    """`LSTM` run step by step: custom activations or recurrent dropout."""


class SteppedGRU(StepByStep, GRU):
    """`GRU` run step by step: custom activations or recurrent dropout."""


class SteppedRNN(StepByStep, RNN):
    """`RNN` run step by step: an activation other than tanh and relu, or recurrent dropout."""


class Conv1d(nn.Conv1d):
    """`nn.Conv1d` on (batch, time, channels), with Keras's `valid`/`same`/`causal` padding.

    `same` pads as TensorFlow does (the larger half on the right), for any stride.
    """

    def __init__(
        self, in_channels, filters, kernel_size, *, stride=1, dilation=1, bias=True, padding="valid"
    ):
        super().__init__(
            in_channels, filters, kernel_size, stride=stride, dilation=dilation, bias=bias
        )
        self.keras_padding = padding

    def forward(self, x):
        x = x.transpose(1, 2)
        span = self.dilation[0] * (self.kernel_size[0] - 1) + 1
        if self.keras_padding == "causal":
            x = F.pad(x, (span - 1, 0))
        elif self.keras_padding == "same":
            steps, stride = x.shape[-1], self.stride[0]
            total = max((-(-steps // stride) - 1) * stride + span - steps, 0)
            x = F.pad(x, (total // 2, total - total // 2))
        return super().forward(x).transpose(1, 2)


class BatchNorm(nn.BatchNorm1d):
    """Keras's `BatchNormalization` of the last axis, on (batch, ..., features).

    Training normalises with the batch's mean and biased variance, as both
    frameworks do, and moves the running statistics toward those same values,
    as Keras does (`nn.BatchNorm1d` moves the variance toward the unbiased one).
    """

    def forward(self, x):
        dtype = x.dtype  # statistics in float32 at least, under autocast too (as Keras)
        x = x.to(torch.promote_types(dtype, torch.float32))
        if self.training:
            var, mean = torch.var_mean(x, tuple(range(x.dim() - 1)), correction=0)
            with torch.no_grad():
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(var.to(self.running_var.dtype), self.momentum)
        else:
            mean, var = self.running_mean.to(x.dtype), self.running_var.to(x.dtype)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            x = x * self.weight.to(x.dtype)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype)
        return x.to(dtype)


def affine(norm, *, scale=False, center=False):
    """A normalisation layer built with no affine part, given Keras's gain and shift separately."""
    features = getattr(norm, "num_features", None) or norm.normalized_shape[0]
    if scale:
        norm.weight = nn.Parameter(torch.ones(features))
    if center:
        norm.bias = nn.Parameter(torch.zeros(features))
    return norm


class Attention(nn.Module):
    """Keras's `Attention`: dot or concat scores, softmax over the value steps, dropout."""

    def __init__(self, *, use_scale=False, score_mode="dot", dropout=0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(())) if use_scale else None
        self.concat_score_weight = nn.Parameter(torch.ones(())) if score_mode == "concat" else None
        self.dropout = dropout

    def forward(self, query, value, key=None):
        key = value if key is None else key
        if self.concat_score_weight is None:
            scores = query @ key.transpose(1, 2)
            if self.scale is not None:
                scores = scores * self.scale
        else:
            summed = query.unsqueeze(-2) + key.unsqueeze(-3)
            if self.scale is not None:
                summed = summed * self.scale
            scores = self.concat_score_weight * torch.tanh(summed).sum(-1)
        weights = F.dropout(scores.softmax(-1), self.dropout, training=self.training)
        return weights @ value


class MultiHeadAttention(nn.Module):
    """Keras's `MultiHeadAttention`: per-head query/key/value projections, output projection.

    Four `nn.Linear` in Keras's layout (so both frameworks count the same
    parameters), and `F.scaled_dot_product_attention` (scale 1/sqrt(key_dim)).
    """

    def __init__(
        self,
        query_dim,
        key_dim,
        value_dim,
        num_heads,
        head_key_dim,
        head_value_dim,
        *,
        bias=True,
        dropout=0.0,
    ):
        super().__init__()
        self.num_heads = num_heads
        self.query = nn.Linear(query_dim, num_heads * head_key_dim, bias=bias)
        self.key = nn.Linear(key_dim, num_heads * head_key_dim, bias=bias)
        self.value = nn.Linear(value_dim, num_heads * head_value_dim, bias=bias)
        self.output = nn.Linear(num_heads * head_value_dim, query_dim, bias=bias)
        self.dropout = dropout

    def _heads(self, x):
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)

    def forward(self, query, value=None, key=None):
        value = query if value is None else value
        key = value if key is None else key
        q, k, v = (
            self._heads(self.query(query)),
            self._heads(self.key(key)),
            self._heads(self.value(value)),
        )
        dropout = self.dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
        return self.output(attended.transpose(1, 2).flatten(2))
