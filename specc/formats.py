"""The report formats of `specc validate` beyond text, json and github (`specc.render`).

concise, json-lines, sarif (SARIF 2.1.0), junit (JUnit XML) and gitlab (GitLab
Code Quality) are written here, each from the same `Diagnostic` records. All
user text is escaped as in `specc.render`; the XML writer escapes what XML needs.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from . import __version__
from .diagnostics import Diagnostic, code_title, escape
from .render import diagnostic_json, render_github, render_json, render_text

FORMATS = ("text", "concise", "json", "json-lines", "github", "sarif", "junit", "gitlab")
DOCS = "docs/diagnostics.md"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary_line(diagnostics: list[Diagnostic], files: int, strict: bool) -> str:
    """`2 files checked: 0 errors, 1 warning` (`under --strict` when the warnings fail)."""
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    line = f"{count(files, 'file')} checked: {count(errors, 'error')}, {count(warnings, 'warning')}"
    if strict and warnings:
        line += " under --strict"
    return line + "\n"


def render_report(
    fmt: str,
    diagnostics: list[Diagnostic],
    sources: dict[str, str],
    files: list[str],
    strict: bool = False,
) -> str:
    """The whole report of one `specc validate` run in format `fmt`.

    `sources` maps each checked file to its text (for source lines), `files`
    lists every file checked, in order (junit has a test case per file).
    """
    if fmt == "text":
        text = render_text(diagnostics, sources)
        return (text + "\n" if text else "") + summary_line(diagnostics, len(files), strict)
    if fmt == "concise":
        return render_concise(diagnostics) + summary_line(diagnostics, len(files), strict)
    if fmt == "json":
        return render_json(diagnostics, len(files))
    if fmt == "json-lines":
        return render_json_lines(diagnostics)
    if fmt == "github":
        return render_github(diagnostics)
    if fmt == "sarif":
        return render_sarif(diagnostics)
    if fmt == "junit":
        return render_junit(diagnostics, sources, files, strict)
    if fmt == "gitlab":
        return render_gitlab(diagnostics)
    raise ValueError(f"unknown format {fmt!r}")


def render_concise(diagnostics: list[Diagnostic]) -> str:
    """One line per diagnostic: `file:line:col: CODE message`."""
    lines = []
    for d in diagnostics:
        where = f"{escape(d.span)}: " if d.span else ""
        lines.append(f"{where}{d.code} {escape(d.message)}")
    return "".join(line + "\n" for line in lines)


def render_json_lines(diagnostics: list[Diagnostic]) -> str:
    """One JSON object per line per diagnostic, with the keys of `--format json`."""
    return "".join(
        json.dumps(diagnostic_json(d), ensure_ascii=True, separators=(",", ":")) + "\n"
        for d in diagnostics
    )


def anchor(code: str) -> str:
    """The anchor of a code's section in docs/diagnostics.md, as GitHub builds it."""
    heading = f"{code}: {code_title(code)}".lower()
    return re.sub(r"[^a-z0-9 _-]", "", heading).replace(" ", "-")


def help_uri(code: str) -> str:
    return f"{DOCS}#{anchor(code)}"


def relative(file: str) -> Path:
    """A file's path relative to the current folder where it lies below it, else as given."""
    path = Path(file)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd())
        except ValueError:
            return path
    return path


def artifact_uri(file: str) -> str:
    """A file as a SARIF artifact URI: relative to the current folder where it lies below it."""
    path = relative(file)
    if path.is_absolute():
        return path.as_uri()
    return quote(path.as_posix())


def _body(d: Diagnostic) -> str:
    """The message with its label and help, as the github format writes them."""
    body = escape(d.message)
    if d.label:
        body += f": {escape(d.label)}"
    if d.help:
        body += f"\nhelp: {escape(d.help)}"
    return body


def _region(span) -> dict:
    return {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": span.end_column,
    }


def render_sarif(diagnostics: list[Diagnostic]) -> str:
    """A SARIF 2.1.0 log: one run, a rule per code reported, a result per diagnostic."""
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "name": code_title(code),
            "shortDescription": {"text": code_title(code)},
            "helpUri": help_uri(code),
            "defaultConfiguration": {"level": "error" if code.startswith("E") else "warning"},
        }
        for code in codes
    ]
    results = []
    for d in diagnostics:
        result: dict = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": "error" if d.is_error else "warning",
            "message": {"text": _body(d)},
        }
        if d.span:
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact_uri(d.span.file)},
                        "region": _region(d.span),
                    }
                }
            ]
        if d.related:
            result["relatedLocations"] = [
                {
                    "id": i,
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact_uri(r.span.file)},
                        "region": _region(r.span),
                    },
                    "message": {"text": escape(r.message)},
                }
                for i, r in enumerate(d.related)
            ]
        results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "specc",
                        "version": __version__,
                        "informationUri": DOCS,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"


def render_junit(
    diagnostics: list[Diagnostic], sources: dict[str, str], files: list[str], strict: bool
) -> str:
    """JUnit XML: a test case per spec file, failed by errors (and by warnings under --strict).

    A failure's text is the file's text report; a passing file's warnings are
    its `system-out`.
    """
    by_file: dict[str, list[Diagnostic]] = {file: [] for file in files}
    for d in diagnostics:
        by_file.setdefault(d.span.file if d.span else "", []).append(d)
    cases = []
    failures = 0
    for file, found in by_file.items():
        errors = sum(d.is_error for d in found)
        warnings = len(found) - errors
        name = quoteattr(escape(file or "<unknown>"))
        case = f'    <testcase classname="specc.validate" name={name}'
        if not found:
            cases.append(case + "/>")
            continue
        text = xml_escape(render_text(found, sources))
        if errors or strict:
            failures += 1
            message = quoteattr(f"{count(errors, 'error')}, {count(warnings, 'warning')}")
            kind = "error" if errors else "warning"
            cases.append(
                f'{case}>\n      <failure message={message} type="{kind}">{text}</failure>\n'
                "    </testcase>"
            )
        else:
            cases.append(f"{case}>\n      <system-out>{text}</system-out>\n    </testcase>")
    head = f'name="specc" tests="{len(cases)}" failures="{failures}" errors="0"'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<testsuites {head}>\n"
        f"  <testsuite {head}>\n" + "".join(c + "\n" for c in cases) + "  </testsuite>\n"
        "</testsuites>\n"
    )


def fingerprint(d: Diagnostic) -> str:
    """Stable across runs: a hash of the file, code, message and line."""
    s = d.span
    key = "\0".join([s.file if s else "", d.code, d.message, str(s.line if s else 0)])
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def render_gitlab(diagnostics: list[Diagnostic]) -> str:
    """GitLab Code Quality: a JSON list of issues (`codequality` report artifact)."""
    issues = []
    for d in diagnostics:
        issues.append(
            {
                "description": f"{d.code} {escape(d.message)}",
                "check_name": d.code,
                "fingerprint": fingerprint(d),
                "severity": "major" if d.is_error else "minor",
                "location": {
                    "path": escape(relative(d.span.file).as_posix()) if d.span else "",
                    "lines": {"begin": d.span.line if d.span else 1},
                },
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=True) + "\n"
