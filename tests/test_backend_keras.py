"""The Keras 3 backend: every example spec and every op-table case built and run.

Each model is built once through `specc.build(..., backend="keras")` (cached
for the module) and held to the validator: every layer's symbolic output shape
(Keras shows None for the batch and for variable dims) equals its predicted
shape, `count_params()` equals `specc summary`'s Keras total, and a forward
pass on a small random batch gives every intermediate the predicted shape,
with each variable dim bound to the size fed in.

Golden files: tests/golden/keras/NAME.py hold the emitted source of some
specs, compared byte for byte. After an intended change of the emitter, run

    SPECC_UPDATE_GOLDEN=1 pytest tests/test_backend_keras.py

and review `git diff tests/golden/keras`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import specc  # noqa: E402
import specc.backend  # noqa: E402
from specc.backends.keras._layers import CUSTOM  # noqa: E402
from specc.summary import summary_data  # noqa: E402

from .op_table import CASES, Case  # noqa: E402
from .support import feed, hand_written_models  # noqa: E402
from .test_shapes import case_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "keras"
UPDATE = os.environ.get("SPECC_UPDATE_GOLDEN") == "1"
GOLDEN_SPECS = [
    "skip_deep_lstm_attention",  # timestep_attention's four layers
    "joint_intent_slot",  # last_step: the emitted custom layer; two outputs
    "stateful_stacked_lstm",  # batch_shape and stateful
    "crnn_keyword_spotting",  # conv1d, batch_norm, bidirectional GRU merge modes
    "attention_encoder",  # multi_head_attention, layer_norm, wrapped long lines
    "conv_lstm_classifier",  # time_distributed of conv1d, dropout, flatten
    "image_caption",  # two inputs, int dtype, repeat_vector of a named dim
    "variants/lstm_peephole",  # the emitted custom cell in keras.layers.RNN
]


def _spec_id(path: Path) -> str:
    return str(path.relative_to(ROOT / "specs").with_suffix(""))


def _refusal(graph) -> list[str]:
    """The E601 reasons this backend gives for a graph, or [] when it emits it."""
    try:
        specc.backend.load_backend("keras").emit(graph)
    except specc.EmitError as error:
        return [d.code for d in error.diagnostics]
    return []


_BUILT: dict[str, tuple] = {}


def _build(key: str, spec) -> tuple:
    """(graph, model) for a spec (a path or text), built once for the module."""
    if key not in _BUILT:
        keras.backend.clear_session()
        graph = specc.load(spec)
        _BUILT[key] = (graph, specc.build(spec, backend="keras"))
    return _BUILT[key]


def _keras_shape(shape) -> tuple:
    return tuple(d if isinstance(d, int) else None for d in shape)


def _check_symbolic(graph, model) -> None:
    for node in graph.order:
        if node.name not in graph.live:
            continue
        got = tuple(model.get_layer(node.name).output.shape)
        assert got == _keras_shape(node.meta["shape"]), node.name
    assert model.count_params() == summary_data(graph)["params"]["keras"]


def _check_forward(graph, model) -> None:
    """One forward pass; every live layer's result has the predicted shape."""
    rng = np.random.default_rng(0)
    arrays, bound = feed(graph, rng)
    names = [n.name for n in graph.order if n.name in graph.live and n.op != "input"]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    results = probe(arrays if len(arrays) > 1 else arrays[0], training=False)
    results = results if len(names) > 1 else [results]
    for name, result in zip(names, results, strict=True):
        expected = graph.node(name).meta["shape"]
        got = tuple(result.shape)
        assert len(got) == len(expected), name
        for dim, size in zip(expected, got, strict=True):
            if isinstance(dim, int):
                assert size == dim, (name, expected, got)
            elif dim in bound:
                assert size == bound[dim], (name, expected, got)
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(result))), name


# -- every example spec ---------------------------------------------------------------


