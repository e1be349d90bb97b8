"""The gated-feedback RNN (`gated_feedback`) in both backends, held to a NumPy reference.

The reference writes Chung et al.'s (2015) equations as the paper does, one
global reset gate per pair of layers and one sum over the layers that feed
back, in float64. Both backends are held to it within 1e-5 (eval), for every
cell, with random non-zero weights and biases, with and without a mask
(right-padded rows): a masked step carries every layer's state and outputs
zeros. Training changes the weights with finite gradients, and both
frameworks count the parameters `specc summary` predicts.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import specc  # noqa: E402
from specc.backends.keras.layers import GatedFeedback as KerasGatedFeedback  # noqa: E402
from specc.backends.torch.runtime import GatedFeedback as TorchGatedFeedback  # noqa: E402
from specc.backends.weights import FEEDBACK_NAMES, keras_to_torch  # noqa: E402
from specc.summary import summary_data  # noqa: E402

CELLS = ("lstm", "gru", "rnn")
TOLERANCE = 1e-5
BATCH, STEPS, FEATURES, UNITS, LAYERS = 2, 6, 3, 4, 3
LENGTHS = (STEPS, 3)  # the second row is right-padded after 3 real steps


def _spec(cell: str, sequences: bool, extra: str = "") -> str:
    return (
        "specc: 1\nname: gf\ninputs:\n"
        f"  - {{name: x, shape: [{STEPS}, {FEATURES}]}}\n"
        "layers:\n"
        f"  - {{name: gf, op: gated_feedback, cell: {cell}, layers: {LAYERS}, units: {UNITS}, "
        f"return_sequences: {str(sequences).lower()}{extra}}}\n"
    )


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference(x, weights: dict, cell: str, layers: int, units: int, mask=None, sequences=True):
    """Chung et al. (2015), eqs. 4-5 and the GF-LSTM and GF-GRU candidates, in NumPy.

    `weights` holds Keras's arrays by name (`kernel_0`, ...). For layer j and each
    layer i: g[i->j] = sigmoid(w_g[i->j] . h[j-1]_t + u_g[i->j] . h*_{t-1}), a scalar
    per row, with w_g[i->j] column i of `gate_kernel_j`, u_g[i->j] column i of
    `gate_recurrent_kernel_j`, U[i->j] rows i*u..(i+1)*u of `feedback_kernel_j`.
    """
    batch, steps, _ = x.shape
    h = [np.zeros((batch, units)) for _ in range(layers)]
    c = [np.zeros((batch, units)) for _ in range(layers)]
    outs = []
    for t in range(steps):
        h_star = np.concatenate(h, axis=-1)
        below = x[:, t]
        new_h, new_c = [], []
        for j in range(layers):
            w = {name[: -len(f"_{j}")]: a for name, a in weights.items() if name.endswith(f"_{j}")}
            feedback = np.zeros((batch, units))
            for i in range(layers):
                g = _sigmoid(
                    below @ w["gate_kernel"][:, i] + h_star @ w["gate_recurrent_kernel"][:, i]
                )
                u_ij = w["feedback_kernel"][i * units : (i + 1) * units]
                feedback += g[:, None] * (h[i] @ u_ij)
            pre = below @ w["kernel"] + w.get("bias", 0.0)
            if cell == "rnn":  # eq. 5
                state = np.tanh(pre + feedback)
            elif cell == "lstm":
                own = h[j] @ w["recurrent_kernel"]
                i_gate = _sigmoid(pre[:, :units] + own[:, :units])
                f_gate = _sigmoid(pre[:, units : 2 * units] + own[:, units : 2 * units])
                o_gate = _sigmoid(pre[:, 3 * units :] + own[:, 2 * units :])
                candidate = np.tanh(pre[:, 2 * units : 3 * units] + feedback)
                new_c.append(f_gate * c[j] + i_gate * candidate)
                state = o_gate * np.tanh(new_c[-1])
            else:
                own = h[j] @ w["recurrent_kernel"]
                z = _sigmoid(pre[:, :units] + own[:, :units])
                r = _sigmoid(pre[:, units : 2 * units] + own[:, units:])
                candidate = np.tanh(pre[:, 2 * units :] + r * feedback)
                state = z * h[j] + (1 - z) * candidate
            new_h.append(state)
            below = state
        top = new_h[-1]
        if mask is not None:
            keep = mask[:, t, None]
            new_h = [np.where(keep, a, b) for a, b in zip(new_h, h, strict=True)]
            new_c = [np.where(keep, a, b) for a, b in zip(new_c, c, strict=False)] or c
            top = np.where(keep, top, 0.0)
        h, c = new_h, new_c or c
        outs.append(top)
    return np.stack(outs, axis=1) if sequences else h[-1]


def _twins(cell: str, sequences: bool, seed: int = 0):
    """The spec's Keras and PyTorch builds with the same random (non-zero) weights."""
    text = _spec(cell, sequences)
    keras.backend.clear_session()
    keras_model = specc.build(text, backend="keras")
    rng = np.random.default_rng(seed)
    for variable in keras_model.weights:
        variable.assign(rng.normal(0.0, 0.5, tuple(variable.shape)).astype("float32"))
    torch_model = specc.build(text, backend="torch").eval()
    keras_to_torch(text, keras_model, torch_model)
    return text, keras_model, torch_model


