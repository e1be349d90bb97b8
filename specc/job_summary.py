"""A Markdown report of `specc validate` for a CI job page (`$GITHUB_STEP_SUMMARY`).

    python -m specc.job_summary [VALIDATE OPTIONS] PATH... >> "$GITHUB_STEP_SUMMARY"

Takes the options of `specc validate` (`--strict`, `--select`, `--ignore`,
`--exclude` and `[tool.specc]` of pyproject.toml, read the same way; `--format`
and `--output-file` are accepted and ignored) and writes one table with a row
per spec: its status, its number of layers and each backend's parameter count
(as `specc summary` counts them: no framework is imported), then the problems
of each spec that has any. The GitHub Action (action.yml) runs it.

Exit codes: 0 when the report was written (it is a report: whether the specs
pass is `specc validate`'s to say), 2 on a usage or I/O error.
"""

from __future__ import annotations

import sys

from .cli import EXIT_ERROR, EXIT_OK, _parser, _settings, _UsageError, validated_files
from .config import selected
from .diagnostics import Diagnostic, escape
from .formats import count, summary_line
from .pipeline import Report, validate
from .summary import summary_data

# Column titles of the backends specc ships; another backend is titled by its name.
BACKEND_TITLES = {"keras": "Keras", "torch": "PyTorch"}


def markdown(text: object) -> str:
    """User text, escaped for a Markdown table cell or list item.

    Control characters, line breaks among them, are shown as
    `specc.diagnostics.escape` shows them (`\\x0a`); `&`, `<` and `>` become
    entities (no HTML reaches the page) and `|` cannot end a table cell.
    Backticks are kept: specc's messages quote names in code spans.
    """
    text = escape(str(text))
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        text = text.replace(old, new)
    return text


def code_span(text: object) -> str:
    """A file name as inline code (plain escaped text when it holds a backtick)."""
    text = str(text)
    if "`" in text:
        return markdown(text)
    return f"`{markdown(text)}`"


def status(diagnostics: list[Diagnostic], strict: bool) -> str:
    """`✅ ok`, `⚠️ 0 errors, 1 warning` or `❌ 2 errors, 0 warnings` (strict: warnings fail)."""
    if not diagnostics:
        return "✅ ok"
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    failed = errors or strict
    mark = "❌" if failed else "⚠️"
    text = f"{mark} {count(errors, 'error')}, {count(warnings, 'warning')}"
    return text + (" (strict)" if warnings and strict and not errors else "")


def problem(d: Diagnostic) -> str:
    """One list item: where, code, message and label."""
    where = f"{code_span(f'{d.span.file}:{d.span.line}:{d.span.column}')} " if d.span else ""
    text = d.message + (f": {d.label}" if d.label else "")
    return f"- {where}**{d.code}** ({d.severity.value}) {markdown(text)}"


def render(reports: list[Report], diagnostics: dict[str, list[Diagnostic]], strict: bool) -> str:
    """The job summary: a heading, a table with a row per spec, then each spec's problems."""
    data = {
        r.file: summary_data(r.graph) if r.ok and r.graph is not None else None for r in reports
    }
    backends = sorted({b for d in data.values() if d for b in d["params"]})
    everything = [d for r in reports for d in diagnostics[r.file]]
    lines = [f"## specc: {summary_line(everything, len(reports), strict).strip()}", ""]
    header = ["spec", "status", "layers", *(f"{BACKEND_TITLES.get(b, b)} params" for b in backends)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| --- | --- | " + " | ".join(["---:"] * (1 + len(backends))) + " |")
    for r in reports:
        summary = data[r.file]
        cells = [code_span(r.file), status(diagnostics[r.file], strict)]
        if summary is None:
            cells += ["–"] * (1 + len(backends))
        else:
            cells.append(str(len(summary["layers"])))
            cells += [
                f"{summary['params'][b]:,}" if b in summary["params"] else "–" for b in backends
            ]
        lines.append("| " + " | ".join(cells) + " |")
    troubled = [r for r in reports if diagnostics[r.file]]
    if troubled:
        lines += ["", "### Problems"]
        for r in troubled:
            lines += ["", f"#### {code_span(r.file)}", ""]
            lines += [problem(d) for d in diagnostics[r.file]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the job summary of `specc validate ARGV` to stdout; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parser().parse_args(["validate", *argv])
        if "-" in args.paths:
            raise _UsageError("the job summary reads spec files, not standard input (`-`)")
        settings = _settings(args)
        files = validated_files(args, settings)
    except _UsageError as exc:
        print(f"specc.job_summary: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    reports = []
    for path in files:
        try:
            reports.append(validate(path))
        except OSError as exc:
            print(
                f"specc.job_summary: error: cannot read `{escape(path)}`: "
                f"{escape(exc.strerror or exc)}",
                file=sys.stderr,
            )
            return EXIT_ERROR
    chosen = {
        r.file: [d for d in r.diagnostics if selected(d, settings["select"], settings["ignore"])]
        for r in reports
    }
    sys.stdout.write(render(reports, chosen, settings["strict"]))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
