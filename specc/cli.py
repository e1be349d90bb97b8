"""The `specc` command line.

Exit codes: 0 clean (warnings allowed unless `--strict`), 1 problems found,
2 usage, I/O or internal error. Nothing a user types ends in a traceback.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from pathlib import Path

from . import __version__, diff
from .backend import EmitError, UnknownBackend, load_backend
from .config import ConfigError, excluded, load_config, parse_codes, selected
from .diagnostics import escape
from .draw import add_parser as add_graph_parser
from .draw import command as graph_command
from .formats import FORMATS, render_report
from .loader import is_spec_file
from .pipeline import Report, validate, validate_stream
from .render import render_text
from .schema import schema_text
from .summary import summary_json, summary_text

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2
SPEC_SUFFIXES = (".yaml", ".yml")
STDIN = "<stdin>"
# Folders a search skips (hidden ones too: `.git`, `.venv`, `.github`): they
# hold other tools' YAML, not specs. A file named on the command line is
# always checked.
SKIPPED_FOLDERS = frozenset({"node_modules", "site-packages", "__pycache__"})


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="specc", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"specc {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    check = commands.add_parser("validate", help="check specs and report every problem")
    check.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="spec files, or folders searched for *.yaml and *.yml; `-` reads standard input",
    )
    check.add_argument("--format", choices=FORMATS, help="report format (default: text)")
    check.add_argument(
        "--output-file",
        metavar="FILE",
        help="write the report to FILE in --format; the terminal gets the text report",
    )
    check.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fail on warnings too",
    )
    check.add_argument(
        "--select",
        action="append",
        default=None,
        metavar="CODE[,CODE]",
        help="report only these codes, or codes starting with these prefixes (`W5`)",
    )
    check.add_argument(
        "--ignore",
        action="append",
        default=None,
        metavar="CODE[,CODE]",
        help="do not report these codes (or prefixes)",
    )
    check.add_argument(
        "--exclude",
        action="append",
        default=None,
        metavar="GLOB[,GLOB]",
        help="skip files found in folders that match these globs",
    )
    _stdin_filename(check)
    _specs_only(check)
    summary = commands.add_parser("summary", help="each layer's shape and parameter counts")
    summary.add_argument("spec", metavar="SPEC", help="a spec file; `-` reads standard input")
    summary.add_argument("--format", choices=("text", "json"), default="text")
    _stdin_filename(summary)
    add_graph_parser(commands)
    build = commands.add_parser("compile", help="emit the model's source for a backend")
    build.add_argument(
        "specs", nargs="+", metavar="SPEC", help="spec files (several need --out-dir)"
    )
    build.add_argument("--backend", default="torch", help="torch, keras, or an installed one")
    target = build.add_mutually_exclusive_group()
    target.add_argument("-o", "--output", metavar="FILE", help="write here (atomically)")
    target.add_argument(
        "--out-dir", metavar="DIR", help="write each SPEC to DIR/<its file stem>.py (atomically)"
    )
    build.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and show a diff when a file differs from what compile writes",
    )
    _specs_only(build)
    commands.add_parser("schema", help="print the spec format's JSON Schema")
    diff.add_parser(commands)
    return parser


def _specs_only(parser) -> None:
    parser.add_argument(
        "--specs-only",
        action="store_true",
        help="skip, silently, YAML files without a top-level `specc:` (other tools' files: "
        "what the pre-commit hooks pass)",
    )


def _stdin_filename(parser) -> None:
    parser.add_argument(
        "--stdin-filename",
        metavar="NAME",
        default=STDIN,
        help=f"the name of the spec read from `-` in diagnostics (default: {STDIN})",
    )


def spec_files(paths: list[str]) -> list[Path]:
    """The spec files named by PATHs: files as given, folders searched recursively."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in SPEC_SUFFIXES and p.is_file() and not _skipped(p.relative_to(path))
            )
            if not inside:
                raise _UsageError(f"no *.yaml or *.yml files under `{escape(raw)}`")
            found += inside
        elif path.exists():
            found.append(path)
        else:
            raise _UsageError(f"no such file or folder: `{escape(raw)}`")
    return found


def _skipped(relative: Path) -> bool:
    """Whether a file found in a folder lies in a hidden or a tool's folder."""
    folders = relative.parts[:-1]
    return any(part.startswith(".") or part in SKIPPED_FOLDERS for part in folders)


