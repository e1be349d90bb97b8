"""One diagnostic type for every problem specc reports, and the code catalogue.

Every stage reports through `Diagnostics.error` / `Diagnostics.warning`, so a
problem is always a code, a located message and an optional fix, and the
renderers (`specc.render`) never see anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple


class Severity(str, Enum):
    """Errors fail validation; warnings fail it only under `--strict`."""

    ERROR = "error"
    WARNING = "warning"


class Span(NamedTuple):
    """A 1-based, end-exclusive region of a source file."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Related:
    """A secondary location that explains the primary one."""

    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    """One problem: a catalogue code, where it is, what is wrong and how to fix it.

    `label` is printed beside the caret (e.g. the shapes involved); `related`
    are secondary locations (the first definition, the block instance).
    """

    code: str
    severity: Severity
    message: str
    span: Span | None
    label: str = ""
    help: str = ""
    related: tuple[Related, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        s = self.span
        where = (s.file, s.line, s.column) if s else ("", 0, 0)
        return (*where, self.code, self.message)


# The catalogue: every code specc can emit, with a one-line title. docs/
# diagnostics.md documents each with a wrong example; tests/errors/ holds one
# spec per code.
CODES: dict[str, str] = {
    # E0xx: reading the file and YAML itself
    "E001": "YAML syntax error",
    "E002": "duplicate key",
    "E003": "non-string key",
    "E004": "more than one YAML document",
    "E005": "tag not allowed",
    "E006": "anchors and aliases not allowed",
    "E007": "merge key `<<` not allowed",
    "E008": "nesting too deep",
    "E009": "file too large",
    "E010": "ambiguous YAML 1.1 boolean",
    "E011": "ambiguous number notation",
    "E012": "non-finite number",
    "E013": "integer too large",
    "E014": "file is not valid UTF-8 text",
    # E1xx: the spec format (schema)
    "E101": "unknown key",
    "E102": "missing required key",
    "E103": "wrong type",
    "E104": "value not allowed",
    "E105": "unknown op",
    "E106": "invalid name",
    "E107": "unsupported format version",
    "W109": "unknown or unused code in `ignore`",
    "E110": "shared layer with attributes",
    # E2xx: blocks and repeat
    "E201": "unknown block",
    "E202": "bad block parameter",
    "E203": "recursive block",
    "E204": "bad block definition",
    "W205": "block never used",
    # E3xx: the layer graph
    "E301": "unknown reference",
    "E302": "duplicate name",
    "E303": "cycle in the layer graph",
    "E304": "unknown dimension name",
    "W305": "layer reaches no output",
    "W306": "setting has no effect",
    "W307": "last step of a bidirectional sequence",
    "W308": "layer drops a sequence mask",
    "E310": "invalid shared layer",
    "E311": "no such state",
    "E312": "invalid initial state",
    # E4xx: shapes
    "E401": "merge needs equal shapes",
    "E402": "wrong input rank",
    "E403": "wrong number of inputs",
    "E404": "invalid permutation",
    "E405": "static dimension required",
    "E406": "reshape size mismatch",
    "E407": "incompatible attention shapes",
    "E408": "invalid axis",
    "E409": "integer input required",
    "E410": "sequence too short",
    "E411": "floating-point input required",
    "E420": "input does not fit the shared weights",
    "E421": "initial state does not fit",
    # E6xx: emitting code (`specc compile`, `specc.build`)
    "E601": "not expressible by the backend",
    # W5xx: GPU lints belong to the backends, which declare them (`codes`):
    # W501 Keras (specc.backends.keras._facts), W502 PyTorch (.torch._facts)
}


# Codes that backends declare for their lints (`Backend.codes`), added as each
# backend is loaded; the catalogue above stays as written.
BACKEND_CODES: dict[str, str] = {}


def register_codes(codes: dict[str, str]) -> None:
    """Accept a backend's own codes (its lints); a code of specc's own keeps its title."""
    for code, title in codes.items():
        if code not in CODES:
            BACKEND_CODES[code] = title


def code_title(code: str) -> str:
    return CODES.get(code) or BACKEND_CODES[code]


@dataclass
class Diagnostics:
    """Collects diagnostics; reports each distinct problem once."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set = field(default_factory=set, repr=False)
    # Names "did you mean" may still compare for this file. Each lookup costs
    # time in the number of names, so thousands of misspelt references in a
    # file of thousands of names would cost their product; past the budget,
    # the diagnostics come without a suggestion.
    _suggestion_budget: int = field(default=50_000, repr=False)

    def suggest(self, word: str, *groups) -> str | None:
        """`did_you_mean` against groups of the file's own names, while the budget lasts."""
        size = sum(len(group) for group in groups)
        if size > self._suggestion_budget:
            return None
        self._suggestion_budget -= size
        return did_you_mean(word, [name for group in groups for name in group])

    def reported(self, code: str, span: Span | None, label: str = "") -> bool:
        """Whether this problem is reported already (so a caller can skip costly help)."""
        return (code, span, label) in self._seen

    def add(self, diagnostic: Diagnostic) -> None:
        assert diagnostic.code in CODES or diagnostic.code in BACKEND_CODES, diagnostic.code
        # One code at one place with one finding is one problem: a block
        # parameter used by two layers is reported where it was written, once;
        # two instances that fail differently at one block line are two.
        key = (diagnostic.code, diagnostic.span, diagnostic.label)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(diagnostic)

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        *,
        label: str = "",
        help: str = "",
        related: tuple[Related, ...] | list[Related] = (),
    ) -> None:
        self.add(Diagnostic(code, Severity.ERROR, message, span, label, help, tuple(related)))

    def warning(
        self,
        code: str,
        message: str,
        span: Span | None,
        *,
        label: str = "",
        help: str = "",
        related: tuple[Related, ...] | list[Related] = (),
    ) -> None:
        self.add(Diagnostic(code, Severity.WARNING, message, span, label, help, tuple(related)))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=Diagnostic.sort_key)


class SpecError(Exception):
    """Raised by the API (`specc.load`, `specc.build`) when a spec has errors."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        first = next(
            (d for d in diagnostics if d.is_error), diagnostics[0] if diagnostics else None
        )
        where = f"{first.span}: " if first and first.span else ""
        summary = f"{where}error[{first.code}]: {first.message}" if first else "invalid spec"
        more = len([d for d in diagnostics if d.is_error]) - 1
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))


def yaml_text(value) -> str:
    """A plain value as YAML spells it (`null`, `true`), escaped: for `key: value` echoes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(value)


def show_value(value) -> str:
    """A short, escaped description of a value received, for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f'the string `"{escape(value)}"`' if value else "an empty string"
    return f"`{yaml_text(value)}`"


def did_you_mean(word: str, candidates) -> str | None:
    """The closest candidate to a misspelt word, or None when nothing is close."""
    import difflib

    names = sorted(c for c in candidates if isinstance(c, str))
    same_letters = [c for c in names if c.lower() == str(word).lower()]  # `LSTM` -> `lstm`
    if same_letters:
        return same_letters[0]
    matches = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    return matches[0] if matches else None


def escape(text: str) -> str:
    """Make user text safe to echo: no control characters, no GitHub `::` commands."""
    text = str(text)
    if text.isprintable() and not text.startswith("::"):
        return text  # the common case, checked in C
    out = "".join(c if c.isprintable() else _escape_char(c) for c in text)
    if out.startswith("::"):
        out = "\\" + out
    return out


def _escape_char(c: str) -> str:
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
