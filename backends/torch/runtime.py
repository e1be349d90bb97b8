"""What PyTorch's layers lack of Keras's, for the models specc emits.

`specc.build` imports these from here (`specc.backends.torch.runtime`).
`specc compile` writes one self-contained file instead: the emitter reads the
source of the definitions a model uses (with `ast`, never importing this
module, which imports torch) and copies them into it, so it imports nothing
but torch. A plain recurrent layer needs none of them: the emitted model uses
`nn.LSTM`, `nn.GRU` or `nn.RNN` and writes Keras's outputs inline.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ._layout import recurrent_names


class KerasRecurrent:
    """Keras's view of a recurrent layer (batch first), where plain `nn.LSTM` won't do.

    What Keras's recurrent layers do and PyTorch's do not: one input dropout
    mask shared by all time steps, `merge_mode` for a bidirectional layer, the
    last step of each direction for `return_sequences=False` (the backward
    direction's is at t = 0), `stateful` state kept between batches, and
    biases that start at zero (an LSTM's forget gate at `forget_bias`).
    A subclass runs the layer in `_run(x, state) -> (out, state)`.
    """

    def _keras_setup(
        self,
        *,
        return_sequences=False,
        merge_mode="concat",
        dropout=0.0,
        stateful_batch=0,
        return_state=False,
        name=None,
    ):
        """Keras's settings, the same for every recurrent layer here; `name`, the spec
        layer's, names a stateful one in messages."""
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.merge_mode = merge_mode
        self.input_dropout = dropout
        self.stateful = stateful_batch > 0
        self.name = name
        if self.stateful:
            # plain tensor attributes, not buffers: DDP broadcasts buffers from rank 0
            # at every forward, and each rank carries its own rows; `_apply` moves them
            shape = (2 if self.bidirectional else 1, stateful_batch)
            for part, width in self._state_widths():
                setattr(self, part, torch.zeros(*shape, width))
        self.reset_parameters()

    def _apply(self, fn, recurse=True):
        """`.to()`, `.cuda()`, `.double()`, `to_empty()` move the carried state too."""
        super()._apply(fn, recurse)
        if getattr(self, "stateful", False):
            for part, _ in self._state_widths():
                setattr(self, part, fn(getattr(self, part)))
        return self

    def _keras_biases(self):
        """Keras's initial biases: zeros, and an LSTM's forget gate at `forget_bias`."""
        # name -> whether it is an input bias (an LSTM's forget bias is there)
        biases = {}
        for d in range(2 if self.bidirectional else 1):
            names = recurrent_names(d)
            biases[names["input_bias"]] = True
            biases[names["recurrent_bias"]] = False
        with torch.no_grad():
            for name, value in self.named_parameters(recurse=False):
                if name in biases:
                    value.zero_()
                if biases.get(name) and self.mode == "LSTM":
                    value.chunk(4)[1].fill_(self.forget_bias)  # gates i, f, g, o

    def _state_widths(self):
        """What a step hands the next one: h, and c in an LSTM."""
        units = self.hidden_size
        return [("h", units), ("c", units)] if self.mode == "LSTM" else [("h", units)]

    def reset_states(self):
        """Forget the state carried between batches (stateful layers)."""
        if self.stateful:  # new zeros: autograd may still hold the old state
            for part, _ in self._state_widths():
                setattr(self, part, torch.zeros_like(getattr(self, part)))

    def _masks_input(self):
        """Whether `_run` masks the input itself (per gate); else one mask here."""
        return False

    def forward(self, x, state=None, mask=None):
        """The output as Keras gives it; with `return_state`, also the final state as
        PyTorch's layers give it ((h_n, c_n) for an LSTM, h_n otherwise, each (directions,
        batch, units)). `state` is the one to start from, in that layout; `mask`
        (batch, T), True at real steps, right-padded, skips the padding."""
        if self.input_dropout and self.training and not self._masks_input():
            ones = x.new_ones(x.shape[0], 1, x.shape[2])
            x = x * F.dropout(ones, self.input_dropout, training=True)
        if self.stateful:
            state = self._carried(x)
        out, state = self._run(x, state) if mask is None else self._run(x, state, mask)
        if mask is not None:  # masked: zeros at masked steps, or the final state's h
            out = masked_outputs(out, state, mask, self.return_sequences)
        if self.stateful:  # replaced, never changed in place: autograd holds the old
            values = state if isinstance(state, tuple) else (state,)
            widths = self._state_widths()
            for (part, _), value in zip(widths, values, strict=True):
                setattr(self, part, value.detach())
        out = self._keras_output(out)
        if self.return_state:
            return out, state[:2] if isinstance(state, tuple) else state
        return out

    def _carried(self, x):
        """The state the last batch left, checked: an exported graph would keep none,
        and each batch row continues the same row of the last batch."""
        name = f"stateful layer `{self.name}`" if self.name else "a stateful layer"
        if torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting():
            raise RuntimeError(
                f"{name} carries its state between calls in the module, which an "
                "exported graph (ONNX, torch.export) cannot keep: export the spec "
                "with `stateful: false` and `return_state: true`, feed the state "
                "in as initial states and carry it yourself"
            )
        state = tuple(getattr(self, part) for part, _ in self._state_widths())
        if x.shape[0] != state[0].shape[1]:
            raise ValueError(
                f"{name} takes batches of {state[0].shape[1]} rows (the spec's "
                f"batch_size), got {x.shape[0]}: drop a last smaller batch "
                "(DataLoader's drop_last=True, under DDP on each rank)"
            )
        return state if len(state) > 1 else state[0]

    def _keras_output(self, out):
        """Every step's output, (batch, T, directions * units), as Keras returns it."""
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


class Fused(KerasRecurrent):
    """Keras's view of a fused `nn.LSTM`, `nn.GRU` or `nn.RNN`: a stateful one."""

    def _run(self, x, state, seq_mask=None):
        if seq_mask is not None:  # packed by the mask's lengths (cuDNN kept)
            return packed(super(KerasRecurrent, self).forward, x, seq_mask, state)
        # the fused layer's own forward: the next after KerasRecurrent
        return super(KerasRecurrent, self).forward(x, state)

    def reset_parameters(self):
        """PyTorch's initial weights, Keras's initial biases, no carried state."""
        super().reset_parameters()
        # nn.RNNBase.__init__ calls this before _keras_setup has run
        if hasattr(self, "stateful"):
            self._keras_biases()
            self.reset_states()


class KerasLSTM(Fused, nn.LSTM):
    """`nn.LSTM` (batch first) with Keras's outputs, dropout, state and biases."""

    def __init__(
        self,
        input_size,
        units,
        *,
        bidirectional=False,
        bias=True,
        forget_bias=1.0,
        **keras,
    ):
        super().__init__(
            input_size, units, bias=bias, batch_first=True, bidirectional=bidirectional
        )
        self.forget_bias = forget_bias
        self._keras_setup(**keras)


class KerasGRU(Fused, nn.GRU):
    """`nn.GRU` (batch first, reset gate after the matmul) with Keras's outputs."""

    def __init__(self, input_size, units, *, bidirectional=False, bias=True, **keras):
        super().__init__(
            input_size, units, bias=bias, batch_first=True, bidirectional=bidirectional
        )
        self._keras_setup(**keras)


class KerasRNN(Fused, nn.RNN):
    """`nn.RNN` (batch first, tanh or relu) with Keras's `SimpleRNN` outputs."""

    def __init__(
        self,
        input_size,
        units,
        *,
        nonlinearity="tanh",
        bidirectional=False,
        bias=True,
        **keras,
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


class StepByStep(KerasRecurrent, nn.Module):
    """Keras's LSTM, GRU or SimpleRNN cell one time step at a time (W502).

    For what no fused kernel has: an activation other than the defaults,
    recurrent dropout, or GRU's reset gate before the matmul (`reset_after=
    False`). `mode` is "LSTM", "GRU" or "RNN". The parameters are the fused
    layer's, by name and layout (`weight_ih_l0`, `bias_hh_l0_reverse`, ...;
    with `reset_after=False` one bias, `bias_ih_l0`, as Keras keeps it), so
    weights move between the two. The input projection of all steps is one
    matmul, the recurrent one of all gates one per step. Keras's recurrent
    dropout (`state`) uses one mask per gate for the state and, with input
    dropout, one per gate for the input, as Keras's cells do then; `update`
    masks the candidate (Semeniuta et al., 2016). The steps run under autograd
    (`plain_steps`).
    """

    compile_steps = False  # True (or a number of steps per chunk): the loop compiled
    compiled = {}  # noqa: RUF012 stepped_loop's compiled loops, by key

    def __init__(
        self,
        mode,
        input_size,
        units,
        *,
        bidirectional=False,
        bias=True,
        reset_after=True,
        forget_bias=1.0,
        activation=torch.tanh,
        recurrent_activation=torch.sigmoid,
        recurrent_dropout=0.0,
        recurrent_dropout_mode="state",
        **keras,
    ):
        super().__init__()
        self.mode, self.input_size, self.hidden_size = mode, input_size, units
        self.bidirectional, self.bias = bidirectional, bias
        self.reset_after = reset_after
        self.forget_bias = forget_bias
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.recurrent_dropout = recurrent_dropout
        self.recurrent_dropout_mode = recurrent_dropout_mode
        self.gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[mode]
        rows = self.gates * units
        for d in range(2 if bidirectional else 1):
            names = recurrent_names(d)
            shapes = {
                "input_kernel": (rows, input_size),
                "recurrent_kernel": (rows, units),
            }
            if bias:
                shapes["input_bias"] = (rows,)
                if reset_after:
                    shapes["recurrent_bias"] = (rows,)
            for role, shape in shapes.items():
                self.register_parameter(names[role], nn.Parameter(torch.empty(shape)))
        self._keras_setup(**keras)

    def reset_parameters(self):
        """PyTorch's initial weights, Keras's initial biases, no carried state."""
        bound = self.hidden_size**-0.5
        with torch.no_grad():
            for value in self.parameters():
                value.uniform_(-bound, bound)
        self._keras_biases()
        self.reset_states()

    def _per_gate(self):
        return self.recurrent_dropout > 0 and self.recurrent_dropout_mode == "state"

    def _masks_input(self):
        return self._per_gate()

    def _run(self, x, state, seq_mask=None):
        gates = self.gates
        units, batch = self.hidden_size, x.shape[0]
        directions = 2 if self.bidirectional else 1
        act, gate = self.activation, self.recurrent_activation
        lstm = self.mode == "LSTM"
        if state is None:  # h and c apart: a compiled loop would guard on their alias
            zeros = [x.new_zeros(directions, batch, units) for _ in range(1 + lstm)]
            state = zeros if lstm else zeros[0]
        h0, c0 = state if lstm else (state, None)  # a GRU's or an RNN's c: None
        drop = self.training and self.recurrent_dropout > 0
        per_gate = drop and self._per_gate()
        outs, hs, cs = [], [], []
        for d in range(directions):
            names = recurrent_names(d)
            w_ih = getattr(self, names["input_kernel"])
            w_hh = getattr(self, names["recurrent_kernel"])
            b_ih = getattr(self, names["input_bias"], None)
            b_hh = getattr(self, names["recurrent_bias"], None)
            seq = reverse_padded(x, seq_mask) if d else x
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
                mask = F.dropout(x.new_ones(shape), self.recurrent_dropout)
            cell = (self.mode, self.reset_after, act, gate, per_gate)
            chunk = self.compile_steps if self.compile_steps is not True else 16
            run = plain_steps
            if chunk:
                grad = torch.is_grad_enabled()
                run = stepped_loop((cell, chunk, grad, seq_mask is None, mask is None))
            c = None if c0 is None else c0[d]
            steps, h, c = run(cell, xs, seq_mask, h0[d], c, w_hh, b_hh, mask)
            out = torch.stack(steps, 1)
            outs.append(reverse_padded(out, seq_mask) if d else out)
            hs.append(h)
            cs.append(c)
        h_n = torch.stack(hs)
        state = (h_n, torch.stack(cs)) if lstm else h_n
        return torch.cat(outs, -1), state


def plain_steps(cell, xs, seq_mask, h, c, w_hh, b_hh, mask):
    """`StepByStep`'s steps under autograd: every step's h (a list), the final h
    and c. `cell` is (mode, reset_after, activation, recurrent activation,
    whether `mask` is one per gate); `xs` (B, T, G*u) every step's input
    projection; `seq_mask` (B, T) False carries the state over a step."""
    mode, reset_after, act, gate, per_gate = cell
    units = h.shape[-1]
    if per_gate:  # each gate's (u, u) block, transposed once: one bmm a step
        blocks = w_hh.view(-1, units, units).transpose(1, 2)
    steps = []
    # unbind, not xs[:, t]: the backward of slicing a step builds a zero
    # tensor of the whole projection at every step
    for t, x_t in enumerate(xs.unbind(1)):
        carried = (h, c)  # what a masked step keeps
        # reset_after=False: the reset gate scales h before its matmul
        if not reset_after:
            x_r, x_z, x_n = x_t.chunk(3, -1)
            if per_gate:
                hh = torch.bmm(h * mask[:2], blocks[:2])
                hh = hh.transpose(0, 1).flatten(1)
                h_in = h * mask[2]
            else:
                hh, h_in = F.linear(h, w_hh[: 2 * units]), h
            h_r, h_z = hh.chunk(2, -1)
            r, z = gate(x_r + h_r), gate(x_z + h_z)
            n = act(x_n + F.linear(r * h_in, w_hh[2 * units :]))
            n = n if mask is None or per_gate else n * mask
            h = (1 - z) * n + z * h
            if seq_mask is not None:
                h, c = carry(seq_mask[:, t], (h, c), carried)
            steps.append(h)
            continue
        if per_gate:
            hh = torch.bmm(h * mask, blocks).transpose(0, 1).flatten(1)
            hh = hh if b_hh is None else hh + b_hh
        else:
            hh = F.linear(h, w_hh, b_hh)
        if mode == "LSTM":
            i, f, g, o = (x_t + hh).chunk(4, -1)
            g = act(g) if mask is None or per_gate else act(g) * mask
            c = gate(f) * c + gate(i) * g
            h = gate(o) * act(c)
        elif mode == "GRU":
            x_r, x_z, x_n = x_t.chunk(3, -1)
            h_r, h_z, h_n = hh.chunk(3, -1)
            r, z = gate(x_r + h_r), gate(x_z + h_z)
            n = act(x_n + r * h_n)
            n = n if mask is None or per_gate else n * mask
            h = (1 - z) * n + z * h
        else:
            h = act(x_t + hh)
        if seq_mask is not None:
            h, c = carry(seq_mask[:, t], (h, c), carried)
        steps.append(h)
    return steps, h, c


def chunks(steps, chunk, dim, *values):
    """Each run of `chunk` steps, whole chunks first, then the rest: its start,
    whether whole, and the values' slices along `dim` (None stays None), each
    with strides of its own (a compiled loop's inputs)."""
    for s in range(0, steps, chunk):
        size = min(chunk, steps - s)
        cut = [v if v is None else v.narrow(dim, s, size).contiguous() for v in values]
        yield s, size == chunk, *cut


def stepped_loop(key):
    """`plain_steps` run `chunk` steps at a time, whole chunks compiled
    (`torch.compile`, forward and backward), the rest eagerly: a new sequence
    length compiles nothing new. `key` is (cell, chunk, grad mode, whether the
    sequence mask and the dropout mask are absent): each key compiles once,
    with code of its own (dynamo's recompile limit counts them apart)."""
    if key not in StepByStep.compiled:
        chunk, f = key[1], plain_steps
        compiled = torch.compile(type(f)(f.__code__.replace(), f.__globals__))

        def run(cell, xs, seq_mask, h, c, *weights):
            steps = []
            for _, whole, piece, kept in chunks(xs.shape[1], chunk, 1, xs, seq_mask):
                loop = compiled if whole else plain_steps
                part, h, c = loop(cell, piece, kept, h, c, *weights)
                steps += part
            return steps, h, c

        StepByStep.compiled[key] = run
    return StepByStep.compiled[key]


class LSTMVariant(KerasRecurrent, nn.Module):
    """An LSTM variant of Greff et al. (2017), or Ba et al.'s layer-normalised LSTM.

    The emitter passes the variant's row of `specc.variants.VARIANTS`: `gates`
    (those with weights, a subsequence of "ifgo"), `peepholes` (the gates that
    read the cell), and the special wiring flags. Per direction:
    `weight_ih_l0` (gates*u, F) and `weight_hh_l0` (gates*u, u), rows in the
    order of `gates`; one bias per gate (`bias_l0`); one peephole row per
    gate in `peepholes` (`peephole_l0`); with `gate_recurrence` (fgr),
    `gate_recurrence_l0` (3u, 3u): i, f, o also read the last step's i, f, o.
    With `layer_norm`, Ba et al.'s equation 20, whose norms' shifts are the
    only biases: LN(W_x x) + LN(W_h h) for the gates (`norm_input_l0`,
    `norm_hidden_l0`, 4u each) and h = o * tanh(LN(c)) (`norm_cell_l0`, u).
    """

    mode = "LSTM"
    autograd_loop = False  # True: the plain loop under autograd (twice differentiable)
    compile_steps = False  # True (or a number of steps per chunk): the loops compiled

    def __init__(
        self,
        input_size,
        units,
        *,
        gates,
        peepholes,
        coupled_forget=False,
        gate_recurrence=False,
        input_activation=True,
        output_activation=True,
        layer_norm=False,
        bidirectional=False,
        bias=True,
        forget_bias=1.0,
        activation=torch.tanh,
        recurrent_activation=torch.sigmoid,
        recurrent_dropout=0.0,
        recurrent_dropout_mode="state",
        **keras,
    ):
        super().__init__()
        self.gates, self.peepholes = gates, peepholes
        self.coupled_forget, self.gate_recurrence = coupled_forget, gate_recurrence
        self.layer_norm = layer_norm
        self.input_size, self.hidden_size = input_size, units
        self.bidirectional, self.bias = bidirectional, bias and not layer_norm
        self.forget_bias = forget_bias
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.input_activation = input_activation
        self.output_activation = output_activation
        self.recurrent_dropout = recurrent_dropout
        self.recurrent_dropout_mode = recurrent_dropout_mode
        rows = len(gates) * units
        for d in range(2 if bidirectional else 1):
            names = recurrent_names(d)
            shapes = {
                "input_kernel": (rows, input_size),
                "recurrent_kernel": (rows, units),
            }
            if self.peepholes:
                shapes["peephole"] = (len(self.peepholes), units)
            if gate_recurrence:
                shapes["gate_recurrence"] = (3 * units, 3 * units)
            if self.bias:
                shapes["bias"] = (rows,)
            for role, shape in shapes.items():
                self.register_parameter(names[role], nn.Parameter(torch.empty(shape)))
            if layer_norm:
                self.add_module(names["input_norm"], nn.LayerNorm(rows))
                self.add_module(names["recurrent_norm"], nn.LayerNorm(rows))
                self.add_module(names["cell_norm"], nn.LayerNorm(units))
        self._keras_setup(**keras)

    def reset_parameters(self):
        """PyTorch's LSTM's uniform weights, Keras's initial biases, no state."""
        bound = self.hidden_size**-0.5
        directions = 2 if self.bidirectional else 1
        biases = {recurrent_names(d)["bias"] for d in range(directions)}
        with torch.no_grad():
            for name, value in self.named_parameters(recurse=False):
                if name in biases:
                    value.zero_()
                    if "f" in self.gates:
                        forget = value.chunk(len(self.gates))[self.gates.index("f")]
                        forget.fill_(self.forget_bias)
                else:
                    value.uniform_(-bound, bound)
        for norm in self.children():
            norm.reset_parameters()
        self.reset_states()

    def _state_widths(self):
        """h and c; with gate recurrence also the last step's i, f, o."""
        units = self.hidden_size
        widths = [("h", units), ("c", units)]
        return widths + ([("last_gates", 3 * units)] if self.gate_recurrence else [])

    def _run(self, x, state, seq_mask=None):
        """Greff et al.'s equations in `VariantSteps`: the input projection of all
        steps at once, autograd's; the steps' backward by hand."""
        if self.autograd_loop:
            return self._run_loop(x, state, seq_mask)
        units, batch = self.hidden_size, x.shape[0]
        directions = 2 if self.bidirectional else 1
        state = list(state or ())
        for _, width in self._state_widths()[len(state) :]:
            state.append(x.new_zeros(directions, batch, width))
        cell_in = self.activation if self.input_activation else None
        cell_out = self.activation if self.output_activation else None
        functions = (cell_in, cell_out, self.recurrent_activation)
        generic = any(fn not in (None, torch.sigmoid, torch.tanh) for fn in functions)
        spec = (self.gates, self.coupled_forget, *functions, generic)
        drop = self.training and self.recurrent_dropout > 0
        outs, finals = [], []
        for d in range(directions):
            names = recurrent_names(d)
            roles = ("recurrent_norm", "cell_norm")
            norms = [getattr(self, names[n], None) for n in roles]
            eps = [1e-5 if n is None else n.eps for n in norms]
            chunk = self.compile_steps if self.compile_steps is not True else 16
            cell = (spec, self.peepholes, *eps, chunk or 0, torch.is_grad_enabled())
            bias = getattr(self, names["bias"], None)
            seq = reverse_padded(x, seq_mask) if d else x
            # time-major (T, B, G): each step's slice and the gradient contiguous
            w_ih = getattr(self, names["input_kernel"])
            xs = F.linear(seq.transpose(0, 1), w_ih, bias)
            if norms[0] is not None:  # layer_norm: the input part, all steps at once
                xs = getattr(self, names["input_norm"])(xs)
            masks = [None, None]
            if drop:
                mask = F.dropout(x.new_ones(batch, units), self.recurrent_dropout)
                masks[self.recurrent_dropout_mode == "update"] = mask
            w_hh = getattr(self, names["recurrent_kernel"])
            # the steps in the weights' dtype: autocast's input projection cast up
            with torch.autocast(x.device.type, enabled=False):
                out, *final = VariantSteps.apply(
                    cell,
                    xs.to(w_hh.dtype),
                    None if seq_mask is None else seq_mask.t(),
                    *(s[d].to(w_hh.dtype) for s in state[:2]),
                    state[2][d].to(w_hh.dtype) if self.gate_recurrence else None,
                    w_hh,
                    getattr(self, names["peephole"], None),
                    getattr(self, names["gate_recurrence"], None),
                    *(p for n in norms if n is not None for p in (n.weight, n.bias)),
                    *[None] * (4 if norms[0] is None else 0),
                    *masks,
                )
            out = out.transpose(0, 1)
            outs.append(reverse_padded(out, seq_mask) if d else out)
            finals.append(final)
        finals = tuple(torch.stack(s) for s in zip(*finals, strict=True))
        return torch.cat(outs, -1), finals

    def _run_loop(self, x, state, seq_mask=None):
        """Greff et al.'s equations step by step under autograd (`autograd_loop`)."""
        units, batch = self.hidden_size, x.shape[0]
        directions = 2 if self.bidirectional else 1
        gate = self.recurrent_activation
        cell_in = self.activation if self.input_activation else (lambda v: v)
        cell_out = self.activation if self.output_activation else (lambda v: v)
        # from zeros, or an initial (h, c) without gate recurrence's last gates
        state = list(state or ())
        for _, width in self._state_widths()[len(state) :]:
            state.append(x.new_zeros(directions, batch, width))
        h0, c0 = state[:2]
        drop = self.training and self.recurrent_dropout > 0
        outs, hs, cs, gates = [], [], [], []
        for d in range(directions):
            names = recurrent_names(d)
            w_hh = getattr(self, names["recurrent_kernel"])
            bias = getattr(self, names["bias"], None)
            peep = getattr(self, names["peephole"], None)
            peep = {} if peep is None else dict(zip(self.peepholes, peep, strict=True))
            seq = reverse_padded(x, seq_mask) if d else x
            xs = F.linear(seq, getattr(self, names["input_kernel"]), bias)
            norm_hidden = getattr(self, names["recurrent_norm"], None)
            if norm_hidden is not None:  # layer_norm: the input part, all steps at once
                xs = getattr(self, names["input_norm"])(xs)
            mask = None
            if drop:
                mask = F.dropout(x.new_ones(batch, units), self.recurrent_dropout)
            state_mask = mask if self.recurrent_dropout_mode == "state" else None
            update_mask = mask if self.recurrent_dropout_mode == "update" else None
            h, c, steps = h0[d], c0[d], []
            # gate recurrence: the last step's i, f, o
            previous = state[2][d] if self.gate_recurrence else None
            for t, x_t in enumerate(xs.unbind(1)):  # unbind: as in StepByStep
                carried = (h, c, previous)  # what a masked step keeps
                recurrent = F.linear(h if state_mask is None else h * state_mask, w_hh)
                if norm_hidden is not None:
                    recurrent = norm_hidden(recurrent)
                pre = (x_t + recurrent).chunk(len(self.gates), -1)
                parts = dict(zip(self.gates, pre, strict=True))
                if self.gate_recurrence:
                    weight = getattr(self, names["gate_recurrence"])
                    extra = F.linear(previous, weight)
                    for name, part in zip("ifo", extra.chunk(3, -1), strict=True):
                        parts[name] = parts[name] + part
                for name in "if":
                    if name in peep:
                        parts[name] = parts[name] + peep[name] * c
                i = gate(parts["i"]) if "i" in parts else 1.0
                f = gate(parts["f"]) if "f" in parts else 1.0
                if self.coupled_forget:
                    f = 1 - i
                g = cell_in(parts["g"])
                if update_mask is not None:
                    g = g * update_mask
                c = f * c + i * g
                if "o" in parts:
                    o = gate(parts["o"] + peep["o"] * c if "o" in peep else parts["o"])
                else:
                    o = 1.0
                if self.layer_norm:
                    h = o * cell_out(getattr(self, names["cell_norm"])(c))
                else:
                    h = o * cell_out(c)
                if self.gate_recurrence:
                    previous = torch.cat([i, f, o], -1)
                if seq_mask is not None:
                    h, c, previous = carry(seq_mask[:, t], (h, c, previous), carried)
                steps.append(h)
            out = torch.stack(steps, 1)
            outs.append(reverse_padded(out, seq_mask) if d else out)
            hs.append(h)
            cs.append(c)
            gates.append(previous)
        state = (torch.stack(hs), torch.stack(cs))
        if self.gate_recurrence:
            state = (*state, torch.stack(gates))
        return torch.cat(outs, -1), state


class FusedLSTMVariant(LSTMVariant):
    """An LSTM variant without peepholes as one fused `nn.LSTM` call (cuDNN on a GPU).

    Without peepholes, nig, nfg, nog and cifg re-parameterise the standard
    LSTM: a missing gate is the fused layer's with zero rows and a bias of
    +1e4, whose sigmoid is exactly 1 in float32 (its derivative exactly 0);
    cifg's forget gate is its input gate negated (1 - sigmoid(z) = sigmoid(-z)).
    The parameters are `LSTMVariant`'s (names, shapes, initial values), so the
    weight transfer and the counts are unchanged; each call builds the fused
    layer's weights from them, so the fixed rows are no parameters and stay.
    """

    FROZEN = 1e4  # a missing gate's bias

    def __init__(self, input_size, units, *, gates, bidirectional=False, **settings):
        super().__init__(
            input_size,
            units,
            gates=gates,
            peepholes="",
            bidirectional=bidirectional,
            **settings,
        )
        lstm = nn.LSTM(
            input_size,
            units,
            batch_first=True,
            bidirectional=bidirectional,
            device="meta",
        )
        # weights given at each call (functional_call); in a tuple, no submodule
        self._fused = (lstm,)

    def _run(self, x, state, seq_mask=None):
        weights, lstm = self.fused_weights(), self._fused[0]

        def run(sequence, start):
            return torch.func.functional_call(lstm, weights, (sequence, start))

        if seq_mask is not None:  # packed by the mask's lengths, as `Fused`
            return packed(run, x, seq_mask, state)
        return run(x, state)

    def fused_weights(self):
        """The fused layer's weights by `nn.LSTM`'s names, built from the variant's."""
        weights = {}
        for d in range(2 if self.bidirectional else 1):
            names = recurrent_names(d)
            w_ih = getattr(self, names["input_kernel"])
            bias = getattr(self, names["bias"], None)
            if bias is None:  # use_bias: false; a missing gate keeps its bias
                bias = w_ih.new_zeros(w_ih.shape[0])
            weights[names["input_kernel"]] = self._four_gates(w_ih, 0.0)
            recurrent = getattr(self, names["recurrent_kernel"])
            weights[names["recurrent_kernel"]] = self._four_gates(recurrent, 0.0)
            weights[names["input_bias"]] = self._four_gates(bias, self.FROZEN)
            weights[names["recurrent_bias"]] = bias.new_zeros(4 * self.hidden_size)
        return weights

    def _four_gates(self, rows, missing):
        """The variant's gate rows as the fused layer's i, f, g, o: a missing gate's
        all `missing`, cifg's forget gate its input gate's negated."""
        parts = dict(zip(self.gates, rows.chunk(len(self.gates)), strict=True))
        if self.coupled_forget:
            parts["f"] = -parts["i"]
        fixed = torch.full_like(parts["g"], missing)
        return torch.cat([parts.get(g, fixed) for g in "ifgo"])


def activation_grad(fn, grad, out, pre):
    """The gradient through an elementwise activation, `out = fn(pre)`.

    `fn` None is the identity. Sigmoid and tanh from their outputs; any other
    from autograd at `pre` (which a step saves only then).
    """
    if fn is None:
        return grad
    if fn is torch.sigmoid:
        return torch.ops.aten.sigmoid_backward(grad, out)
    if fn is torch.tanh:
        return torch.ops.aten.tanh_backward(grad, out)
    with torch.enable_grad():
        pre = pre.detach().requires_grad_()
        return torch.autograd.grad(fn(pre), pre, grad)[0]


def variant_forward(spec, xs, keep, h, c, prev, weights, save):
    """An LSTM variant's steps from every step's input projection `xs` (T, B, G*u).

    `spec` is (gates, coupled_forget, input activation, output activation,
    gate activation, whether they need their inputs saved); `weights` is
    (W_hh, i/f peepholes (k, u), o peephole, gate recurrence, hidden norm,
    cell norm, state dropout mask, update dropout mask), None where absent; a
    norm is (gain, shift, eps). `keep` (T, B) False carries the state over a
    step. Returns every step's output (a list: stacked once by the caller, not
    per compiled chunk), the final h, c and last gates, and, with `save`, what
    `variant_backward` reads: per saved value, every step's.
    """
    gates, coupled, cell_in, cell_out, gate, generic = spec
    w_hh, p_if, p_o, w_gr, norm_h, norm_c, state_mask, update_mask = weights
    batch, units = h.shape
    k = gates.index("g")  # i and f (those present) come first
    outs, saved = [], []
    for t, x_t in enumerate(xs.unbind(0)):
        hd = h if state_mask is None else h * state_mask
        r_in = mean = rstd = None
        if norm_h is None:
            pre = torch.addmm(x_t, hd, w_hh.t())
        else:
            r_in = hd @ w_hh.t()
            r, mean, rstd = torch.native_layer_norm(r_in, r_in.shape[-1:], *norm_h)
            pre = x_t + r
        pre = pre.view(batch, -1, units)
        extra = None if w_gr is None else (prev @ w_gr.t()).view(batch, 3, units)
        a_if = pre[:, :k] if extra is None else pre[:, :k] + extra[:, :2]
        if p_if is not None:
            a_if = torch.addcmul(a_if, p_if, c.unsqueeze(1))
        s_if = gate(a_if)
        i = s_if[:, 0] if "i" in gates else None
        f = s_if[:, k - 1] if "f" in gates else None
        g_pre = pre[:, k]
        g = g_raw = g_pre if cell_in is None else cell_in(g_pre)
        if update_mask is not None:
            g = g_raw * update_mask
        if coupled:  # f = 1 - i
            c_new = torch.addcmul(c, i, g - c)
        elif i is None:
            c_new = torch.addcmul(g, f, c)
        elif f is None:
            c_new = torch.addcmul(c, i, g)
        else:
            c_new = torch.addcmul(i * g, f, c)
        a_o = o = None
        if "o" in gates:
            a_o = pre[:, k + 1] if extra is None else pre[:, k + 1] + extra[:, 2]
            if p_o is not None:
                a_o = torch.addcmul(a_o, p_o, c_new)
            o = gate(a_o)
        cn, mean_c, rstd_c = c_new, None, None
        if norm_c is not None:
            cn, mean_c, rstd_c = torch.native_layer_norm(c_new, (units,), *norm_c)
        y = cn if cell_out is None else cell_out(cn)
        h_new = y if o is None else o * y
        prev_new = None
        if w_gr is not None:  # i, f, o side by side
            prev_new = torch.cat([s_if.flatten(1), o], -1)
        if keep is not None:
            kept = keep[t, :, None]
            h_new = torch.where(kept, h_new, h)
            c_new = torch.where(kept, c_new, c)
            if prev_new is not None:
                prev_new = torch.where(kept, prev_new, prev)
        if save:
            step = [hd, c, c_new, prev, s_if, g_raw, o, y, r_in, mean, rstd]
            step += [cn, mean_c, rstd_c]
            step += [a_if, g_pre, a_o] if generic else [None] * 3
            saved.append(step)
        h, c, prev = h_new, c_new, prev_new
        outs.append(h)
    saved = [None if s[0] is None else list(s) for s in zip(*saved, strict=True)]
    return outs, h, c, prev, saved


def variant_backward(spec, saved, keep, weights, d_out, dh, dc, dprev):
    """Back through `variant_forward`'s steps, last first, from the gradients of
    its outputs (T, B, u) and final states. Returns the gradients of the initial
    states; every step's, first to last (lists, stacked by the caller), of the
    gate pre-activations (the input projection's gradient), the hidden norm's
    input and the gate recurrence's output; and summed over the steps, of the
    hidden norm's gain and of the cell norm's gain and shift (each step's while
    in cache)."""
    gates, coupled, cell_in, cell_out, gate, _ = spec
    w_hh, p_if, p_o, w_gr, norm_h, norm_c, state_mask, update_mask = weights
    batch, units = dh.shape
    k = gates.index("g")
    _, c, c_new, _, s_if, g_raw, o, y, r_in, mean, rstd = saved[:11]
    cn, mean_c, rstd_c, a_if, g_pre, a_o = saved[11:]
    d_pres, d_rs, d_extras = [], [], []
    sums = [None, None, None]  # the hidden norm's gain, the cell norm's gain, shift
    d_outs = d_out.unbind(0)
    sigmoid = torch.ops.aten.sigmoid_backward
    for t in range(len(d_outs) - 1, -1, -1):
        dh = dh + d_outs[t]
        if keep is not None:  # a kept state's gradient passes the step by
            kept = keep[t, :, None]
            pass_h, pass_c = dh.masked_fill(kept, 0), dc.masked_fill(kept, 0)
            dh, dc = dh.masked_fill(~kept, 0), dc.masked_fill(~kept, 0)
            if dprev is not None:
                pass_prev = dprev.masked_fill(kept, 0)
                dprev = dprev.masked_fill(~kept, 0)
        d_y = dh
        if o is not None:
            d_o, d_y = dh * y[t], dh * o[t]
        d_cn = activation_grad(cell_out, d_y, y[t], cn and cn[t])
        if norm_c is not None:
            d_shift = d_cn
            d_cn, d_gain, _ = torch.ops.aten.native_layer_norm_backward(
                d_cn, c_new[t], (units,), mean_c[t], rstd_c[t], norm_c[0], None,
                (True, True, False),
            )  # fmt: skip
            if sums[1] is not None:
                d_gain, d_shift = sums[1] + d_gain, sums[2] + d_shift
            sums[1:] = [d_gain, d_shift]
        dct = dc + d_cn
        if o is not None:
            if dprev is not None:
                d_o = d_o + dprev[:, 2 * units :]
            if gate is torch.sigmoid:
                d_ao = sigmoid(d_o, o[t])
            else:
                d_ao = activation_grad(gate, d_o, o[t], a_o and a_o[t])
            if p_o is not None:
                dct = torch.addcmul(dct, d_ao, p_o)
        g = g_raw[t] if update_mask is None else g_raw[t] * update_mask
        i = s_if[t][:, 0] if "i" in gates else None
        f = s_if[t][:, k - 1] if "f" in gates else None
        d_g = dct if i is None else dct * i
        if coupled:
            d_s = [dct * (g - c[t])]
            dc = torch.addcmul(dct, dct, i, value=-1)
        else:
            d_s = [] if i is None else [dct * g]
            if f is not None:
                d_s.append(dct * c[t])
            dc = dct if f is None else dct * f
        if update_mask is not None:
            d_g = d_g * update_mask
        d_gp = activation_grad(cell_in, d_g, g_raw[t], g_pre and g_pre[t])
        d_a = []
        if k:
            d_s = torch.stack(d_s, 1) if k > 1 else d_s[0].unsqueeze(1)
            if dprev is not None:
                d_s = d_s + dprev[:, : 2 * units].view(batch, 2, units)
            if gate is torch.sigmoid:
                d_af = sigmoid(d_s, s_if[t])
            else:
                d_af = activation_grad(gate, d_s, s_if[t], a_if and a_if[t])
            if p_if is not None:
                dc = dc + (d_af * p_if).sum(1)
            d_a.append(d_af)
        d_a.append(d_gp.unsqueeze(1))
        if o is not None:
            d_a.append(d_ao.unsqueeze(1))
        d_pre = torch.cat(d_a, 1).flatten(1)
        d_pres.append(d_pre)
        if w_gr is not None:
            d_extra = torch.cat([d_af.flatten(1), d_ao], -1)
            d_extras.append(d_extra)
            dprev = d_extra @ w_gr
        d_r = d_pre
        if norm_h is not None:
            d_r, d_gain, _ = torch.ops.aten.native_layer_norm_backward(
                d_pre, r_in[t], r_in[t].shape[-1:], mean[t], rstd[t], norm_h[0], None,
                (True, True, False),
            )  # fmt: skip
            d_rs.append(d_r)
            sums[0] = d_gain if sums[0] is None else sums[0] + d_gain
        dh = d_r @ w_hh
        if state_mask is not None:
            dh = dh * state_mask
        if keep is not None:
            dh, dc = dh + pass_h, dc + pass_c
            if dprev is not None:
                dprev = dprev + pass_prev
    steps = [s[::-1] if s else None for s in (d_pres, d_rs, d_extras)]
    if sums[2] is not None:
        sums[2] = sums[2].sum(0)
    return dh, dc, dprev, *steps, *sums


class VariantSteps(torch.autograd.Function):
    """`variant_forward` with its backward written out (`variant_backward`): the
    weights' gradients are one matmul each after the loop, as cuDNN computes them.

    `apply(cell, xs, keep, h0, c0, prev0, w_hh, peephole, w_gr, norm_h_gain,
    norm_h_shift, norm_c_gain, norm_c_shift, state_mask, update_mask)`, one
    direction, time-major (`xs` (T, B, G*u), `keep` (T, B)); `cell` is (spec,
    peephole letters, hidden and cell norm eps, steps per compiled chunk or 0,
    whether grad is enabled). Returns the outputs (T, B, u), h, c and (gate
    recurrence) the last gates. Differentiable
    once (`LSTMVariant.autograd_loop` for more).
    """

    compiled = {}  # noqa: RUF012 variant_loops's compiled loops, by spec

    @staticmethod
    def forward(ctx, cell, xs, keep, h0, c0, prev0, w_hh, peep, w_gr, *rest):
        spec, peepholes, eps_h, eps_c, chunk, grad = cell
        gates = spec[0]
        gain_h, shift_h, gain_c, shift_c, state_mask, update_mask = rest
        k = gates.index("g")
        p_if = p_o = None
        if peep is not None:  # (k, u) for i and f, zeros where a gate has none
            rows = [peep[peepholes.find(n)] if n in peepholes else None for n in gates]
            rows = rows[:k]
            if any(r is not None for r in rows):
                zero = peep.new_zeros(peep.shape[1:])
                p_if = torch.stack([zero if r is None else r for r in rows])
            if "o" in peepholes:
                p_o = peep[peepholes.index("o")]
        norm_h = None if gain_h is None else (gain_h, shift_h, eps_h)
        norm_c = None if gain_c is None else (gain_c, shift_c, eps_c)
        weights = (w_hh, p_if, p_o, w_gr, norm_h, norm_c, state_mask, update_mask)
        save = grad and any(ctx.needs_input_grad)  # forward itself runs without grad
        forward = variant_loops(spec, weights, chunk)[0]
        outs, h, c, prev, saved = forward(spec, xs, keep, h0, c0, prev0, weights, save)
        ctx.cell, ctx.weights, ctx.keep, ctx.saved = cell, weights, keep, saved
        out = torch.stack(outs)
        return (out, h, c) if prev is None else (out, h, c, prev)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, dh, dc, dprev=None):
        spec, peepholes, _, _, chunk, _ = ctx.cell
        gates, saved = spec[0], ctx.saved
        _, p_if, p_o, w_gr, norm_h, norm_c, _, _ = ctx.weights
        backward = variant_loops(spec, ctx.weights, chunk)[1]
        run = backward(spec, saved, ctx.keep, ctx.weights, d_out, dh, dc, dprev)
        dh, dc, dprev, *per_step, d_gain_h, d_gain_c, d_shift_c = run
        d_pre, d_r, d_extra = (s if s is None else torch.stack(s) for s in per_step)
        steps = len(saved[0])

        def stacked(index):  # what a weight's gradient reads, every step's
            return torch.stack(saved[index])

        d_xs = d_pre
        d_r = d_pre if d_r is None else d_r
        flat = steps * d_pre.shape[1]
        d_w_hh = d_r.reshape(flat, -1).t() @ stacked(0).reshape(flat, -1)  # h (masked)
        d_peep = None
        if p_if is not None or p_o is not None:
            c = stacked(1)
            k, units = gates.index("g"), c.shape[-1]
            parts = d_pre.view(*d_pre.shape[:2], -1, units)
            d_p = (parts[:, :, :k] * c.unsqueeze(2)).sum((0, 1))
            d_p = dict(zip(gates[:k], d_p, strict=True))
            if p_o is not None:
                d_p["o"] = (parts[:, :, k + 1] * stacked(2)).sum((0, 1))  # c_new
            d_peep = torch.stack([d_p[n] for n in peepholes])
        d_w_gr = None
        if w_gr is not None:  # from the last step's gates
            d_w_gr = d_extra.reshape(flat, -1).t() @ stacked(3).reshape(flat, -1)
        d_norm_h = (None, None) if norm_h is None else (d_gain_h, d_pre.sum((0, 1)))
        d_norm_c = (None, None) if norm_c is None else (d_gain_c, d_shift_c)
        d_states = (dh, dc, dprev)
        weights = (d_w_hh, d_peep, d_w_gr, *d_norm_h, *d_norm_c)
        return None, d_xs, None, *d_states, *weights, None, None


def variant_loops(spec, weights, chunk):
    """`variant_forward` and `variant_backward`, or with `chunk` (a number of
    steps) both compiled (`torch.compile`) and run on `chunk` steps at a time,
    the steps after the last whole chunk eagerly (padding them with masked steps
    would cost whole compiled steps): a new sequence length compiles nothing
    new. Compiled once per spec and set of weights present, each with code of
    its own (dynamo's recompile limit counts them apart)."""
    if not chunk:
        return variant_forward, variant_backward
    key = (spec, tuple(w is None for w in weights), chunk)
    if key not in VariantSteps.compiled:
        forward, backward = (
            torch.compile(type(f)(f.__code__.replace(), f.__globals__))
            for f in (variant_forward, variant_backward)
        )

        def joined(parts):
            """Every piece's steps in one list (None where the pieces have none)."""
            return None if parts[0] is None else [v for part in parts for v in part]

        def run_forward(spec, xs, keep, h, c, prev, weights, save):
            outs, saved = [], []
            for _, compiled, piece, kept in chunks(len(xs), chunk, 0, xs, keep):
                loop = forward if compiled else variant_forward
                run = loop(spec, piece, kept, h, c, prev, weights, save)
                out, h, c, prev, part = run
                outs.append(out)
                saved.append(part)
            saved = [joined(s) for s in zip(*saved, strict=True)]  # per value
            return joined(outs), h, c, prev, saved

        def run_backward(spec, saved, keep, weights, d_out, dh, dc, dprev):
            grads = []
            runs = [*chunks(d_out.shape[0], chunk, 0, d_out, keep)]
            for s, compiled, piece, kept in reversed(runs):
                loop = backward if compiled else variant_backward
                part = [None if v is None else v[s : s + chunk] for v in saved]
                run = loop(spec, part, kept, weights, piece, dh, dc, dprev)
                dh, dc, dprev, *part = run
                grads.append(part)
            grads = [*zip(*grads, strict=True)]  # per gradient, every piece's
            steps = [joined(g[::-1]) for g in grads[:3]]
            sums = [None if g[0] is None else sum(g[1:], g[0]) for g in grads[3:]]
            return dh, dc, dprev, *steps, *sums

        VariantSteps.compiled[key] = (run_forward, run_backward)
    return VariantSteps.compiled[key]


class GatedFeedback(nn.Module):
    """A gated-feedback RNN (Chung et al., 2015): `layers` cells of one kind, fed back.

    `cell` is "lstm", "gru" or "rnn" (tanh). Layer j reads h[j-1] of this step
    from below (x for the first) and, through its global reset gates
    g[i->j] = recurrent_activation(gate_ih h[j-1] + gate_hh h*), h* being all
    layers' last states, every layer's last state: the feedback
    weight_fb (g[i->j] h[i], side by side) enters the candidate only (the tanh
    RNN's whole update; a GRU's under its reset gate). The other gates are the
    cell's own, from below and from the layer's own last state. The layout is
    Keras's `GatedFeedbackCell` transposed, gates in the same order (LSTM i, f,
    c, o; GRU z, r, h, with h = z h_last + (1 - z) candidate), one bias per
    gate: per layer j, `weight_ih_lj` (k*u, F_j), `weight_hh_lj` ((k-1)*u, u;
    none for rnn), `weight_fb_lj` (u, L*u), `gate_ih_lj` (L, F_j), `gate_hh_lj`
    (L, L*u), `bias_lj` (k*u). `forward(x, mask=None)` returns the top layer's
    state, every step with `return_sequences`; `mask` (batch, time), True for a
    real step, carries every layer's state over a masked step, whose output is
    zeros. The first layer's input projections run for all steps at once.
    """

    WEIGHTS = ("weight_ih", "weight_hh", "weight_fb", "gate_ih", "gate_hh", "bias")

    def __init__(
        self,
        input_size,
        units,
        layers,
        *,
        cell="lstm",
        bias=True,
        return_sequences=False,
        activation=torch.tanh,
        recurrent_activation=torch.sigmoid,
    ):
        super().__init__()
        gates = {"lstm": 4, "gru": 3, "rnn": 1}.get(cell)  # weight blocks per cell
        if gates is None:
            raise ValueError(f"cell: one of lstm, gru, rnn; got {cell!r}")
        if layers < 2:
            raise ValueError(f"layers: at least 2; got {layers!r}")
        self.input_size, self.units = input_size, units
        self.layers, self.cell = layers, cell
        self.return_sequences = return_sequences
        self.activation, self.recurrent_activation = activation, recurrent_activation
        for j in range(layers):
            width = input_size if j == 0 else units
            shapes = {
                "weight_ih": (gates * units, width),
                "weight_hh": ((gates - 1) * units, units),
                "weight_fb": (units, layers * units),
                "gate_ih": (layers, width),
                "gate_hh": (layers, layers * units),
                "bias": (gates * units,),
            }
            if gates == 1:
                del shapes["weight_hh"]
            if not bias:
                del shapes["bias"]
            for name, shape in shapes.items():
                weight = nn.Parameter(torch.empty(shape))
                self.register_parameter(f"{name}_l{j}", weight)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's recurrent uniform weights; Keras's biases (an LSTM's forget gate at 1)."""
        bound = self.units**-0.5
        with torch.no_grad():
            for name, value in self.named_parameters(recurse=False):
                if name.startswith("bias"):
                    value.zero_()
                    if self.cell == "lstm":
                        value.chunk(4)[1].fill_(1.0)  # gates i, f, c, o
                else:
                    value.uniform_(-bound, bound)

    def forward(self, x, mask=None):
        batch, steps = x.shape[:2]
        units, depth = self.units, self.layers
        act, gate = self.activation, self.recurrent_activation
        w = [
            {name: getattr(self, f"{name}_l{j}", None) for name in self.WEIGHTS}
            for j in range(depth)
        ]
        # every step's, read with unbind (slicing a step builds a zero tensor of the
        # whole projection in its backward, at every step)
        first = F.linear(x, w[0]["weight_ih"], w[0]["bias"]).unbind(1)
        first_gates = F.linear(x, w[0]["gate_ih"]).unbind(1)
        h = [x.new_zeros(batch, units) for _ in range(depth)]
        c = list(h)
        outs = []
        for t in range(steps):
            every = torch.cat(h, -1)  # h*: all layers' last states
            below, new_h, new_c = None, [], []
            for j in range(depth):
                if j == 0:
                    z, g = first[t], first_gates[t]
                else:
                    z = F.linear(below, w[j]["weight_ih"], w[j]["bias"])
                    g = F.linear(below, w[j]["gate_ih"])
                g = gate(g + F.linear(every, w[j]["gate_hh"]))
                # g[i->j] h[i], side by side
                gated = g.repeat_interleave(units, -1) * every
                feedback = F.linear(gated, w[j]["weight_fb"])
                if self.cell != "rnn":  # the gates but the candidate, from its own h
                    own = F.linear(h[j], w[j]["weight_hh"])
                if self.cell == "rnn":
                    below = act(z + feedback)
                elif self.cell == "lstm":
                    z_i, z_f, z_c, z_o = z.chunk(4, -1)
                    r_i, r_f, r_o = own.chunk(3, -1)
                    candidate = act(z_c + feedback)
                    new_c.append(gate(z_f + r_f) * c[j] + gate(z_i + r_i) * candidate)
                    below = gate(z_o + r_o) * act(new_c[-1])
                else:
                    z_z, z_r, z_h = z.chunk(3, -1)
                    r_z, r_r = own.chunk(2, -1)
                    update, reset = gate(z_z + r_z), gate(z_r + r_r)
                    below = update * h[j] + (1 - update) * act(z_h + reset * feedback)
                new_h.append(below)
            if mask is not None:  # a masked step keeps every state and outputs zeros
                keep = mask[:, t, None]
                new_h = [torch.where(keep, a, b) for a, b in zip(new_h, h, strict=True)]
                if new_c:
                    pairs = zip(new_c, c, strict=True)
                    new_c = [torch.where(keep, a, b) for a, b in pairs]
                below = below.masked_fill(~keep, 0.0)
            h, c = new_h, new_c or c
            if self.return_sequences:
                outs.append(below)
        return torch.stack(outs, 1) if self.return_sequences else h[-1]


def carry(mask, new, old):
    """Each state in `new` where the step is unmasked, else the one in `old` (kept)."""
    keep = mask.unsqueeze(-1)
    pairs = zip(new, old, strict=True)
    return tuple(n if n is None else torch.where(keep, n, o) for n, o in pairs)


def reverse_padded(x, mask):
    """Each row's unmasked steps reversed, its padding kept where it is (right padding).

    The backward direction of a masked bidirectional layer reads this. Without
    a mask, the whole sequence reversed. Its own inverse.
    """
    if mask is None:
        return x.flip(1)
    lengths = mask.sum(1, keepdim=True)
    steps = torch.arange(x.shape[1], device=x.device).expand_as(mask)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


def masked_outputs(out, state, mask, return_sequences):
    """What Keras's masked recurrent layers return: zeros at masked steps, or each
    direction's final h (the last unmasked step's) as a one-step sequence."""
    if return_sequences:
        return out * mask.unsqueeze(-1)
    h = state[0] if isinstance(state, tuple) else state  # (directions, batch, units)
    return torch.cat(tuple(h), -1).unsqueeze(1)


def packed(rnn, x, mask, state=None):
    """A fused `nn.LSTM`/`nn.GRU`/`nn.RNN` (batch first) on a right-padded sequence.

    Packed by the lengths the mask gives (cuDNN kept): the padded outputs
    (zeros at masked steps) and the final state, each row's at its last
    unmasked step. A row without an unmasked step runs one step (packing
    refuses length 0), then gets zeros and keeps its starting state, as Keras
    skips every step of it.
    """
    lengths = mask.sum(1)
    sequence = nn.utils.rnn.pack_padded_sequence(
        x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
    )
    out, final = rnn(sequence, state)
    steps = x.shape[1]
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=steps)
    empty = lengths == 0
    if not bool(empty.any()):
        return out, final
    out = out * ~empty[:, None, None]
    finals = final if isinstance(final, tuple) else (final,)
    starts = state if isinstance(state, tuple) else (state,) * len(finals)
    finals = tuple(
        torch.where(empty[:, None], torch.zeros_like(f) if s is None else s, f)
        for f, s in zip(finals, starts, strict=True)
    )
    return out, finals if isinstance(final, tuple) else finals[0]


def masked_mean(x, mask):
    """Keras's `GlobalAveragePooling1D` with a mask: the mean of the unmasked steps."""
    keep = mask.unsqueeze(-1)
    return torch.where(keep, x, 0.0).sum(1) / keep.sum(1)


def masked_max(x, mask):
    """The maximum of the unmasked steps; zeros for a row without any."""
    keep = mask.unsqueeze(-1)
    pooled = torch.where(keep, x, float("-inf")).amax(1)
    return torch.where(keep.any(1), pooled, 0.0)


def last_unmasked(x, mask):
    """Each row's last unmasked step (step 0 for a row without any; right padding)."""
    index = (mask.sum(1) - 1).clamp(min=0)
    return x[torch.arange(x.shape[0], device=x.device), index]


def masked_merge(op, inputs, masks):
    """Keras's `Maximum`/`Minimum` of masked inputs: a masked step of an input
    takes no part (it takes the other side's value), as Keras 3 computes it."""
    output, output_mask = inputs[0], masks[0]
    for x, mask in zip(inputs[1:], masks[1:], strict=True):
        if mask is not None:
            x = torch.where(mask.unsqueeze(-1), x, output)
        if output_mask is not None:
            output = torch.where(output_mask.unsqueeze(-1), output, x)
        both = mask is not None and output_mask is not None
        output_mask = output_mask | mask if both else None
        output = op(output, x)
    return output


class Conv1d(nn.Conv1d):
    """`nn.Conv1d` on (batch, time, channels), with Keras's `valid`, `same`, `causal`.

    `same` pads as TensorFlow does (the larger half on the right), for any stride.
    """

    def __init__(
        self,
        in_channels,
        filters,
        kernel_size,
        *,
        stride=1,
        dilation=1,
        bias=True,
        padding="valid",
    ):
        options = {"stride": stride, "dilation": dilation, "bias": bias}
        super().__init__(in_channels, filters, kernel_size, **options)
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


class BatchNorm(nn.Module):
    """Keras's `BatchNormalization` of the last axis, on (batch, ..., features).

    The statistics are a real `nn.BatchNorm1d` (`norm`, without gain or shift)
    of the features as its axis 1, so `nn.SyncBatchNorm.convert_sync_batchnorm`
    swaps in a `SyncBatchNorm` that computes them over every rank. Training
    normalises with the batch's mean and biased variance, as both frameworks
    do, and moves the running variance toward that same biased variance, as
    Keras does (PyTorch's toward the unbiased one: corrected here). Keras's
    `scale` (the gain, `weight`) and `center` (the shift, `bias`) are chosen
    separately. Statistics in float32 at least, under autocast too, as Keras.
    """

    def __init__(self, features, *, eps, momentum, scale=True, center=True):
        super().__init__()
        self.norm = nn.BatchNorm1d(features, eps=eps, momentum=momentum, affine=False)
        self.weight = nn.Parameter(torch.ones(features)) if scale else None
        self.bias = nn.Parameter(torch.zeros(features)) if center else None

    def reset_parameters(self):
        self.norm.reset_running_stats()
        with torch.no_grad():
            if self.weight is not None:
                self.weight.fill_(1.0)
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x):
        dtype = x.dtype
        shape = x.shape
        x = x.to(torch.promote_types(dtype, torch.float32)).reshape(-1, shape[-1])
        rows, norm = x.shape[0], self.norm
        if self.training:
            before = norm.running_var.clone()
            if rows == 1:  # BatchNorm1d refuses one value per feature: two equal ones
                x = x.expand(2, -1)
        x = norm(x)[:rows]
        if self.training:  # the unbiased variance's step, made the biased one's,
            var = norm.running_var.data  # unseen by autograd as the kernel's own update
            var.sub_((var - before * (1 - norm.momentum)) / self._count(rows))
        if self.weight is not None:
            x = x * self.weight.to(x.dtype)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype)
        return x.reshape(shape).to(dtype)

    def _count(self, rows):
        """The values of a feature the statistics came from: on every rank when synced
        (each rank's batch the same size, as under DDP with `drop_last=True`)."""
        count = rows
        distributed = torch.distributed
        synced = isinstance(self.norm, nn.SyncBatchNorm) and distributed.is_available()
        if synced and distributed.is_initialized():
            count *= distributed.get_world_size(self.norm.process_group)
        return count


