"""What the fuzzer holds specc to, for any text: the failures it finds in one input.

Shared by tests/test_fuzz.py and benchmarks/fuzz.py, so the suite and long
runs judge an input the same way. Each failure is a `Failure(kind, detail)`:

- `exception`: `specc.validate` raised, or `specc.emit` raised anything but
  `EmitError` for a spec validate accepted;
- `unlocated`: a diagnostic (or a related location in the same text) has no
  span, or one outside the text;
- `unshaped`: an `ok` report whose graph holds a live node without a shape;
- `uncompilable`: emitted source that `compile()` refuses.

(The benchmark adds `slow`: a validation over 1 s of CPU time.)
"""

from __future__ import annotations

import time
import traceback
from typing import NamedTuple

import specc
from specc.diagnostics import Span


class Failure(NamedTuple):
    kind: str
    detail: str


def _error(exc: BaseException) -> str:
    """The exception and where it was raised: enough to tell two bugs apart."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__} at {frame.filename}:{frame.lineno}: {exc}"


def span_problem(span: Span | None, file: str, lines: list[str]) -> str | None:
    """Why a span does not locate a place in the text; None when it does.

    Lines and columns are 1-based and the end is exclusive, so a span may end
    one column past its last line's text (the end of the line).
    """
    if span is None:
        return "no span"
    if span.file != file:
        return f"in file {span.file!r}, not {file!r}"
    start, end = (span.line, span.column), (span.end_line, span.end_column)
    for line, column in (start, end):
        if not 1 <= line <= len(lines):
            return f"line {line} outside 1..{len(lines)}"
        if not 1 <= column <= len(lines[line - 1]) + 1:
            return f"column {column} outside 1..{len(lines[line - 1]) + 1} on line {line}"
    if end < start:
        return f"ends at {end} before it starts at {start}"
    return None


def located(report: specc.Report) -> list[Failure]:
    lines = report.text.split("\n")
    found = []
    for d in report.diagnostics:
        spans = [d.span, *(r.span for r in d.related if r.span and r.span.file == report.file)]
        for span in spans:
            problem = span_problem(span, report.file, lines)
            if problem:
                found.append(Failure("unlocated", f"{d.code} {span}: {problem} ({d.message})"))
    return found


def shaped(report: specc.Report) -> list[Failure]:
    graph = report.graph
    if not report.ok or graph is None:
        return []
    return [
        Failure("unshaped", f"live node `{node.name}` ({node.op}) has no shape")
        for node in graph.order
        if node.name in graph.live and not node.meta.get("shape")
    ]


def emitted(text: str, backend: str) -> list[Failure]:
    """Emit an accepted spec: the source must compile, or the backend must say why not."""
    try:
        source = specc.emit(text, backend=backend)
    except specc.EmitError:
        return []
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        return [Failure("exception", f"emit {backend}: {_error(exc)}")]
    try:
        compile(source, f"<{backend} source>", "exec")
    except (SyntaxError, ValueError) as exc:
        return [Failure("uncompilable", f"{backend}: {type(exc).__name__}: {exc}")]
    return []


class Outcome(NamedTuple):
    report: specc.Report | None  # None when validate raised
    failures: list[Failure]
    # The CPU time validate took: on a shared machine, wall time also
    # measures the neighbours.
    seconds: float


def check(text: str, backends: list[str]) -> Outcome:
    """Validate the text (and emit it when accepted): the report and every failure found."""
    start = time.process_time()
    try:
        report = specc.validate(text)
    except Exception as exc:  # noqa: BLE001 - the promise is that nothing escapes
        seconds = time.process_time() - start
        return Outcome(None, [Failure("exception", f"validate: {_error(exc)}")], seconds)
    seconds = time.process_time() - start
    failures = located(report) + shaped(report)
    if report.ok and report.graph is not None and not failures:
        for backend in backends:
            failures += emitted(text, backend)
    return Outcome(report, failures, seconds)