def _settings(args) -> dict:
    """The validate settings: command line flags over `[tool.specc]` of pyproject.toml."""
    starts = [Path.cwd()] + [Path(p) for p in args.paths if p != "-"][:1]
    try:
        config = load_config(starts)
        table = config.values
        where = f"`{config.path}` [tool.specc]"
        settings = {
            "format": args.format or table.get("format", "text"),
            "strict": args.strict if args.strict is not None else table.get("strict", False),
            "select": parse_codes(args.select, "--select")
            if args.select is not None
            else parse_codes(table.get("select", []), f"{where} `select`"),
            "ignore": parse_codes(args.ignore, "--ignore")
            if args.ignore is not None
            else parse_codes(table.get("ignore", []), f"{where} `ignore`"),
            "exclude": [g for item in args.exclude for g in item.split(",") if g]
            if args.exclude is not None
            else table.get("exclude", []),
            "root": config.root,
        }
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    if settings["format"] not in FORMATS:
        raise _UsageError(
            f"{where} `format`: `{escape(settings['format'])}` is none of {', '.join(FORMATS)}"
        )
    return settings


def validated_files(args, settings: dict) -> list[Path | None]:
    """The files `validate` reads for its PATHs (None: standard input), each once: folders
    searched, `exclude` applied to what a search found, and with `--specs-only` only specs."""
    files: list[Path | None] = []
    for raw in args.paths:
        if raw == "-":
            found = [None]
        else:
            found = [
                path
                for path in spec_files([raw])
                if path == Path(raw) or not excluded(path, settings["exclude"], settings["root"])
            ]
        files += [path for path in found if path not in files]
    if args.specs_only:
        files = [path for path in files if path is None or is_spec_file(path)]
    return files


def _validate(args, out) -> int:
    settings = _settings(args)
    files = validated_files(args, settings)
    reports: list[Report] = []
    io_failed = False
    for path in files:
        try:
            if path is None:
                reports.append(validate_stream(sys.stdin.buffer, args.stdin_filename))
            else:
                reports.append(validate(path))
        except OSError as exc:
            print(
                f"specc: error: cannot read `{escape(path)}`: {escape(exc.strerror or exc)}",
                file=sys.stderr,
            )
            io_failed = True
    diagnostics = [
        d
        for r in reports
        for d in r.diagnostics
        if selected(d, settings["select"], settings["ignore"])
    ]
    sources = {r.file: r.text for r in reports}
    names = [args.stdin_filename if p is None else str(p) for p in files]
    fmt, strict = settings["format"], settings["strict"]
    if args.output_file is None:
        out.write(render_report(fmt, diagnostics, sources, names, strict))
    else:
        out.write(render_report("text", diagnostics, sources, names, strict))
        try:
            write_atomically(
                Path(args.output_file), render_report(fmt, diagnostics, sources, names, strict)
            )
        except OSError as exc:
            print(
                f"specc: error: cannot write `{escape(args.output_file)}`: "
                f"{escape(exc.strerror or exc)}",
                file=sys.stderr,
            )
            return EXIT_ERROR
    if io_failed:
        return EXIT_ERROR
    failed = any(d.is_error or strict for d in diagnostics)
    return EXIT_PROBLEMS if failed else EXIT_OK


