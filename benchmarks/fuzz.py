"""Long fuzzing runs: mutated example specs through validate and every installed emitter.

    python benchmarks/fuzz.py --minutes 10 [--seed 0] [--out DIR]

The inputs come from the strategies of tests/test_fuzz.py
(tests/fuzz_strategies.py, with the costly sizes such as `repeat: 10000`
added) and each is judged by the same checks (tests/fuzz_oracle.py), plus one
of its own: a validation over 1 s of CPU time is a failure (`slow`; CPU
time, because on a shared machine wall time measures the neighbours too). It
runs until the time is up and prints the counts: inputs tried, accepted,
refused, failures by kind, the slowest validation. For the first input of each distinct failure
it writes a shrunk repro into `--out` (default: specc-fuzz in the temp
folder): NAME.yaml (the spec text) and NAME.txt (what failed, and the text as
a Python literal, exactly as it was passed).

Hypothesis draws the inputs (generation only: shrinking is ours, below, so a
failure is counted and the run goes on) in chunks with seeds derived from
`--seed`, which keeps its memory flat over a long run.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import specc  # noqa: E402
from tests.fuzz_oracle import Failure, check  # noqa: E402
from tests.fuzz_strategies import mutants  # noqa: E402

KINDS = ["exception", "unlocated", "unshaped", "uncompilable", "slow"]
SLOW_S = 1.0
CHUNK = 1000  # inputs per hypothesis run
SHRINK_S = 60.0  # time spent shrinking one repro, at most


class TimeUp(Exception):
    """Ends a hypothesis run when the time is spent."""


def failures_of(text: str, backends: list[str]) -> tuple[list[Failure], object]:
    """The oracle's failures for one input, `slow` included, and its outcome."""
    outcome = check(text, backends)
    failures = list(outcome.failures)
    if outcome.seconds > SLOW_S:
        failures.append(Failure("slow", f"validate took {outcome.seconds:.2f} s of CPU time"))
    return failures, outcome


def signature(failure: Failure) -> str:
    """What makes two failures the same bug: the kind and the detail, numbers blurred."""
    return f"{failure.kind}: {re.sub(r'[0-9]+', 'N', failure.detail)[:80]}"


def shrink(text: str, still_fails, budget_s: float = SHRINK_S) -> str:
    """The shortest text found that still fails: drop runs of lines, then of characters.

    A plain delta-debugging pass, halving the run length each round; it stops
    when nothing more can go or the time budget is spent.
    """
    deadline = time.perf_counter() + budget_s
    for split in (lambda t: t.splitlines(keepends=True), list):
        parts = split(text)
        size = max(1, len(parts) // 2)
        while size >= 1 and time.perf_counter() < deadline:
            i, removed = 0, False
            while i < len(parts) and time.perf_counter() < deadline:
                candidate = "".join(parts[:i] + parts[i + size :])
                if "\n" in candidate and still_fails(candidate):
                    parts = parts[:i] + parts[i + size :]
                    removed = True
                else:
                    i += size
            if not removed:
                size //= 2
        text = "".join(parts)
    return text


def write_repro(out: Path, name: str, text: str, failure: Failure, original: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    (out / f"{name}.txt").write_text(
        f"{failure.kind}: {failure.detail}\n"
        f"shrunk from {original} to {len(text)} characters; as passed to specc.validate:\n"
        f"{ascii(text)}\n",
        encoding="utf-8",
    )


class Campaign:
    """Counts, repros and the slowest input of one run."""

    def __init__(self, backends: list[str], out: Path, stop_at: float):
        self.backends = backends
        self.out = out
        self.stop_at = stop_at
        self.counts: Counter = Counter()
        self.failures: Counter = Counter()
        self.seen: dict[str, str] = {}  # signature -> repro name
        self.slowest = (0.0, "")

    def run_one(self, text: str) -> None:
        if time.perf_counter() > self.stop_at:
            raise TimeUp
        failures, outcome = failures_of(text, self.backends)
        self.counts["inputs"] += 1
        accepted = outcome.report is not None and outcome.report.ok
        self.counts["accepted" if accepted else "refused"] += 1
        if outcome.seconds > self.slowest[0]:
            self.slowest = (outcome.seconds, text)
        for failure in failures:
            self.failures[failure.kind] += 1
            key = signature(failure)
            if key not in self.seen:
                self.seen[key] = self.repro(text, failure, key)

    def repro(self, text: str, failure: Failure, key: str) -> str:
        name = f"{failure.kind}-{sum(1 for k in self.seen if k.startswith(failure.kind))}"

        def still_fails(candidate: str) -> bool:
            return any(signature(f) == key for f in failures_of(candidate, self.backends)[0])

        small = shrink(text, still_fails)
        write_repro(self.out, name, small, failure, len(text))
        print(f"  found {key}\n    repro: {self.out / name}.yaml", flush=True)
        return name

    def chunk(self, chunk_seed: int) -> None:
        """One hypothesis run of up to CHUNK inputs; TimeUp ends it early."""

        @seed(chunk_seed)
        @settings(
            max_examples=CHUNK,
            phases=[Phase.generate],
            database=None,
            deadline=None,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
        )
        @given(mutants(hostile=True))
        def fuzz(text: str) -> None:
            self.run_one(text)

        fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first chunk")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "specc-fuzz",
        help="folder for repros",
    )
    args = parser.parse_args()

    backends = specc.available_backends()
    start = time.perf_counter()
    campaign = Campaign(backends, args.out, start + args.minutes * 60)
    print(f"fuzzing for {args.minutes:g} min, seed {args.seed}, backends {', '.join(backends)}")
    index, last_progress = 0, start
    try:
        while True:
            campaign.chunk(args.seed * 1_000_003 + index)
            index += 1
            if time.perf_counter() - last_progress > 60:
                last_progress = time.perf_counter()
                n = campaign.counts["inputs"]
                print(f"  {n:,} inputs, {n / (last_progress - start):.0f}/s", flush=True)
    except TimeUp:
        pass
    elapsed = time.perf_counter() - start
    report(campaign, elapsed)
    raise SystemExit(1 if campaign.failures else 0)


def report(campaign: Campaign, elapsed: float) -> None:
    counts = campaign.counts
    print(f"ran {elapsed / 60:.1f} min")
    print(f"  inputs tried        {counts['inputs']:>9,}   ({counts['inputs'] / elapsed:.0f}/s)")
    print(f"  accepted            {counts['accepted']:>9,}")
    print(f"  refused             {counts['refused']:>9,}")
    print("  failures by kind")
    for kind in KINDS:
        print(f"    {kind:17} {campaign.failures[kind]:>9,}")
    print(f"  distinct failures   {len(campaign.seen):>9,}   (repros in {campaign.out})")
    seconds, text = campaign.slowest
    print(f"  slowest validation  {seconds:9.3f} s   (CPU time; {len(text):,} characters)")
    if text:
        campaign.out.mkdir(parents=True, exist_ok=True)
        (campaign.out / "slowest.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")


if __name__ == "__main__":
    main()