@pytest.mark.parametrize("path", SPECS, ids=_spec_id)
def test_spec_builds_with_predicted_shapes_and_params(path: Path):
    graph = specc.load(path)
    refused = _refusal(graph)
    if refused:
        assert set(refused) == {"E601"}
        pytest.skip(f"the keras backend refuses it with E601 ({len(refused)} layers)")
    graph, model = _build(_spec_id(path), path)
    assert model.name == graph.name
    _check_symbolic(graph, model)
    _check_forward(graph, model)


@pytest.mark.parametrize("path", SPECS, ids=_spec_id)
def test_emitted_source_is_deterministic(path: Path):
    try:
        first = specc.emit(path, backend="keras")
    except specc.EmitError as error:
        assert {d.code for d in error.diagnostics} == {"E601"}
        pytest.skip("refused with E601")
    assert specc.emit(path, backend="keras") == first
    assert "import tensorflow" not in first and "tf." not in first


def test_emitted_source_is_ruff_clean_and_formatted(tmp_path):
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    written = []
    for path in SPECS:
        try:
            source = specc.emit(path, backend="keras")
        except specc.EmitError:
            continue
        target = tmp_path / f"{path.stem}.py"
        target.write_text(source)
        written.append(str(target))
    config = ["--config", str(ROOT / "pyproject.toml")]
    check = subprocess.run([ruff, "check", *config, *written], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [ruff, "format", "--check", "--diff", *config, *written], capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_every_custom_object_is_emitted_ruff_clean(tmp_path):
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    text = _one_layer(
        "{name: a, op: gru, units: 3, recurrent_dropout: 0.2, recurrent_dropout_mode: update, "
        "return_sequences: true}\n"
        "  - {name: b, op: lstm, variant: peephole, units: 3, dropout: 0.1, forget_bias: 2.0, "
        "return_sequences: true}\n"
        "  - {name: c, op: last_step}"
    )
    source = specc.emit(text, backend="keras")
    assert all(f"class {name}(" in source for name in CUSTOM)
    target = tmp_path / "every_custom_object.py"
    target.write_text(source)
    config = ["--config", str(ROOT / "pyproject.toml")]
    check = subprocess.run([ruff, "check", *config, target], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([ruff, "format", "--check", *config, target], capture_output=True)
    assert fmt.returncode == 0, fmt.stdout


@pytest.mark.parametrize("name", GOLDEN_SPECS)
def test_golden_source(name: str):
    source = specc.emit(ROOT / "specs" / f"{name}.yaml", backend="keras")
    golden = GOLDEN / f"{Path(name).name}.py"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(source)
    assert golden.exists(), f"no golden file; run SPECC_UPDATE_GOLDEN=1 pytest {__file__}"
    assert source == golden.read_text()


def test_layer_lines_name_the_spec_line_and_shape():
    source = specc.emit(ROOT / "specs" / "skip_deep_lstm.yaml", backend="keras")
    text = (ROOT / "specs" / "skip_deep_lstm.yaml").read_text().splitlines()
    lines = source.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("    bi1 = "))
    comment = lines[at - 1]
    assert comment.startswith("    # line ") and comment.endswith(": (batch, 36, 128)")
    assert "name: bi1" in text[int(comment.split()[2].rstrip(":")) - 1]


# -- the hand-written Keras models of benchmarks/ ---------------------------------------


HAND_WRITTEN = [p for p in SPECS if not _spec_id(p).startswith("variants/")]


@pytest.mark.parametrize("path", HAND_WRITTEN, ids=_spec_id)
def test_matches_the_hand_written_keras_model(path: Path):
    """Same layer names, output shapes and parameter count as the model written by hand."""
    models = hand_written_models()
    key = _spec_id(path)
    if key not in models:
        pytest.skip("no hand-written model in benchmarks/keras_models.py")
    graph, model = _build(key, path)
    hand = models[key]()
    assert model.count_params() == hand.count_params()
    assert [tuple(o.shape) for o in model.outputs] == [tuple(o.shape) for o in hand.outputs]
    ours = {layer.name: layer for layer in model.layers}
    for layer in hand.layers:
        if layer.name in ours:
            assert tuple(ours[layer.name].output.shape) == tuple(layer.output.shape), layer.name


# -- refusals -------------------------------------------------------------------------


def _gru_reference(x, kernel, recurrent, bias, reset_after, in_mask=1.0, update_mask=1.0):
    """Keras's GRU (gates z, r, h) in plain NumPy, the candidate scaled by `update_mask`."""
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    out = []
    for t in range(x.shape[1]):
        x_z, x_r, x_h = np.split((x[:, t] * in_mask) @ kernel + bias[0], 3, axis=-1)
        inner = h @ recurrent + bias[1]
        z = _sigmoid(x_z + inner[:, :units])
        r = _sigmoid(x_r + inner[:, units : 2 * units])
        if reset_after:
            candidate = np.tanh(x_h + r * inner[:, 2 * units :])
        else:
            candidate = np.tanh(x_h + (r * h) @ recurrent[:, 2 * units :])
        h = z * h + (1 - z) * candidate * update_mask
        out.append(h)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_update_mode_masks_the_candidate(reset_after, monkeypatch, tmp_path):
    text = _one_layer(
        "{name: h, op: gru, units: 3, return_sequences: true, dropout: 0.5, "
        "recurrent_dropout: 0.5, recurrent_dropout_mode: update, "
        f"reset_after: {str(reset_after).lower()}}}"
    )
    assert "UpdateDropoutGRUCell(" in specc.emit(text, backend="keras")
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    assert model.count_params() == specc.load(text).node("h").meta["params"]["keras"]
    cell = model.get_layer("h").cell
    rng = np.random.default_rng(4)
    for weight in cell.weights:
        weight.assign(rng.standard_normal(tuple(weight.shape)).astype("float32"))
    kernel, recurrent, bias = (keras.ops.convert_to_numpy(w).astype(float) for w in cell.weights)
    bias = bias if reset_after else np.stack([bias, np.zeros_like(bias)])
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    got = keras.ops.convert_to_numpy(model(x, training=False))
    expected = _gru_reference(x.astype("float64"), kernel, recurrent, bias, reset_after)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    masks = [(rng.integers(0, 2, (2, 3)) * 2.0).astype("float32") for _ in range(2)]
    monkeypatch.setattr(cell, "get_dropout_mask", lambda inputs: masks[0])
    monkeypatch.setattr(cell, "get_recurrent_dropout_mask", lambda state: masks[1])
    got = keras.ops.convert_to_numpy(model(x, training=True))
    expected = _gru_reference(x, kernel, recurrent, bias, reset_after, *masks)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    monkeypatch.undo()
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
        rtol=1e-6,
        atol=1e-6,
    )


