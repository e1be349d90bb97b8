"""Names belong to the user: layers named like Python and framework attributes build, run,
move weights and export, in both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import specc  # noqa: E402
from specc.backends.torch import module_names  # noqa: E402
from specc.backends.weights import keras_to_torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "python_names.yaml"
NAMES = [
    "input",
    "self",
    "forward",
    "class",
    "training",
    "type",
    "to",
    "code",
    "zero_grad",
    "state_dict",
    "compile",
    "name",
    "output",
]


def test_the_spec_uses_every_name():
    graph = specc.load(SPEC)
    assert [n.name for n in graph.order] == NAMES


def test_keras_layers_keep_the_spec_names():
    keras.backend.clear_session()
    model = specc.build(SPEC, backend="keras")
    assert {layer.name for layer in model.layers} >= set(NAMES)


def test_torch_attributes_that_would_collide_are_renamed_and_commented():
    graph = specc.load(SPEC)
    names = module_names(graph)
    model = specc.build(SPEC, backend="torch")
    functions = {"class", "code"}  # `add` and `last_step` are tensor ops in forward
    for spec_name in set(NAMES) - functions - {"input"}:
        assert isinstance(getattr(model, names[spec_name]), torch.nn.Module), spec_name
    assert names["forward"] != "forward" and names["training"] != "training"
    assert names["output"] == "output"  # not an attribute of nn.Module: kept
    assert len(set(names.values())) == len(names)
    source = specc.emit(SPEC, backend="torch")
    assert f"self.{names['forward']} = " in source
    assert "# spec layer forward" in source


def test_weights_move_and_the_model_exports():
    graph = specc.load(SPEC)
    keras.backend.clear_session()
    keras_model = specc.build(SPEC, backend="keras")
    torch_model = specc.build(SPEC, backend="torch").eval()
    keras_to_torch(graph, keras_model, torch_model)
    x = np.random.default_rng(0).standard_normal((2, 12, 8)).astype("float32")
    expected = keras.ops.convert_to_numpy(keras_model(x, training=False))
    with torch.no_grad():
        got = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    exported = torch.export.export(torch_model, (torch.from_numpy(x),))
    with torch.no_grad():
        again = exported.module()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(again, got, atol=1e-6)


@pytest.mark.parametrize("model_name", ["torch", "nn", "F", "keras", "class", "Model"])
def test_model_names_that_are_module_names_build(model_name):
    text = (
        f"specc: 1\nname: {model_name}\ninputs:\n  - {{name: x, shape: [5, 3]}}\n"
        "layers:\n  - {name: h, op: lstm, units: 4}\n  - {name: out, op: dense, units: 1}\n"
    )
    out = specc.build(text, backend="torch")(torch.zeros(2, 5, 3))
    assert tuple(out.shape) == (2, 1)
    keras.backend.clear_session()
    model = specc.build(text, backend="keras")
    assert model.name == model_name
    assert tuple(model(np.zeros((2, 5, 3), "float32")).shape) == (2, 1)
