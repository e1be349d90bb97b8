"""`peepholes: false`: Greff's nig, nfg, nog and cifg as a fused `nn.LSTM` call.

Without peepholes these variants re-parameterise the standard LSTM (a missing
gate's rows zero with a frozen +1e4 bias, cifg's forget gate its input gate
negated), so PyTorch runs them as `FusedLSTMVariant`: the fused kernel on
weights built from the variant's own parameters. Here: it computes what the
step loop (`LSTMVariant` without peepholes) computes, outputs, states and
gradients alike, and the fixed rows stay fixed through training.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import specc  # noqa: E402
from specc.backends.torch import runtime  # noqa: E402
from specc.summary import summary_data  # noqa: E402
from specc.variants import VARIANTS  # noqa: E402

FUSED = ["nig", "nfg", "nog", "cifg"]
STEPS, FEATURES, UNITS = 7, 3, 4


def _spec(layer: str, batch_size: str = "") -> str:
    return f"""\
specc: 1
name: one
{batch_size}dims: {{T: null}}
inputs:
  - {{name: x, shape: [T, {FEATURES}]}}
layers:
  - {{name: r, op: lstm, units: {UNITS}, {layer}}}
"""


def _pair(variant: str, **settings):
    """The fused layer and the step loop without peepholes, with the same float64 weights."""
    v = VARIANTS[variant]
    flags = dict(gates=v.gates, coupled_forget=v.coupled_forget, **settings)
    fused = runtime.FusedLSTMVariant(FEATURES, UNITS, **flags).double()
    loop = runtime.LSTMVariant(FEATURES, UNITS, peepholes="", **flags).double()
    with torch.no_grad():
        for p in fused.parameters():
            p.uniform_(-0.7, 0.7)
    loop.load_state_dict(fused.state_dict())
    return fused, loop


@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize("masked", [False, True], ids=["whole", "masked"])
@pytest.mark.parametrize("variant", FUSED)
def test_fused_equals_the_step_loop_in_float64(variant: str, masked: bool, bidirectional: bool):
    """Outputs, final states and the gradients of every parameter, to 1e-10."""
    settings = dict(bidirectional=bidirectional, return_sequences=True, return_state=True)
    fused, loop = _pair(variant, **settings)
    torch.manual_seed(0)
    x = torch.randn(3, STEPS, FEATURES, dtype=torch.float64)
    directions = 2 if bidirectional else 1
    start = tuple(torch.randn(directions, 3, UNITS, dtype=torch.float64) for _ in "hc")
    # right-padded rows: whole, shorter, empty (keeps its starting state)
    mask = torch.arange(STEPS) < torch.tensor([[STEPS], [3], [0]]) if masked else None
    results = []
    for layer in (fused, loop):
        out, (h, c) = layer(x, start, mask=mask)
        loss = (out * torch.linspace(-1, 1, out.shape[-1])).sum() + 2 * h.sum() - c.sum()
        grads = torch.autograd.grad(loss, list(layer.parameters()))
        results.append([out, h, c, *grads])
    for got, expected in zip(*results, strict=True):
        assert (got - expected).abs().max() < 1e-10


@pytest.mark.parametrize("variant", FUSED)
def test_the_fixed_rows_are_no_parameters_and_survive_training(variant: str):
    """One float32 training step: the parameters are the variant's own, and the fused
    weights built after it still hold zero rows, the +1e4 bias and cifg's tied rows."""
    model = specc.build(_spec(f"variant: {variant}, peepholes: false"), backend="torch")
    layer = model.r
    assert type(layer) is runtime.FusedLSTMVariant
    loop = runtime.LSTMVariant(FEATURES, UNITS, gates=VARIANTS[variant].gates, peepholes="")
    assert {n: p.shape for n, p in layer.named_parameters()} == {
        n: p.shape for n, p in loop.named_parameters()
    }
    model(torch.randn(4, STEPS, FEATURES)).square().sum().backward()
    with torch.no_grad():
        for p in model.parameters():  # a step of gradient descent (torch.optim's first
            p.sub_(0.5 * p.grad.sign())  # step costs seconds of imports)
    weights = layer.fused_weights()
    gates = dict(zip("ifgo", weights["bias_ih_l0"].chunk(4), strict=True))
    for name in ("weight_ih_l0", "weight_hh_l0"):
        rows = dict(zip("ifgo", weights[name].chunk(4), strict=True))
        if variant == "cifg":
            assert torch.equal(rows["f"], -rows["i"])
        else:
            assert not rows[variant[1]].any()  # nig: i, nfg: f, nog: o
    if variant == "cifg":
        assert torch.equal(gates["f"], -gates["i"])
    else:
        assert torch.equal(gates[variant[1]], torch.full((UNITS,), 1e4))
        # sigmoid(1e4) is exactly 1 in float32, its derivative exactly 0
        z = torch.tensor(1e4, requires_grad=True)
        torch.sigmoid(z).backward()
        assert torch.sigmoid(z) == 1.0 and z.grad == 0.0
    assert not weights["bias_hh_l0"].any()