# -- the op table ---------------------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in CASES if not c.error], ids=lambda c: c.id)
def test_op_case(case: Case):
    text = case_spec(case)
    graph = specc.load(text)
    refused = _refusal(graph)
    if refused:
        assert set(refused) == {"E601"}
        pytest.skip("the keras backend refuses it with E601")
    graph, model = _build(f"case:{case.id}", text)
    _check_symbolic(graph, model)
    assert model.count_params() == case.params[0]
    _check_forward(graph, model)


# -- details of the lowering ----------------------------------------------------------


def _one_layer(layer: str, extra: str = "") -> str:
    """A spec with one input (batch, 5, 3) and the given layer line(s)."""
    head = "specc: 1\nname: one_layer\ninputs:\n  - {name: x, shape: [5, 3]}\nlayers:\n"
    return f"{head}  - {layer}\n{extra}"


def test_standard_cells_write_only_what_differs_from_keras():
    source = specc.emit(ROOT / "specs" / "gru_stack.yaml", backend="keras")
    assert 'keras.layers.GRU(128, return_sequences=True, name="gru1")' in source
    assert "reset_after" not in source and "activation" not in source.split("tags")[0]


def test_forget_bias_initialises_the_forget_slice(tmp_path):
    text = _one_layer("{name: h, op: lstm, units: 3, forget_bias: 2.5}")
    source = specc.emit(text, backend="keras")
    assert "unit_forget_bias=False" in source and "ForgetBias(2.5)" in source
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    bias = keras.ops.convert_to_numpy(model.get_layer("h").cell.bias)
    np.testing.assert_array_equal(bias, [0] * 3 + [2.5] * 3 + [0] * 6)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.get_layer("h").cell.bias), bias)


