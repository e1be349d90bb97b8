"""Renamed block copies: a block expanded once, its other copies made by renaming.

`specc.expand` expands a block copy afresh once per key (the block, the blocks
it sits in, and its parameter values as YAML nodes, compared by identity so
that a value's problems are reported where it was written). When a second
copy with that key comes, the first one becomes a `Template`: its layers and
aliases with names relative to its prefix and inputs as block-input
positions. The copy is then the template under its own prefix and sources:
one step per layer, however deep its blocks nest.

Renaming must give exactly what expanding afresh gives. A template is not
made (and every copy is expanded) where the first copy's names depend on
anything outside it: a failed or repeated source, a source named like one of
its layers, or a reference inside it that only resolved to a name outside.

What a renamed copy leaves unwritten until asked: the origin of its layers
(`CopiedOrigin`, the chain of instances a diagnostic shows), and the aliases
of the instances inside it (`Aliases` looks them up in the template).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from .diagnostics import Related, Span
from .ir import POISON
from .names import split_port

if TYPE_CHECKING:
    from .expand import Layer


@dataclass(frozen=True)
class InstanceOrigin(Related):
    """The related line naming a block instance; it keeps the name, so a copy can rename it."""

    block: str = ""
    instance: str = ""

    @classmethod
    def of(cls, span: Span, block: str, instance: str) -> InstanceOrigin:
        return cls(span, f"in block `{block}`, instance `{instance}`", block, instance)

    def renamed(self, old_prefix: str, new_prefix: str) -> InstanceOrigin:
        """The same line in the copy whose names start with `new_prefix`, not `old_prefix`."""
        assert self.instance.startswith(old_prefix), (self.instance, old_prefix)
        renamed = new_prefix + self.instance[len(old_prefix) :]
        return InstanceOrigin.of(self.span, self.block, renamed)


@dataclass(frozen=True, slots=True)
class CopiedOrigin:
    """The origin of a layer in a renamed copy, made when a diagnostic asks (each time).

    The template's layer has `template_origin`: its first entries are the
    instances inside the template's copy (renamed from `old_prefix` to
    `new_prefix`), its last `outer` entries (the copy's own instance and what
    holds it) are replaced by `outer_origin`, the new copy's.
    """

    template_origin: Origin
    outer: int
    old_prefix: str
    new_prefix: str
    outer_origin: tuple[Related, ...]

    def related(self) -> tuple[Related, ...]:
        first = related_of(self.template_origin)
        inner = first[: len(first) - self.outer]
        renamed = (r.renamed(self.old_prefix, self.new_prefix) for r in inner)
        return (*renamed, *self.outer_origin)


Origin = tuple[Related, ...] | CopiedOrigin


def related_of(origin: Origin) -> tuple[Related, ...]:
    """The related lines of an origin, renaming a copied one."""
    return origin if isinstance(origin, tuple) else origin.related()


# A name in a template: relative to its prefix (str), a block input's position
# (int), or None for a source that failed.
Relative = str | int | None


class TemplateLayer(NamedTuple):
    relative: str  # its name without the copy's prefix
    inputs: tuple[Relative, ...]
    layer: Layer  # as the expanded copy made it


@dataclass(slots=True)
class Template:
    """One expanded block copy with its names relative to its prefix."""

    prefix: str
    outer: int  # how many entries of each layer's origin lie outside the copy
    layers: list[TemplateLayer] = field(default_factory=list)
    aliases: dict[str, Relative] = field(default_factory=dict)  # each to the end of its chain


def make_template(
    prefix: str,
    sources: list[str],
    outer: int,
    layers: list[Layer],
    aliases: list[tuple[str, str]],
) -> Template | None:
    """The template of the copy expanded under `prefix` from `sources`; None if not renameable.

    `layers` and `aliases` are what the copy made, in order. Renaming needs
    what the copy's names mean to depend on the copy alone: distinct sources
    that are valid and not named like its layers, and references inside it to
    its own layers and instances only.
    """
    positions = {name: index for index, name in enumerate(sources)}
    if POISON in positions or len(positions) != len(sources):
        return None
    if any(name.startswith(prefix) for name in sources):
        return None
    template = Template(prefix, outer)
    made = set()
    for layer in layers:
        if not layer.name.startswith(prefix):
            return None
        made.add(layer.name[len(prefix) :])
    chains: dict[str, Relative] = {}
    for name, target in aliases:
        if not name.startswith(prefix):
            return None
        chains[name[len(prefix) :]] = _relative(target, prefix, positions)
    made |= chains.keys()

    def inside(relative: Relative) -> bool:
        return not isinstance(relative, str) or split_port(relative)[0] in made

    for layer in layers:
        inputs = tuple(_relative(name, prefix, positions) for name in layer.inputs)
        if not all(map(inside, inputs)):
            return None  # it read a name outside the copy, found by its prefixed name
        template.layers.append(TemplateLayer(layer.name[len(prefix) :], inputs, layer))
    for name, target in chains.items():
        hops = 0  # an instance's output is often another instance: go to the end
        while isinstance(target, str) and target in chains and hops < len(chains):
            target = chains[target]
            hops += 1
        if target is None or not inside(target):
            return None  # the output failed, or was found outside the copy
        template.aliases[name] = target
    return template


def _relative(name: str, prefix: str, positions: dict[str, int]) -> Relative:
    if name in positions:
        return positions[name]
    if name == POISON:
        return None
    if not name.startswith(prefix) or split_port(name)[0] in positions:
        return "\0" + name  # never inside
    return name[len(prefix) :]


@dataclass(frozen=True, slots=True)
class Copy:
    """A renamed block copy: its template's names under `prefix`, reading `sources`."""

    prefix: str
    template: Template
    sources: tuple[str, ...]

    def name(self, relative: Relative) -> str:
        """A template's name in this copy."""
        if relative is None:
            return POISON
        return self.sources[relative] if isinstance(relative, int) else self.prefix + relative

    def aliases(self) -> list[tuple[str, str]]:
        return [(self.prefix + n, self.name(t)) for n, t in self.template.aliases.items()]


