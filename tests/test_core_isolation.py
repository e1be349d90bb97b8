"""The core never imports a deep-learning framework, and works when none can be imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import sys

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax")

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FRAMEWORKS:
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())

from specc.cli import main
import specc

codes = [
    main(["validate", "specs"]),
    main(["summary", "--format", "json", sys.argv[1]]),
    main(["schema"]),
]
specc.load(sys.argv[1])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in FRAMEWORKS)
print("EXIT", codes, "LOADED", loaded, file=sys.stderr)
"""


def test_core_runs_with_frameworks_unimportable():
    spec = ROOT / "specs" / "skip_deep_lstm.yaml"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "EXIT [0, 0, 0] LOADED []" in result.stderr, result.stderr[-3000:]


def test_core_modules_import_no_framework():
    """Static check: no module under specc/ (the backends aside) names a framework."""
    offenders = []
    for path in (ROOT / "specc").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            words = line.strip().split()
            if len(words) >= 2 and words[0] in ("import", "from"):
                top = words[1].split(".")[0]
                if top in ("torch", "tensorflow", "keras", "jax"):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