@pytest.mark.parametrize(
    "layer, expected",
    [
        ("{name: h, op: lstm, units: 2, unit_forget_bias: false, forget_bias: 2.0}", [0, 2, 0, 0]),
        ("{name: h, op: lstm, units: 2, unit_forget_bias: false}", [0, 0, 0, 0]),
        (
            "{name: h, op: lstm, variant: nig, units: 2, unit_forget_bias: false, forget_bias: 2}",
            [2, 0, 0],
        ),
        ("{name: h, op: lstm, variant: peephole, units: 2, unit_forget_bias: false}", [0, 0, 0, 0]),
    ],
)
def test_forget_bias_overrides_unit_forget_bias(layer: str, expected: list):
    keras.backend.clear_session()
    cell = specc.build(_one_layer(layer), backend="keras").get_layer("h").cell
    bias = keras.ops.convert_to_numpy(cell.bias)
    np.testing.assert_array_equal(bias, np.repeat(expected, 2))


def test_variant_cells_train_under_mixed_precision():
    text = _one_layer(
        "{name: h, op: lstm, variant: peephole, units: 4, dropout: 0.3, recurrent_dropout: 0.3}"
    )
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = specc.build(text, backend="keras")
        out = model(np.ones((2, 5, 3), "float32"), training=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert tuple(out.shape) == (2, 4)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))


def test_names_that_shadow_builtins_get_other_variables():
    text = textwrap.dedent("""\
        specc: 1
        name: shadows
        inputs:
          - {name: id, shape: [5, 3]}
        layers:
          - {name: max, op: lstm, units: 4, return_sequences: true}
          - {name: max_permute, op: dense, units: 4}
          - {name: sum, op: timestep_attention, inputs: [max]}
          - {name: list, op: add, inputs: [sum, max_permute]}
        """)
    source = specc.emit(text, backend="keras")
    assert 'id_1 = keras.Input(shape=(5, 3), name="id")' in source
    assert 'name="max")(id_1)' in source
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    assert {"id", "max", "max_permute", "sum", "list"} <= {layer.name for layer in model.layers}


def test_dead_layers_are_left_out():
    text = _one_layer(
        "{name: h, op: lstm, units: 4}\n  - {name: unused, op: dense, units: 2, inputs: [x]}",
        "outputs: [h]\n",
    )
    source = specc.emit(text, backend="keras")
    assert "unused" not in source


def test_save_and_load_round_trip_with_the_custom_layer(tmp_path):
    graph, model = _build("joint_intent_slot", ROOT / "specs" / "joint_intent_slot.yaml")
    assert "LastStep" in specc.emit(ROOT / "specs" / "joint_intent_slot.yaml", backend="keras")
    arrays, _ = feed(graph, np.random.default_rng(1))
    expected = model(arrays[0], training=False)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    got = loaded(arrays[0], training=False)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-6, atol=1e-6
        )


# -- another Keras backend --------------------------------------------------------------

TORCH_SPECS = [
    "joint_intent_slot",
    "skip_deep_lstm_attention",
    "stateful_stacked_lstm",
    "crnn_keyword_spotting",
    "variants/lstm_peephole",
    "variants/lstm_cifg",
]

