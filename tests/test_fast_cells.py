"""The fast step-by-step cells of the PyTorch runtime (`VariantSteps`, `StepByStep`).

- `torch.autograd.gradcheck` (float64) of every LSTM variant's hand-written
  backward: bidirectional, masked, from an initial state, with recurrent
  dropout of either mode (its masks fixed by a seed), and with activations
  whose derivatives come from autograd and peephole subsets no variant has.
- Every spec in specs/variants/ gives the outputs and gradients of the plain
  loop under autograd (`autograd_loop`), within 1e-5.
- `compile_steps` runs the loops in chunks of steps: the same gradients, and
  a new sequence length compiles nothing new; for the variants and for the
  plain W502 loops (`StepByStep`) alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import specc  # noqa: E402
from specc.backends.torch.runtime import LSTMVariant, StepByStep, VariantSteps  # noqa: E402
from specc.variants import VARIANTS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs" / "variants").glob("*.yaml"))
NAMES = sorted(name for name in VARIANTS if name != "standard")


def _variant(name: str, **options) -> LSTMVariant:
    """One variant's layer as the emitter writes it, in float64, weights in (-0.8, 0.8)."""
    v = VARIANTS[name]
    flags = {f: True for f in ("coupled_forget", "gate_recurrence", "layer_norm") if getattr(v, f)}
    flags |= {f: False for f in ("input_activation", "output_activation") if not getattr(v, f)}
    options = {"gates": v.gates, "peepholes": v.peepholes, **flags, **options}
    return _layer(**options)


def _layer(**options) -> LSTMVariant:
    layer = LSTMVariant(3, 3, return_sequences=True, return_state=True, **options).double()
    torch.manual_seed(0)
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-0.8, 0.8)
    return layer


def _gradcheck(layer: LSTMVariant, mask=None, state=True) -> None:
    """gradcheck over the input, the initial h and c, and every parameter."""
    names = [n for n, _ in layer.named_parameters()]
    directions = 2 if layer.bidirectional else 1
    x = torch.randn(3, 4, 3, dtype=torch.float64)
    states = [torch.randn(directions, 3, 3, dtype=torch.float64) for _ in range(2 * state)]

    def run(x, *tensors):
        torch.manual_seed(1)  # the same dropout masks in every call
        params = dict(zip(names, tensors[: len(names)], strict=True))
        start = tuple(tensors[len(names) :]) or None
        out, final = torch.func.functional_call(layer, params, (x, start), {"mask": mask})
        return out, *final

    inputs = [x, *(p.detach() for p in layer.parameters()), *states]
    inputs = [t.clone().requires_grad_() for t in inputs]
    assert torch.autograd.gradcheck(run, inputs, eps=1e-6, atol=1e-6, fast_mode=True)


MASK = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_bidirectional_masked_from_a_state(name: str):
    _gradcheck(_variant(name, bidirectional=True), mask=MASK)


@pytest.mark.parametrize("mode", ["state", "update"])
@pytest.mark.parametrize("name", ["peephole", "cifg", "fgr", "layer_norm"])
def test_gradcheck_recurrent_dropout(name: str, mode: str):
    layer = _variant(name, recurrent_dropout=0.4, recurrent_dropout_mode=mode)
    _gradcheck(layer.train(), state=False)


@pytest.mark.parametrize(
    "options",
    [
        {"gates": "ifgo", "peepholes": ""},  # what `peepholes: false` leaves
        {"gates": "fgo", "peepholes": ""},
        {"gates": "ifgo", "peepholes": "f", "activation": F.elu},
        {"gates": "ifg", "peepholes": "i", "recurrent_activation": F.hardsigmoid},
        {"gates": "ifgo", "peepholes": "o", "activation": lambda v: F.leaky_relu(v, 0.2)},
    ],
    ids=["no_peepholes", "nig_no_peepholes", "f_only_elu", "nog_hard_sigmoid", "o_only"],
)
def test_gradcheck_peephole_subsets_and_other_activations(options: dict):
    _gradcheck(_layer(**options), mask=MASK)


def _loops(model, autograd_loop: bool) -> None:
    for layer in model.modules():
        if isinstance(layer, LSTMVariant):
            layer.autograd_loop = autograd_loop


