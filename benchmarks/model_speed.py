"""How fast the emitted models run, measured side by side with hand-written ones in one run.

    python benchmarks/model_speed.py [--device cpu|cuda] [--batch 32] [--repeat 20] [--no-keras]
        [--only variants] [--compiled peephole,cifg] [--compiled-layers lstm_relu]

(a) PyTorch: for each model of benchmarks/torch_models.py, a training step
    (forward, backward, SGD update) and an eval-mode forward pass of the model
    `specc.build` returns against the hand-written one. Target: within 5%.
(b) Keras: the same specs, `train_on_batch` and `predict_on_batch` of the
    `specc.build` model against benchmarks/keras_models.py's. Target: within 5%.
(c) LSTM variant cells (PyTorch), one thread on a CPU: a training step of one
    layer of each variant (64 -> 128 and 64 -> 32 units), eager and with its
    loops compiled (`--compiled`, with the compile's seconds), against the
    fused standard LSTM of the same size. Target: 2x eager (2.5x for fgr and
    layer_norm), 1.5x compiled. Also `nn.LSTM` with as many units as make its
    matmuls fgr's: fgr's floor at the fused kernel's speed.
(d) The same in Keras: each variant cell against `keras.layers.LSTM`, and
    `keras.layers.LSTM` with as many units as make its matmuls a step fgr's
    (2.5x the 128-unit LSTM's): the floor for fgr's ratio.
(e) Step-by-step layers (PyTorch, W502), one thread on a CPU: a training step of
    one layer (64 -> 128) with what no fused kernel has, eager and with its
    loop compiled in chunks of steps (`compile_steps`, `--compiled-layers`),
    against the fused layer of the same kind without it. Target: 2x eager,
    1.5x compiled.

Runs alternate between the two sides of a comparison and each figure is the
median; ratios are specc's time over the other's, so below 1.00 is faster.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import specc  # noqa: E402
from specc.shapes import Sym  # noqa: E402

VARIABLE = 50  # the length fed for a variable time dim


def inputs(graph, batch: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = []
    for node in graph.spec.inputs:
        shape = [batch] + [VARIABLE if isinstance(d, Sym) else d for d in node.meta["shape"][1:]]
        arrays.append(rng.standard_normal(shape).astype("float32"))
    return arrays


def side_by_side(first, second, repeat: int, sync=lambda: None) -> tuple[float, float]:
    """Median seconds of two callables, run alternately after a warm-up."""
    for _ in range(3):
        first()
        second()
    sync()
    times: tuple[list, list] = ([], [])
    for _ in range(repeat):
        for fn, bucket in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            sync()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def compiled_ratio(model, kind, label: str, train, fused, repeat: int, sync) -> float:
    """`compile_steps` on each `kind` layer of `model`; the first step's seconds
    (the compile) apart, `train` against `fused` side by side."""
    for layer in model.modules():
        if isinstance(layer, kind):
            layer.compile_steps = True
    start = time.perf_counter()
    train()
    sync()
    seconds = time.perf_counter() - start
    return report(f"{label}, compiled ({seconds:.0f} s)", *side_by_side(train, fused, repeat, sync))


@contextlib.contextmanager
def one_thread(device: str):
    """The device's sync, with torch at one thread on a CPU while the block runs."""
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
    try:
        yield torch.cuda.synchronize if device == "cuda" else (lambda: None)
    finally:
        torch.set_num_threads(threads)


