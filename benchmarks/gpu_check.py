"""GPU readiness check: one prepared run of what issue 12 asks to see on a GPU.

    python benchmarks/gpu_check.py [--device cuda|cpu] [--quick] [--parts 1,2,3,4]
        [--keras-backend tensorflow|jax|torch] [--no-keras] [--compiled cifg]

1. Every example spec (specs/, specs/variants/) built with `specc.build` in PyTorch,
   moved to the device, one training step, its output shapes held to the validator's;
   the same in Keras on a backend that sees the device (else skipped, saying why).
2. torch.profiler over a training step of a fused LSTM, a fused GRU, a masked
   (packed) LSTM and a `peepholes: false` CIFG: the op and kernel names that name
   cuDNN or an RNN, which show whether cuDNN runs.
3. A bf16 autocast training step (`torch.autocast(device, torch.bfloat16)`) of every spec.
4. benchmarks/model_speed.py's variant table (c) on the device (compiled: every
   variant, or `--compiled`, or cifg alone with `--quick`), the `peepholes: false`
   variants (nig, nfg, nog, cifg) against nn.LSTM, and on CUDA each variant's step
   replayed as CUDA graphs against nn.LSTM's (cuDNN).

A failure is printed with its exception line and the run goes on. Everything printed
also goes to $OUT/gpu_check.txt when OUT is set, written as it goes.

On a GPU machine with no network whose python3 holds a CUDA torch but not specc's
other needs (the device machine: no jsonschema, keras, namex, optree), first, here,
in the repo root that travels:

    echo /.whl/ >> .git/info/exclude
    python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \\
        -d .whl jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 \\
        rpds-py==2026.9.1 keras==3.15.1 namex==0.1.0 optree==0.20.0

(3.3 MB), then there, carrying `.whl`:

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
    python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/site . &&
    PYTHONPATH=/tmp/site KERAS_BACKEND=jax PYTHONUNBUFFERED=1 \\
        python3 benchmarks/gpu_check.py --quick

(specc must be installed: its backends are entry points and live in backends/.) If
Keras fails on JAX, `--parts 1 --keras-backend torch` runs it on torch's CUDA instead
(26 s on the CPU; stateful_stacked_lstm fails there to train: Keras 3.15's stateful
LSTM on torch modifies its state in place, as a plain `keras.layers.LSTM` does).
Not yet run on a GPU. `--device cpu --quick` took 5.5 minutes on 2 shared cores, half
of it Keras on TensorFlow; without `--quick` every variant is also compiled, twice.
On the CPU torch runs one thread (threads that spin on shared cores cost seconds a step).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.append(str(ROOT))  # for tests.support; after an installed specc

import numpy as np  # noqa: E402
import torch  # noqa: E402
from model_speed import (  # noqa: E402
    VARIANT_CELL,
    VARIANT_NAMES,
    one_thread,
    report,
    side_by_side,
    torch_steps,
    variants,
)

import specc  # noqa: E402
import specc.backend  # noqa: E402
from tests.support import feed, pad_lengths  # noqa: E402

SPECS = sorted(ROOT.glob("specs/*.yaml")) + sorted(ROOT.glob("specs/variants/*.yaml"))
RNN_NAMES = re.compile("cudnn|rnn|lstm|gru", re.IGNORECASE)  # ops and kernels part 2 lists
FUSED_VARIANTS = ("nig", "nfg", "nog", "cifg")  # `peepholes: false`: a fused nn.LSTM


def one_layer(variant: str = "standard", op: str = "lstm", masked: bool = False) -> str:
    """model_speed's one-layer spec (batch 32, 50 steps, 64 -> 128), as a GRU or masked."""
    text = VARIANT_CELL.format(steps=50, features=64, units=128, variant=variant)
    if op != "lstm":
        text = text.replace("op: lstm", f"op: {op}").replace(f", variant: {variant}", "")
    if masked:
        text = text.replace("layers:\n", "layers:\n  - {name: m, op: masking, mask_value: 0.0}\n")
    return text


PROFILED = {
    "fused LSTM": one_layer(),
    "fused GRU": one_layer(op="gru"),
    "masked (packed) LSTM": one_layer(masked=True),
    # `variant: {variant}` ends the template's flow mapping: one more attribute fits
    "cifg, peepholes: false": one_layer("cifg, peepholes: false"),
}


