"""Diagnostics to text: one small renderer per output format (text, json, github).

All user-sourced text is escaped here, so a name or a source line can neither
move the terminal's cursor nor start a GitHub workflow command.
"""

from __future__ import annotations

import json

from .diagnostics import Diagnostic, Span, code_title, escape

FORMATS = ("text", "json", "github")
_TAB = "    "


class _Snippet:
    """Source lines of the files being reported, fetched by (file, line)."""

    def __init__(self, sources: dict[str, str]):
        # Lines end at "\n" only, as in editors (str.splitlines would also
        # break at form feeds and other separators, shifting the caret).
        self.lines = {
            file: [line.removesuffix("\r") for line in text.split("\n")]
            for file, text in sources.items()
        }

    def line(self, file: str, number: int) -> str | None:
        lines = self.lines.get(file)
        if lines is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1]


def _underline(source: str, span: Span, mark: str) -> str:
    """Spaces up to the span's column, then `mark` under the span on its first line."""
    before = source[: span.column - 1]
    pad = len(escape(before.replace("\t", _TAB)))
    if span.end_line == span.line:
        covered = source[span.column - 1 : span.end_column - 1]
    else:
        covered = source[span.column - 1 :]
    width = max(1, len(escape(covered.replace("\t", _TAB)).rstrip()) or 1)
    return " " * pad + mark * width


def render_text(diagnostics: list[Diagnostic], sources: dict[str, str]) -> str:
    """rustc-style text: header, `--> file:line:col`, the source line, a caret, help."""
    snippets = _Snippet(sources)
    blocks = []
    for d in diagnostics:
        spans = [d.span] if d.span else []
        spans += [r.span for r in d.related]
        gutter = max((len(str(s.line)) for s in spans), default=1)
        empty = " " * (gutter + 1) + "|"
        out = [f"{d.severity.value}[{d.code}]: {escape(d.message)}"]
        if d.span:
            out.append(" " * gutter + f"--> {escape(str(d.span))}")
            source = snippets.line(d.span.file, d.span.line)
            if source is not None:
                out.append(empty)
                out.append(f"{d.span.line:>{gutter}} | {escape(source.replace(chr(9), _TAB))}")
                label = f" {escape(d.label)}" if d.label else ""
                out.append(f"{empty} {_underline(source, d.span, '^')}{label}".rstrip())
        for related in d.related:
            r = related.span
            source = snippets.line(r.file, r.line)
            if source is None or (d.span and r.file != d.span.file):
                out.append(" " * gutter + f"::: {escape(str(r))}")
            if source is None:
                out.append(f"{empty} {escape(related.message)}")
                continue
            out.append(empty)
            out.append(f"{r.line:>{gutter}} | {escape(source.replace(chr(9), _TAB))}")
            out.append(f"{empty} {_underline(source, r, '-')} {escape(related.message)}")
        if d.help:
            out.append(" " * (gutter + 1) + f"= help: {escape(d.help)}")
        blocks.append("\n".join(out))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def diagnostic_json(d: Diagnostic) -> dict:
    s = d.span
    return {
        "code": d.code,
        "severity": d.severity.value,
        "message": d.message,
        "file": s.file if s else None,
        "line": s.line if s else None,
        "column": s.column if s else None,
        "end_line": s.end_line if s else None,
        "end_column": s.end_column if s else None,
        "label": d.label,
        "help": d.help,
        "related": [
            {
                "file": r.span.file,
                "line": r.span.line,
                "column": r.span.column,
                "message": r.message,
            }
            for r in d.related
        ],
    }


def render_json(diagnostics: list[Diagnostic], files: int) -> str:
    errors = sum(d.is_error for d in diagnostics)
    doc = {
        "diagnostics": [diagnostic_json(d) for d in diagnostics],
        "files": files,
        "errors": errors,
        "warnings": len(diagnostics) - errors,
    }
    return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: list[Diagnostic]) -> str:
    """GitHub Actions workflow commands: an annotation on each offending line."""
    lines = []
    for d in diagnostics:
        command = "error" if d.is_error else "warning"
        props = []
        if d.span:
            s = d.span
            file = _gh_property(escape(s.file))
            props += [f"file={file}", f"line={s.line}", f"col={s.column}"]
            if s.end_line == s.line:
                props += [f"endLine={s.end_line}", f"endColumn={s.end_column}"]
        props.append(f"title={_gh_property(f'{d.code} {code_title(d.code)}')}")
        body = escape(d.message)
        if d.label:
            body += f": {escape(d.label)}"
        for r in d.related:  # an annotation has one place; the others go in its text
            body += f"\n{escape(r.span.file)}:{r.span.line}:{r.span.column}: {escape(r.message)}"
        if d.help:
            body += f"\nhelp: {escape(d.help)}"
        lines.append(f"::{command} {','.join(props)}::{_gh_data(body)}")
    return "\n".join(lines) + ("\n" if lines else "")