def torch_steps(model, args: list, device: str):
    """(training step, eval forward) closures for a PyTorch model."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def train():
        model.train()
        optimizer.zero_grad()
        out = model(*args)
        outs = out if isinstance(out, tuple) else (out,)
        sum(o.float().square().mean() for o in outs).backward()
        optimizer.step()

    def infer():
        model.eval()
        with torch.no_grad():
            model(*args)

    return train, infer


def report(label: str, a: float, b: float) -> float:
    print(f"    {label:34} {a * 1000:9.2f} {b * 1000:9.2f} {a / b:8.2f}")
    return a / b


def pytorch(batch: int, repeat: int, device: str) -> None:
    from torch_models import MODELS

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    print(f"(a) PyTorch on {device}, batch {batch}: specc's build against a hand-written model")
    print(f"    {'spec, step':34} {'specc ms':>9} {'hand ms':>9} {'ratio':>8}")
    ratios = []
    for key, cls in MODELS.items():
        path = ROOT / "specs" / f"{key}.yaml"
        graph = specc.load(path)
        args = [torch.from_numpy(a).to(device) for a in inputs(graph, batch)]
        ours, hand = specc.build(path, backend="torch").to(device), cls().to(device)
        count = sum(p.numel() for p in ours.parameters())
        assert count == sum(p.numel() for p in hand.parameters()), key
        ours_steps, hand_steps = torch_steps(ours, args, device), torch_steps(hand, args, device)
        with torch.no_grad():
            ours.eval(), hand.eval()
            assert ours(*args).shape == hand(*args).shape, key
        for label, a, b in zip(("train", "eval"), ours_steps, hand_steps, strict=True):
            ratios.append(report(f"{key}, {label}", *side_by_side(a, b, repeat, sync)))
    print(f"    worst ratio {max(ratios):.2f}   (target <= 1.05)")


def keras_side(batch: int, repeat: int) -> None:
    import keras
    from keras_models import MODELS
    from torch_models import MODELS as SPECS

    print(f"(b) Keras ({keras.backend.backend()}), batch {batch}: specc's build against by hand")
    print(f"    {'spec, step':34} {'specc ms':>9} {'hand ms':>9} {'ratio':>8}")
    ratios = []
    for key in SPECS:
        path = ROOT / "specs" / f"{key}.yaml"
        graph = specc.load(path)
        x = inputs(graph, batch)
        x = x if len(x) > 1 else x[0]
        models = [specc.build(path, backend="keras"), MODELS[key]()]
        assert models[0].count_params() == models[1].count_params(), key
        steps = []
        for model in models:
            model.compile(optimizer="sgd", loss="mse")
            y = np.zeros(model.predict_on_batch(x).shape, dtype="float32")
            steps.append(
                (
                    lambda m=model, x=x, y=y: m.train_on_batch(x, y),
                    lambda m=model, x=x: m.predict_on_batch(x),
                )
            )
        for i, label in enumerate(("train", "eval")):
            ratios.append(
                report(f"{key}, {label}", *side_by_side(steps[0][i], steps[1][i], repeat))
            )
    print(f"    worst ratio {max(ratios):.2f}   (target <= 1.05)")


VARIANT_CELL = """\
specc: 1
name: one_layer
inputs:
  - {{name: x, shape: [{steps}, {features}]}}
layers:
  - {{name: h, op: lstm, units: {units}, return_sequences: true, variant: {variant}}}