class LayerNorm(nn.LayerNorm):
    """`nn.LayerNorm` with Keras's shift but no gain (`center: true, scale: false`)."""

    def __init__(self, features, *, eps):
        super().__init__(features, eps=eps, elementwise_affine=False)
        self.bias = nn.Parameter(torch.zeros(features))

    def reset_parameters(self):
        if self.bias is not None:
            with torch.no_grad():
                self.bias.zero_()


class Attention(nn.Module):
    """Keras's `Attention`: dot or concat scores, softmax over the value steps."""

    def __init__(self, *, use_scale=False, score_mode="dot", dropout=0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(())) if use_scale else None
        concat = score_mode == "concat"
        self.concat_score_weight = nn.Parameter(torch.ones(())) if concat else None
        self.dropout = dropout

    def reset_parameters(self):
        with torch.no_grad():
            for value in self.parameters():
                value.fill_(1.0)

    def forward(self, query, value, key=None, *, query_mask=None, value_mask=None):
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
        if value_mask is not None:  # masked value steps get (almost) no weight
            scores = torch.where(value_mask.unsqueeze(-2), scores, scores - 1e9)
        weights = F.dropout(scores.softmax(-1), self.dropout, training=self.training)
        if query_mask is not None:  # masked query steps give zeros
            return (weights @ value) * query_mask.unsqueeze(-1)
        return weights @ value


