"""The examples in docs/diagnostics.md are what specc prints.

Each example is a ```yaml block followed by a ```text block with the output
of `specc validate spec.yaml`; this test runs every one. After an intended
change of wording, `SPECC_UPDATE_GOLDEN=1 pytest tests/test_docs.py`
rewrites the outputs in the page (review the diff).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from specc.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "diagnostics.md"
EXAMPLE = re.compile(
    r"```yaml\n(?P<spec>.*?)```\n\n`specc validate spec\.yaml` prints:\n\n```text\n"
    r"(?P<out>.*?)```",
    re.S,
)


def run_example(spec: str, tmp_path: Path, capsys, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(spec)
    main(["validate", "spec.yaml"])
    return capsys.readouterr().out


def test_diagnostics_page_examples(tmp_path, capsys, monkeypatch):
    text = DOC.read_text()
    examples = list(EXAMPLE.finditer(text))
    assert len(examples) >= 40
    wrong, pieces, last = [], [], 0
    for match in examples:
        out = run_example(match["spec"], tmp_path, capsys, monkeypatch)
        if out != match["out"]:
            wrong.append(match["spec"].splitlines()[1] if "\n" in match["spec"] else "?")
        pieces += [text[last : match.start("out")], out]
        last = match.end("out")
    if os.environ.get("SPECC_UPDATE_GOLDEN") == "1":
        DOC.write_text("".join(pieces) + text[last:])
        return
    assert wrong == [], f"{len(wrong)} examples differ; rerun with SPECC_UPDATE_GOLDEN=1"
