"""How fast `specc validate` is, measured side by side with Keras in one run.

    python benchmarks/validate_speed.py [--repeat 100] [--cold-runs 5]

(a) Cold process: `specc validate specs/` against a process that builds the
    same models by hand in Keras (benchmarks/keras_models.py) just to see
    their shapes, the two interleaved (A B A B, `--cold-runs` rounds).
    Target: specc at least 20x faster (aim: 40x). Also `specc --help`
    against `python -c pass`: what starting the CLI costs.
(b) Warm process: each example spec validated `--repeat` times against its
    Keras model built `--repeat` times. Target: at least 100x per spec.
(c) Generated specs of 1,000 and 10,000 layers, and 10,000 layers made by
    `repeat` of blocks nested 1, 4, 16 and 31 deep. Target: 10,000 layers
    under 1 s whatever the nesting, and growth no worse than linear.
(d) Hostile input (deep nesting, alias bombs, huge files, block fan-out and
    parameter bombs): refused in well under a second each.

Every figure is a median of several runs; ratios compare runs made here, in
this one process or its children, on this machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
sys.path.insert(0, str(ROOT))
from tests.block_specs import fan_out_spec, nested_spec, parameter_bomb_spec  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_process(argv: list[str]) -> None:
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")


def spec_paths() -> list[Path]:
    return sorted(p for p in SPECS.rglob("*.yaml"))


def timed_process(argv: list[str]) -> float:
    start = time.perf_counter()
    run_process(argv)
    return time.perf_counter() - start


def cold(runs: int) -> None:
    # The CLI as the console script runs it, from the specc this interpreter
    # imports (a checkout on PYTHONPATH or the installed one alike).
    specc = [sys.executable, "-c", "from specc.cli import main_exit; main_exit()"]
    pairs = {
        "validate": (
            [*specc, "validate", "specs/"],
            [sys.executable, str(ROOT / "benchmarks" / "keras_models.py")],
        ),
        "help": ([*specc, "--help"], [sys.executable, "-c", "pass"]),
    }
    # Interleaved, A B A B: a machine that slows down or speeds up during the
    # run slows both sides alike, instead of all of one side.
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
    for _ in range(runs):
        for key, (a, b) in pairs.items():
            times[key][0].append(timed_process(a))
            times[key][1].append(timed_process(b))
    medians = {k: (statistics.median(a), statistics.median(b)) for k, (a, b) in times.items()}
    t_specc, t_keras = medians["validate"]
    t_help, t_python = medians["help"]
    n = len(spec_paths())
    print(f"(a) cold process, {n} specs, medians of {runs} interleaved runs")
    print(f"    specc validate specs/        {t_specc * 1000:8.0f} ms")
    print(f"    Keras: build the same models {t_keras * 1000:8.0f} ms")
    print(f"    ratio                        {t_keras / t_specc:8.1f}x   (target >= 20x, aim 40x)")
    print(f"    specc --help                 {t_help * 1000:8.0f} ms")
    print(f"    python -c pass               {t_python * 1000:8.0f} ms")
    print(f"    specc --help / python        {t_help / t_python:8.1f}x")


def warm(repeat: int) -> None:
    import keras
    from keras_models import MODELS

    import specc

    print(f"(b) warm process, each spec {repeat} times")
    print(f"    {'spec':34} {'specc ms':>9} {'keras ms':>9} {'ratio':>8}")
    ratios = []
    total_specc = total_keras = 0.0
    for path in spec_paths():
        key = path.relative_to(SPECS).with_suffix("").as_posix()
        build = MODELS.get(key)
        if build is None:
            print(f"    {key:34} (no hand-written Keras model)")
            continue
        specc.validate(path)  # first call builds the schema validators once
        t_specc = median_time(lambda p=path: specc.validate(p), repeat) * 1000

        def build_once(build=build):
            keras.backend.clear_session()
            build()

        build_once()
        t_keras = median_time(build_once, repeat) * 1000
        ratios.append(t_keras / t_specc)
        total_specc += t_specc
        total_keras += t_keras
        print(f"    {key:34} {t_specc:9.2f} {t_keras:9.2f} {t_keras / t_specc:7.0f}x")
    print(
        f"    {'all specs (sum of medians)':34} {total_specc:9.2f} {total_keras:9.2f} "
        f"{total_keras / total_specc:7.0f}x"
    )
    print(f"    lowest per-spec ratio {min(ratios):.0f}x   (target >= 100x)")


def generated_spec(layers: int) -> str:
    """A long chain of LSTM/dense layers with a skip `add` every third layer."""
    lines = [
        "specc: 1",
        "name: generated",
        "dims: {T: 20}",
        "inputs:",
        "  - {name: x, shape: [T, 16]}",
        "layers:",
        "  - {name: l0, op: lstm, units: 16, return_sequences: true}",
    ]
    for i in range(1, layers):
        if i % 3 == 0:
            lines.append(f"  - {{name: l{i}, op: add, inputs: [l{i - 1}, l{i - 2}]}}")
        elif i % 3 == 1:
            lines.append(f"  - {{name: l{i}, op: dense, units: 16, activation: tanh}}")
        else:
            lines.append(f"  - {{name: l{i}, op: lstm, units: 16, return_sequences: true}}")
    return "\n".join(lines) + "\n"


def growth() -> None:
    import specc

    print("(c) generated specs, one process (file read included)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000, 10_000):
            path = Path(tmp) / f"gen{n}.yaml"
            path.write_text(generated_spec(n))
            report = specc.validate(path)
            assert report.ok, report.diagnostics[:3]
            results[n] = median_time(lambda p=path: specc.validate(p), 5)
            print(f"    {n:6,} layers  {results[n] * 1000:8.0f} ms")
        for depth in (1, 4, 16, 31):
            path = Path(tmp) / f"nested{depth}.yaml"
            path.write_text(nested_spec(depth, 10_000))
            report = specc.validate(path)
            assert report.ok, report.diagnostics[:3]
            results[depth] = median_time(lambda p=path: specc.validate(p), 5)
            print(f"    10,000 layers, blocks {depth:2} deep {results[depth] * 1000:8.0f} ms")
    slowest = max(results[n] for n in (10_000, 1, 4, 16, 31))
    print(
        f"    10,000 layers under 1 s: {'yes' if slowest < 1 else 'NO'} (slowest "
        f"{slowest * 1000:.0f} ms); "
        f"growth 1k -> 10k: {results[10_000] / results[1_000]:.1f}x for 10x the layers"
    )


def hostile() -> None:
    from specc.cli import main

    cases = {
        "100,000-deep flow sequence": "[" * 100_000 + "]" * 100_000,
        "50,000-deep flow mapping": "{a: " * 50_000 + "1" + "}" * 50_000,
        "alias bomb (10^12 nodes)": "\n".join(
            ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
            + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
        ),
        "2 MiB file": "a: 1\n" + "# padding\n" * 210_000,
        "python tag": "specc: !!python/object/apply:os.system [echo hi]\n",
        "10,000 duplicate keys": "".join(f"k{i % 10}: {i}\n" for i in range(10_000)),
        "5,000 unknown references": "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [8]}\n"
        "layers:\n"
        + "".join(f"  - {{name: l{i}, op: dense, units: 1, inputs: q{i}}}\n" for i in range(5000)),
        "blocks fanned out 2^30 layers": fan_out_spec(31),
        "3 x repeat 10,000, 31 deep": nested_spec(31, 10_000)
        + "  - {name: again, block: b0, repeat: 10000}\n"
        + "  - {name: more, block: b0, repeat: 10000}\n",
        "parameter bomb 2^12 x 30 deep": parameter_bomb_spec(30, 12),
    }
    print("(d) hostile input, refused (exit code) and how fast")
    with tempfile.TemporaryDirectory() as tmp:
        for label, text in cases.items():
            path = Path(tmp) / "hostile.yaml"
            path.write_text(text)
            start = time.perf_counter()
            stdout = sys.stdout
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            try:
                code = main(["validate", str(path)])
            finally:
                sys.stdout.close()
                sys.stdout = stdout
            print(f"    {label:30} exit {code}  {(time.perf_counter() - start) * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--only", choices=("cold", "warm", "growth", "hostile"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    # Keras goes last: once TensorFlow is imported, its large heap makes every
    # garbage-collection pass in this process slower, specc's included.
    steps = {
        "growth": growth,
        "hostile": hostile,
        "cold": lambda: cold(args.cold_runs),
        "warm": lambda: warm(args.repeat),
    }
    for name, step in steps.items():
        if args.only in (None, name):
            step()
            gc.collect()  # the cyclic garbage of one step must not slow the next one


if __name__ == "__main__":
    main()
