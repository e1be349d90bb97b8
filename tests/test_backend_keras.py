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

import json
import os
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
from specc.backends.keras import layers as runtime  # noqa: E402
from specc.backends.keras._emit import layer_calls, layer_names  # noqa: E402
from specc.summary import summary_data  # noqa: E402
from specc.variants import VARIANTS, variant_of  # noqa: E402

from .op_table import CASES, Case  # noqa: E402
from .support import SHARED, feed, hand_written_models  # noqa: E402
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
    "variants/lstm_cifg_no_peepholes",  # the variant cell without peepholes, masked
    "gated_feedback_lstm",  # specc's GatedFeedback layer
    "siamese_lstm",  # `shares:`: one layer object per root, called at each site
    "bidirectional_encoder_decoder",  # return_state unpacked, ports, initial_state
    "imdb_masked",  # mask_zero: zero_output_for_mask only where sequences are returned
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


def _as_list(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _keras_shape(shape) -> tuple:
    return tuple(d if isinstance(d, int) else None for d in shape)


def _output(model, graph, name: str):
    """The symbolic result of a live spec layer (or input); a shared layer object's
    k-th call is its k-th inbound node, a state port one of its layer's outputs
    (`layer_calls`)."""
    layer, call, index = layer_calls(graph).get(name, (name, 0, 0))
    return model.get_layer(layer)._inbound_nodes[call].output_tensors[index]


def _check_symbolic(graph, model) -> None:
    for node in graph.order:
        if node.name not in graph.live:
            continue
        got = tuple(_output(model, graph, node.name).shape)
        assert got == _keras_shape(node.meta["shape"]), node.name
    assert model.count_params() == summary_data(graph)["params"]["keras"]


def _check_forward(graph, model) -> None:
    """One forward pass; every live layer's result has the predicted shape."""
    rng = np.random.default_rng(0)
    arrays, bound = feed(graph, rng)
    names = [n.name for n in graph.order if n.name in graph.live and n.op != "input"]
    probe = keras.Model(model.input, [_output(model, graph, n) for n in names])
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


# a handful of specs with what could vary with set or dict order: several inputs and
# outputs, every custom object, wrapped calls, renamed layers
DETERMINISTIC = [
    "joint_intent_slot",
    "image_caption",
    "attention_encoder",
    "skip_deep_lstm_attention",
    "variants/lstm_peephole",
    "variants/lstm_fgr",
]
_EMIT = (
    "import json, sys, specc; print(json.dumps([specc.emit(p, backend='keras', standalone=s) "
    "for p in sys.argv[1:] for s in (True, False)]))"
)


def test_emitted_source_is_the_same_bytes_in_every_process(tmp_path):
    """Two processes with different hash seeds, and this one, emit the same bytes."""
    paths = [str(ROOT / "specs" / f"{name}.yaml") for name in DETERMINISTIC]
    for name, text in [("saved", SAVED), ("names", USER_NAMES)]:
        (tmp_path / f"{name}.yaml").write_text(text)
        paths.append(str(tmp_path / f"{name}.yaml"))
    runs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", _EMIT, *paths],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        runs.append(json.loads(done.stdout))
    here = [specc.emit(p, backend="keras", standalone=s) for p in paths for s in (True, False)]
    assert runs[0] == runs[1] == here


RUFF = [sys.executable, "-m", "ruff"]


def _ruff_clean(paths: list[str]) -> None:
    """ruff check and ruff format --check at ruff's defaults (--isolated), as a user runs them."""
    check = subprocess.run([*RUFF, "check", "--isolated", *paths], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [*RUFF, "format", "--isolated", "--check", "--diff", *paths],
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_emitted_source_is_ruff_clean_and_formatted(tmp_path):
    written = []
    for path in SPECS:
        for standalone in (True, False):
            try:
                source = specc.emit(path, backend="keras", standalone=standalone)
            except specc.EmitError:
                continue
            assert "import tensorflow" not in source and "tf." not in source, path
            target = tmp_path / f"{path.stem}{'' if standalone else '_imports'}.py"
            target.write_text(source)
            written.append(str(target))
    assert len(written) > len(SPECS)
    _ruff_clean(written)


def test_every_custom_object_is_emitted_ruff_clean(tmp_path):
    text = _one_layer(
        "{name: a, op: gru, units: 3, recurrent_dropout: 0.2, recurrent_dropout_mode: update, "
        "return_sequences: true}\n"
        "  - {name: b, op: lstm, variant: peephole, units: 3, dropout: 0.1, forget_bias: 2.0, "
        "return_sequences: true}\n"
        "  - {name: g, op: gated_feedback, cell: lstm, layers: 2, units: 3, "
        "return_sequences: true}\n"
        "  - {name: c, op: last_step}\n"
        # masks: specc's masked last step and max pool
        "  - {name: m, op: masking, inputs: x}\n"
        "  - {name: d, op: last_step, inputs: m}\n"
        "  - {name: e, op: global_max_pool, inputs: m}\n"
        "  - {name: f, op: concatenate, inputs: [c, d, e]}\n"
        # a masked sequence of sequences into a wrapped recurrent layer
        "  - {name: r, op: time_distributed, layer: {op: repeat_vector, n: 2}, inputs: m}\n"
        "  - {name: s, op: time_distributed, layer: {op: gru, units: 2}}\n"
        "  - {name: t, op: global_avg_pool}\n"
        # a masked sequence into a layer given initial states: its mask passed explicitly
        "  - {name: v, op: gru, units: 3, return_sequences: true, inputs: m, initial_state: [c]}\n"
        "  - {name: w, op: global_avg_pool}\n"
        "  - {name: u, op: concatenate, inputs: [f, t, w]}"
    )
    source = specc.emit(text, backend="keras")
    assert all(f"class {name}(" in source for name in runtime.__all__)
    target = tmp_path / "every_custom_object.py"
    target.write_text(source)
    _ruff_clean([str(target)])
    imports = specc.emit(text, backend="keras", standalone=False)
    assert "class " not in imports
    assert f"from specc.backends.keras.layers import (\n    {runtime.__all__[0]}," in imports


@pytest.mark.parametrize("name", GOLDEN_SPECS)
def test_golden_source(name: str):
    """The model code, byte for byte; the runtime layers are imported, not pinned here."""
    source = specc.emit(ROOT / "specs" / f"{name}.yaml", backend="keras", standalone=False)
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
            shapes = [tuple(t.shape) for t in _as_list(ours[layer.name].output)]
            assert shapes == [tuple(t.shape) for t in _as_list(layer.output)], layer.name


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
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 5, 3)).astype("float32")
    y = rng.uniform(-0.5, 0.5, (4, 4)).astype("float32")
    try:
        model = specc.build(text, backend="keras")
        out = model(x, training=True)
        assert out.dtype == "float16"  # computed in half precision
        before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
        assert all(w.dtype == "float32" for w in model.trainable_weights)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", run_eagerly=True)
        losses = [float(model.train_on_batch(x, y)) for _ in range(3)]  # loss-scaled
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert tuple(out.shape) == (4, 4)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))
    assert np.all(np.isfinite(losses))
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    for weight, old, new in zip(model.trainable_weights, before, after, strict=True):
        assert np.all(np.isfinite(new)), weight.path
        assert not np.array_equal(old, new), f"{weight.path} did not move"


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


