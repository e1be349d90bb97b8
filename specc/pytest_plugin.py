"""specc's pytest plugin: every spec file a test item, opt-in with `pytest --specc PATHS`.

Registered under the entry point `pytest11` (name `specc`), so it is loaded
wherever specc is installed, and does nothing without `--specc`: importing it
imports no more than pytest has already. With the flag, each YAML file that
pytest collects and that is a spec (its top level has `specc:`) is one item,
`path/x.yaml::specc`, which passes when specc reports no error, and fails with
specc's own diagnostic text (never a Python traceback).

A spec may declare the diagnostics it should give, one comment each, as
pytest-mypy-plugins does for typing errors; it then passes only when exactly
those are reported (errors and warnings):

    # specc-expect: E401 at 12       (a code, on line 12)
    # specc-expect: W308 at 9:13     (at line 9, column 13)
    # specc-expect: W501             (anywhere in the file)

`--specc-build=torch,keras` also builds each valid spec, without expectations,
on the named backends whose framework is installed, runs one forward pass on
random input, and checks the real output shapes against the predicted ones.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

SPEC_SUFFIXES = (".yaml", ".yml")
_EXPECT = re.compile(r"#\s*specc-expect:\s*([A-Z]\d{3})(?:\s+at\s+(\d+)(?::(\d+))?)?\s*$")
BATCH = 2  # the batch size of the forward pass, unless the spec fixes one
LENGTH = 5  # the size given to each variable dimension


def pytest_addoption(parser):
    group = parser.getgroup("specc", "shape-check neural-network specs with specc")
    group.addoption(
        "--specc",
        action="store_true",
        help="collect every spec file (*.yaml, *.yml with a top-level `specc:`) as a test",
    )
    group.addoption(
        "--specc-build",
        default="",
        metavar="BACKENDS",
        help="with --specc: also build each valid spec on these backends (comma-separated, "
        "e.g. torch,keras) and check its real output shapes",
    )


def pytest_collect_file(file_path: Path, parent):
    if not parent.config.getoption("specc") or file_path.suffix not in SPEC_SUFFIXES:
        return None
    try:
        text = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    from specc.loader import looks_like_spec

    if not looks_like_spec(text):
        return None  # another tool's YAML
    return SpecFile.from_parent(parent, path=file_path)


class SpecFile(pytest.File):
    def collect(self):
        yield SpecItem.from_parent(self, name="specc")


class SpecFailure(Exception):
    """A spec's problems, as the text pytest shows for the failed item."""


class SpecItem(pytest.Item):
    def runtest(self):
        from specc.pipeline import check_text  # only with --specc: specc's imports come here

        text = self.path.read_text(encoding="utf-8")
        report = check_text(text, _shown(self.path, self.config.invocation_params.dir))
        expected = expectations(text)
        got = report.diagnostics
        if expected:
            missing, extra = compare(expected, got)
            if missing or extra:
                raise SpecFailure(_mismatch(report, missing, extra))
            return
        if not report.ok:
            raise SpecFailure(_rendered(report))
        backends = [b for b in self.config.getoption("specc_build").split(",") if b.strip()]
        for backend in backends:
            check_build(self.path, report.graph, backend.strip())

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, SpecFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"specc: {self.path.name}"


def _shown(path: Path, start: Path) -> str:
    """The spec's path as diagnostics show it: relative to where pytest was started."""
    try:
        return str(path.relative_to(start))
    except ValueError:
        return str(path)


def expectations(text: str) -> list[tuple[str, int | None, int | None]]:
    """The `# specc-expect:` lines of a spec: (code, line or None, column or None)."""
    found = []
    for line in text.splitlines():
        match = _EXPECT.search(line)
        if match:
            code, row, col = match.groups()
            found.append((code, int(row) if row else None, int(col) if col else None))
    return found


def compare(expected, diagnostics) -> tuple[list, list]:
    """(expected but not reported, reported but not expected); each matched once."""
    left = list(diagnostics)
    missing = []
    for code, row, col in expected:
        for d in left:
            line, column = (d.span.line, d.span.column) if d.span is not None else (None, None)
            if d.code == code and row in (None, line) and col in (None, column):
                left.remove(d)
                break
        else:
            missing.append((code, row, col))
    return missing, left


def _rendered(report) -> str:
    from specc.render import render_text

    return render_text(report.diagnostics, {report.file: report.text}).rstrip()


def _mismatch(report, missing, extra) -> str:
    lines = ["specc reported other diagnostics than the spec's `# specc-expect:` lines"]
    for code, row, col in missing:
        where = "" if row is None else f" at {row}" + ("" if col is None else f":{col}")
        lines.append(f"  expected, not reported: {code}{where}")
    for d in extra:
        where = f" at {d.span.line}:{d.span.column}" if d.span is not None else ""
        lines.append(f"  reported, not expected: {d.code}{where} {d.message}")
    return "\n".join(lines) + "\n\n" + _rendered(report)


def check_build(path: Path, graph, backend: str) -> None:
    """Build the spec on `backend`, run it once, compare its output shapes with specc's."""
    framework = {"torch": "torch", "keras": "keras"}.get(backend, backend)
    pytest.importorskip(framework, reason=f"--specc-build={backend}: {framework} not installed")
    import numpy as np

    from specc import build
    from specc.shapes import BATCH as BATCH_DIM

    batch = graph.spec.batch_size or BATCH
    rng = np.random.default_rng(0)
    arrays = []
    for node in graph.spec.inputs:
        shape = [batch, *(d if isinstance(d, int) else LENGTH for d in node.meta["shape"][1:])]
        dtype = node.attrs["dtype"]
        if dtype.startswith("int"):
            arrays.append(np.ones(shape, dtype))  # id 1: in range for any embedding
        else:
            arrays.append(rng.standard_normal(shape).astype(dtype))
    model = build(path, backend=backend)
    outputs = _run(model, arrays, backend)
    for name, got in zip(graph.outputs, outputs, strict=True):
        want = graph.node(name).meta["shape"]
        sizes = tuple(got.shape)
        ok = len(sizes) == len(want) and all(
            size == (batch if dim is BATCH_DIM else dim)
            for dim, size in zip(want, sizes, strict=False)
            if isinstance(dim, int) or dim is BATCH_DIM
        )
        if not ok:
            from specc.shapes import show

            raise SpecFailure(
                f"{backend}: output `{name}` is {sizes}, specc predicts {show(want)} "
                f"(batch {batch}, each variable dimension {LENGTH})"
            )


def _run(model, arrays: list, backend: str) -> list:
    if backend == "torch":
        # the framework, as the backend that built the model imported it: the core
        # itself imports none (tests/test_core_isolation.py)
        torch = importlib.import_module("torch")
        model.eval()
        with torch.no_grad():
            out = model(*(torch.from_numpy(a) for a in arrays))
    else:
        out = model(arrays if len(arrays) > 1 else arrays[0], training=False)
    return list(out) if isinstance(out, list | tuple) else [out]
