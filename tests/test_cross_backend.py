"""One spec, two frameworks, one function.

For every example spec and every op-table case: once the Keras build's
weights are moved into the PyTorch build (`specc.backends.weights`), both give
the same outputs on the same input, within 1e-5; moving the PyTorch weights
into a fresh Keras build gives back exactly the weights the first one had.
(With test_backend_keras's comparison of each Keras build against the Keras
model written by hand, in benchmarks/keras_models.py, the PyTorch builds are
held to it too.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import specc  # noqa: E402
from specc.backends.weights import keras_to_torch, torch_to_keras  # noqa: E402

from .op_table import CASES, Case  # noqa: E402
from .support import feed  # noqa: E402
from .test_shapes import case_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
TOLERANCE = 1e-5


def _key(path: Path) -> str:
    return path.relative_to(ROOT / "specs").with_suffix("").as_posix()


def _as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def _keras_run(model, arrays: list) -> list:
    outputs = model(arrays if len(arrays) > 1 else arrays[0], training=False)
    return [keras.ops.convert_to_numpy(o) for o in _as_list(outputs)]


def _torch_run(model, arrays: list) -> list:
    with torch.no_grad():
        outputs = model(*[torch.from_numpy(a) for a in arrays])
    return [o.numpy() for o in _as_list(outputs)]


def _perturb(model, rng) -> None:
    """Move every Keras weight off its initial value (biases, gains and statistics too)."""
    for variable in model.weights:
        value = keras.ops.convert_to_numpy(variable)
        if variable.path.endswith("moving_variance"):
            value = value * rng.uniform(0.5, 1.5, value.shape)
        else:
            value = value + rng.normal(0.0, 0.05, value.shape)
        variable.assign(value.astype(value.dtype))


def _twins(spec, rng):
    """(graph, Keras model, PyTorch model) of a spec, with the same perturbed weights."""
    graph = specc.load(spec)
    keras.backend.clear_session()
    # Seeded: with a layer norm over a few units, a rare draw makes the recurrence
    # chaotic enough that float32 rounding alone exceeds the tolerance.
    keras.utils.set_random_seed(0)
    keras_model = specc.build(spec, backend="keras")
    _perturb(keras_model, rng)
    torch_model = specc.build(spec, backend="torch")
    keras_to_torch(graph, keras_model, torch_model)
    return graph, keras_model, torch_model


def _same_function(spec) -> None:
    rng = np.random.default_rng(0)
    graph, keras_model, torch_model = _twins(spec, rng)
    torch_model.eval()
    arrays, _ = feed(graph, rng)
    # A stateful layer runs twice: the second call starts from the state the
    # first left. (Each Keras call is eager, the slowest step of the suite.)
    calls = 2 if any(n.attrs.get("stateful") for n in graph.order) else 1
    expected = [o for _ in range(calls) for o in _keras_run(keras_model, arrays)]
    got = [o for _ in range(calls) for o in _torch_run(torch_model, arrays)]
    _assert_close(expected, got, graph.outputs * calls)
    # Back: the PyTorch weights moved into a fresh Keras build are the weights
    # the first build had, so it is the same function again.
    fresh = specc.build(spec, backend="keras")
    torch_to_keras(graph, torch_model, fresh)
    for ours, theirs in zip(fresh.weights, keras_model.weights, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs), err_msg=ours.path
        )


def _assert_close(expected: list, got: list, names: list) -> None:
    assert len(got) == len(expected)
    for name, a, b in zip(names, expected, got, strict=True):
        assert a.shape == b.shape, name
        assert np.abs(a - b).max() <= TOLERANCE * max(1.0, np.abs(a).max()), name


@pytest.mark.parametrize("path", SPECS, ids=_key)
def test_keras_and_torch_builds_are_the_same_function(path: Path):
    _same_function(path)


@pytest.mark.parametrize("case", [c for c in CASES if not c.error], ids=lambda c: c.id)
def test_op_case_is_the_same_function(case: Case):
    _same_function(case_spec(case))


BATCH_NORMS = [
    ("{name: layer, op: batch_norm, momentum: 0.9}", [6, 3]),
    ("{name: layer, op: time_distributed, layer: {op: batch_norm, center: false}}", [6, 4, 3]),
]


@pytest.mark.parametrize("layer, shape", BATCH_NORMS)
def test_batch_norm_trains_alike(layer: str, shape: list):
    """Training normalises alike and moves the running statistics alike (biased variance)."""
    text = f"specc: 1\nname: bn\ninputs:\n  - {{name: x, shape: {shape}}}\nlayers:\n  - {layer}\n"
    rng = np.random.default_rng(3)
    graph, keras_model, torch_model = _twins(text, rng)
    torch_model.train()
    x = (rng.standard_normal((2, *shape)) * 3 + 1).astype("float32")
    for _ in range(2):
        expected = keras.ops.convert_to_numpy(keras_model(x, training=True))
        got = torch_model(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5)
    fresh = specc.build(text, backend="keras")
    torch_to_keras(graph, torch_model, fresh)
    for ours, theirs in zip(fresh.weights, keras_model.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs), atol=1e-6
        )


def test_a_failed_transfer_writes_nothing():
    head = "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [5, 4]}\nlayers:\n"
    spec = head + "  - {name: a, op: dense, units: 3}\n  - {name: b, op: dense, units: 2}\n"
    other = head + "  - {name: a, op: dense, units: 3}\n  - {name: b, op: dense, units: 5}\n"
    keras.backend.clear_session()
    keras_model = specc.build(spec, backend="keras")
    torch_model = specc.build(other, backend="torch")
    before = {k: v.clone() for k, v in torch_model.state_dict().items()}
    with pytest.raises(ValueError, match="`b.weight`"):  # `a` would fit: it is not written
        keras_to_torch(spec, keras_model, torch_model)
    assert all(torch.equal(v, before[k]) for k, v in torch_model.state_dict().items())


def test_models_that_do_not_correspond_are_refused():
    path = ROOT / "specs" / "stacked_lstm_2.yaml"
    keras.backend.clear_session()
    keras_model = specc.build(path, backend="keras")
    other = specc.build(ROOT / "specs" / "stacked_lstm_4.yaml", backend="torch")
    with pytest.raises(ValueError, match="do not correspond"):
        keras_to_torch(path, keras_model, other)


def test_recurrent_parameter_names_are_the_runtimes():
    """The weight transfer's names (read without torch) are those the runtime registers.

    `nn.LSTM`'s own for the fused layers and `StepByStep`; `LSTMVariant`'s
    extras (one bias, peepholes, gate recurrence, layer norms) by the same roles.
    """
    from specc.backends.torch import _layout, runtime

    both = [_layout.recurrent_names(d) for d in (0, 1)]
    assert both == [runtime.recurrent_names(d) for d in (0, 1)]
    roles = ("input_kernel", "recurrent_kernel", "input_bias", "recurrent_bias")
    fused = torch.nn.LSTM(3, 2, batch_first=True, bidirectional=True)
    step = runtime.StepByStep("LSTM", 3, 2, bidirectional=True)
    expected = [names[role] for names in both for role in roles]
    assert list(fused.state_dict()) == list(step.state_dict()) == expected
    kernels = ["input_kernel", "recurrent_kernel"]
    norms = [
        f"{norm}.{part}"
        for norm in ("input_norm", "recurrent_norm", "cell_norm")
        for part in ("weight", "bias")
    ]
    variants = [
        (
            dict(peepholes="ifo", gate_recurrence=True),
            [*kernels, "peephole", "gate_recurrence", "bias"],
        ),
        (dict(peepholes="", layer_norm=True), [*kernels, *norms]),
    ]
    for options, parts in variants:
        model = runtime.LSTMVariant(3, 2, gates="ifgo", bidirectional=True, **options)
        expected = []
        for names in both:
            for part in parts:
                role, dot, tensor = part.partition(".")
                expected.append(names[role] + dot + tensor)
        assert sorted(model.state_dict()) == sorted(expected)  # parameters, then norms