def _outputs_and_gradients(model, args, autograd_loop: bool) -> list:
    _loops(model, autograd_loop)
    model.zero_grad()
    torch.manual_seed(3)  # the dropout layers' and the recurrent dropout's masks
    outs = torch.utils._pytree.tree_leaves(model(*args))  # a layer's state too
    sum((o * torch.linspace(-1, 1, o.shape[-1])).sum() for o in outs).backward()
    return [o.detach() for o in outs] + [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_variant_spec_equals_the_autograd_loop(path: Path):
    graph = specc.load(path)
    model = specc.build(path, backend="torch").train()
    assert any(isinstance(m, LSTMVariant) for m in model.modules())
    torch.manual_seed(2)
    args = []
    for node in graph.spec.inputs:
        shape = [2] + [d if isinstance(d, int) else 6 for d in node.meta["shape"][1:]]
        if node.attrs["dtype"].startswith("int"):
            args.append(torch.randint(0, 50, shape))
        else:
            args.append(torch.randn(shape))
    fast = _outputs_and_gradients(model, args, autograd_loop=False)
    loop = _outputs_and_gradients(model, args, autograd_loop=True)
    for a, b in zip(fast, loop, strict=True):
        assert (a - b).abs().max() < 1e-5, path.stem


def test_inference_saves_nothing_and_equals_training_forward():
    layer = _variant("peephole", bidirectional=True)
    x = torch.randn(3, 4, 3, dtype=torch.float64)
    with torch.no_grad():
        out, _ = layer(x, mask=MASK)
    assert torch.equal(out, layer(x, mask=MASK)[0].detach())


def test_compiled_chunks_equal_eager_and_a_new_length_compiles_nothing(monkeypatch):
    """`compile_steps`: whole chunks of steps compiled, the rest eager. Dynamo's
    eager backend here (Inductor takes a minute), its counters for the compiles."""
    counters = pytest.importorskip("torch._dynamo.utils").counters
    compile_ = torch.compile
    monkeypatch.setattr(torch, "compile", lambda f: compile_(f, backend="eager"))
    monkeypatch.setattr(VariantSteps, "compiled", {})  # no eager-backend loops left over
    eager = _variant("peephole", bidirectional=True)
    chunked = _variant("peephole", bidirectional=True)
    chunked.compile_steps = 3
    for length in (4, 7, 11):
        x = torch.randn(3, length, 3, dtype=torch.float64)
        mask = torch.ones(3, length, dtype=torch.bool)
        mask[1, 2:] = False
        got = _outputs_and_gradients(chunked, (x, None, mask), autograd_loop=False)
        want = _outputs_and_gradients(eager, (x, None, mask), autograd_loop=False)
        for a, b in zip(got, want, strict=True):
            assert (a - b).abs().max() < 1e-10
        if length == 4:
            frames = counters["stats"]["unique_graphs"]
            assert frames > 0
    assert counters["stats"]["unique_graphs"] == frames  # lengths 7 and 11: no new graph


@pytest.mark.parametrize("name", ["peephole", "layer_norm"])
def test_bfloat16_autocast_trains(name: str):
    """Under autocast the steps run in the weights' dtype, from the input projection
    autocast made (the hidden norm once failed on bfloat16 against float32 gains)."""
    layer = _variant(name).float()
    x = torch.randn(3, 4, 3)
    want = layer(x)[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)[0]
    out.float().square().sum().backward()
    assert (out.float() - want).abs().max() < 0.05
    assert all(p.grad is not None and p.grad.isfinite().all() for p in layer.parameters())


STEPPED = {  # each kind of W502 loop: what no fused kernel has
    "lstm_state_dropout": ("LSTM", {"recurrent_dropout": 0.3, "dropout": 0.2}),
    "lstm_update_relu": (
        "LSTM",
        {"recurrent_dropout": 0.3, "recurrent_dropout_mode": "update", "activation": F.relu},
    ),
    "gru_reset_before": ("GRU", {"reset_after": False, "recurrent_dropout": 0.3}),
    "gru_update": ("GRU", {"recurrent_dropout": 0.3, "recurrent_dropout_mode": "update"}),
    "rnn_state_dropout": ("RNN", {"recurrent_dropout": 0.3}),
}


@pytest.mark.parametrize("kind", sorted(STEPPED))
def test_step_by_step_compiled_chunks_equal_eager(kind: str, monkeypatch):
    """`StepByStep.compile_steps`: whole chunks compiled (dynamo's eager backend
    here), the rest eager; outputs, final state and every gradient equal the
    plain loop's in training (dropout masks from one seed), masked and in both
    directions. Two graphs at most: the first chunk starts from a state without
    a gradient, the others from one with; then a new length compiles nothing."""
    counters = pytest.importorskip("torch._dynamo.utils").counters
    compile_ = torch.compile
    monkeypatch.setattr(torch, "compile", lambda f: compile_(f, backend="eager"))
    monkeypatch.setattr(StepByStep, "compiled", {})  # no eager-backend loops left over
    mode, options = STEPPED[kind]
    layers = []
    for _ in range(2):
        layer = StepByStep(mode, 3, 4, bidirectional=True, return_sequences=True, **options)
        layer.double().train()
        torch.manual_seed(0)
        with torch.no_grad():
            for p in layer.parameters():
                p.uniform_(-0.8, 0.8)
        layers.append(layer)
    eager, chunked = layers
    chunked.compile_steps = 3
    before = counters["stats"]["unique_graphs"]  # the counters are the process's
    for length in (4, 7, 11, 14):
        x = torch.randn(3, length, 3, dtype=torch.float64)
        mask = torch.ones(3, length, dtype=torch.bool)
        mask[1, 2:] = False
        got, want = (_outputs_and_gradients(m, (x, None, mask), False) for m in layers)
        for a, b in zip(got, want, strict=True):
            assert (a - b).abs().max() < 1e-10, kind
        if length == 7:  # two whole chunks: both graphs made
            frames = counters["stats"]["unique_graphs"] - before
            assert 0 < frames <= 2, frames
    assert counters["stats"]["unique_graphs"] - before == frames  # 11, 14: none new
