"""Mutated example specs: validate never raises, locates every problem, shapes what it accepts.

A bounded, derandomized slice of the fuzzer (about 30 s on two cores): the
same inputs on every run, no example database. The strategies live in
tests/fuzz_strategies.py and the checks in tests/fuzz_oracle.py, which
benchmarks/fuzz.py shares for long runs:

    python benchmarks/fuzz.py --minutes 10

A failure here prints the shrunk spec text; add it to the error catalogue
(tests/errors/) or to the test file of the stage at fault once it is fixed.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import specc
from specc.diagnostics import Span
from tests.fuzz_oracle import check, span_problem
from tests.fuzz_strategies import structure_mutants, text_mutants, yaml_feature_mutants

BACKENDS = specc.available_backends()
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_sound(text: str) -> None:
    failures = check(text, BACKENDS).failures
    assert not failures, "\n".join(f"{f.kind}: {f.detail}" for f in failures)


@settings(FUZZ, max_examples=450)
@given(text_mutants())
def test_text_mutants(text: str):
    assert_sound(text)


@settings(FUZZ, max_examples=400)
@given(structure_mutants())
def test_structure_mutants(text: str):
    assert_sound(text)


@settings(FUZZ, max_examples=500)
@given(yaml_feature_mutants())
def test_yaml_feature_mutants(text: str):
    assert_sound(text)


def test_every_backend_is_fuzzed():
    assert {"torch", "keras"} <= set(BACKENDS)


def test_a_span_past_the_end_of_its_line_is_unlocated():
    lines = ["specc: 1", "name: m", ""]  # "specc: 1\nname: m\n" split at newlines
    assert span_problem(Span("<string>", 2, 1, 2, 8), "<string>", lines) is None
    assert span_problem(Span("<string>", 2, 9, 2, 10), "<string>", lines).startswith("column 9")
    assert span_problem(Span("<string>", 4, 1, 4, 1), "<string>", lines).startswith("line 4")
    assert span_problem(Span("<string>", 2, 3, 1, 1), "<string>", lines).startswith("ends at")
    assert span_problem(None, "<string>", lines) == "no span"