_RUNNER = """\
import importlib.util, sys
import numpy as np
import keras
assert keras.backend.backend() == "torch", keras.backend.backend()
for path, batch, feeds, params in {jobs!r}:
    spec = importlib.util.spec_from_file_location("m", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build_model()
    assert model.count_params() == params, (path, model.count_params(), params)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 10, size=s).astype(d) if d.startswith("int")
              else rng.standard_normal(s).astype(d) for s, d in feeds]
    model(arrays if len(arrays) > 1 else arrays[0], training=True)
    out = model(arrays if len(arrays) > 1 else arrays[0], training=False)
    print(path, [tuple(o.shape) for o in (out if isinstance(out, list) else [out])])
"""


def test_emitted_modules_run_on_the_torch_backend(tmp_path):
    pytest.importorskip("torch")
    jobs = []
    for name in TORCH_SPECS:
        path = ROOT / "specs" / f"{name}.yaml"
        graph = specc.load(path)
        target = tmp_path / f"{Path(name).name}.py"
        target.write_text(specc.emit(path, backend="keras"))
        arrays, _ = feed(graph, np.random.default_rng(0))
        feeds = [(list(a.shape), str(a.dtype)) for a in arrays]
        params = summary_data(graph)["params"]["keras"]
        jobs.append((str(target), graph.spec.batch_size, feeds, params))
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER.format(jobs=jobs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.count("\n") == len(TORCH_SPECS), result.stdout


# -- the variant cells -------------------------------------------------------------------


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


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
}


def _norm(v, w, name):
    """Layer normalisation over the last axis, with the cell's gain and shift `name`."""
    v = (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1e-5)
    return v * w[f"{name}_norm_gamma"] + w[f"{name}_norm_beta"]


def _variant_reference(variant, x, w, masks=None, mode="state"):
    """Greff et al.'s LSTM variants and Ba et al.'s layer-normalised LSTM in plain NumPy.

    Step by step, as in the papers; `w` holds the cell's weights by name.
    """
    units = w["recurrent_kernel"].shape[0]
    gates = GATES[variant]
    h = np.zeros((x.shape[0], units))
    c = np.zeros((x.shape[0], units))
    previous = np.zeros((x.shape[0], 3 * units))  # fgr: i, f, o of the step before
    p = {name: 0.0 for name in "ifo"}
    if "peephole" in w:
        p = dict(zip(gates.replace("c", ""), np.split(w["peephole"], len(gates) - 1), strict=True))
    out = []
    in_mask, rec_mask = masks or (1.0, 1.0)
    for t in range(x.shape[1]):
        h_in = h * rec_mask if mode == "state" else h
        if variant == "layer_norm":  # Ba et al. (2016), eq. 20
            pre = _norm((x[:, t] * in_mask) @ w["kernel"], w, "input")
            pre = pre + _norm(h_in @ w["recurrent_kernel"], w, "recurrent")
        else:
            pre = (x[:, t] * in_mask) @ w["kernel"] + h_in @ w["recurrent_kernel"] + w["bias"]
        z = dict(zip(gates, np.split(pre, len(gates), axis=-1), strict=True))
        if variant == "fgr":
            extra = np.split(previous @ w["gate_kernel"], 3, axis=-1)
            for name, e in zip("ifo", extra, strict=True):
                z[name] = z[name] + e
        i = _sigmoid(z["i"] + p["i"] * c) if "i" in z else 1.0
        f = _sigmoid(z["f"] + p["f"] * c) if "f" in z else 1.0
        if variant == "cifg":
            f = 1.0 - i
        g = z["c"] if variant == "niaf" else np.tanh(z["c"])
        if mode == "update":
            g = g * rec_mask
        c = f * c + i * g
        o = _sigmoid(z["o"] + p["o"] * c) if "o" in z else 1.0
        if variant == "layer_norm":
            h = o * np.tanh(_norm(c, w, "cell"))
        else:
            h = o * (c if variant == "noaf" else np.tanh(c))
        if variant == "fgr":
            previous = np.concatenate([i, f, o], axis=-1)
        out.append(h)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("variant", list(GATES))
