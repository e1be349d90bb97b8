"""YAML text to a tree of located nodes, refusing everything a spec never needs.

Built on PyYAML's event stream (the C parser when present) rather than its
composer, so nesting depth is checked before it can recurse, and every key and
value keeps its file:line:col. Scalars are resolved by a strict YAML 1.2 core
resolver; YAML 1.1 spellings that would silently change meaning (`no`, `010`,
`1:20`) are refused with a located diagnostic instead of guessed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .diagnostics import Diagnostics, Related, Span, escape, yaml_text

MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_INT_DIGITS = 18

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null")}
_MAP_TAG = _CORE + "map"
_SEQ_TAG = _CORE + "seq"


@dataclass(eq=False, slots=True)
class YamlScalar:
    """A scalar. `refused` marks a value the loader reported and replaced by null.

    Later stages skip refused values silently: the problem is reported once,
    and the rest of the file is still checked.
    """

    value: object
    span: Span
    plain: bool = True
    refused: bool = False


@dataclass(eq=False, slots=True)
class YamlSeq:
    items: list
    span: Span


@dataclass(eq=False, slots=True)
class YamlMap:
    """A mapping; `entries` maps each key to (key node, value node) in file order."""

    entries: dict[str, tuple[YamlScalar, object]]
    span: Span
    dropped: bool = False  # held a refused key (E003, E007, ...): "missing" keys may be there

    def get(self, key: str):
        entry = self.entries.get(key)
        return entry[1] if entry else None


YamlNode = YamlScalar | YamlSeq | YamlMap


@dataclass
class Document:
    file: str
    text: str
    root: YamlNode | None


def has_refused(node) -> bool:
    """Whether a subtree holds a value the loader refused (and reported)."""
    if isinstance(node, YamlScalar):
        return node.refused
    if isinstance(node, YamlSeq):
        return any(has_refused(item) for item in node.items)
    if isinstance(node, YamlMap):
        return any(has_refused(value) for _, value in node.entries.values())
    return False


def to_plain(node):
    """The plain Python value of a node (dicts, lists, scalars), for jsonschema."""
    if isinstance(node, YamlScalar):
        return node.value
    if isinstance(node, YamlSeq):
        return [to_plain(item) for item in node.items]
    if isinstance(node, YamlMap):
        return {key: to_plain(value) for key, (_, value) in node.entries.items()}
    return None


def node_at(node, path) -> tuple[object, object]:
    """The deepest node on `path` (keys and indices) and the key node of its last step.

    Stops at the last node that exists, so a diagnostic about a missing child
    still points at its parent.
    """
    key_node = None
    for step in path:
        if isinstance(node, YamlMap) and isinstance(step, str) and step in node.entries:
            key_node, node = node.entries[step]
        elif isinstance(node, YamlSeq) and isinstance(step, int) and 0 <= step < len(node.items):
            key_node, node = None, node.items[step]
        else:
            break
    return node, key_node


def read_source(path: str | Path, diags: Diagnostics) -> str | None:
    """Read a spec file as UTF-8 text; None (with a diagnostic) if it cannot be a spec.

    Raises OSError for files that cannot be read at all: the CLI turns that
    into exit code 2, since it is an I/O problem, not a problem in the spec.
    """
    path = Path(path)
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    return decode_source(data, str(path), diags)


def decode_source(data: bytes, name: str, diags: Diagnostics) -> str | None:
    """Spec bytes (at most MAX_BYTES + 1 of them) as text; None with E009 or E014."""
    if len(data) > MAX_BYTES:
        diags.error(
            "E009",
            f"file is larger than {MAX_BYTES // 1024} KiB",
            Span(name, 1, 1, 1, 1),
            help="a spec is a short text file; generate large graphs with `blocks` and `repeat`",
        )
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        diags.error(
            "E014",
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            Span(name, line, column, line, column + 1),
            help="save the spec as UTF-8",
        )
        return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_surrogates(text: str, file: str, diags: Diagnostics) -> bool:
    """A lone surrogate (text given through the API) is no Unicode text: no YAML parser takes it."""
    match = _SURROGATE.search(text)
    if match is None:
        return False
    line = text.count("\n", 0, match.start()) + 1
    column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
    diags.error(
        "E014",
        f"text is not valid Unicode (a lone surrogate, U+{ord(match.group()):04X})",
        Span(file, line, column, line, column + 1),
        help="pass text decoded from UTF-8; a surrogate pair belongs in one character",
    )
    return True


def load_text(text: str, file: str, diags: Diagnostics) -> Document:
    """Parse YAML text into a located tree; `root` is None if the YAML was refused."""
    doc = Document(file, text, None)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        diags.error(
            "E009",
            f"text is larger than {MAX_BYTES // 1024} KiB",
            Span(file, 1, 1, 1, 1),
            help="a spec is a short text; generate large graphs with `blocks` and `repeat`",
        )
        return doc
    if _refuse_line_separators(text, file, diags) or _refuse_surrogates(text, file, diags):
        return doc
    try:
        root = _Builder(file, diags, _text_end(text)).build(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = _mark_span(file, mark, mark, _text_end(text)) if mark else Span(file, 1, 1, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit, met before an event reaches ours
            diags.error(
                "E008",
                f"nesting deeper than {MAX_DEPTH} levels",
                span,
                help="a spec never needs this much nesting",
            )
            return doc
        diags.error(
            "E001",
            f"YAML syntax error: {escape(problem)}",
            span,
            help="check the indentation here and above, and that each key ends with `: `",
        )
        return doc
    except yaml.reader.ReaderError as exc:
        at = _reader_offset(text, exc)
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        diags.error(
            "E001",
            f"YAML syntax error: character U+{_codepoint(exc.character):04X} is not allowed",
            Span(file, line, column, line, column + 1),
        )
        return doc
    except yaml.YAMLError as exc:
        diags.error("E001", f"YAML syntax error: {escape(exc)}", Span(file, 1, 1, 1, 1))
        return doc
    except _Abort:
        return doc
    # Problems with single values (refused scalars, duplicate keys) leave a
    # tree the later stages can still check; only a broken stream stops here.
    doc.root = root
    return doc


# YAML 1.1 (PyYAML) reads these as line breaks, editors and GitHub do not: a
# spec holding one would get line numbers that point at the wrong line.
_LINE_SEPARATORS = ("\x85", "\u2028", "\u2029")


def _refuse_line_separators(text: str, file: str, diags: Diagnostics) -> bool:
    if not any(separator in text for separator in _LINE_SEPARATORS):
        return False
    found = False
    for number, line in enumerate(text.split("\n"), start=1):
        for separator in _LINE_SEPARATORS:
            column = line.find(separator) + 1
            if column:
                found = True
                diags.error(
                    "E001",
                    f"YAML syntax error: character U+{ord(separator):04X} is not allowed",
                    Span(file, number, column, number, column + 1),
                    help="YAML 1.1 reads it as a line break; remove it or write a plain space",
                )
    return found


class _Abort(Exception):
    """Stops reading at a problem after which the rest of the file cannot be trusted."""


def _reader_offset(text: str, exc: yaml.reader.ReaderError) -> int:
    """The character offset of a reader error: libyaml counts it in UTF-8 bytes.

    (PyYAML's own reader counts characters; so do both parsers' marks.)
    """
    if _Parser is yaml.SafeLoader:
        return exc.position
    return len(text.encode("utf-8")[: exc.position].decode("utf-8", "ignore"))


def _codepoint(character) -> int:
    return character if isinstance(character, int) else ord(character)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _text_end(text: str) -> tuple[int, int]:
    """The 1-based line and column just past the text's last character."""
    return text.count("\n") + 1, len(text) - text.rfind("\n")


