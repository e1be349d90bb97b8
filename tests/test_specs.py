"""The example specs are the acceptance suite: each one is valid and uses every layer."""

from __future__ import annotations

from pathlib import Path

import pytest

import specc
from specc.cli import main
from specc.optable import OPS
from specc.variants import VARIANTS

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))


def test_there_are_enough_examples():
    assert len(SPECS) >= 12


def test_validate_specs_folder_exits_0(capsys):
    assert main(["validate", str(ROOT / "specs")]) == 0
    assert f"{len(SPECS)} files checked: 0 errors" in capsys.readouterr().out


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.relative_to(ROOT / "specs").as_posix())
def test_example_spec(path: Path):
    report = specc.validate(path)
    assert report.ok, [(d.code, d.span.line, d.message) for d in report.diagnostics]
    # Every layer of an example contributes to an output.
    assert [d for d in report.diagnostics if d.code == "W305"] == []
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert report.graph.spec.description, "each example says what it is"


def test_every_op_appears_in_an_example():
    used = set()
    for path in SPECS:
        graph = specc.load(path)
        for node in graph.order:
            used.add(node.op)
            if node.op == "time_distributed":
                used.add(node.attrs["layer"]["op"])
    assert set(OPS) - used == set()


def test_every_lstm_variant_has_an_example():
    variants = set(VARIANTS)
    used = {
        node.attrs["variant"]
        for path in SPECS
        for node in specc.load(path).order
        if node.op == "lstm"
    }
    assert variants <= used
