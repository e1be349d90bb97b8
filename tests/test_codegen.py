"""specc.codegen: calls wrapped exactly as `ruff format` wraps them, at its default width."""

from __future__ import annotations

import random
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

import specc
from specc.codegen import (
    Attr,
    BinOp,
    Call,
    CodeWriter,
    Paren,
    Tuple,
    parse_call,
    parse_expr,
    split_args,
    wrap,
)

ROOT = Path(__file__).resolve().parent.parent
# names up to 64 characters, as a spec may give them
LONG = [
    "encoder_projection_of_the_input_features",
    "residual_sum_of_projection_and_raw_input_in_the_second_stage",
    "a_sixty_four_character_layer_name_for_the_tests_of_the_wrapping_",
]
ARGS = ["64", "x", '"ifco"', "[a, b]", "return_sequences=True", 'name="a_long_layer_name"']
LONG_ARGS = [*ARGS, LONG[0], f'name="{LONG[2]}"']
FUNCS = ["f", "keras.layers.LSTM", "keras.layers.Bidirectional", "VariantLSTMCell", "nn.GRU"]
FUNCS += [f"self.{LONG[0]}"]
TAILS = ["x", "inputs_of_the_layer", "q, v", LONG[1]]
TARGETS = ["", "x = ", "return ", "a_long_variable_name = ", f"{LONG[2]} = ", f"{LONG[0]}, _ = "]


def _call(rng: random.Random, depth: int) -> Call:
    args: list[str | Call] = []
    for _ in range(rng.randint(0, 5)):
        args.append(
            _call(rng, depth + 1)
            if depth < 3 and rng.random() < 0.3
            else rng.choice(LONG_ARGS if depth == 0 else ARGS)
        )
    positional = [a for a in args if not (isinstance(a, str) and "=" in a)]
    keywords = list(dict.fromkeys(a for a in args if isinstance(a, str) and "=" in a))
    return Call(rng.choice(FUNCS), positional + keywords)


def _operand(rng: random.Random):
    name = rng.choice(["x", "out", *LONG])
    return rng.choice(
        [
            name,
            Call(name, [":", "-1", ":64"], "[]"),
            Call(f"{name}.transpose", ["1", "2"]),
            Call("F.dropout", [Call("torch.ones_like", [Call(name, [":", ":1"], "[]")]), "0.2"]),
        ]
    )


def _binary(rng: random.Random):
    """`a + b - c`, `a * f(b)`, `(a + b) / 2`: the operator chains the emitters write."""
    ops = rng.choice([["+", "-"], ["*"]])
    name = rng.choice(["x", *LONG])
    expr = name  # the emitters' first operand: a variable
    for _ in range(rng.randint(1, 3)):
        expr = BinOp(expr, rng.choice(ops), _operand(rng))
    if rng.random() < 0.3:
        expr = BinOp(Paren(expr), "/", str(rng.randint(2, 4)))
    return expr


def _statements(seed: int, count: int) -> str:
    """Random statements at random depths, wrapped by `wrap`: `target = layer(args)(tail)`,
    operator chains, subscripts, tuples; names up to 64 characters."""
    rng = random.Random(seed)
    writer = CodeWriter()
    for k in range(count):
        expr = _call(rng, 0)
        if rng.random() < 0.6:
            sources = [f"source_{n}" for n in range(rng.randint(1, 12))]
            tail = rng.choice([*TAILS, Call("", sources, "[]")])
            expr = Call(expr, [tail])
        if rng.random() < 0.1:  # a method of a call, or a subscript
            expr = rng.choice(
                [
                    Call(Attr(Call("F.relu", [_call(rng, 2)]), "unflatten"), ["0", "x"]),
                    Call(rng.choice(LONG), [":", "-1"], "[]"),
                ]
            )
        target = rng.choice(TARGETS)
        if target and rng.random() < 0.4:  # the emitters write no bare operator chain
            expr = _binary(rng)
        elif target == "return " and rng.random() < 0.3:
            expr = Tuple(rng.sample(LONG, rng.randint(2, 3)))
        with ExitStack() as nested:
            for depth in range(rng.randint(0, 3)):
                writer.line(f"def f{k}_{depth}():")
                nested.enter_context(writer.indent())
            writer.wrapped(target, expr)
        writer.line("")
        writer.line("")
    return writer.text()


