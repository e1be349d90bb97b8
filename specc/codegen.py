"""Small tools for emitters: a line writer, calls wrapped as `ruff format` does, a namespace.

Emitters build source as a list of lines (no templates), so the output is
byte-stable and each emitted line can carry a comment pointing back at its
spec line. Every emitter wraps at one `LINE_LENGTH`, ruff's default, so an
emitted file is unchanged by `ruff format` at its default settings.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath

from . import __version__

LINE_LENGTH = 88  # ruff format's default
INDENT = "    "


class CodeWriter:
    """Collects lines at the current indentation; `text()` is the module's source."""

    def __init__(self, indent: str = "    "):
        self._lines: list[str] = []
        self._level = 0
        self._indent = indent

    def line(self, text: str = "") -> None:
        self._lines.append(f"{self._indent * self._level}{text}" if text else "")

    def lines(self, texts) -> None:
        for text in texts:
            self.line(text)

    @contextmanager
    def indent(self):
        self._level += 1
        try:
            yield
        finally:
            self._level -= 1

    def wrapped(self, prefix: str, expr: Expr, suffix: str = "") -> None:
        """`prefix + expr + suffix` as one statement, wrapped to fit at this indentation."""
        self.lines(wrap(prefix, expr, len(self._indent) * self._level, suffix))

    def text(self) -> str:
        return "\n".join(self._lines).rstrip("\n") + "\n"


@dataclass(frozen=True)
class Call:
    """A call `func(args)`, kept in parts so that `wrap` can break it where `ruff format` would.

    `func` is the text before the parenthesis, or a Call itself:
    `Call(Call("keras.layers.Dense", ["4"]), ["x"])` is `keras.layers.Dense(4)(x)`.
    Each argument is source text (`"units=4"`) or a Call; `str()` is the flat
    source. A list display is a Call too: `Call("", ["a", "b"], "[]")` is `[a, b]`.
    """

    func: str | Call
    args: Sequence[str | Call] = ()
    brackets: str = "()"

    def __str__(self) -> str:
        return f"{self.func}{self.brackets[0]}{', '.join(map(str, self.args))}{self.brackets[1]}"


@dataclass(frozen=True)
class BinOp:
    """`left op right`, kept in parts so that `wrap` can split it before the operator."""

    left: Expr
    op: str
    right: Expr

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class Paren:
    """`(expr)`: parentheses in the source, split as `(`, the expression indented, `)`."""

    expr: Expr

    def __str__(self) -> str:
        return f"({self.expr})"


@dataclass(frozen=True)
class Tuple:
    """`a, b` without parentheses (`return a, b`): one item a line, in parentheses, when split."""

    items: Sequence[Expr]

    def __str__(self) -> str:
        return ", ".join(map(str, self.items))


@dataclass(frozen=True)
class Attr:
    """`value.name` where `value` is a Call: `f(a).g` in `f(a).g(b)`, which splits `f(a)` first."""

    value: Call
    name: str

    def __str__(self) -> str:
        return f"{self.value}.{self.name}"


Expr = str | Call | BinOp | Paren | Tuple
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2, "@": 2}


def wrap(prefix: str, expr: Expr, indent: int = 0, suffix: str = "") -> list[str]:
    """The lines of `prefix + expr + suffix`, split as `ruff format` splits it to fit.

    `indent` is the column the statement starts at (the lines returned carry
    only the indentation inside the statement). One line when it fits. Else a
    call splits its last brackets: their arguments on one line when it fits,
    one per line with a trailing comma when not, each argument wrapped in
    turn. In `f(a)(x)`, `f(a)` is split first when the line up to `(x)` is too
    long or `x` is one long argument. After `x = ` or `return `, ruff's
    optional parentheses: a call goes inside `(` ... `)` when its first line
    does not fit after the target and all its lines fit inside them; an
    operator chain goes inside them, split before each operator, unless its one operator is
    followed by a call whose first line fits (`x = a * f(`) or it starts with
    parentheses (`x = (` ... `) / 2`); text that cannot split goes inside them
    when it then fits. Shapes no emitter writes yet may still differ from ruff:
    a call or subscript before an operator on an over-long line, and operator
    chains as bare statements (tests/test_codegen.py compares the rest).
    """
    flat = f"{prefix}{expr}{suffix}"
    if indent + len(flat) <= LINE_LENGTH:
        return [flat]
    optional = prefix.endswith(" = ") or prefix == "return "  # room for ruff's parentheses
    if isinstance(expr, Tuple):
        if not optional:
            return [flat]
        items = [wrap("", item, indent + len(INDENT), ",") for item in expr.items]
        return [f"{prefix}(", *(INDENT + line for lines in items for line in lines), f"){suffix}"]
    if isinstance(expr, Paren):
        return [f"{prefix}(", *_chain_lines(expr.expr, indent + len(INDENT)), f"){suffix}"]
    if isinstance(expr, BinOp):
        operands, _ = _chain(expr)
        if len(operands) == 2 and isinstance(expr.left, Paren):  # `(a + b) / 2`
            inner = _chain_lines(expr.left.expr, indent + len(INDENT))
            return [f"{prefix}(", *inner, f") {expr.op} {expr.right}{suffix}"]
        right = expr.right  # a call or a list after one operator: its brackets split
        if len(operands) == 2 and isinstance(right, Call) and right.args and not _subscript(right):
            lines = _split(f"{prefix}{expr.left} {expr.op} ", expr.right, indent, suffix)
            if indent + len(lines[0]) <= LINE_LENGTH or not optional:
                return lines
        if not optional:
            return [flat]
        return [f"{prefix}(", *_chain_lines(expr, indent + len(INDENT)), f"){suffix}"]
    if not isinstance(expr, Call) or not expr.args:  # no brackets to split
        if optional and indent + len(INDENT) + len(str(expr)) <= LINE_LENGTH:
            return [f"{prefix}(", f"{INDENT}{expr}", f"){suffix}"]
        return [flat]
    lines = _split(prefix, expr, indent, suffix)
    if not optional or indent + len(lines[0]) <= LINE_LENGTH:
        return lines
    inner = _chain_lines(expr, indent + len(INDENT))
    if all(indent + len(line) <= LINE_LENGTH for line in inner):
        return [f"{prefix}(", *inner, f"){suffix}"]
    return lines