@pytest.mark.parametrize(
    "layer, cls",
    [
        ("variant: nig, peepholes: false", "FusedLSTMVariant"),
        ("variant: cifg, peepholes: false, bidirectional: true", "FusedLSTMVariant"),
        ("variant: peephole, peepholes: false", "FusedLSTMVariant"),  # the standard LSTM
        ("variant: nfg", "LSTMVariant"),  # peepholes
        ("variant: niaf, peepholes: false", "LSTMVariant"),  # no fused kernel has these
        ("variant: noaf, peepholes: false", "LSTMVariant"),
        ("variant: fgr, peepholes: false", "LSTMVariant"),
        ("variant: nog, peepholes: false, activation: relu", "LSTMVariant"),
        ("variant: nog, peepholes: false, recurrent_dropout: 0.2", "LSTMVariant"),
    ],
)
def test_which_layers_run_fused(layer: str, cls: str):
    """The fused form where the cell is a fused LSTM's; the count is specc's either way."""
    spec = _spec(layer)
    model = specc.build(spec, backend="torch")
    assert type(model.r).__name__ == cls
    if "peepholes: false" in layer:
        assert model.r.peepholes == ""
    counted = summary_data(specc.validate(spec).graph)["params"]["torch"]
    assert sum(p.numel() for p in model.parameters()) == counted


@pytest.mark.parametrize("variant", ["nfg", "cifg"])
def test_stateful_chunks_and_input_dropout(variant: str):
    """Stateful: chunks give one pass over the whole sequence; input dropout: one mask
    for all time steps (both `KerasRecurrent`'s, as for the other fused layers)."""
    layer = f"variant: {variant}, peepholes: false, stateful: true, return_sequences: true"
    model = specc.build(_spec(layer + ", dropout: 0.5", "batch_size: 2\n"), backend="torch")
    x = torch.randn(2, 15, FEATURES)
    with torch.no_grad():
        model.eval()
        chunks = torch.cat([model(part) for part in x.split(5, dim=1)], 1)
        model.r.reset_states()
        assert torch.allclose(chunks, model(x), atol=1e-6)
        model.train()
        seen = []
        model.r.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
        model.r._fused[0].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
        model(torch.ones(2, 5, FEATURES))
    x_in, x_fused = seen
    assert torch.equal(x_in, torch.ones(2, 5, FEATURES))
    assert torch.equal(x_fused, x_fused[:, :1].expand_as(x_fused))  # one mask for all steps
    assert (x_fused == 0).any() and (x_fused == 2).any()


@pytest.mark.filterwarnings("ignore:The tensor attributes .*_flat_weights")
def test_exports_and_compiles_to_one_graph():
    """`torch.export` keeps the fused call, and dynamo captures it whole (it skips a
    module that subclasses `nn.LSTM`; `FusedLSTMVariant` holds one, unregistered)."""
    layer = "variant: nog, peepholes: false, bidirectional: true, return_sequences: true"
    model = specc.build(_spec(layer), backend="torch").eval()
    x = torch.randn(2, STEPS, FEATURES)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(torch.export.export(model, (x,)).module()(x), expected)
        explained = torch._dynamo.explain(model)(x)
    assert explained.graph_count == 1 and explained.graph_break_count == 0


def test_forget_bias_as_the_step_loop_has_it():
    """`forget_bias` starts the forget gate's own bias (nig, nog); nfg and cifg have none."""
    model = specc.build(_spec("variant: nog, peepholes: false, forget_bias: 2.5"), backend="torch")
    i, f, g = model.r.fused_weights()["bias_ih_l0"].chunk(4)[:3]
    assert torch.equal(f, torch.full((UNITS,), 2.5)) and not i.any() and not g.any()
    model = specc.build(_spec("variant: cifg, peepholes: false"), backend="torch")
    i, f = model.r.fused_weights()["bias_ih_l0"].chunk(4)[:2]
    assert not i.any() and not f.any()  # f = 1 - i starts at one half
