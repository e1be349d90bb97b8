"""`specc validate`'s settings: the `[tool.specc]` table of pyproject.toml, and code selection.

The table is read from the nearest `pyproject.toml` at or above the current
folder or, when there is none, at or above the first path checked. Command
line flags win over it. Codes are selected as ruff selects rules: by a code or
a prefix of codes (`W5`, `E4`, `W`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .diagnostics import BACKEND_CODES, CODES, Diagnostic

KEYS = {"ignore": list, "select": list, "strict": bool, "exclude": list, "format": str}


class ConfigError(Exception):
    """A setting that cannot be used (a usage error: exit code 2)."""


@dataclass
class Config:
    """The `[tool.specc]` table: where it was found and what it sets."""

    path: Path | None = None
    values: dict = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def find_pyproject(starts: list[Path]) -> Path | None:
    """The nearest pyproject.toml at or above each start in turn (the first found)."""
    for start in starts:
        start = start.resolve()
        folder = start if start.is_dir() else start.parent
        for candidate in (folder, *folder.parents):
            path = candidate / "pyproject.toml"
            if path.is_file():
                return path
    return None


def load_config(starts: list[Path]) -> Config:
    """The `[tool.specc]` table of the nearest pyproject.toml (empty when there is none)."""
    path = find_pyproject(starts)
    if path is None:
        return Config()
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            return Config(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read `{path}`: {exc}") from None
    table = data.get("tool", {}).get("specc", {})
    if not isinstance(table, dict):
        raise ConfigError(f"`{path}`: [tool.specc] must be a table")
    for key, value in table.items():
        if key not in KEYS:
            known = ", ".join(f"`{k}`" for k in KEYS)
            raise ConfigError(f"`{path}`: unknown setting `{key}` in [tool.specc] (known: {known})")
        kind = KEYS[key]
        if not isinstance(value, kind) or (
            kind is list and not all(isinstance(v, str) for v in value)
        ):
            what = {list: "a list of strings", bool: "true or false", str: "a string"}[kind]
            raise ConfigError(f"`{path}`: [tool.specc] `{key}` must be {what}")
    return Config(path, table)


def known_codes() -> set[str]:
    """Every code specc can report: its own and those of the installed backends."""
    from .backend import installed_backends

    installed_backends()  # registers the backends' codes
    return set(CODES) | set(BACKEND_CODES)


def parse_codes(items: list[str], where: str) -> tuple[str, ...]:
    """Codes or prefixes of codes (`W5`), checked against the catalogue."""
    if not any(part.strip() for item in items for part in item.split(",")):
        return ()  # nothing to check: the backends' codes are not looked up
    codes = known_codes()
    out = []
    for item in items:
        for part in item.split(","):
            part = part.strip().upper()
            if not part:
                continue
            if not any(code.startswith(part) for code in codes):
                raise ConfigError(f"{where}: `{part}` is no code or prefix of codes")
            out.append(part)
    return tuple(out)


def selected(d: Diagnostic, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """Whether a diagnostic is reported: matched by `select` (all when empty), not by `ignore`."""
    if select and not d.code.startswith(select):
        return False
    return not d.code.startswith(ignore) if ignore else True


def excluded(path: Path, globs: list[str], root: Path) -> bool:
    """Whether a file found in a folder matches an `exclude` glob.

    A glob is matched against the file's path relative to `root` (the folder
    of the pyproject.toml, else the current folder) and against each folder
    above it, so `tests/errors` and `tests/errors/*` both skip that folder,
    and `*_draft.yaml` skips such files anywhere.
    """
    if not globs:
        return False
    resolved = path.resolve()
    try:
        relative = PurePosixPath(resolved.relative_to(root.resolve()).as_posix())
    except ValueError:
        relative = PurePosixPath(path.as_posix())
    candidates = [str(relative)] + [str(p) for p in relative.parents if str(p) != "."]
    for glob in globs:
        glob = glob.rstrip("/")
        if any(fnmatch.fnmatch(c, glob) for c in candidates) or relative.match(glob):
            return True
    return False
