"""The differential check: a spec built in a backend, run, and held to specc's predictions.

`check(text, backend, seed)` validates the spec, reads `specc summary`'s JSON
document (every live layer's shape, dtype and parameter counts), builds the
model with `specc.build`, feeds random input (ids below the smallest
vocabulary, a random size for each variable dim) and runs it in eval mode and
in training mode with one gradient step. It returns the disagreements it saw,
each of one kind of `KINDS`; an empty list means the backend did exactly what
specc predicted. Shared by tests/test_differential.py and
benchmarks/differential.py. Importing a backend is left to the caller's
process: each backend's runner imports its framework on first use.
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass
from math import prod

import specc
from specc.shapes import BATCH, Sym
from specc.summary import summary_data

# What can disagree: the spec is refused, the backend refuses to emit it, the
# emitted source fails to build, the parameter count differs, the eval or the
# training pass raises, or an output's shape or dtype is not the predicted one.
KINDS = ("refused", "emit", "build", "params", "run", "train", "shape", "dtype")


@dataclass
class Finding:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class Unsized(Exception):
    """No sizes for the variable dims make every predicted size positive."""


def size_of(dim, bound: dict) -> int:
    """A predicted dim's size once each variable dim is bound (specc's expressions evaluated)."""
    if isinstance(dim, int):
        return dim
    if dim.key is None:
        return bound[dim]
    kind, *args = dim.key
    if kind == "add":
        return size_of(args[0], bound) + size_of(args[1], bound)
    if kind == "mul":
        return size_of(args[0], bound) * size_of(args[1], bound)
    if kind == "valid":
        length, span, stride = args
        return (size_of(length, bound) - span) // stride + 1
    if kind == "ceil":
        length, stride = args
        return -(-size_of(length, bound) // stride)
    if kind == "reshape":
        size, known = args
        total, rest = prod(size_of(d, bound) for d in size), prod(size_of(d, bound) for d in known)
        if rest == 0 or total % rest:
            raise Unsized(f"reshape of {total} values into {rest}")
        return total // rest
    raise AssertionError(f"no size rule for the expression {dim!r} ({kind})")


def bind_sizes(graph, rng: random.Random) -> dict:
    """A size for the batch and each variable dim such that every live shape is positive."""
    atoms = {d for n in graph.spec.inputs for d in n.meta["shape"] if isinstance(d, Sym)}
    atoms.discard(BATCH)
    shapes = [n.meta["shape"] for n in graph.order if n.name in graph.live]
    for attempt in range(40):
        top = 6 + attempt
        bound = {BATCH: graph.spec.batch_size or rng.randint(1, 3)}
        bound.update({d: rng.randint(1, top) for d in atoms})
        try:
            if all(size_of(d, bound) >= 1 for shape in shapes for d in shape):
                return bound
        except Unsized:
            continue
    raise Unsized("no sizes make every shape positive")


def predictions(graph) -> dict:
    """Each output's predicted shape (dims as specc has them), dtype, and the counts."""
    data = summary_data(graph)
    layers = {layer["name"]: layer for layer in data["layers"]}
    layers.update({i["name"]: i for i in data["inputs"]})
    outputs = [
        (name, graph.node(name).meta["shape"], layers[name]["dtype"]) for name in data["outputs"]
    ]
    return {"outputs": outputs, "params": data["params"], "layers": layers}


def feed(graph, bound: dict, rng: random.Random) -> list:
    """Random input arrays (numpy): ids below the smallest vocabulary, normal floats.

    Floats are float32 arrays; the runners cast them to the input's dtype
    (numpy has no bfloat16).
    """
    import numpy as np

    gen = np.random.default_rng(rng.randrange(2**32))
    vocab = min(_vocabularies(graph), default=10)
    arrays = []
    for node in graph.spec.inputs:
        shape = [size_of(d, bound) for d in node.meta["shape"]]
        dtype = node.attrs["dtype"]
        if dtype.startswith("int"):
            arrays.append(gen.integers(0, vocab, size=shape).astype(dtype))
        else:
            arrays.append(gen.standard_normal(shape).astype("float32"))
    return arrays


def _vocabularies(graph):
    for node in graph.order:
        attrs = node.attrs["layer"] if node.op == "time_distributed" else node.attrs
        if attrs.get("op", node.op) == "embedding":
            yield attrs["input_dim"]