def _summary(args, out) -> int:
    path = Path(args.spec)
    if args.spec != "-" and not path.is_file():
        raise _UsageError(f"no such file: `{escape(args.spec)}`")
    try:
        if args.spec == "-":
            report = validate_stream(sys.stdin.buffer, args.stdin_filename)
        else:
            report = validate(path)
    except OSError as exc:
        print(
            f"specc: error: cannot read `{escape(path)}`: {escape(exc.strerror or exc)}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if not report.ok or report.graph is None:
        sys.stderr.write(render_text(report.diagnostics, {report.file: report.text}))
        return EXIT_PROBLEMS
    out.write(summary_json(report.graph) if args.format == "json" else summary_text(report.graph))
    return EXIT_OK


def _compile(args, out) -> int:
    paths = [Path(spec) for spec in args.specs]
    for path in paths:
        if not path.is_file():
            raise _UsageError(f"no such file: `{escape(path)}`")
    if args.specs_only:
        paths = [path for path in paths if is_spec_file(path)]
        if not paths:
            return EXIT_OK
    if args.out_dir is None and len(paths) > 1:
        raise _UsageError("several specs need `--out-dir DIR` (one file each)")
    if args.check and args.output is None and args.out_dir is None:
        raise _UsageError("`--check` compares with files: give `-o FILE` or `--out-dir DIR`")
    if args.out_dir is not None:
        targets = [Path(args.out_dir) / f"{path.stem}.py" for path in paths]
        named = {}
        for path, target in zip(paths, targets, strict=True):
            if target in named:
                raise _UsageError(
                    f"`{escape(named[target])}` and `{escape(path)}` would both be "
                    f"written to `{escape(target)}`"
                )
            named[target] = path
    else:
        targets = [None if args.output is None else Path(args.output)]
    try:
        backend = load_backend(args.backend)
    except UnknownBackend as exc:
        raise _UsageError(str(exc)) from None
    codes = [
        _compile_one(path, target, backend, args.check, out)
        for path, target in zip(paths, targets, strict=True)
    ]
    return max(codes)


def _compile_one(path: Path, target: Path | None, backend, check: bool, out) -> int:
    """Compile one spec to `target` (stdout when None), or with `check` compare it there."""
    try:
        report = validate(path)
    except OSError as exc:
        print(
            f"specc: error: cannot read `{escape(path)}`: {escape(exc.strerror or exc)}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if not report.ok or report.graph is None:
        sys.stderr.write(render_text(report.diagnostics, {report.file: report.text}))
        return EXIT_PROBLEMS
    try:
        source = backend.emit(report.graph)
    except EmitError as exc:
        sys.stderr.write(render_text(exc.diagnostics, {report.file: report.text}))
        return EXIT_PROBLEMS
    if target is None:
        out.write(source)
        return EXIT_OK
    try:
        if check:
            return _check_file(target, source, path, out)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, source)
    except OSError as exc:
        print(
            f"specc: error: cannot {'read' if check else 'write'} `{escape(target)}`: "
            f"{escape(exc.strerror or exc)}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK


def _check_file(target: Path, source: str, spec: Path, out) -> int:
    """`compile --check`: 0 when `target` holds exactly `source`, else 1 and a unified diff."""
    try:
        written = target.read_bytes()
    except FileNotFoundError:
        command = f"specc compile {escape(spec)} -o {escape(target)}"
        out.write(f"{escape(target)}: missing; `{command}` writes it\n")
        return EXIT_PROBLEMS
    if written == source.encode("utf-8"):
        return EXIT_OK
    old = written.decode("utf-8", "replace")
    if old.splitlines() == source.splitlines():  # the same lines, other bytes
        out.write(f"{escape(target)}: differs in line ends or encoding only\n")
        return EXIT_PROBLEMS
    import difflib  # only a stale file needs it

    diff = difflib.unified_diff(
        old.splitlines(keepends=True),
        source.splitlines(keepends=True),
        str(target),
        f"{target} (specc compile)",
    )
    for line in diff:
        out.write(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return EXIT_PROBLEMS


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target, then rename: readers see the old file or the new one.

    The text is written as UTF-8 with `\\n` line ends on every platform. The file
    keeps the mode of the one it replaces; a new one gets 0666 less the umask,
    as `open()` would give it (the temporary file starts private, 0600).
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0o022)  # reading the umask means setting it: put it back at once
        os.umask(mask)
        mode = 0o666 & ~mask
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, then renamed
        "w",
        encoding="utf-8",
        newline="\n",
        dir=path.parent or ".",
        prefix=f".{path.name}.",
        suffix=".tmp",
        delete=False,
    )
    try:
        with handle:
            handle.write(text)
        os.chmod(handle.name, mode)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    out = sys.stdout
    try:
        args = _parser().parse_args(argv)
        if args.command == "validate":
            return _validate(args, out)
        if args.command == "summary":
            return _summary(args, out)
        if args.command == "graph":
            return graph_command(args, out)
        if args.command == "compile":
            return _compile(args, out)
        if args.command == "diff":
            return diff.run(args, out)
        out.write(schema_text())
        return EXIT_OK
    except _UsageError as exc:
        print(f"specc: error: {exc}", file=sys.stderr)
        print(
            "usage: specc {validate,summary,compile,graph,diff,schema} ... (see `specc --help`)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `specc validate ... | head`: the reader left; not our error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stdout must stay valid at exit
        return EXIT_ERROR
    except BaseException as exc:  # noqa: BLE001 - the promise is: never a traceback
        print(f"specc: internal error: {type(exc).__name__}: {escape(exc)}", file=sys.stderr)
        print("please report this with the spec that caused it", file=sys.stderr)
        return EXIT_ERROR


def main_exit() -> None:
    sys.exit(main())