class MultiHeadAttention(nn.Module):
    """Keras's `MultiHeadAttention`: per-head query, key, value and output projections.

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

    def reset_parameters(self):
        for projection in self.children():
            projection.reset_parameters()

    def _heads(self, x):
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)

    def forward(self, query, value=None, key=None, **masks):
        value = query if value is None else value
        key = value if key is None else key
        q, k, v = (
            self._heads(self.query(query)),
            self._heads(self.key(key)),
            self._heads(self.value(value)),
        )
        dropout = self.dropout if self.training else 0.0
        if any(m is not None for m in masks.values()):
            attended = self._masked(q, k, v, dropout, **masks)
        else:
            attended = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
        return self.output(attended.transpose(1, 2).flatten(2))

    def _masked(self, q, k, v, p, query_mask=None, value_mask=None, key_mask=None):
        """Keras's masked attention: query step t may attend to value step s where
        both are unmasked (and the key step). A query step that may attend to none
        attends to all alike, or (Keras with dropout) to none."""
        allowed = None
        if query_mask is not None:
            allowed = query_mask[:, None, :, None]  # (batch, heads, T, S) broadcast
        for mask in (value_mask, key_mask):
            if mask is not None:
                mask = mask[:, None, None, :]
                allowed = mask if allowed is None else allowed & mask
        scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
        weights = torch.where(allowed, scores, -1e9).softmax(-1)
        if self.dropout:  # Keras's masked softmax, which runs with dropout, zeroes them
            weights = torch.where(allowed, weights, 0.0)
        return F.dropout(weights, p, training=p > 0) @ v