def _place(mark, end: tuple[int, int]) -> tuple[int, int]:
    """A mark's 1-based line and column, never past the end of the text.

    libyaml puts the end of a text that lacks a final line break at column 0 of
    the line after it, a line the text does not have.
    """
    line = mark.line + 1
    if line < end[0]:
        return line, mark.column + 1
    return min((line, mark.column + 1), end)


def _mark_span(file: str, start, end, text_end: tuple[int, int]) -> Span:
    return Span(file, *_place(start, text_end), *_place(end, text_end))


class _Builder:
    """Turns the event stream into YamlMap/YamlSeq/YamlScalar nodes, iteratively."""

    def __init__(self, file: str, diags: Diagnostics, end: tuple[int, int]):
        self.file = file
        self.end = end  # of the text: no mark lies past it
        self.diags = diags
        # Each frame: [container, pending key node or None, start event].
        self.stack: list[list] = []
        self.root = None
        self.documents = 0

    def build(self, text: str):
        parser = _Parser(text)
        try:
            handle = self._event
            while parser.check_event():
                handle(parser.get_event())
        finally:
            parser.dispose()
        return self.root

    def _span(self, event) -> Span:
        return _mark_span(self.file, event.start_mark, event.end_mark, self.end)

    def _event(self, event) -> None:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            self._check_anchor(event)
            self._attach(self._scalar(event))
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            self._check_anchor(event)
            expected = _MAP_TAG if kind is yaml.MappingStartEvent else _SEQ_TAG
            bad_tag = event.tag not in (None, expected)
            if bad_tag:
                self._bad_tag(event)
            if len(self.stack) >= MAX_DEPTH:
                self.diags.error(
                    "E008",
                    f"nesting deeper than {MAX_DEPTH} levels",
                    self._span(event),
                    help="a spec never needs this much nesting",
                )
                raise _Abort
            node = (
                YamlMap({}, self._span(event))
                if kind is yaml.MappingStartEvent
                else YamlSeq([], self._span(event))
            )
            self.stack.append([node, None, bad_tag])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            node, _, bad_tag = self.stack.pop()
            start = node.span
            node.span = Span(self.file, start.line, start.column, *_place(event.end_mark, self.end))
            self._attach(YamlScalar(None, node.span, refused=True) if bad_tag else node)
        elif kind is yaml.AliasEvent:
            self.diags.error(
                "E006",
                f"alias `*{escape(event.anchor)}` not allowed",
                self._span(event),
                help="write the value out; reuse layers with `blocks` and `repeat`",
            )
            self._attach(YamlScalar(None, self._span(event), refused=True))
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                self.diags.error(
                    "E004",
                    "more than one YAML document in one file",
                    self._span(event),
                    help="put each spec in a file of its own",
                )
                raise _Abort

    def _check_anchor(self, event) -> None:
        if event.anchor is not None:
            self.diags.error(
                "E006",
                f"anchor `&{escape(event.anchor)}` not allowed",
                self._span(event),
                help="write the value out; reuse layers with `blocks` and `repeat`",
            )

    def _bad_tag(self, event) -> None:
        self.diags.error(
            "E005",
            f"tag `{escape(_tag_name(event.tag))}` not allowed",
            self._span(event),
            help="specs use plain YAML values only; remove the tag",
        )

    def _scalar(self, event) -> YamlScalar:
        span = self._span(event)
        text = event.value
        tag = event.tag
        plain = event.implicit[0] and tag is None
        if tag is not None and tag not in _SCALAR_TAGS:
            self._bad_tag(event)
            return YamlScalar(None, span, plain, refused=True)
        if tag == _CORE + "str" or (tag is None and not plain):
            return YamlScalar(text, span, plain)
        value = _resolve_plain(text)
        if isinstance(value, _Problem):
            self.diags.error(value.code, value.message, span, help=value.help)
            return YamlScalar(None, span, plain, refused=True)
        if tag is not None:
            wanted = {"int": int, "float": (float, int), "bool": bool, "null": type(None)}[
                tag[len(_CORE) :]
            ]
            if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
                self.diags.error(
                    "E005",
                    f"tag `{escape(_tag_name(tag))}` does not fit the value `{escape(text)}`",
                    span,
                    help="remove the tag",
                )
                return YamlScalar(None, span, plain, refused=True)
            elif tag == _CORE + "float":
                value = float(value)
        return YamlScalar(value, span, plain)

    def _attach(self, node) -> None:
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        container = frame[0]
        if isinstance(container, YamlSeq):
            container.items.append(node)
            return
        key = frame[1]
        if key is None:
            frame[1] = self._key(node)
            return
        frame[1] = None
        if key is _SKIP:
            container.dropped = True
            return
        if key.value in container.entries:
            first = container.entries[key.value][0]
            self.diags.error(
                "E002",
                f"duplicate key `{escape(key.value)}`",
                key.span,
                label="repeated here",
                related=[Related(first.span, "first defined here")],
                help="remove one of the two",
            )
            return
        container.entries[key.value] = (key, node)

    def _key(self, node):
        if isinstance(node, YamlScalar) and node.refused:
            return _SKIP  # reported as a value already
        if isinstance(node, YamlScalar) and isinstance(node.value, str):
            if node.plain and node.value == "<<":
                self.diags.error(
                    "E007",
                    "merge key `<<` not allowed",
                    node.span,
                    help="write the keys out; reuse layers with `blocks`",
                )
                return _SKIP
            return node
        what = (
            "a mapping"
            if isinstance(node, YamlMap)
            else ("a list" if isinstance(node, YamlSeq) else f"`{yaml_text(node.value)}`")
        )
        self.diags.error(
            "E003",
            f"keys must be strings, not {what}",
            node.span,
            help="keys are names; quote the key if it is meant as text",
        )
        return _SKIP