# names that are Python keywords, builtins or framework attributes are the user's to take
USER_NAMES = textwrap.dedent("""\
    specc: 1
    name: names
    inputs:
      - {name: input, shape: [5, 3]}
    layers:
      - {name: output, op: lstm, units: 4, return_sequences: true}
      - {name: code, op: dense, units: 4}
      - {name: forward, op: timestep_attention}
      - {name: training, op: add, inputs: [forward, code]}
      - {name: zero_grad, op: gru, units: 4, return_sequences: true}
      - {name: name, op: layer_norm}
      - {name: compile, op: lstm, units: 4, variant: peephole, return_sequences: true}
      - {name: state_dict, op: dense, units: 4}
      - {name: to, op: last_step}
      - {name: type, op: dense, units: 4}
      - {name: self, op: dense, units: 4}
      - {name: keras, op: dense, units: 4}
      - {name: LastStep, op: dense, units: 4}
      - {name: class, op: dense, units: 2}
    """)


def test_any_identifier_is_a_layer_name():
    graph = specc.load(USER_NAMES)
    source = specc.emit(USER_NAMES, backend="keras", standalone=False)
    for safe, name in [("input_1", "input"), ("class_1", "class"), ("keras_1", "keras")]:
        assert f"{safe} = keras." in source and f'name="{name}"' in source
    assert 'LastStep_1 = keras.layers.Dense(4, name="LastStep")(keras_1)' in source
    assert "self = " not in source and "type = " not in source
    keras.backend.clear_session()
    model = specc.build(USER_NAMES, backend="keras")
    names = layer_names(graph)
    assert names["forward"] == "forward_dense" and names["class"] == "class"
    holding = {name: model.get_layer(keras_name) for name, keras_name in names.items()}
    assert holding["forward"].weights and holding["compile"].weights
    _check_symbolic(graph, model)
    _check_forward(graph, model)


