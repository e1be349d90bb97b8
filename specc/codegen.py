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

    def wrapped(self, prefix: str, expr: str | Call, suffix: str = "") -> None:
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


def wrap(prefix: str, expr: str | Call, indent: int = 0, suffix: str = "") -> list[str]:
    """The lines of `prefix + expr + suffix`, split as `ruff format` splits it to fit.

    `indent` is the column the statement starts at (the lines returned carry
    only the indentation inside the statement). One line when it fits. Else
    the last brackets are split: their arguments on one line when it fits, one
    per line with a trailing comma when not, each argument wrapped in turn. In
    `f(a)(x)`, `f(a)` is split first when the line up to `(x)` is too long or
    `x` is one long argument. Text that is not a Call is never split.
    """
    flat = f"{prefix}{expr}{suffix}"
    if indent + len(flat) <= LINE_LENGTH or not isinstance(expr, Call):
        return [flat]
    opening, closing = expr.brackets
    head = f"{prefix}{expr.func}{opening}"
    inner = ", ".join(map(str, expr.args))
    splits = len(expr.args) > 1 or any(isinstance(a, Call) and a.args for a in expr.args)
    fits = indent + len(INDENT) + len(inner) <= LINE_LENGTH or splits
    if isinstance(expr.func, Call) and not (indent + len(head) <= LINE_LENGTH and fits):
        tail = f"{opening}{inner}{closing}{suffix}"
        lines = wrap(prefix, expr.func, indent, tail)
        if indent + len(lines[-1]) > LINE_LENGTH and splits:  # `)(` and the arguments below
            rest = Call("", expr.args, expr.brackets)
            lines[-1:] = wrap(lines[-1][: -len(tail)], rest, indent, suffix)
        return lines
    return [head, *wrap_args(expr.args, indent + len(INDENT)), f"{closing}{suffix}"]


def wrap_args(args: Sequence[str | Call], indent: int) -> list[str]:
    """The inside of a split call: all on one line if it fits, else one argument per line."""
    joined = ", ".join(map(str, args))
    if indent + len(joined) <= LINE_LENGTH:
        return [INDENT + joined] if joined else []
    return [INDENT + line for arg in args for line in wrap("", arg, indent, ",")]


def parse_call(expr: str) -> str | Call:
    """Source text as a Call when it ends in a call (`f(a, g(b))(c)`) or is a list, else as is.

    For emitters that build expressions as text: the parts then wrap as a
    Call does. Brackets and commas inside string literals are ignored.
    """
    closing = expr[-1:]
    if closing not in (")", "]"):
        return expr
    depth, quote = 0, ""
    for i in range(len(expr) - 1, -1, -1):
        ch = expr[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in ")]}":
            depth += 1
        elif ch in "([{":
            depth -= 1
            if depth == 0:
                break
    else:
        return expr
    func, inner = expr[:i], expr[i + 1 : -1]
    if closing == "]" and func:  # a subscript
        return expr
    if closing == ")" and (not func or func[-1] in " ([{,=*"):  # parentheses, not a call
        return expr
    args = [parse_call(arg) for arg in split_args(inner)]
    return Call(parse_call(func) if func else "", args, expr[i] + closing)


def split_args(text: str) -> list[str]:
    """`a, f(b, c), [d, e]` -> its top-level arguments; brackets and strings kept whole."""
    args, depth, start, quote = [], 0, 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
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