def _subscript(expr: Call) -> bool:
    return expr.brackets == "[]" and bool(expr.func) and not str(expr.func).endswith("=")


def _chain(expr: Expr) -> tuple[list[Expr], list[str]]:
    """`a + b - c` -> ([a, b, c], ["+", "-"]): operands at the last operator's precedence."""
    if not isinstance(expr, BinOp):
        return [expr], []
    level = PRECEDENCE[expr.op]
    operands, ops = [expr.right], [expr.op]
    left = expr.left
    while isinstance(left, BinOp) and PRECEDENCE[left.op] == level:
        operands.append(left.right)
        ops.append(left.op)
        left = left.left
    operands.append(left)
    return operands[::-1], ops[::-1]


def _chain_lines(expr: Expr, indent: int) -> list[str]:
    """An expression inside parentheses, indented one level: an operator chain split before each
    operator when it does not fit on one line."""
    if indent + len(str(expr)) <= LINE_LENGTH:
        return [f"{INDENT}{expr}"]
    operands, ops = _chain(expr)
    lines = wrap("", operands[0], indent)
    for op, operand in zip(ops, operands[1:], strict=True):
        lines += wrap(f"{op} ", operand, indent)
    return [INDENT + line for line in lines]


def _split(prefix: str, expr: Call, indent: int, suffix: str = "") -> list[str]:
    """A call split at its own brackets (see `wrap`)."""
    flat = f"{prefix}{expr}{suffix}"
    if indent + len(flat) <= LINE_LENGTH:
        return [flat]
    opening, closing = expr.brackets
    head = f"{prefix}{expr.func}{opening}"
    inner = ", ".join(map(str, expr.args))
    splits = len(expr.args) > 1 or any(isinstance(a, Call) and a.args for a in expr.args)
    fits = indent + len(INDENT) + len(inner) <= LINE_LENGTH or splits
    func, link = expr.func, ""
    if isinstance(func, Attr):  # `f(a).g(x)`: `f(a)` split as `f(a)(x)`'s would be
        func, link = func.value, f".{func.name}"
    if isinstance(func, Call) and not (indent + len(head) <= LINE_LENGTH and fits):
        tail = f"{link}{opening}{inner}{closing}{suffix}"
        lines = _split(prefix, func, indent, tail)
        if indent + len(lines[-1]) > LINE_LENGTH and splits:  # `)(` and the arguments below
            rest = Call("", expr.args, expr.brackets)
            lines[-1:] = _split(lines[-1][: -len(tail)] + link, rest, indent, suffix)
        return lines
    if opening == "[" and (not expr.func or str(expr.func).endswith("=")):  # a list display
        items = [line for a in expr.args for line in wrap("", a, indent + len(INDENT), ",")]
        return [head, *(INDENT + line for line in items), f"{closing}{suffix}"]
    return [head, *wrap_args(expr.args, indent + len(INDENT)), f"{closing}{suffix}"]


def wrap_args(args: Sequence[Expr], indent: int) -> list[str]:
    """The inside of a split call: all on one line if it fits, else one argument per line."""
    joined = ", ".join(map(str, args))
    if indent + len(joined) <= LINE_LENGTH:
        return [INDENT + joined] if joined else []
    return [INDENT + line for arg in args for line in wrap("", arg, indent, ",")]