def test_dead_layers_are_left_out():
    """Layers that reach no output (off the input or off a live layer) are not built."""
    text = _one_layer(
        "{name: h, op: lstm, units: 4}\n"
        "  - {name: unused, op: dense, units: 2, inputs: [x]}\n"
        "  - {name: dangling, op: dense, units: 7, inputs: [h]}",
        "outputs: [h]\n",
    )
    graph = specc.load(text)
    assert graph.live == {"x", "h"}
    source = specc.emit(text, backend="keras")
    assert "unused" not in source and "dangling" not in source and "Dense(" not in source
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    assert [layer.name for layer in model.layers] == ["x", "h"]
    params = graph.node("h").meta["params"]["keras"]
    assert model.count_params() == params == 4 * 4 * (3 + 4 + 1)


# every custom object: ForgetBias, VariantLSTMCell in DropoutRNN, UpdateDropoutGRUCell, LastStep
SAVED = textwrap.dedent("""\
    specc: 1
    name: saved
    inputs:
      - {name: x, shape: [6, 3]}
    layers:
      - {name: peep, op: lstm, variant: peephole, units: 4, return_sequences: true,
         forget_bias: 2.0, dropout: 0.1}
      - {name: norm, op: lstm, variant: layer_norm, units: 4, return_sequences: true}
      - {name: upd, op: gru, units: 4, recurrent_dropout: 0.2, recurrent_dropout_mode: update,
         return_sequences: true}
      - {name: att, op: timestep_attention}
      - {name: gf, op: gated_feedback, cell: gru, layers: 2, units: 3, return_sequences: true}
      - {name: last, op: last_step}
      - {name: pad, op: masking, inputs: x}
      - {name: top, op: global_max_pool, inputs: pad}
      - {name: tail, op: last_step, inputs: pad}
      - {name: rep, op: time_distributed, layer: {op: repeat_vector, n: 2}, inputs: pad}
      - {name: inner, op: time_distributed, layer: {op: rnn, units: 2}}
      - {name: pooled, op: global_avg_pool}
      - {name: dec, op: gru, units: 3, return_sequences: true, inputs: pad, initial_state: [last]}
      - {name: decoded, op: global_avg_pool}
      - {name: both, op: concatenate, inputs: [last, top, tail, pooled, decoded]}
      - {name: out, op: dense, units: 2}
    """)

_SAVED_MODEL = """\
import importlib, importlib.util, sys
import numpy as np
import keras
mode, module, *files = sys.argv[1:]
if module.endswith(".py"):
    spec = importlib.util.spec_from_file_location("compiled_model", module)
    loaded_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded_module)
else:
    loaded_module = importlib.import_module(module)
x = np.load("x.npy")
if mode == "save":  # build the compiled file's model, save it and its outputs
    saved, expected = files
    model = loaded_module.build_model()
    np.save(expected, keras.ops.convert_to_numpy(model(x, training=False)))
    model.save(saved)
else:  # load each saved model, with safe_mode on, and compare its outputs
    for saved, expected in zip(files[::2], files[1::2]):
        model = keras.saving.load_model(saved, safe_mode=True)
        got = keras.ops.convert_to_numpy(model(x, training=False))
        np.testing.assert_array_equal(got, np.load(expected))
        print(saved, type(model.get_layer("last")).__module__)
"""


