"""specc.codegen: calls wrapped exactly as `ruff format` wraps them, at its default width."""

from __future__ import annotations

import random
import subprocess
import sys
from contextlib import ExitStack

import pytest

from specc.codegen import Call, CodeWriter, parse_call, split_args, wrap

ARGS = ["64", "x", '"ifco"', "[a, b]", "return_sequences=True", 'name="a_long_layer_name"']
FUNCS = ["f", "keras.layers.LSTM", "keras.layers.Bidirectional", "VariantLSTMCell", "nn.GRU"]
TAILS = ["x", "inputs_of_the_layer", "q, v"]


def _call(rng: random.Random, depth: int) -> Call:
    args: list[str | Call] = []
    for _ in range(rng.randint(0, 5)):
        args.append(_call(rng, depth + 1) if depth < 3 and rng.random() < 0.3 else rng.choice(ARGS))
    positional = [a for a in args if not (isinstance(a, str) and "=" in a)]
    keywords = list(dict.fromkeys(a for a in args if isinstance(a, str) and "=" in a))
    return Call(rng.choice(FUNCS), positional + keywords)


def _statements(seed: int, count: int) -> str:
    """Random `target = layer(args)(tail)` statements at random depths, wrapped by `wrap`."""
    rng = random.Random(seed)
    writer = CodeWriter()
    for k in range(count):
        expr: Call = _call(rng, 0)
        if rng.random() < 0.6:
            sources = [f"source_{n}" for n in range(rng.randint(1, 12))]
            tail = rng.choice([*TAILS, Call("", sources, "[]")])
            expr = Call(expr, [tail])
        with ExitStack() as nested:
            for depth in range(rng.randint(0, 3)):
                writer.line(f"def f{k}_{depth}():")
                nested.enter_context(writer.indent())
            writer.wrapped(rng.choice(["", "x = ", "return ", "a_long_variable_name = "]), expr)
        writer.line("")
        writer.line("")
    return writer.text()


def test_wrap_is_what_ruff_format_writes():
    source = _statements(seed=0, count=400)
    assert sum(line.strip().startswith(")") for line in source.splitlines()) > 100  # it wraps
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--isolated", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert formatted == source


@pytest.mark.parametrize(
    ("prefix", "expr", "suffix", "expected"),
    [
        ("x = ", Call("f", ["a"]), "", ["x = f(a)"]),
        (
            "x = ",
            Call(Call("keras.layers.LSTM", ["64", "return_sequences=True"]), ["inputs"]),
            "",
            ["x = keras.layers.LSTM(64, return_sequences=True)(inputs)"],
        ),
        (
            "def ",
            Call("forward", ["self", *(f"input_{n}" for n in range(12))]),
            ":",
            ["def forward(", "    self,", *(f"    input_{n}," for n in range(12)), "):"],
        ),
        (
            "a_long_target = ",
            Call(Call("Layer", [f"argument_{n}" for n in range(6)]), ["a_long_source_name"]),
            "",
            [
                "a_long_target = Layer(",
                "    argument_0, argument_1, argument_2, argument_3, argument_4, argument_5",
                ")(a_long_source_name)",
            ],
        ),
    ],
)
def test_wrap_cases(prefix, expr, suffix, expected):
    assert wrap(prefix, expr, 4, suffix) == expected


def test_parse_call_reads_text_back_into_parts():
    text = 'torch.cat([self.a(x)[0][:, -1], g("),")], dim=-1)(y)'
    parsed = parse_call(text)
    assert isinstance(parsed, Call)
    assert str(parsed) == text
    assert parsed.args == ["y"]
    inner = parsed.func
    assert isinstance(inner, Call) and inner.func == "torch.cat"
    assert isinstance(inner.args[0], Call) and inner.args[0].brackets == "[]"
    assert parse_call("out[:, -1]") == "out[:, -1]"
    assert parse_call("(a + b)") == "(a + b)"
    assert split_args('a, f(b, c), "d, e", [g, h]') == ["a", "f(b, c)", '"d, e"', "[g, h]"]