def check(text: str, backend: str, seed: int = 0) -> list[Finding]:
    """Every disagreement between specc's predictions and the backend's model."""
    report = specc.validate(text)
    if not report.ok:
        return [Finding("refused", "; ".join(f"{d.code} {d.message}" for d in report.errors))]
    graph = report.graph
    rng = random.Random(seed)
    predicted = predictions(graph)
    runner = RUNNERS[backend]()
    try:
        runner.prepare()
        model = specc.build(text, backend)
    except specc.EmitError as error:
        return [Finding("emit", "; ".join(f"{d.code} {d.message}" for d in error.diagnostics))]
    except Exception:  # noqa: BLE001 - any failure of the emitted source is the finding
        return [Finding("build", _last_line())]
    findings = []
    count = runner.count(model)
    if count != predicted["params"][backend]:
        findings.append(Finding("params", f"predicted {predicted['params'][backend]}, got {count}"))
    findings += runner.static_findings(graph, model)
    bound = bind_sizes(graph, rng)
    arrays = feed(graph, bound, rng)
    dtypes = [node.attrs["dtype"] for node in graph.spec.inputs]
    for training, kind in ((False, "run"), (True, "train")):
        try:
            results = runner.run(model, arrays, dtypes, training)
        except Exception:  # noqa: BLE001
            findings.append(Finding(kind, _last_line()))
            continue
        mode = "training" if training else "eval"
        for (name, shape, dtype), (got_shape, got_dtype) in zip(
            predicted["outputs"], results, strict=True
        ):
            want = tuple(size_of(d, bound) for d in shape)
            if tuple(got_shape) != want:
                findings.append(
                    Finding("shape", f"{mode} output `{name}`: predicted {want}, got {got_shape}")
                )
            if got_dtype != dtype:
                findings.append(
                    Finding("dtype", f"{mode} output `{name}`: predicted {dtype}, got {got_dtype}")
                )
    return findings


def _last_line() -> str:
    lines = traceback.format_exc().strip().splitlines()
    return lines[-1][:300]


class TorchRunner:
    """Runs PyTorch models: forward in eval mode; forward, backward and a step in training."""

    def prepare(self) -> None:
        pass

    def count(self, model) -> int:
        return sum(p.numel() for p in model.parameters())

    def static_findings(self, graph, model) -> list[Finding]:
        return []

    def run(self, model, arrays: list, dtypes: list, training: bool) -> list[tuple]:
        import torch

        args = [
            torch.from_numpy(a).to(getattr(torch, d)) for a, d in zip(arrays, dtypes, strict=True)
        ]
        model.train(training)
        if training:
            out = _as_list(model(*args))
            floats = [o for o in out if o.is_floating_point() and o.requires_grad]
            if floats:
                loss = sum(o.float().square().mean() for o in floats)
                loss.backward()
                torch.optim.SGD(model.parameters(), lr=1e-3).step()
                model.zero_grad()
        else:
            with torch.no_grad():
                out = _as_list(model(*args))
        return [(tuple(o.shape), str(o.dtype).removeprefix("torch.")) for o in out]


class KerasRunner:
    """Builds and runs Keras models: symbolic shapes checked too; a gradient step in training."""

    def prepare(self) -> None:
        import keras

        # A full collection on every model takes longer than the model itself.
        keras.backend.clear_session(free_memory=False)

    def count(self, model) -> int:
        return model.count_params()

    def static_findings(self, graph, model) -> list[Finding]:
        """Every live layer's symbolic shape (None for variable dims) as predicted."""
        from specc.backends.keras._emit import layer_calls

        findings = []
        calls = layer_calls(graph)
        for node in graph.order:
            if node.name not in graph.live or node.op == "input":
                continue
            want = tuple(d if isinstance(d, int) else None for d in node.meta["shape"])
            layer, call, index = calls[node.name]  # a shared layer object: its call's result
            output = model.get_layer(layer)._inbound_nodes[call].output_tensors[index]
            got = tuple(output.shape)
            if got != want:
                findings.append(
                    Finding(
                        "shape", f"symbolic shape of `{node.name}`: predicted {want}, got {got}"
                    )
                )
        return findings

    def run(self, model, arrays: list, dtypes: list, training: bool) -> list[tuple]:
        import keras
        import tensorflow as tf

        x = [tf.cast(a, d) for a, d in zip(arrays, dtypes, strict=True)]
        x = x if len(x) > 1 else x[0]
        if training:
            with tf.GradientTape() as tape:
                out = _as_list(model(x, training=True))
                floats = [o for o in out if o.dtype.is_floating]
                loss = sum(tf.reduce_mean(tf.square(tf.cast(o, "float32"))) for o in floats)
            if floats and model.trainable_variables:
                grads = tape.gradient(loss, model.trainable_variables)
                pairs = [(g, v) for g, v in zip(grads, model.trainable_variables, strict=True)]
                pairs = [(g, v) for g, v in pairs if g is not None]
                if pairs:
                    keras.optimizers.SGD(1e-3).apply(*zip(*pairs, strict=True))
        else:
            out = _as_list(model(x, training=False))
        return [(tuple(o.shape), keras.backend.standardize_dtype(o.dtype)) for o in out]


def _as_list(out) -> list:
    return list(out) if isinstance(out, list | tuple) else [out]


RUNNERS = {"torch": TorchRunner, "keras": KerasRunner}


def installed_backends() -> list[str]:
    """The backends of `RUNNERS` whose framework imports here."""
    import importlib.util

    found = []
    if importlib.util.find_spec("torch"):
        found.append("torch")
    if importlib.util.find_spec("keras") and importlib.util.find_spec("tensorflow"):
        found.append("keras")
    return found


def single_threaded(backends: list[str]) -> None:
    """One thread per framework: the machine is shared, and tests run side by side."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "torch" in backends:
        import torch

        torch.set_num_threads(1)
    if "keras" in backends:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # TensorFlow already started: its pools are set