def test_wrap_is_what_ruff_format_writes():
    source = _statements(seed=0, count=600)
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
    assert parse_call("out[:, -1]") == Call("out", [":", "-1"], "[]")
    assert parse_call("[f(x) for x in y]") == "[f(x) for x in y]"
    assert parse_call("(a + b)") == "(a + b)"
    assert split_args('a, f(b, c), "d, e", [g, h]') == ["a", "f(b, c)", '"d, e"', "[g, h]"]


def test_parse_expr_reads_operators_and_parentheses():
    parsed = parse_expr("(a[:, -1] + b) / 2")
    assert parsed == BinOp(Paren(BinOp(Call("a", [":", "-1"], "[]"), "+", "b")), "/", "2")
    assert parse_expr("x * F.dropout(y, 0.2)") == BinOp("x", "*", Call("F.dropout", ["y", "0.2"]))
    assert parse_expr("a - b + c") == BinOp(BinOp("a", "-", "b"), "+", "c")
    assert parse_expr("a, b") == Tuple(["a", "b"])
    assert parse_expr("f(-1)") == Call("f", ["-1"])
    assert str(parse_expr("f(a).g(b, c)")) == "f(a).g(b, c)"


LONG_SPECS = [
    "skip_deep_lstm",
    "fused_two_branch_lstm",
    "lstm_autoencoder_unet",
    "image_caption",
    "crnn_keyword_spotting",
    "variants/lstm_peephole",
    "bidirectional_encoder_decoder",  # state ports and initial states
    "seq2seq_states",
]
FILL = "_of_a_layer_renamed_to_a_long_identifier_for_the_wrapping_tests_"


def _renamed(spec: str, lengths: list[int]) -> str:
    """The spec with every input and layer renamed to a long name, references followed."""
    data = yaml.safe_load((ROOT / "specs" / f"{spec}.yaml").read_text(encoding="utf-8"))
    assert "blocks" not in data  # block-local names are not renamed here
    names = [item["name"] for item in data["inputs"] + data["layers"]]
    new = {name: (name + FILL)[: lengths[k % len(lengths)]] for k, name in enumerate(names)}
    assert len(set(new.values())) == len(new)

    def renamed(ref: str) -> str:  # a state port keeps its port: `enc.h`
        name, dot, port = ref.partition(".")
        return new[name] + dot + port

    for item in data["inputs"] + data["layers"]:
        item["name"] = new[item["name"]]
        for key in ("inputs", "initial_state", "outputs"):
            if isinstance(item.get(key), str):
                item[key] = renamed(item[key])
            elif key in item:
                item[key] = [renamed(name) for name in item[key]]
    if isinstance(data.get("outputs"), str):
        data["outputs"] = renamed(data["outputs"])
    elif "outputs" in data:
        data["outputs"] = [renamed(name) for name in data["outputs"]]
    return yaml.safe_dump(data, sort_keys=False)


def test_long_names_emit_ruff_clean_source(tmp_path):
    """Specs whose every name is 50 to 64 characters: both backends, both forms, as ruff writes."""
    for spec in LONG_SPECS:
        for n, lengths in enumerate(([64], [50, 57, 64, 61])):
            path = tmp_path / f"{Path(spec).name}_{n}.yaml"
            path.write_text(_renamed(spec, lengths), encoding="utf-8")
            for backend in ("torch", "keras"):
                for standalone in (True, False):
                    source = specc.emit(path, backend=backend, standalone=standalone)
                    out = tmp_path / f"{path.stem}_{backend}_{standalone}.py"
                    out.write_text(source, encoding="utf-8")
    longest = max(len(line) for f in tmp_path.glob("*.py") for line in f.read_text().splitlines())
    assert longest > 88  # names no split can shorten
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--isolated", str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
