"""Random valid specs built in each backend and held to specc's predictions, for long runs.

    python benchmarks/differential.py --graphs N [--seed S] [--backend torch|keras|all]
                                      [--out DIR]

Each graph (tests/random_specs.py, seeds S ... S+N-1) is validated, built with
`specc.build`, run on random input in eval mode and in training mode (with a
gradient step), and its output shapes, dtypes and parameter count are compared
with `specc summary --format json`'s (tests/differential.py). Prints the counts
per backend (graphs generated, accepted, built, compared) and the
disagreements by kind; writes each disagreeing spec, with what disagreed, to
DIR/<backend>-<seed>.yaml. Frameworks run on one thread, as the other
benchmarks do.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.differential import KINDS, check, installed_backends, single_threaded  # noqa: E402
from tests.random_specs import random_spec  # noqa: E402

# Kinds after which the model was not compared (nothing was run).
NOT_BUILT = {"refused", "emit", "build"}


def run(backend: str, seeds: range, out: Path) -> None:
    counts = collections.Counter()
    kinds = collections.Counter()
    start = time.perf_counter()
    for seed in seeds:
        text = random_spec(seed)
        counts["generated"] += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            findings = check(text, backend, seed)
        found = {f.kind for f in findings}
        counts["accepted"] += "refused" not in found
        counts["built"] += not found & NOT_BUILT
        counts["compared"] += not found & (NOT_BUILT | {"run", "train"})
        kinds.update(found)
        if findings:
            counts["disagreeing graphs"] += 1
            out.mkdir(parents=True, exist_ok=True)
            notes = "".join(f"# {f}\n" for f in findings)
            (out / f"{backend}-{seed}.yaml").write_text(notes + text, encoding="utf-8")
        if counts["generated"] % 100 == 0:
            print(f"    ... {counts['generated']} graphs, {_rate(counts, start)}", flush=True)
    print(f"{backend}: seeds {seeds.start} to {seeds.stop - 1}, {_rate(counts, start)}")
    for what in ("generated", "accepted", "built", "compared", "disagreeing graphs"):
        print(f"    {what:20} {counts[what]:7,}")
    print("    disagreements by kind (graphs):")
    for kind in KINDS:
        print(f"        {kind:16} {kinds[kind]:7,}")


def _rate(counts: collections.Counter, start: float) -> str:
    elapsed = time.perf_counter() - start
    return f"{elapsed:.0f} s, {counts['generated'] / elapsed:.2f} graphs/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=("torch", "keras", "all"), default="all")
    parser.add_argument("--out", type=Path, default=Path("differential-out"))
    args = parser.parse_args()
    installed = installed_backends()
    backends = installed if args.backend == "all" else [args.backend]
    missing = [b for b in backends if b not in installed]
    if missing:
        raise SystemExit(f"not installed here: {', '.join(missing)}")
    single_threaded(backends)
    seeds = range(args.seed, args.seed + args.graphs)
    for backend in backends:
        run(backend, seeds, args.out)


if __name__ == "__main__":
    main()