def _inputs(seed: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, STEPS, FEATURES)).astype("float32")
    mask = np.arange(STEPS)[None, :] < np.array(LENGTHS)[:, None]
    return x, mask


def _weights(keras_model) -> dict:
    cell = keras_model.get_layer("gf").cell
    return {
        w.path.rsplit("/", 1)[-1]: keras.ops.convert_to_numpy(w).astype("float64")
        for w in cell.weights
    }


ERRORS: dict = {}  # (cell, backend, masked) -> max abs error, printed at the end (-s)


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("cell", CELLS)
def test_both_backends_match_the_reference(cell: str, sequences: bool):
    _, keras_model, torch_model = _twins(cell, sequences)
    x, mask = _inputs()
    expected = reference(
        x.astype("float64"), _weights(keras_model), cell, LAYERS, UNITS, sequences=sequences
    )
    got_keras = keras.ops.convert_to_numpy(keras_model(x, training=False))
    with torch.no_grad():
        got_torch = torch_model(torch.from_numpy(x)).numpy()
    assert np.abs(expected).max() > 0.1  # the weights move the state: not a trivial match
    for backend, got in (("keras", got_keras), ("torch", got_torch)):
        assert got.shape == expected.shape
        error = float(np.abs(got - expected).max())
        ERRORS[(cell, backend, sequences, False)] = error
        assert error <= TOLERANCE, (backend, error)


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("cell", CELLS)
def test_a_mask_carries_every_state_over_padding(cell: str, sequences: bool):
    _, keras_model, torch_model = _twins(cell, sequences, seed=2)
    x, mask = _inputs(3)
    x[1, LENGTHS[1] :] = 7.0  # padding that would change the states if it were read
    weights = _weights(keras_model)
    expected = reference(x.astype("float64"), weights, cell, LAYERS, UNITS, mask, sequences)
    got_keras = keras.ops.convert_to_numpy(keras_model.get_layer("gf")(x, mask=mask))
    with torch.no_grad():
        got_torch = torch_model.gf(torch.from_numpy(x), mask=torch.from_numpy(mask)).numpy()
    # the padded row is the short sequence alone: its last state, or its steps then zeros
    short = reference(
        x[1:, : LENGTHS[1]].astype("float64"), weights, cell, LAYERS, UNITS, sequences=sequences
    )
    if sequences:
        np.testing.assert_allclose(expected[1, : LENGTHS[1]], short[0], atol=1e-12)
        assert not expected[1, LENGTHS[1] :].any()
    else:
        np.testing.assert_allclose(expected[1], short[0], atol=1e-12)
    for backend, got in (("keras", got_keras), ("torch", got_torch)):
        error = float(np.abs(got - expected).max())
        ERRORS[(cell, backend, sequences, True)] = error
        assert error <= TOLERANCE, (backend, error)