def parse_expr(expr: str) -> Expr:
    """Source text as parts `wrap` can split: an operator chain, parentheses, a call, a tuple.

    For emitters that build expressions as text. Operators are found outside
    brackets and strings, written with a space either side (`a + b`, not `-1`).
    """
    items = split_args(expr)
    if len(items) > 1:
        return Tuple([parse_expr(item) for item in items])
    for ops in (("+", "-"), ("*", "/", "//", "%", "@")):
        at = _last_operator(expr, ops)
        if at is not None:
            i, op = at
            return BinOp(parse_expr(expr[:i]), op, parse_expr(expr[i + len(op) + 2 :]))
    if expr.startswith("(") and _closing(expr, 0) == len(expr) - 1:
        return Paren(parse_expr(expr[1:-1]))
    return parse_call(expr)


def _scan(text: str):
    """(index, character, bracket depth) for each character outside string literals.

    A bracket gets the depth around it, so an opening bracket and the one that
    closes it have the same depth; everything between them is one deeper.
    """
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            yield i, ch, depth
            depth += 1
        elif ch in ")]}":
            depth -= 1
            yield i, ch, depth
        else:
            yield i, ch, depth


def _last_operator(expr: str, ops: Sequence[str]) -> tuple[int, str] | None:
    """Where the last ` op ` outside brackets and strings starts (at its space), and which."""
    found = None
    for i, ch, depth in _scan(expr):
        if ch == " " and depth == 0:
            for op in ops:
                if expr.startswith(f" {op} ", i):
                    found = (i, op)
    return found


def _closing(expr: str, start: int) -> int:
    """The index of the bracket that closes the one at `start`."""
    for i, ch, depth in _scan(expr[start:]):
        if i and ch in ")]}" and depth == 0:
            return start + i
    return -1


def parse_call(expr: str) -> str | Call:
    """Source text as a Call when it ends in a call or subscript (`f(a, g(b))(c)`, `x[:, -1]`)
    or is a list, else as is.

    For emitters that build expressions as text: the parts then wrap as a
    Call does. Brackets and commas inside string literals are ignored.
    """
    closing = expr[-1:]
    if closing not in (")", "]"):
        return expr
    openers = [i for i, ch, depth in _scan(expr) if ch in "([{" and depth == 0]
    if not openers or _closing(expr, openers[-1]) != len(expr) - 1:
        return expr
    i = openers[-1]
    func, inner = expr[:i], expr[i + 1 : -1]
    if func and func[-1] in " ([{,=*":  # brackets after an operator: not a call
        return expr
    if closing == ")" and not func:  # parentheses, not a call: a tuple of two or more splits
        items = split_args(expr[1:-1])  # as a call's arguments do
        return Call("", [parse_call(item) for item in items]) if len(items) > 1 else expr
    if " for " in inner:  # a comprehension: kept whole
        return expr
    args = [parse_call(arg) for arg in split_args(inner)]
    head: str | Call | Attr = parse_call(func) if func else ""
    value, dot, name = func.rpartition(".")
    if dot and value[-1:] in (")", "]") and name.isidentifier():
        called = parse_call(value)
        if isinstance(called, Call):
            head = Attr(called, name)
    return Call(head, args, expr[i] + closing)


def split_args(text: str) -> list[str]:
    """`a, f(b, c), [d, e]` -> its top-level arguments; brackets and strings kept whole."""
    args, start = [], 0
    for i, ch, depth in _scan(text):
        if ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
    if text[start:].strip():
        args.append(text[start:].strip())
    return args


class Namespace:
    """Hands out identifiers that are unique, and never a keyword or a builtin."""

    def __init__(self, taken=()):
        self._taken = set(taken)

    def name(self, wanted: str) -> str:
        base = re.sub(r"\W", "_", wanted) or "v"
        if base[0].isdigit():
            base = f"_{base}"
        candidate, n = base, 1
        while (
            candidate in self._taken or keyword.iskeyword(candidate) or hasattr(builtins, candidate)
        ):
            candidate = f"{base}_{n}"
            n += 1
        self._taken.add(candidate)
        return candidate


def class_name(spec_name: str) -> str:
    """CamelCase class name for a spec name: `skip_deep_lstm` -> `SkipDeepLstm`."""
    parts = [p for p in spec_name.split("_") if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return name if not keyword.iskeyword(name) else f"{name}Model"


def header(graph, backend: str) -> list[str]:
    """The first lines of an emitted module: what made it, from what; no timestamp."""
    digest = hashlib.sha256(graph.spec.text.encode("utf-8")).hexdigest()[:16]
    return [
        f'"""{graph.name}: generated by specc {__version__} ({backend} backend). Do not edit.',
        "",
        f"Spec: {PurePath(graph.spec.file).name} (sha256 {digest}).",
        '"""',
    ]