def test_variant_cell_matches_a_numpy_reference(variant, tmp_path):
    text = _one_layer(
        f"{{name: layer, op: lstm, variant: {variant}, units: 3, return_sequences: true}}"
    )
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    graph = specc.load(text)
    assert model.count_params() == graph.node("layer").meta["params"]["keras"]
    cell = model.get_layer("layer").cell
    rng = np.random.default_rng(2)
    weights = {w.path.split("/")[-1]: w for w in cell.weights}
    values = {name: rng.standard_normal(tuple(w.shape)) for name, w in weights.items()}
    if variant == "fgr":
        values["gate_kernel"] *= 0.5
    assert ("peephole" in values) == (variant != "layer_norm")
    assert ("bias" in values) == (variant != "layer_norm")
    for name, value in values.items():
        weights[name].assign(value.astype("float32"))
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    got = keras.ops.convert_to_numpy(model(x, training=False))
    expected = _variant_reference(variant, x.astype("float64"), values)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x, training=False)), got, rtol=1e-6, atol=1e-6
    )


def test_peephole_bias_starts_with_the_unit_forget_bias():
    graph, model = _build("variants/lstm_peephole", ROOT / "specs/variants/lstm_peephole.yaml")
    bias = keras.ops.convert_to_numpy(model.get_layer("blstm1").forward_layer.cell.bias)
    np.testing.assert_array_equal(bias, np.repeat([0.0, 1.0, 0.0, 0.0], 128))
    text = _one_layer("{name: h, op: lstm, variant: nig, units: 2, forget_bias: 3.0}")
    assert "ForgetBias(3.0, 0, 3)" in specc.emit(text, backend="keras")
    keras.backend.clear_session()
    cell = specc.build(text, backend="keras").get_layer("h").cell
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(cell.bias), [3, 3, 0, 0, 0, 0])


def test_emitting_imports_no_framework():
    code = (
        "import sys, specc\n"
        "specc.emit('specs/joint_intent_slot.yaml', backend='keras')\n"
        "specc.emit('specs/variants/lstm_peephole.yaml', backend='keras')\n"
        "loaded = {'keras', 'tensorflow', 'torch', 'jax'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("mode", ["state", "update"])
def test_variant_cell_dropout_uses_one_mask_per_batch(mode, monkeypatch):
    text = _one_layer(
        "{name: layer, op: lstm, variant: peephole, units: 3, return_sequences: true, "
        f"dropout: 0.5, recurrent_dropout: 0.5, recurrent_dropout_mode: {mode}}}"
    )
    source = specc.emit(text, backend="keras")
    assert "DropoutRNN(" in source
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    cell = model.get_layer("layer").cell
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    weights = {
        n: keras.ops.convert_to_numpy(getattr(cell, n)).astype("float64")
        for n in ("kernel", "recurrent_kernel", "peephole", "bias")
    }
    plain = _variant_reference("peephole", x.astype("float64"), weights)
    got = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(got, plain, rtol=1e-5, atol=1e-5)
    masks = (
        (rng.integers(0, 2, (2, 3)) * 2.0).astype("float32"),
        (rng.integers(0, 2, (2, 3)) * 2.0).astype("float32"),
    )
    monkeypatch.setattr(cell, "dropout_masks", lambda inputs, states: masks)
    got = keras.ops.convert_to_numpy(model(x, training=True))
    expected = _variant_reference("peephole", x.astype("float64"), weights, masks=masks, mode=mode)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert cell.masks is None


def test_standard_lstm_with_update_mode_uses_the_custom_cell():
    text = _one_layer(
        "{name: h, op: lstm, units: 4, recurrent_dropout: 0.3, recurrent_dropout_mode: update}"
    )
    source = specc.emit(text, backend="keras")
    assert "VariantLSTMCell(" in source and 'variant="standard"' in source
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    assert model.count_params() == specc.load(text).node("h").meta["params"]["keras"]
