"""`specc diff`: what changed between two versions of a spec.

Both sides go through `validate`; the diff compares their shaped graphs layer
by layer (matched by name, after block expansion) and their diagnostics
(matched by code and message, never by line, so moving a layer fixes
nothing). `diff_specs` builds one `SpecDiff`; `diff_data` is its stable JSON
document, and the text and Markdown views are written from the same object.

A side with errors is still compared as far as it was shaped: a layer whose
shape or parameter count could not be inferred shows `?`, the totals are
left out (they would count a broken model), and the errors are listed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, escape
from .graph import ModelGraph
from .ir import Node
from .pipeline import Report, check_text, validate
from .render import diagnostic_json
from .shapes import dim_json, show
from .summary import summary_data

FORMATS = ("text", "markdown", "json")
EXIT_OK, EXIT_ERROR = 0, 2
DOC_VERSION = 1  # of the JSON document; bumped only when a field changes meaning
DETAILS_AFTER = 10  # Markdown: a list longer than this folds into <details>
_UNSET = object()  # an attribute one side does not have


class DiffError(Exception):
    """A side could not be read (a usage or I/O problem: exit code 2)."""


@dataclass(frozen=True)
class Layer:
    """One node of a side, as the diff sees it."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: dict
    shape: tuple | None  # the inferred shape, batch first; None when not shaped
    params: dict[str, int]  # per backend; empty when not counted
    live: bool  # whether its result reaches an output

    @classmethod
    def of(cls, node: Node, model: ModelGraph) -> Layer:
        return cls(
            node.name,
            node.op,
            tuple(node.inputs),
            dict(node.attrs),
            tuple(node.meta["shape"]) if node.meta.get("shape") else None,
            dict(node.meta.get("params") or {}),
            node.name in model.live,
        )

    @property
    def shape_text(self) -> str:
        return show(self.shape) if self.shape is not None else "?"

    def fields(self) -> dict:
        """What a change of layer compares, besides shape and parameters."""
        return {"op": self.op, "inputs": list(self.inputs), **self.attrs, "live": self.live}

    def json(self) -> dict:
        return {
            "name": self.name,
            "op": self.op,
            "inputs": list(self.inputs),
            "shape": _shape_json(self.shape),
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class Change:
    """A layer present on both sides that differs."""

    old: Layer
    new: Layer
    fields: list[tuple[str, object, object]]  # (key, old value, new value); _UNSET if absent

    @property
    def name(self) -> str:
        return self.new.name

    @property
    def shape_changed(self) -> bool:
        return self.old.shape_text != self.new.shape_text


@dataclass
class Side:
    """One version of the spec: where it came from and what `validate` made of it."""

    label: str
    report: Report

    @property
    def graph(self) -> ModelGraph | None:
        return self.report.graph

    @property
    def layers(self) -> dict[str, Layer]:
        model = self.graph
        return {n.name: Layer.of(n, model) for n in model.order} if model else {}

    @property
    def totals(self) -> dict[str, int] | None:
        """The model's parameter counts as `specc summary` gives them; None with errors."""
        if not self.report.ok or self.graph is None:
            return None
        return summary_data(self.graph)["params"]


@dataclass
class SpecDiff:
    old: Side
    new: Side
    backends: list[str]
    compared: bool  # both sides have a graph to compare
    added: list[Layer] = field(default_factory=list)
    removed: list[Layer] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unshaped: list[str] = field(default_factory=list)  # on both sides, one could not shape it
    new_diagnostics: list[Diagnostic] = field(default_factory=list)
    fixed_diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def total_delta(self) -> dict[str, int | None] | None:
        old, new = self.old.totals, self.new.totals
        if old is None or new is None:
            return None
        return {b: _sub(new.get(b), old.get(b)) for b in self.backends}

    def not_compared_reason(self) -> str:
        broken = [s.label for s in (self.old, self.new) if s.graph is None]
        return f"{' and '.join(f'`{escape(b)}`' for b in broken)} could not be shaped"


def diff_specs(old: Side, new: Side) -> SpecDiff:
    """Compare two validated versions of a spec."""
    compared = old.graph is not None and new.graph is not None
    before, after = old.layers, new.layers
    backends = sorted(
        {b for side in (before, after) for layer in side.values() for b in layer.params}
    )
    result = SpecDiff(old, new, backends, compared)
    if compared:
        result.added = [layer for name, layer in after.items() if name not in before]
        result.removed = [layer for name, layer in before.items() if name not in after]
        for name, layer in after.items():
            if name in before:
                change = _compare(before[name], layer)
                if change is None:
                    continue
                if not change.fields and None in (change.old.shape, change.new.shape):
                    result.unshaped.append(name)  # written the same; an error upstream hides it
                else:
                    result.changed.append(change)
    result.new_diagnostics = _unmatched(new.report.diagnostics, old.report.diagnostics)
    result.fixed_diagnostics = _unmatched(old.report.diagnostics, new.report.diagnostics)
    return result


def _compare(old: Layer, new: Layer) -> Change | None:
    before, after = old.fields(), new.fields()
    fields = [
        (key, before.get(key, _UNSET), after.get(key, _UNSET))
        for key in [*before, *(k for k in after if k not in before)]
        if before.get(key, _UNSET) != after.get(key, _UNSET)
    ]
    if fields or old.shape_text != new.shape_text or old.params != new.params:
        return Change(old, new, fields)
    return None


def _unmatched(these: list[Diagnostic], others: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics of `these` with no match (same code and message) in `others`."""
    left = Counter((d.code, d.message) for d in others)
    out = []
    for d in these:
        key = (d.code, d.message)
        if left[key]:
            left[key] -= 1
        else:
            out.append(d)
    return out


def _sub(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


def _shape_json(shape: tuple | None) -> list | None:
    return None if shape is None else [dim_json(d) for d in shape[1:]]


def _value_json(value):
    return None if value is _UNSET else value


# --- reading the sides -------------------------------------------------------------


def side_from_path(path: str) -> Side:
    if not Path(path).is_file():
        raise DiffError(f"no such file: `{escape(path)}`")
    try:
        return Side(path, validate(Path(path)))
    except OSError as exc:
        raise DiffError(f"cannot read `{escape(path)}`: {escape(exc.strerror or exc)}") from None


def side_from_git(revision: str, path: str) -> Side:
    """PATH as it was at REVISION (`git show REV:PATH` in the repository holding PATH)."""
    if revision.startswith("-"):
        raise DiffError(f"`{escape(revision)}` is not a revision")
    if shutil.which("git") is None:
        raise DiffError("`--git` needs git, and no `git` command was found")
    file = Path(path)
    if not file.is_file():
        raise DiffError(f"no such file: `{escape(path)}`")
    folder = file.resolve().parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        raise DiffError(f"`{escape(path)}` is not inside a git repository")
    root = Path(top.decode().strip()).resolve()
    relative = file.resolve().relative_to(root).as_posix()
    if _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}") is None:
        raise DiffError(f"no revision `{escape(revision)}` in the repository at `{escape(root)}`")
    data = _git(root, "show", f"{revision}:{relative}")
    if data is None:
        raise DiffError(f"`{escape(relative)}` does not exist at revision `{escape(revision)}`")
    label = f"{revision}:{relative}"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DiffError(f"`{escape(label)}` is not valid UTF-8") from None
    return Side(label, check_text(text, label))


def _git(cwd: Path, *args: str) -> bytes | None:
    """git's stdout, or None when git fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiffError(f"cannot run git: {escape(exc)}") from None
    return done.stdout if done.returncode == 0 else None


# --- the JSON document -------------------------------------------------------------


def diff_data(diff: SpecDiff) -> dict:
    """The stable `specc diff --format json` document (see docs/diff.md)."""

    def side(s: Side) -> dict:
        return {
            "file": s.label,
            "name": s.graph.name if s.graph else None,
            "ok": s.report.ok,
            "params": s.totals,
            "errors": [diagnostic_json(d) for d in s.report.errors],
        }

    def change(c: Change) -> dict:
        return {
            "name": c.name,
            "op": c.new.op,
            "fields": {
                key: {"old": _value_json(a), "new": _value_json(b)} for key, a, b in c.fields
            },
            "shape": {"old": _shape_json(c.old.shape), "new": _shape_json(c.new.shape)},
            "params": _params_json(c.old.params, c.new.params, diff.backends),
        }

    return {
        "version": DOC_VERSION,
        "old": side(diff.old),
        "new": side(diff.new),
        "backends": diff.backends,
        "params": diff.total_delta,
        "layers": {
            "added": [layer.json() for layer in diff.added],
            "removed": [layer.json() for layer in diff.removed],
            "changed": [change(c) for c in diff.changed],
            "unshaped": list(diff.unshaped),
        }
        if diff.compared
        else None,
        "diagnostics": {
            "new": [diagnostic_json(d) for d in diff.new_diagnostics],
            "fixed": [diagnostic_json(d) for d in diff.fixed_diagnostics],
        },
    }


def _params_json(old: dict, new: dict, backends: list[str]) -> dict:
    return {
        b: {"old": old.get(b), "new": new.get(b), "delta": _sub(new.get(b), old.get(b))}
        for b in backends
    }


def diff_json(diff: SpecDiff) -> str:
    return json.dumps(diff_data(diff), indent=2, ensure_ascii=True) + "\n"


# --- text --------------------------------------------------------------------------


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _num(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def _signed(n: int | None) -> str:
    return "?" if n is None else f"{n:+,}"


def _value(value) -> str:
    if value is _UNSET:
        return "(unset)"
    return escape(json.dumps(value, ensure_ascii=False))


def _where(d: Diagnostic) -> str:
    s = d.span
    return f"{escape(s.file)}:{s.line}:{s.column}" if s else ""


def _diagnostic_line(d: Diagnostic) -> str:
    where = _where(d)
    return f"{d.severity.value}[{d.code}]: {escape(d.message)}" + (
        f"  --> {where}" if where else ""
    )


def _totals_text(diff: SpecDiff) -> str:
    old, new, delta = diff.old.totals, diff.new.totals, diff.total_delta
    if delta is None:
        broken = " and ".join(s.label for s in (diff.old, diff.new) if s.totals is None)
        return f"parameters: not compared ({escape(broken)} has errors)"
    parts = [
        f"{b} {_num(old.get(b))} -> {_num(new.get(b))} ({_signed(delta[b])})" for b in diff.backends
    ]
    return "parameters: " + ("; ".join(parts) if parts else "none counted")


def _layer_params(old: dict, new: dict, backends: list[str]) -> str:
    return "; ".join(
        f"{b} {_num(old.get(b))} -> {_num(new.get(b))} ({_signed(_sub(new.get(b), old.get(b)))})"
        for b in backends
    )


def _plain_params(params: dict, backends: list[str]) -> str:
    return ", ".join(f"{b} {_num(params.get(b))}" for b in backends)


def diff_text(diff: SpecDiff) -> str:
    old, new = diff.old, diff.new
    out = [f"specc diff: {escape(old.label)} -> {escape(new.label)}"]
    names = [s.graph.name if s.graph else "?" for s in (old, new)]
    out.append(
        f"model `{escape(names[1])}`"
        if names[0] == names[1]
        else f"model `{escape(names[0])}` -> `{escape(names[1])}`"
    )
    out.append(_totals_text(diff))
    if not diff.compared:
        out.append(f"layers: not compared ({diff.not_compared_reason()})")
    else:
        out.append(
            f"layers: {len(diff.added)} added, {len(diff.removed)} removed, "
            f"{len(diff.changed)} changed"
        )
        for layer in diff.added:
            out.append(
                f"  + {escape(layer.name)}  {layer.op}  {layer.shape_text}  "
                f"{_plain_params(layer.params, diff.backends)}".rstrip()
            )
        for layer in diff.removed:
            out.append(
                f"  - {escape(layer.name)}  {layer.op}  {layer.shape_text}  "
                f"{_plain_params(layer.params, diff.backends)}".rstrip()
            )
        for c in diff.changed:
            out.append(f"  ~ {escape(c.name)}  {c.new.op}")
            for key, a, b in c.fields:
                out.append(f"      {escape(key)}: {_value(a)} -> {_value(b)}")
            if c.shape_changed:
                out.append(f"      output shape: {c.old.shape_text} -> {c.new.shape_text}")
            else:
                out.append(f"      output shape: {c.new.shape_text} (unchanged)")
            if diff.backends and c.old.params != c.new.params:
                out.append(
                    f"      params: {_layer_params(c.old.params, c.new.params, diff.backends)}"
                )
        if diff.unshaped:
            names = ", ".join(escape(n) for n in diff.unshaped)
            out.append(f"  not compared (written the same, not shaped after an error): {names}")
    for title, found in (
        ("new diagnostics", diff.new_diagnostics),
        ("fixed diagnostics", diff.fixed_diagnostics),
    ):
        out.append(f"{title}: {len(found)}")
        out += [f"  {_diagnostic_line(d)}" for d in found]
    for side in (old, new):
        if side.report.errors:
            out.append(f"errors in {escape(side.label)}: {len(side.report.errors)}")
            out += [f"  {_diagnostic_line(d)}" for d in side.report.errors]
    return "\n".join(out) + "\n"


# --- Markdown (a pull-request comment) ---------------------------------------------


def _cell(text: str) -> str:
    """User text in a table cell: no control characters, no pipes, no HTML."""
    text = escape(text).replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    """User text as inline code in a table cell (pipes escaped, as GFM tables need)."""
    text = escape(text).replace("|", "\\|")
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _table(header: list[str], rows: list[list[str]], numeric: int, title: str) -> list[str]:
    """A table; folded into <details> when longer than DETAILS_AFTER rows."""
    align = ["---"] * (len(header) - numeric) + ["---:"] * numeric
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    if len(rows) <= DETAILS_AFTER:
        return [f"**{title}**", "", *lines, ""]
    return [f"<details><summary>{title}</summary>", "", *lines, "", "</details>", ""]


def _headline(diff: SpecDiff) -> str:
    name = diff.new.graph.name if diff.new.graph else diff.old.graph.name if diff.old.graph else "?"
    delta, old = diff.total_delta, diff.old.totals
    if delta is None:
        params = "parameters not compared (errors)"
    elif not any(delta.values()):
        params = "no parameter change"
    else:
        parts = []
        for b in diff.backends:
            pct = f" ({delta[b] / old[b]:+.1%})" if old.get(b) and delta[b] is not None else ""
            parts.append(f"{b} {_signed(delta[b])}{pct}")
        params = "parameters " + ", ".join(parts)
    return f"### specc diff `{_cell(name)}`: {params}"


def diff_markdown(diff: SpecDiff) -> str:
    old, new = diff.old, diff.new
    out = [_headline(diff), ""]
    if diff.compared:
        layers = (
            f"{len(diff.added)} added, {len(diff.removed)} removed, "
            f"{len(diff.changed)} changed layers"
        )
    else:
        layers = f"layers not compared ({diff.not_compared_reason()})"
    out += [
        f"{_code(old.label)} → {_code(new.label)} · {layers} · "
        f"{_count(len(diff.new_diagnostics), 'new diagnostic')}, "
        f"{len(diff.fixed_diagnostics)} fixed",
        "",
    ]
    totals = diff.total_delta
    if totals is not None and diff.backends:
        rows = [
            [b, _num(old.totals.get(b)), _num(new.totals.get(b)), _signed(totals[b])]
            for b in diff.backends
        ]
        out += _table(["backend", "old", "new", "delta"], rows, 3, "Parameters")
    rows = []
    for layer, mark in [(x, "added") for x in diff.added] + [(x, "removed") for x in diff.removed]:
        sign = 1 if mark == "added" else -1
        rows.append(
            [
                _code(layer.name),
                f"{mark} ({layer.op})",
                _code(layer.shape_text),
                *(_signed(_times(sign, layer.params.get(b))) for b in diff.backends),
            ]
        )
    for c in diff.changed:
        what = "; ".join(
            f"{_code(k)}: {_cell(_value(a))} → {_cell(_value(b))}" for k, a, b in c.fields
        )
        shape = (
            f"{_code(c.old.shape_text)} → {_code(c.new.shape_text)}"
            if c.shape_changed
            else _code(c.new.shape_text)
        )
        rows.append(
            [
                _code(c.name),
                what or "through its inputs",
                shape,
                *(_signed(_sub(c.new.params.get(b), c.old.params.get(b))) for b in diff.backends),
            ]
        )
    if rows:
        header = ["layer", "change", "output shape", *(f"{b} Δ" for b in diff.backends)]
        out += _table(header, rows, len(diff.backends), f"Layers ({len(rows)})")
    if diff.unshaped:
        names = ", ".join(_code(n) for n in diff.unshaped)
        out += [f"Not compared (written the same, not shaped after an error): {names}", ""]
    for title, found in (
        ("New diagnostics", diff.new_diagnostics),
        ("Fixed diagnostics", diff.fixed_diagnostics),
        *((f"Errors in {_code((s.label))}", s.report.errors) for s in (old, new)),
    ):
        if found:
            rows = [[d.severity.value, d.code, _cell(_where(d)), _cell(d.message)] for d in found]
            out += _table(
                ["severity", "code", "where", "message"], rows, 0, f"{title} ({len(found)})"
            )
    return "\n".join(out).rstrip() + "\n"


def _times(sign: int, n: int | None) -> int | None:
    return None if n is None else sign * n


RENDERERS = {"text": diff_text, "markdown": diff_markdown, "json": diff_json}


# --- the command -------------------------------------------------------------------


def add_parser(commands) -> None:
    """Register `specc diff` on the CLI's subcommands."""
    parser = commands.add_parser(
        "diff", help="what changed between two versions of a spec (layers, params, diagnostics)"
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="OLD NEW, or with --git the one PATH"
    )
    parser.add_argument(
        "--git", metavar="REV", help="compare PATH at git revision REV with the working tree's"
    )
    parser.add_argument("--format", choices=FORMATS, default="text")


def run(args, out) -> int:
    """`specc diff`: 0 once both sides were read (it is a report), 2 when one cannot be."""
    try:
        if args.git is not None:
            if len(args.paths) != 1:
                raise DiffError("`--git REV` takes one PATH (its working-tree version is NEW)")
            old = side_from_git(args.git, args.paths[0])
            new = side_from_path(args.paths[0])
        else:
            if len(args.paths) != 2:
                raise DiffError("give two specs, OLD and NEW (or `--git REV PATH`)")
            old, new = side_from_path(args.paths[0]), side_from_path(args.paths[1])
    except DiffError as exc:
        print(f"specc: error: {exc}", file=sys.stderr)
        print("usage: specc diff OLD NEW | specc diff --git REV PATH", file=sys.stderr)
        return EXIT_ERROR
    out.write(RENDERERS[args.format](diff_specs(old, new)))
    return EXIT_OK