_ABSENT = object()


class Aliases(Mapping):
    """Names that stand for a node: an instance's, its output; a repeated layer's, its last copy.

    A renamed copy's aliases (one per instance in it) are not written out: a
    name is looked up in the templates of the copies whose prefix it starts
    with. As in a dict, the alias written last wins when a name is written
    twice (a clash the spec does not refuse).
    """

    def __init__(self):
        self.direct: dict[str, str] = {}
        self._written: dict[str, int] = {}  # a direct alias -> when it was written
        self.copies: dict[str, list[tuple[int, Copy]]] = {}  # prefix -> (when, copy)
        self._prefix_lengths: set[int] = set()
        self.log: list[tuple[str, str] | Copy] = []  # what was added, in order
        self._copied = 0

    def __setitem__(self, name: str, target: str) -> None:
        self.direct[name] = target
        self._written[name] = len(self.log)
        self.log.append((name, target))

    def add_copy(self, copy: Copy) -> None:
        if copy.template.aliases:
            self.copies.setdefault(copy.prefix, []).append((len(self.log), copy))
            self._prefix_lengths.add(len(copy.prefix))
            self._copied += len(copy.template.aliases)
            self.log.append(copy)

    def made(self, part: slice) -> list[tuple[str, str]]:
        """The aliases added in `part` of the log, written out."""
        made = []
        for entry in self.log[part]:
            made.extend(entry.aliases() if isinstance(entry, Copy) else [entry])
        return made

    def __getitem__(self, name: str) -> str:
        target = self._lookup(name)
        if target is _ABSENT:
            raise KeyError(name)
        return target

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup(name) is not _ABSENT

    def _lookup(self, name: str):
        target = self.direct.get(name, _ABSENT)
        if not self.copies:
            return target
        when = self._written.get(name, -1)
        for length in self._prefix_lengths:  # few: one per length of copy names
            if length >= len(name) or name[length - 1] != "_":
                continue
            for written, copy in self.copies.get(name[:length], ()):
                relative = copy.template.aliases.get(name[length:], _ABSENT)
                if relative is not _ABSENT and written > when:
                    target, when = copy.name(relative), written
        return target

    def __iter__(self) -> Iterator[str]:
        yield from self.direct
        for copies in self.copies.values():
            for _, copy in copies:
                for name in copy.template.aliases:
                    yield copy.prefix + name

    def __len__(self) -> int:
        return len(self.direct) + self._copied