class Tee:
    """stdout, and a file flushed at each line (the run may be cut short)."""

    def __init__(self, stream, path: Path):
        self.stream, self.file = stream, path.open("w")

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.file.write(text)
        self.file.flush()

    def flush(self) -> None:
        self.stream.flush()


def name(path: Path) -> str:
    return str(path.relative_to(ROOT / "specs").with_suffix(""))


def failure(error: BaseException) -> str:
    lines = str(error).strip().splitlines() or [""]
    return f"{type(error).__name__}: {lines[-1][:120]}"


def check_shapes(graph, bound: dict, actual: list[tuple]) -> None:
    """Each output's shape is the validator's, a variable dim one size wherever it shows."""
    predicted = [graph.node(out).meta["shape"] for out in graph.outputs]
    assert len(predicted) == len(actual), f"{len(actual)} outputs, {len(predicted)} predicted"
    for want, got in zip(predicted, actual, strict=True):
        same = len(want) == len(got) and all(
            w == g if isinstance(w, int) else bound.setdefault(w, g) == g
            for w, g in zip(want, got, strict=False)
        )
        assert same, f"predicted {want}, got {got}"


def torch_train(path: Path, device: str, autocast: bool = False) -> str:
    """One SGD step of the built model on the device; the outputs' dtypes."""
    graph = specc.load(path)
    arrays, bound = feed(graph, np.random.default_rng(0))
    args = [torch.from_numpy(a).to(device) for a in arrays]
    model = specc.build(path, backend="torch").to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    with torch.autocast(device, torch.bfloat16, enabled=autocast):
        out = model(*args)
    outs = out if isinstance(out, tuple) else (out,)
    check_shapes(graph, bound, [tuple(o.shape) for o in outs])
    assert all(o.device.type == device for o in outs), [o.device for o in outs]
    loss = sum(o.float().square().mean() for o in outs)
    loss.backward()
    assert math.isfinite(loss.item()), loss
    optimizer.step()
    return ",".join(sorted({str(o.dtype).removeprefix("torch.") for o in outs}))


def keras_train(path: Path) -> None:
    import keras

    graph = specc.load(path)
    arrays, bound = feed(graph, np.random.default_rng(0))
    x = arrays if len(arrays) > 1 else arrays[0]
    model = specc.build(path, backend="keras")
    model.compile(optimizer="sgd", loss="mse")
    outs = model.predict_on_batch(x)
    outs = outs if isinstance(outs, list | tuple) else [outs]
    check_shapes(graph, bound, [tuple(o.shape) for o in outs])
    y = [np.zeros(o.shape, "float32") for o in outs]
    loss = model.train_on_batch(x, y if len(y) > 1 else y[0])
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(loss))), loss


def keras_backend(device: str, wanted: str | None) -> str | None:
    """Set KERAS_BACKEND (before keras is imported) to one that sees a GPU; None if none."""
    if importlib.util.find_spec("keras") is None:
        print("    keras is not installed")
        return None
    wanted = wanted or os.environ.get("KERAS_BACKEND")
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # jax beside torch
    chosen = (wanted or "tensorflow") if device == "cpu" else gpu_backend(wanted)
    if chosen is None:
        return None
    os.environ["KERAS_BACKEND"] = chosen
    try:
        import keras  # noqa: F401  (the backend is fixed at this import)
    except Exception as error:  # noqa: BLE001
        print(f"    keras does not import: {failure(error)}")
        return None
    return chosen


def gpu_backend(wanted: str | None) -> str | None:
    """The first of `wanted` or tensorflow, jax, torch that is installed and sees a GPU."""
    for backend in [wanted] if wanted else ["tensorflow", "jax", "torch"]:
        try:
            if backend == "tensorflow":
                import tensorflow as tf

                gpus = tf.config.list_physical_devices("GPU")
                for gpu in gpus:
                    tf.config.experimental.set_memory_growth(gpu, True)
            elif backend == "jax":
                import jax

                gpus = jax.devices("gpu")
            else:
                gpus = torch.cuda.is_available()
        except Exception as error:  # noqa: BLE001
            print(f"    keras on {backend}: {failure(error)}")
            continue
        print(f"    keras on {backend}: {str(gpus)[:100] if gpus else 'sees no GPU'}")
        if gpus:
            return backend
    return None