# A refused key: its entry is dropped, and its mapping marked `dropped`, since
# the key may be the one a "missing key" error would then name. The key's own
# problem is reported once; a missing key shows up when it is fixed.
_SKIP = YamlScalar(None, Span("", 0, 0, 0, 0))


@dataclass(frozen=True)
class _Problem:
    code: str
    message: str
    help: str


_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_YAML11_BOOL = {
    w for word in ("yes", "no", "on", "off") for w in (word, word.capitalize(), word.upper())
}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_PREFIXED = re.compile(r"[-+]?0[xXoObB][0-9a-fA-F_]+")
_UNDERSCORE = re.compile(r"[-+]?[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_NONFINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")


def _resolve_plain(text: str):
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in _YAML11_BOOL:
        return _Problem(
            "E010",
            f"`{text}` is a boolean in YAML 1.1 and a string in YAML 1.2",
            "write `true` or `false` for a flag, or quote it for text",
        )
    first = text[0]
    if not (first.isdigit() or first in "+-."):
        return text
    if _INT.fullmatch(text):
        if len(text.lstrip("+-")) > MAX_INT_DIGITS:
            return _Problem(
                "E013",
                f"integer `{text}` has more than {MAX_INT_DIGITS} digits",
                "no layer size needs this; check the value",
            )
        return int(text)
    if _LEADING_ZERO.fullmatch(text):
        return _Problem(
            "E011",
            f"`{text}` is octal in YAML 1.1 and decimal in YAML 1.2",
            f"write `{int(text)}` for the number, or quote it for text",
        )
    if _FLOAT.fullmatch(text):
        value = float(text)
        if not math.isfinite(value):
            return _Problem("E012", f"`{text}` is not a finite number", "use a finite value")
        return value
    if _NONFINITE.fullmatch(text):
        return _Problem("E012", f"`{text}` is not a finite number", "use a finite value")
    if _PREFIXED.fullmatch(text) or _UNDERSCORE.fullmatch(text):
        return _Problem(
            "E011",
            f"`{text}` is a number in YAML 1.1 and a string in YAML 1.2",
            "write the number in plain decimal, or quote it for text",
        )
    if _SEXAGESIMAL.fullmatch(text):
        return _Problem(
            "E011",
            f"`{text}` is a base-60 number in YAML 1.1 and a string in YAML 1.2",
            "quote it if it is text",
        )
    return text


# A spec's top level has `specc:` (the format version), unindented: how tools that
# are handed every YAML file of a repository (pre-commit, the pytest plugin) tell
# a spec from another tool's file without parsing it.
_SPEC_KEY = re.compile(r"^specc[ \t]*:", re.MULTILINE)


def looks_like_spec(text: str) -> bool:
    """Whether YAML text has a top-level `specc:` key (a spec, not another tool's file)."""
    return _SPEC_KEY.search(text) is not None


def is_spec_file(path) -> bool:
    """`looks_like_spec` of a file; True when it cannot be read, so that the caller
    reports why."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return looks_like_spec(handle.read(MAX_BYTES))
    except OSError:
        return True