"""
VARIANT_NAMES = ("peephole", "nig", "nfg", "nog", "niaf", "noaf", "cifg", "fgr", "layer_norm")


def variants(
    batch: int,
    repeat: int,
    device: str,
    sync,
    compiled: tuple[str, ...] = VARIANT_NAMES,
    steps: int = 50,
    features: int = 64,
) -> None:
    """Part (c), one thread on a CPU: each variant eager, and those in `compiled` with
    their loops compiled (`compile_steps`), the first step's seconds (the compile)
    apart; the fused layer runs side by side with each, so both see the same load.
    `sync` waits for the device; run it in `one_thread`."""
    from specc.backends.torch.runtime import LSTMVariant

    print(
        f"(c) LSTM variants on {device} ({torch.get_num_threads()} thread(s) on a CPU): "
        f"training step of one layer (batch {batch}, {steps} steps, {features} inputs) "
        "against the fused standard LSTM (nn.LSTM)"
    )
    print(f"    {'variant, units, loops':34} {'variant ms':>9} {'fused ms':>9} {'ratio':>8}")
    x = torch.randn(batch, steps, features, device=device)
    worst: dict[str, float] = {}
    for units in (128, 32):

        def build(variant: str, units=units):
            text = VARIANT_CELL.format(steps=steps, features=features, units=units, variant=variant)
            return specc.build(text, backend="torch").to(device)

        fused_train, _ = torch_steps(build("standard"), [x], device)
        for variant in VARIANT_NAMES:
            model = build(variant)
            train, _ = torch_steps(model, [x], device)
            ratio = report(
                f"{variant}, {units}, eager", *side_by_side(train, fused_train, repeat, sync)
            )
            worst[f"eager, {units}"] = max(worst.get(f"eager, {units}", 0.0), ratio)
            if variant not in compiled:
                continue
            label = f"{variant}, {units}"
            ratio = compiled_ratio(model, LSTMVariant, label, train, fused_train, repeat, sync)
            worst[f"compiled, {units}"] = max(worst.get(f"compiled, {units}", 0.0), ratio)
        # fgr's floor: nn.LSTM doing fgr's matmul FLOPs a step (2.5x its own at 128)
        floor = flop_match(features, units)
        floor_train, _ = torch_steps(build("standard", floor), [x], device)
        report(
            f"nn.LSTM at {floor} units (fgr's FLOPs)",
            *side_by_side(floor_train, fused_train, repeat, sync),
        )
    for key, ratio in worst.items():
        target = "1.5" if key.startswith("compiled") else "2.0; 2.5 for layer_norm and fgr"
        print(f"    worst ratio, {key} units: {ratio:.2f}   (target <= {target} at 128)")


STEP_BY_STEP = {  # name: (op, what no fused kernel has)
    "lstm_recurrent_dropout": ("lstm", "recurrent_dropout: 0.2"),
    "lstm_relu": ("lstm", "activation: relu"),
    "gru_reset_before": ("gru", "reset_after: false"),
    "gru_recurrent_dropout": ("gru", "recurrent_dropout: 0.2"),
    "rnn_recurrent_dropout": ("rnn", "recurrent_dropout: 0.2"),
}
STEP_CELL = """\
specc: 1
name: one_layer
inputs:
  - {{name: x, shape: [{steps}, {features}]}}
layers:
  - {{name: h, op: {op}, units: {units}, return_sequences: true{extra}}}