@pytest.mark.parametrize("cell", CELLS)
def test_parameters_are_counted_as_specc_predicts(cell: str):
    text = _spec(cell, True, ", use_bias: false" if cell == "gru" else "")
    (layer,) = [row for row in summary_data(specc.load(text))["layers"] if row["name"] == "gf"]
    predicted = layer["params"]
    keras.backend.clear_session()
    assert specc.build(text, backend="keras").count_params() == predicted["keras"]
    torch_model = specc.build(text, backend="torch")
    assert sum(p.numel() for p in torch_model.parameters()) == predicted["torch"]
    assert predicted["keras"] == predicted["torch"]  # one layout in both


def test_the_weight_transfer_names_are_the_runtimes():
    """Every runtime parameter is tied by `weights.FEEDBACK_NAMES`, read without torch."""
    for cell, gates in (("lstm", 4), ("rnn", 1)):
        module = TorchGatedFeedback(3, 2, 2, cell=cell)
        names = {*FEEDBACK_NAMES.values(), "bias"} - ({"weight_hh"} if gates == 1 else set())
        assert sorted(dict(module.named_parameters())) == sorted(
            f"{name}_l{j}" for name in names for j in range(2)
        )


@pytest.mark.parametrize("cell", CELLS)
def test_one_training_step_moves_every_weight(cell: str):
    x, _ = _inputs()
    y = np.random.default_rng(5).standard_normal((BATCH, STEPS, UNITS)).astype("float32")
    torch.manual_seed(0)
    model = specc.build(_spec(cell, True), backend="torch").train()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = ((model(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean()
    loss.backward()
    for name, value in model.named_parameters():
        assert value.grad is not None and torch.isfinite(value.grad).all(), name
    optimizer.step()
    assert all(not torch.equal(before[k], v) for k, v in model.named_parameters())

    keras.backend.clear_session()
    keras_model = specc.build(_spec(cell, True), backend="keras")
    keras_before = [keras.ops.convert_to_numpy(w).copy() for w in keras_model.weights]
    keras_model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    keras_loss = keras_model.train_on_batch(x, y)
    assert np.isfinite(keras_loss)
    for old, new in zip(keras_before, keras_model.weights, strict=True):
        value = keras.ops.convert_to_numpy(new)
        assert np.isfinite(value).all() and not np.array_equal(old, value), new.path


def test_the_keras_layer_round_trips_its_config(tmp_path):
    layer = KerasGatedFeedback(
        4, 2, cell="gru", activation="relu", use_bias=False, return_sequences=True, name="gf"
    )
    again = KerasGatedFeedback.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    x, mask = _inputs()
    inputs = keras.Input((STEPS, FEATURES))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "gf.keras")
    loaded = keras.saving.load_model(tmp_path / "gf.keras", safe_mode=True)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x))
    )


def test_the_layer_wrapped_in_time_distributed_is_the_same_function():
    text = (
        "specc: 1\nname: gf_td\ninputs:\n  - {name: x, shape: [2, 5, 3]}\nlayers:\n"
        "  - {name: gf, op: time_distributed, layer: {op: gated_feedback, cell: gru, layers: 2, "
        "units: 3}}\n"
    )
    keras.backend.clear_session()
    keras_model = specc.build(text, backend="keras")
    rng = np.random.default_rng(6)
    for variable in keras_model.weights:
        variable.assign(rng.normal(0.0, 0.5, tuple(variable.shape)).astype("float32"))
    torch_model = specc.build(text, backend="torch").eval()
    keras_to_torch(text, keras_model, torch_model)
    x = rng.standard_normal((2, 2, 5, 3)).astype("float32")
    with torch.no_grad():
        got = torch_model(torch.from_numpy(x)).numpy()
    expected = keras.ops.convert_to_numpy(keras_model(x))
    assert got.shape == expected.shape == (2, 2, 3)
    np.testing.assert_allclose(got, expected, atol=TOLERANCE)


def test_zz_report_errors():
    """The largest error per cell and backend (run with -s to see them)."""
    for (cell, backend, sequences, masked), error in sorted(ERRORS.items()):
        what = ("sequences" if sequences else "last") + (", masked" if masked else "")
        print(f"max abs error vs NumPy: {cell:4} {backend:5} {what:17} {error:.2e}")