def _saved_model(tmp_path: Path, *args: str) -> str:
    """Run _SAVED_MODEL in a fresh process in tmp_path; its output."""
    result = subprocess.run(
        [sys.executable, "-c", _SAVED_MODEL, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def test_saved_models_load_in_a_fresh_process(tmp_path):
    """`.keras` files from `specc.build` and from the compiled file load with safe_mode on."""
    x = np.random.default_rng(1).standard_normal((2, 6, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    keras.backend.clear_session()
    model = specc.build(SAVED, backend="keras")
    assert {type(layer).__module__ for layer in model.layers} >= {runtime.__name__}
    np.save(tmp_path / "built.npy", keras.ops.convert_to_numpy(model(x, training=False)))
    model.save(tmp_path / "built.keras")
    compiled = tmp_path / "compiled.py"
    source = specc.emit(SAVED, backend="keras")
    assert all(f"class {name}(" in source for name in runtime.__all__)
    compiled.write_text(source)
    _saved_model(tmp_path, "save", str(compiled), "compiled.keras", "compiled.npy")
    files = ["built.keras", "built.npy", "compiled.keras", "compiled.npy"]
    # after `import specc.backends.keras.layers`: both files, with specc's own classes
    out = _saved_model(tmp_path, "load", runtime.__name__, *files)
    assert out.split() == ["built.keras", runtime.__name__, "compiled.keras", runtime.__name__]
    # after importing the compiled file: its copies of the classes serve
    out = _saved_model(tmp_path, "load", str(compiled), *files[2:])
    assert out.split() == ["compiled.keras", "compiled_model"]


VARIABLE_STEPS = textwrap.dedent("""\
    specc: 1
    name: variable_steps
    dims: {T: null}
    inputs:
      - {name: x, shape: [T, 4, 3]}
    layers:
      - {name: rows, op: time_distributed, layer: {op: gru, units: 5}}
      - {name: norm, op: time_distributed, layer: {op: batch_norm}}
      - {name: drop, op: time_distributed, layer: {op: dropout, rate: 0.5}}
      - {name: tags, op: time_distributed, layer: {op: dense, units: 7, activation: softmax}}
    """)


def test_time_distributed_on_a_variable_axis_exports_and_predicts_every_length(tmp_path):
    """Keras 3.15's `TimeDistributed` maps over as many steps as the batch has rows where
    the time axis is unknown: the SavedModel of `export()`, and `predict` once a second
    length relaxed the traced shapes. The dense runs unwrapped, the others right."""
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("export to a SavedModel needs the TensorFlow backend")
    source = specc.emit(VARIABLE_STEPS, backend="keras", standalone=False)
    assert 'tags = keras.layers.Dense(7, activation="softmax", name="tags")(drop)' in source
    assert 'drop = keras.layers.Dropout(0.5, name="drop")(norm)' in source
    assert "VariableTimeDistributed(keras.layers.GRU(5)" in source
    keras.backend.clear_session()
    model = specc.build(VARIABLE_STEPS, backend="keras")
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((2, steps, 4, 3)).astype("float32") for steps in (5, 9, 12)]
    eager = [keras.ops.convert_to_numpy(model(x, training=False)) for x in batches]
    assert [e.shape for e in eager] == [(2, 5, 7), (2, 9, 7), (2, 12, 7)]
    for x, expected in zip(batches, eager, strict=True):
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)
    model.export(tmp_path / "saved", format="tf_saved_model", verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))  # held: serve reads its variables
    np.testing.assert_allclose(reloaded.serve(batches[-1]).numpy(), eager[-1], atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    for x, expected in zip(batches[:2], eager, strict=False):  # trains at either length
        assert np.isfinite(model.train_on_batch(x, np.zeros_like(expected)))


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


# every variant with a custom cell; specc.variants says which gates and peepholes each has;
# and those with peepholes without them (`peepholes: false`)
CELL_VARIANTS = [name for name in VARIANTS if name != "standard"]
CELL_VARIANTS += [f"{name}, peepholes: false" for name in CELL_VARIANTS if VARIANTS[name].peepholes]


def _norm(v, w, name):
    """Layer normalisation over the last axis, with the cell's gain and shift `name`."""
    v = (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1e-5)
    return v * w[f"{name}_norm_gamma"] + w[f"{name}_norm_beta"]


def _variant_reference(variant, x, w, masks=None, mode="state"):
    """Greff et al.'s LSTM variants and Ba et al.'s layer-normalised LSTM in plain NumPy.

    Step by step, as in the papers; `w` holds the cell's weights by name.
    """
    units = w["recurrent_kernel"].shape[0]
    name, _, peepholes = variant.partition(", peepholes: ")
    v = variant_of({"variant": name, "peepholes": peepholes != "false"})
    gates = v.gates.replace("g", "c")  # Keras calls the candidate `c`
    h = np.zeros((x.shape[0], units))
    c = np.zeros((x.shape[0], units))
    previous = np.zeros((x.shape[0], 3 * units))  # fgr: i, f, o of the step before
    p = {name: 0.0 for name in "ifo"}
    if v.peepholes:
        p.update(zip(v.peepholes, np.split(w["peephole"], len(v.peepholes)), strict=True))
    out = []
    in_mask, rec_mask = masks or (1.0, 1.0)
    for t in range(x.shape[1]):
        h_in = h * rec_mask if mode == "state" else h
        if v.layer_norm:  # Ba et al. (2016), eq. 20
            pre = _norm((x[:, t] * in_mask) @ w["kernel"], w, "input")
            pre = pre + _norm(h_in @ w["recurrent_kernel"], w, "recurrent")
        else:
            pre = (x[:, t] * in_mask) @ w["kernel"] + h_in @ w["recurrent_kernel"] + w["bias"]
        z = dict(zip(gates, np.split(pre, len(gates), axis=-1), strict=True))
        if v.gate_recurrence:
            extra = np.split(previous @ w["gate_kernel"], 3, axis=-1)
            for name, e in zip("ifo", extra, strict=True):
                z[name] = z[name] + e
        i = _sigmoid(z["i"] + p["i"] * c) if "i" in z else 1.0
        f = _sigmoid(z["f"] + p["f"] * c) if "f" in z else 1.0
        if v.coupled_forget:
            f = 1.0 - i
        g = np.tanh(z["c"]) if v.input_activation else z["c"]
        if mode == "update":
            g = g * rec_mask
        c = f * c + i * g
        o = _sigmoid(z["o"] + p["o"] * c) if "o" in z else 1.0
        cell = _norm(c, w, "cell") if v.layer_norm else c
        h = o * (np.tanh(cell) if v.output_activation else cell)
        if v.gate_recurrence:
            previous = np.concatenate([i, f, o], axis=-1)
        out.append(h)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("variant", CELL_VARIANTS)
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
    if variant.startswith("fgr"):
        values["gate_kernel"] *= 0.5
    v = VARIANTS[variant.partition(",")[0]]
    assert ("peephole" in values) == (bool(v.peepholes) and "peepholes: false" not in variant)
    assert ("bias" in values) == v.has_bias
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
    assert 'VariantLSTMCell(4, recurrent_dropout=0.3, recurrent_dropout_mode="update")' in source
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    assert model.count_params() == specc.load(text).node("h").meta["params"]["keras"]


def test_shared_layers_hold_one_set_of_weights():
    """`shares:` calls one Keras layer object at every site: its weights once, in the
    count and in the model, a root that reaches no output (`enc`, `head`) included."""
    graph = specc.load(SHARED)
    keras.backend.clear_session()
    model = specc.build(SHARED, backend="keras")
    assert model.count_params() == summary_data(graph)["params"]["keras"] == 281
    assert len(model.get_layer("enc")._inbound_nodes) == 1  # enc itself reaches no output
    assert len(model.get_layer("t_p")._inbound_nodes) == 3  # p, then q_1 and q_2 on it
    assert len(model.weights) == 3 + 2 + 2 + 2  # enc, t_p, t2_p, head: no copies
    names = layer_names(graph)
    assert names["enc_b"] == names["enc"] == "enc" and names["t_q_2"] == "t_p"
    _check_symbolic(graph, model)
    _check_forward(graph, model)