def part1(device: str, keras_on: str | None) -> None:
    print(f"\n1. Every spec: build, to {device}, one training step, output shapes")
    if keras_on:
        import keras

        print(f"    keras {keras.__version__} on {keras.backend.backend()}")
        if keras_on == "tensorflow":  # a new model each spec: retracing warnings
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
    print(f"    {'spec':36} {'torch':>6} {'keras':>6} {'torch s':>8} {'keras s':>8}")
    failures = []
    for path in SPECS:
        cells = []
        for framework, run in (("torch", torch_train), ("keras", keras_train)):
            if framework == "keras" and not keras_on:
                cells.append(("skip", 0.0))
                continue
            start = time.perf_counter()
            try:
                run(path, device) if framework == "torch" else run(path)
                cells.append(("ok", time.perf_counter() - start))
            except Exception as error:  # noqa: BLE001
                cells.append(("FAIL", time.perf_counter() - start))
                failures.append(f"{name(path)}, {framework}: {failure(error)}")
        (t, ts), (k, ks) = cells
        print(f"    {name(path):36} {t:>6} {k:>6} {ts:8.2f} {ks:8.2f}")
    print(f"    {len(failures)} failure(s)" + "".join(f"\n    {f}" for f in failures))


def part2(device: str) -> None:
    from torch.profiler import ProfilerActivity, profile

    print(f"\n2. Profiler, a training step on {device} (batch 32, 50 steps, 64 -> 128)")
    activities = [ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(ProfilerActivity.CUDA)
    for label, text in PROFILED.items():
        try:
            model = specc.build(text, backend="torch").to(device)
            x = torch.randn(32, 50, 64, device=device)
            for row, length in enumerate(pad_lengths(32, 50)):
                x[row, length:] = 0.0  # padding: masked by the masking layer alone
            train, _ = torch_steps(model, [x], device)
            train()  # warm-up: cuDNN's plan, lazy inits
            with profile(activities=activities) as prof:
                train()
                if device == "cuda":
                    torch.cuda.synchronize()
        except Exception as error:  # noqa: BLE001
            print(f"    {label}: FAIL {failure(error)}")
            continue
        names = [(e.key, e.device_type.name, e.count) for e in prof.key_averages()]
        found = [n for n in names if RNN_NAMES.search(n[0]) and "is_acceptable" not in n[0]]
        cudnn = any("cudnn" in key.lower() for key, _, _ in found)
        print(f"    {label} ({type(model.h).__name__}): cuDNN {'seen' if cudnn else 'NOT seen'}")
        for key, kind, count in found:
            print(f"        [{kind.lower()}] x{count} {key[:110]}")


def bare_lstm_error(device: str) -> str | None:
    """What a bare nn.LSTM raises in a bf16 autocast step, if anything: some CPU builds
    of torch fail there (oneDNN), which is torch's limit, not specc's."""
    try:
        with torch.autocast(device, torch.bfloat16):
            out, _ = torch.nn.LSTM(8, 4, batch_first=True).to(device)(
                torch.randn(2, 5, 8, device=device)
            )
        out.float().sum().backward()
    except RuntimeError as error:
        return failure(error)
    return None


def part3(device: str) -> None:
    print(f"\n3. bf16 autocast training step on {device}")
    bare = bare_lstm_error(device)
    if bare:
        print(f"    a bare nn.LSTM fails here too ('torch' below): {bare}")
    print(f"    {'spec':36} {'result':>6}  outputs")
    failures = 0
    for path in SPECS:
        try:
            dtypes = torch_train(path, device, autocast=True)
            print(f"    {name(path):36} {'ok':>6}  {dtypes}")
        except Exception as error:  # noqa: BLE001
            failures += failure(error) != bare
            result = "torch" if failure(error) == bare else "FAIL"
            print(f"    {name(path):36} {result:>6}  {failure(error)}")
    print(f"    {failures} failure(s) besides nn.LSTM's own")


def part4(device: str, repeat: int, compiled: tuple[str, ...]) -> None:
    print(f"\n4. LSTM variants against the fused nn.LSTM on {device}")
    with one_thread(device) as sync:  # as in (c)
        try:
            variants(32, repeat, device, sync, compiled)
        except Exception as error:  # noqa: BLE001
            print(f"    variant table: FAIL {failure(error)}")
        print("    peepholes: false (fused), training step, batch 32, 50 steps, 64 -> 128:")
        x = torch.randn(32, 50, 64, device=device)
        fused, _ = torch_steps(specc.build(one_layer(), backend="torch").to(device), [x], device)
        for variant in FUSED_VARIANTS:
            try:
                model = specc.build(one_layer(f"{variant}, peepholes: false"), backend="torch")
                train, _ = torch_steps(model.to(device), [x], device)
                label = f"{variant} ({type(model.h).__name__})"
                report(label, *side_by_side(train, fused, repeat, sync))
            except Exception as error:  # noqa: BLE001
                print(f"    {variant}: FAIL {failure(error)}")
    if device == "cuda":
        cuda_graphs(x, repeat)


def graphed_step(model, x):
    """A training step whose forward and backward replay one CUDA graph each."""
    graphed = torch.cuda.make_graphed_callables(model, (x,))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def train():
        optimizer.zero_grad()
        graphed(x).float().square().mean().backward()
        optimizer.step()

    return train


def cuda_graphs(x, repeat: int) -> None:
    """Each variant's eager loop replayed as CUDA graphs (no launch overhead: what a
    GPU gains most from compiling), against nn.LSTM (cuDNN), graphed too if it can be."""
    print("    CUDA graphs (make_graphed_callables), 128 units:")
    fused = specc.build(one_layer(), backend="torch").cuda()
    try:
        fused_train, against = graphed_step(fused, x), "graphed"
    except Exception as error:  # noqa: BLE001
        fused_train, against = torch_steps(fused, [x], "cuda")[0], "eager"
        print(f"    nn.LSTM not graphed ({failure(error)}): against it eager")
    for variant in VARIANT_NAMES:
        try:
            train = graphed_step(specc.build(one_layer(variant), backend="torch").cuda(), x)
            ratio = side_by_side(train, fused_train, repeat, torch.cuda.synchronize)
            report(f"{variant}, graphed vs {against}", *ratio)
        except Exception as error:  # noqa: BLE001
            print(f"    {variant}: FAIL {failure(error)}")


def preflight(device: str) -> None:
    """Stop at once, saying what is missing, if specc cannot build a model here."""
    missing = [m for m in ("jsonschema", "yaml", "networkx") if importlib.util.find_spec(m) is None]
    backends = specc.backend.available_backends()
    if "torch" not in backends:
        missing.append(f"specc installed with its backends (found: {backends})")
    if device == "cuda" and not torch.cuda.is_available():
        missing.append(f"a CUDA build of torch that sees a GPU (this is {torch.__version__})")
    if missing:
        sys.exit("missing: " + "; ".join(missing) + " (see this script's docstring)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="fewer repeats; compile cifg only")
    parser.add_argument("--parts", default="1,2,3,4")
    parser.add_argument("--keras-backend", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--compiled", help="variants (4) compiles, comma-separated")
    args = parser.parse_args()
    if os.environ.get("OUT"):
        sys.stdout = Tee(sys.stdout, Path(os.environ["OUT"]) / "gpu_check.txt")
    preflight(args.device)
    if args.device == "cpu":
        torch.set_num_threads(1)
    parts = args.parts.split(",")
    print(f"torch {torch.__version__} on {args.device}", end="")
    if args.device == "cuda":
        print(f": {torch.cuda.get_device_name()}, cuDNN {torch.backends.cudnn.version()}", end="")
    print()
    keras_on = None
    if "1" in parts and not args.no_keras:
        keras_on = keras_backend(args.device, args.keras_backend)
    if "1" in parts and not keras_on:
        print("    Keras skipped: " + ("--no-keras" if args.no_keras else "see above"))
    compiled = args.compiled if args.compiled is not None else "cifg" if args.quick else None
    compiled = tuple(v for v in compiled.split(",") if v) if compiled is not None else VARIANT_NAMES
    run = {
        "1": lambda: part1(args.device, keras_on),
        "2": lambda: part2(args.device),
        "3": lambda: part3(args.device),
        "4": lambda: part4(args.device, 5 if args.quick else 20, compiled),
    }
    start = time.perf_counter()
    for part in parts:
        run[part]()
        print(f"    ({time.perf_counter() - start:.0f} s so far)")


if __name__ == "__main__":
    main()