"""


def step_by_step(
    batch: int,
    repeat: int,
    device: str,
    sync,
    compiled: tuple[str, ...] = tuple(STEP_BY_STEP),
    steps: int = 50,
    features: int = 64,
    units: int = 128,
) -> None:
    """Part (e): each W502 layer eager, and those in `compiled` with
    their loops compiled (`compile_steps`) with the first step's seconds (the
    compile) apart, side by side with the fused layer of its kind; in
    `one_thread`, as (c)."""
    from specc.backends.torch.runtime import StepByStep

    print(
        f"(e) Step-by-step layers on {device} ({torch.get_num_threads()} thread(s) on a CPU): "
        f"training step of one layer (batch {batch}, {steps} steps, {features} -> {units}) "
        "against the fused layer of the same kind"
    )
    print(f"    {'layer, loops':34} {'layer ms':>9} {'fused ms':>9} {'ratio':>8}")
    x = torch.randn(batch, steps, features, device=device)

    def build(op: str, extra: str):
        text = STEP_CELL.format(steps=steps, features=features, units=units, op=op, extra=extra)
        return specc.build(text, backend="torch").to(device)

    worst: dict[str, float] = {}
    for name, (op, option) in STEP_BY_STEP.items():
        model = build(op, f", {option}")
        fused_train, _ = torch_steps(build(op, ""), [x], device)
        train, _ = torch_steps(model, [x], device)
        ratio = report(f"{name}, eager", *side_by_side(train, fused_train, repeat, sync))
        worst["eager"] = max(worst.get("eager", 0.0), ratio)
        if name not in compiled:
            continue
        ratio = compiled_ratio(model, StepByStep, name, train, fused_train, repeat, sync)
        worst["compiled"] = max(worst.get("compiled", 0.0), ratio)
    for key, ratio in worst.items():
        target = "1.5" if key == "compiled" else "2.0"
        print(f"    worst ratio, {key}: {ratio:.2f}   (target <= {target})")


def flop_match(features: int, units: int) -> int:
    """Units of a standard LSTM whose matmuls a step, (features + v) x 4v, equal fgr's:
    the same plus its 3u x 3u gate recurrence."""
    fgr = 4 * units * (features + units) + 9 * units * units
    return round((-features + (features * features + fgr) ** 0.5) / 2)


def keras_variants(batch: int, repeat: int, steps: int = 50, features: int = 64) -> None:
    """Each variant cell's training step against keras.layers.LSTM's, in one run, with
    TensorFlow's thread pools at 1 (design section 8): set before TensorFlow runs an op,
    so run alone (`--only keras-variants`) for the one-thread figures."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already ran: its pools are as they were made
            print("    (TensorFlow's thread pools were already made: not one thread)")
    print(
        f"(d) LSTM variants in Keras ({keras.backend.backend()}): train_on_batch of one layer "
        f"(batch {batch}, {steps} steps, {features} -> 128) against keras.layers.LSTM"
    )
    print(f"    {'variant':34} {'variant ms':>9} {'LSTM ms':>9} {'ratio':>8}")
    x = np.random.default_rng(0).standard_normal((batch, steps, features)).astype("float32")

    def step(variant: str, units: int = 128):
        text = VARIANT_CELL.format(steps=steps, features=features, variant=variant, units=units)
        model = specc.build(text, backend="keras")
        model.compile(optimizer="sgd", loss="mse")
        y = np.zeros((batch, steps, units), "float32")
        return lambda: model.train_on_batch(x, y)

    fused = step("standard")  # keras.layers.LSTM(128, return_sequences=True)
    ratios = {}
    for variant in VARIANT_NAMES:
        ratios[variant] = report(variant, *side_by_side(step(variant), fused, repeat))
    print(f"    worst ratio {max(ratios.values()):.2f}   (target <= 2.0)")
    worst = max(ratios["fgr"], ratios["layer_norm"])
    print(f"    fgr and layer_norm {worst:.2f}   (target <= 1.5)")
    # fgr's floor: keras.layers.LSTM doing fgr's matmul FLOPs a step (2.5x its own at 128)
    units = flop_match(features, 128)
    report(
        f"LSTM at {units} units (fgr's FLOPs)",
        *side_by_side(step("standard", units), fused, repeat),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument(
        "--only", choices=("torch", "keras", "variants", "keras-variants", "step-by-step")
    )
    parser.add_argument(
        "--compiled",
        default=",".join(VARIANT_NAMES),
        help="the variants (c) also runs compiled, comma-separated; '' for none "
        "(compiling takes a minute or more per variant and size)",
    )
    parser.add_argument(
        "--compiled-layers",
        default=",".join(STEP_BY_STEP),
        help="the step-by-step layers (e) also runs under torch.compile, comma-separated; "
        f"'' for none (a minute or more each), of: {', '.join(STEP_BY_STEP)}",
    )
    args = parser.parse_args()
    if args.only in (None, "torch"):
        pytorch(args.batch, args.repeat, args.device)
    if args.only in (None, "variants"):
        compiled = tuple(name for name in args.compiled.split(",") if name)
        with one_thread(args.device) as sync:
            variants(args.batch, args.repeat, args.device, sync, compiled)
    if args.only in (None, "step-by-step"):
        compiled = tuple(name for name in args.compiled_layers.split(",") if name)
        with one_thread(args.device) as sync:
            step_by_step(args.batch, args.repeat, args.device, sync, compiled)
    if args.only in (None, "keras") and not args.no_keras:
        keras_side(args.batch, args.repeat)
    if args.only in (None, "keras-variants") and not args.no_keras:
        keras_variants(args.batch, args.repeat)


if __name__ == "__main__":
    main()
