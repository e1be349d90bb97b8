"""Expands blocks and `repeat` into flat layer records, with their spans.

A block instance `{name: b1, block: res}` copies the block's layers under the
prefix `b1_`, substitutes `$param` values (keeping the YAML node of the value,
so an error in it points where the value was written), and maps the block's
inputs to the instance's sources. `b1` then names the block's output. A layer
or instance with `repeat: N` chains N copies, suffixed `_1` ... `_N`, and its
own name names the last copy. Every node from an expansion carries the chain
of instances it came from, so its diagnostics point at the block's line and
name the instance's line as related.

The expansion knows no op: it yields each written layer once per scope as a
`Definition` (its `$param`s substituted), then each copy of it as a `Layer`
(named and wired), and `specc.check` turns them into IR nodes. It is a
generator, so a layer is checked as soon as it is defined, before its
references are resolved: diagnostics come out in the order of the spec.

A block is expanded once per place and parameter values; its other copies
(`repeat`, or other instances with the same values) are renamings of that one
(`specc.copies`), so the cost is one step per layer however deep blocks nest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .copies import (
    Aliases,
    CopiedOrigin,
    Copy,
    InstanceOrigin,
    Origin,
    Template,
    make_template,
    related_of,
)
from .diagnostics import Diagnostics, Related, Span, escape, show_value
from .ir import POISON, Node, Spec, located
from .loader import YamlMap, YamlScalar, YamlSeq, has_refused, to_plain
from .names import is_identifier, is_reference, split_port
from .schema import INSTANCE_KEYS, NAME_HELP, check_instance, check_name
from .schema_file import MAX_REPEAT

MAX_NODES = 20_000
# Copies of blocks inside blocks expanded afresh (a renamed copy costs one step
# per layer; more than this many distinct parameter values is hostile input).
MAX_EXPANSIONS = 2_000
MAX_BLOCK_DEPTH = 32  # blocks inside blocks; deeper is hostile input, not architecture
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def name_of(node: object) -> str | None:
    """The name a YAML node gives, or None when it is not an identifier (reported elsewhere)."""
    value = node.value if isinstance(node, YamlScalar) else None
    return value if is_identifier(value) else None


@dataclass(eq=False, slots=True)
class Definition:
    """One written layer in one block scope, `$param`s substituted: what gets checked.

    Every copy of a block with the same parameter values shares one
    definition, so a block repeated 10,000 times is checked once.
    """

    item: YamlMap  # `$param`s substituted
    op_node: object  # the `op` as written (a `$param` is not an op)
    local: str  # its name in the block
    span: Span  # of its name
    block: str | None  # None at the top level
    origin: tuple[Related, ...]  # the instances of the first copy, innermost first
    checkable: bool  # False when a `$param` in it was reported already


@dataclass(slots=True)
class Layer:
    """One layer of the flat spec; `definition` None for a layer refused by name or value."""

    name: str
    span: Span  # of its name
    item: YamlMap
    inputs: tuple[str, ...]
    input_spans: tuple[Span, ...]
    origin: Origin
    definition: Definition | None


Record = Definition | Layer


@dataclass(slots=True)
class _Expanded:
    """A block copy expanded afresh: its scope and where its layers and aliases are logged.

    It becomes a `Template` when a second copy asks for it (most never do).
    """

    scope: _Scope
    layers: slice
    aliases: slice


@dataclass
class _Scope:
    """Where layers are being expanded: the top level, or one copy of a block."""

    prefix: str = ""
    local_names: frozenset = frozenset()  # the layer names of the block (blocks only)
    sources: dict = field(default_factory=dict)  # block input name -> (global name, span)
    params: dict | None = None  # param name -> YAML node of its value (blocks only)
    origin: tuple[Related, ...] = ()
    blocks_open: tuple[str, ...] = ()
    block: str = ""
    previous: tuple[str, Span] | None = None  # the layer a layer without `inputs` reads


class _Expander:
    def __init__(self, blocks: dict[str, YamlMap], inputs: list[Node], diags: Diagnostics):
        self.blocks = blocks
        self.model_inputs = inputs
        self.diags = diags
        self.count = 0
        self.aliases = Aliases()
        self.names: set[str] = set()
        self.used_blocks: set[str] = set()
        # (layer item, *parameter value nodes) -> its definition. The nodes are
        # the key (hashed by identity, and kept alive by it), so a key cannot
        # match a later object that took a freed one's id.
        self.definitions: dict[tuple, Definition] = {}
        # (block, blocks open, parameter value nodes) -> its first copy expanded,
        # made a template when a second copy comes (specc.copies)
        self.templates: dict[tuple, _Expanded | Template] = {}
        self.layer_log: list[Layer] = []  # the layers made, in order
        self.expansions = 0  # copies of blocks inside blocks expanded afresh
        self.instance_checks: dict[tuple, bool] = {}  # an instance's own key nodes -> ok
        self.too_big = False
        self.last: tuple[str, Span] | None = None

    # -- names ------------------------------------------------------------------

    def _named(self, item: YamlMap, scope: _Scope) -> str | None:
        """The layer's name when it is an identifier; reports a missing or invalid one."""
        name_node = item.get("name")
        name = name_of(name_node)
        if name is None:
            if name_node is None:
                self.diags.error(
                    "E102",
                    "layer needs `name`",
                    item.span,
                    help="add `name: ...` (an identifier)",
                    related=scope.origin,
                )
            elif isinstance(name_node, YamlScalar) and isinstance(name_node.value, str):
                self.diags.error(
                    "E106",
                    f"`{escape(name_node.value)}` is not a valid name",
                    name_node.span,
                    help=NAME_HELP,
                    related=scope.origin,
                )
            else:
                self.diags.error(
                    "E103", "`name` must be a name", name_node.span, related=scope.origin
                )
        return name

    # -- references -------------------------------------------------------------

    def _reference(self, ref: YamlScalar, scope: _Scope) -> tuple[str, Span] | None:
        """The global name of a reference (a port, `enc.h`, keeps its port)."""
        if not is_reference(ref.value):
            return None  # the schema reports it
        name, port = split_port(ref.value)
        if scope.params is None:
            return ref.value, ref.span
        if name in scope.local_names:
            return scope.prefix + ref.value, ref.span
        if name in scope.sources:
            return scope.sources[name][0] + port, ref.span
        hint = self.diags.suggest(name, scope.local_names, scope.sources)
        self.diags.error(
            "E301",
            f"unknown name `{escape(name)}` in block `{scope.block}`",
            ref.span,
            help=(f"did you mean `{hint}`? " if hint else "")
            + "a block's layers read only the block's inputs and its own layers",
            related=scope.origin,
        )
        return None

    def _sources(self, item: YamlMap, scope: _Scope, name: str, what: str):
        """The (global name, span) pairs a layer reads, or None if they cannot be resolved."""
        given = item.get("inputs")
        if given is None:
            if scope.previous is not None:  # implied: point at the layer itself
                return [(scope.previous[0], item.get("name").span)]
            candidates = (
                list(scope.sources.values())
                if scope.params is not None
                else [(n.name, n.span()) for n in self.model_inputs]
            )
            if len(candidates) == 1:
                return [(candidates[0][0], item.get("name").span)]
            where = f"block `{scope.block}`" if scope.params is not None else "the spec"
            self.diags.error(
                "E102",
                f"{what} `{escape(name)}` needs `inputs`: it is the first layer and "
                f"{where} has {len(candidates)} inputs",
                item.get("name").span,
                help="add `inputs: [...]` naming its sources",
                related=scope.origin,
            )
            return None
        return self._references(given, scope)

    def _references(self, given, scope: _Scope) -> list[tuple[str, Span]] | None:
        """The (global name, span) pairs of a reference or a list of them."""
        refs = (
            [given]
            if isinstance(given, YamlScalar)
            else (given.items if isinstance(given, YamlSeq) else [])
        )
        out = []
        for ref in refs:
            if not isinstance(ref, YamlScalar):
                return None
            resolved = self._reference(ref, scope)
            if resolved is None:
                return None
            out.append(resolved)
        return out or None

    # -- substitution -----------------------------------------------------------

    def _substitute(self, node, scope: _Scope):
        """A copy of `node` with every `$param` value replaced by the parameter's node."""
        if scope.params is None:
            return node
        if isinstance(node, YamlScalar):
            if isinstance(node.value, str) and node.value.startswith("$"):
                match = _PARAM.fullmatch(node.value)
                if match and match.group(1) in scope.params:
                    return scope.params[match.group(1)]
                hint = self.diags.suggest(node.value[1:], scope.params)
                self.diags.error(
                    "E202",
                    f"`{escape(node.value)}` is not a parameter of block `{scope.block}`",
                    node.span,
                    help=f"did you mean `${hint}`?"
                    if hint
                    else "declare it under the block's `params:`",
                    related=scope.origin,
                )
            return node
        if isinstance(node, YamlSeq):
            return YamlSeq([self._substitute(item, scope) for item in node.items], node.span)
        if isinstance(node, YamlMap):
            entries = {
                key: (key_node, self._substitute(value, scope) if key != "inputs" else value)
                for key, (key_node, value) in node.entries.items()
            }
            return YamlMap(entries, node.span)
        return node

    # -- layers -----------------------------------------------------------------

    def run(self, items: list, scope: _Scope) -> Iterator[Record]:
        """Expand a list of layer mappings; leaves the last layer's (name, span) in `scope`."""
        for item in items:
            if self.too_big:
                return
            if not isinstance(item, YamlMap):
                self.diags.error(
                    "E103",
                    f"a layer must be a mapping, got {show_value(to_plain(item))}",
                    item.span,
                    help="write a layer as `{name: ..., op: ..., ...}`",
                    related=scope.origin,
                )
                scope.previous = (POISON, item.span)
                continue
            if has_refused(item):
                # A value the loader refused: reported once, there; the layer
                # keeps its name when it has one, so nothing else cascades.
                yield from self._refused(item, scope)
                continue
            if self._named(item, scope) is None:
                scope.previous = (POISON, item.span)
                continue
            if not check_name(item.get("name"), self.diags, scope.origin):
                yield from self._refused(item, scope)  # kept by name: no unknown references
                continue
            if item.get("block") is not None:
                yield from self._instance(item, scope)
            else:
                yield from self._layer(item, scope)

    def _refused(self, item: YamlMap, scope: _Scope) -> Iterator[Layer]:
        name_node = item.get("name")
        name = name_of(name_node)
        if name is None:
            scope.previous = (POISON, item.span)
            return
        global_name = scope.prefix + name
        if self._add(global_name, name_node.span, scope.origin):
            yield self._made(Layer(global_name, name_node.span, item, (), (), scope.origin, None))
        scope.previous = (global_name, name_node.span)

    def _repeat(self, item: YamlMap) -> int:
        node = item.get("repeat")
        value = node.value if isinstance(node, YamlScalar) else None
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REPEAT:
            return value
        return 1  # a bad value is reported by the schema

    def _add(self, name: str, span: Span, origin: Origin) -> bool:
        """Count a layer against MAX_NODES; False (reported) when it is one too many."""
        if self.count >= MAX_NODES:
            self.too_big = True
            self.diags.error(
                "E204",
                f"expansion makes more than {MAX_NODES} layers",
                span,
                help="lower a `repeat:` count",
                related=related_of(origin),
            )
            return False
        self.count += 1
        self.names.add(name)
        return True

    def _made(self, layer: Layer) -> Layer:
        self.layer_log.append(layer)
        return layer

    def _layer(self, item: YamlMap, scope: _Scope) -> Iterator[Record]:
        local = item.get("name").value
        name = scope.prefix + local
        definition = self._definition(item, local, scope)
        yield definition  # checked now: its problems come before its references'
        yield from self._place(definition, name, scope)

    def _definition(self, item: YamlMap, local: str, scope: _Scope) -> Definition:
        """The layer with its `$param`s substituted; one per item and parameter values."""
        if scope.params is None:
            span = item.get("name").span
            return Definition(item, item.get("op"), local, span, None, scope.origin, True)
        key = (item, *scope.params.values())
        definition = self.definitions.get(key)
        if definition is None:
            before = len(self.diags.items)
            substituted = self._substitute(item, scope)
            checkable = len(self.diags.items) == before  # else a `$param` was reported
            span = item.get("name").span
            definition = Definition(
                substituted, item.get("op"), local, span, scope.block, scope.origin, checkable
            )
            self.definitions[key] = definition
        return definition

    def _place(self, definition: Definition, name: str, scope: _Scope) -> Iterator[Layer]:
        """The copies of a defined layer (`repeat`), each reading the one before."""
        item = definition.item
        span = definition.span
        sources = self._sources(item, scope, definition.local, "layer")
        states = []  # `initial_state`: inputs after the sequence (specc.states)
        if item.get("initial_state") is not None and sources is not None:
            states = self._references(item.get("initial_state"), scope)
        if sources is None or states is None:
            sources, states = [(POISON, span)], []
        repeat = self._repeat(item)
        for k in range(1, repeat + 1):
            copy_name = f"{name}_{k}" if repeat > 1 else name
            if not self._add(copy_name, span, scope.origin):
                return
            yield self._made(
                Layer(
                    copy_name,
                    span,
                    item,
                    tuple(s[0] for s in sources + states),
                    tuple(s[1] for s in sources + states),
                    scope.origin,
                    definition,
                )
            )
            sources = [(copy_name, span)]  # each copy starts from the same states
        if repeat > 1:
            self.aliases[name] = f"{name}_{repeat}"
        scope.previous = (name, span)

    # -- block instances --------------------------------------------------------

    def _instance(self, item: YamlMap, scope: _Scope) -> Iterator[Record]:
        local = item.get("name").value
        name = scope.prefix + local
        block_node = item.get("block")
        block = block_node.value if isinstance(block_node, YamlScalar) else to_plain(block_node)
        sources = self._sources(item, scope, local, "instance")
        scope.previous = (POISON, item.get("name").span)  # until the expansion succeeds
        if not isinstance(block, str):
            self.diags.error(
                "E103",
                f"`block` must be a block name, got {show_value(block)}",
                block_node.span,
                related=scope.origin,
            )
            return
        if block not in self.blocks:
            hint = self.diags.suggest(block, self.blocks)
            self.diags.error(
                "E201",
                f"unknown block `{escape(str(block))}`",
                block_node.span,
                help=f"did you mean `{hint}`?" if hint else "define it under `blocks:`",
                related=scope.origin,
            )
            return
        if block in scope.blocks_open:
            self.diags.error(
                "E203",
                f"block `{block}` uses itself",
                block_node.span,
                help="a block cannot contain an instance of itself",
                related=scope.origin,
            )
            return
        if len(scope.blocks_open) >= MAX_BLOCK_DEPTH:
            self.too_big = True  # stop: fanned-out nesting would otherwise walk every path
            self.diags.error(
                "E204",
                f"blocks nested more than {MAX_BLOCK_DEPTH} deep",
                block_node.span,
                help="use fewer levels of blocks inside blocks",
                related=scope.origin[-3:],
            )
            return
        self.used_blocks.add(block)
        definition = self.blocks[block]
        before = len(self.diags.items)
        item = self._substitute(item, scope)
        if len(self.diags.items) > before or not self._instance_ok(item, scope):
            return
        params = self._params(item, definition, block, scope)
        if params is None or sources is None:
            return
        layers = definition.get("layers")
        layer_items = layers.items if isinstance(layers, YamlSeq) else []
        block_inputs = _block_inputs(definition)
        repeat = self._repeat(item)
        if len(sources) != len(block_inputs):
            self.diags.error(
                "E403",
                f"block `{block}` takes {len(block_inputs)} input"
                f"{'s' if len(block_inputs) != 1 else ''}, instance `{escape(local)}` gives "
                f"{len(sources)}",
                item.get("inputs").span if item.get("inputs") else item.get("name").span,
                help="give one source for each of its inputs: "
                + ", ".join(f"`{escape(str(i))}`" for i in block_inputs),
                related=scope.origin,
            )
            return
        if repeat > 1 and len(block_inputs) > 1:
            self.diags.error(
                "E403",
                f"block `{block}` takes {len(block_inputs)} inputs, so it cannot be repeated: "
                "each copy reads only the copy before",
                item.get("repeat").span,
                help="write the copies out as separate instances",
                related=scope.origin,
            )
            return
        local_names = frozenset(name for name in map(_layer_name, layer_items) if name is not None)
        if not self._block_names_ok(definition, block_inputs, local_names, scope):
            return
        output = _block_output(definition, layer_items)
        origin_here = InstanceOrigin.of(item.get("name").span, block, name)
        key = (block, scope.blocks_open, frozenset(params.items()))
        last = None
        for k in range(1, repeat + 1):
            prefix = f"{name}_{k}_" if repeat > 1 else f"{name}_"
            child = _Scope(
                prefix=prefix,
                local_names=local_names,
                sources={n: s for n, s in zip(block_inputs, sources, strict=True)},
                params=params,
                origin=(origin_here, *scope.origin),
                blocks_open=(*scope.blocks_open, block),
                block=block,
            )
            template = self._template_for(key)
            if template is not None:
                yield from self._rename(template, child)
            else:
                yield from self._expand(layer_items, child, key, nested=scope.params is not None)
            if self.too_big:
                return
            output_name, port = split_port(output.value) if output is not None else ("", "")
            if output is None or output_name not in local_names:
                if k == 1:
                    self.diags.error(
                        "E204",
                        f"block `{block}`'s output is not one of its layers",
                        output.span if output is not None else definition.span,
                        help="name one of the block's layers under `outputs:`",
                        related=child.origin,
                    )
                return
            last = prefix + output.value  # a port (`enc.h`) is made by the graph builder
            base = prefix + output_name
            if base not in self.names and base not in self.aliases:
                last = POISON  # the output failed to expand; that was reported
                break
            sources = [(last, item.get("name").span)]
        self.aliases[name] = last
        scope.previous = (name, item.get("name").span)

    def _expand(self, items: list, child: _Scope, key: tuple, nested: bool) -> Iterator[Record]:
        """A block copy expanded afresh; the first of its key may become a template."""
        if nested:  # copies written in the spec are paid for by its text
            self.expansions += 1
        if self.expansions > MAX_EXPANSIONS:
            self.too_big = True
            self.diags.error(
                "E204",
                f"blocks inside blocks are expanded more than {MAX_EXPANSIONS} times",
                child.origin[0].span,
                help="use fewer distinct parameter values for blocks inside blocks",
                related=child.origin[-3:],  # the outermost, as for nesting too deep
            )
            return
        layers, aliases = len(self.layer_log), len(self.aliases.log)
        yield from self.run(items, child)
        if not self.too_big and key not in self.templates:
            self.templates[key] = _Expanded(
                child, slice(layers, len(self.layer_log)), slice(aliases, len(self.aliases.log))
            )

    def _template_for(self, key: tuple) -> Template | None:
        """The template of a key's copies, made from its first copy; None to expand afresh.

        A copy that cannot be renamed is forgotten, so the next copy expanded
        afresh gets its chance (a failed source in a first copy only).
        """
        template = self.templates.get(key)
        if isinstance(template, _Expanded):
            scope = template.scope
            template = make_template(
                scope.prefix,
                [name for name, _ in scope.sources.values()],
                len(scope.origin),
                self.layer_log[template.layers],
                self.aliases.made(template.aliases),
            )
            if template is None:
                del self.templates[key]
            else:
                self.templates[key] = template
        return template

    def _rename(self, template: Template, child: _Scope) -> Iterator[Layer]:
        """A block copy as a renaming of the template: one step per layer, however deep."""
        copy = Copy(child.prefix, template, tuple(name for name, _ in child.sources.values()))
        origins: dict[int, CopiedOrigin] = {}  # one per origin in the template
        for relative, inputs, layer in template.layers:
            origin = origins.get(id(layer.origin))
            if origin is None:
                origin = CopiedOrigin(
                    layer.origin, template.outer, template.prefix, copy.prefix, child.origin
                )
                origins[id(layer.origin)] = origin
            name = copy.prefix + relative
            if not self._add(name, layer.span, origin):
                return
            inputs = tuple(map(copy.name, inputs))
            yield self._made(
                Layer(
                    name,
                    layer.span,
                    layer.item,
                    inputs,
                    layer.input_spans,
                    origin,
                    layer.definition,
                )
            )
        self.aliases.add_copy(copy)

    def _instance_ok(self, item: YamlMap, scope: _Scope) -> bool:
        """`check_instance`, once per distinct value of the instance's own keys.

        Those keys hold the same YAML nodes in every copy unless a `$param`
        is substituted into one, so a block expanded once per parameter value
        does not check its instances' unchanged keys again.
        """
        key = tuple(item.get(k) for k in INSTANCE_KEYS)  # nodes, hashed by identity
        ok = self.instance_checks.get(key)
        if ok is None:
            ok = self.instance_checks[key] = check_instance(item, self.diags, scope.origin)
        return ok

    def _block_names_ok(self, definition: YamlMap, inputs: list[str], local_names, scope) -> bool:
        """A block's input names are distinct and differ from its layers' names."""
        node = definition.get("inputs")
        items = node.items if isinstance(node, YamlSeq) else []
        seen = set()
        for item in items:
            name = item.value if isinstance(item, YamlScalar) else None
            problem = None
            if name in seen:
                problem = f"block input `{name}` is listed twice"
            elif name in local_names:
                problem = f"block input `{name}` has the name of one of the block's layers"
            seen.add(name)
            if problem:
                self.diags.error(
                    "E204",
                    problem,
                    item.span,
                    help="give each block input and layer its own name",
                    related=scope.origin,
                )
                return False
        return True

    def _params(self, item: YamlMap, definition: YamlMap, block: str, scope: _Scope):
        """Parameter values for one instance: given ones, then defaults; None on error."""
        declared = definition.get("params")
        declared = declared.entries if isinstance(declared, YamlMap) else {}
        values = {}
        ok = True
        for key, (key_node, value) in item.entries.items():
            if key in INSTANCE_KEYS:
                continue
            if key not in declared:
                hint = self.diags.suggest(key, declared)
                self.diags.error(
                    "E202",
                    f"block `{block}` has no parameter `{escape(key)}`",
                    key_node.span,
                    help=f"did you mean `{hint}`?"
                    if hint
                    else (
                        "its parameters: " + ", ".join(f"`{p}`" for p in declared)
                        if declared
                        else "the block declares no `params:`"
                    ),
                    related=scope.origin,
                )
                ok = False
                continue
            values[key] = value  # `$param`s of an enclosing block are substituted already
        for key, (key_node, default) in declared.items():
            if key in values:
                continue
            if isinstance(default, YamlScalar) and default.value is None:
                self.diags.error(
                    "E202",
                    f"instance `{escape(item.get('name').value)}` of block `{block}` "
                    f"needs parameter `{key}`",
                    item.get("name").span,
                    help=f"add `{key}: ...` to the instance",
                    related=[
                        Related(key_node.span, "declared here without a default"),
                        *scope.origin,
                    ],
                )
                ok = False
                continue
            values[key] = default
        return values if ok else None


def _block_inputs(definition: YamlMap) -> list[str]:
    node = definition.get("inputs")
    if isinstance(node, YamlSeq):
        return [i.value for i in node.items if isinstance(i, YamlScalar)]
    return ["x"]


def _layer_name(layer: object) -> str | None:
    """A block layer's name when it is a valid one (bad names are reported per layer)."""
    return name_of(layer.get("name")) if isinstance(layer, YamlMap) else None


def _block_output(definition: YamlMap, layer_items: list) -> YamlScalar | None:
    node = definition.get("outputs")
    if isinstance(node, YamlSeq) and node.items:
        node = node.items[0]
    if isinstance(node, YamlScalar) and isinstance(node.value, str):
        return node
    for layer in reversed(layer_items):
        if _layer_name(layer) is not None:
            return layer.get("name")
    return None


def _inputs(root: YamlMap) -> list[Node]:
    inputs = []
    for item in root.get("inputs").items:
        data = to_plain(item)
        attrs = {"shape": data["shape"], "dtype": data.get("dtype", "float32")}
        inputs.append(Node(data["name"], "input", attrs, (), located(_name_span(item), item)))
    return inputs


def _name_span(item: YamlMap) -> Span:
    name = item.get("name")
    return name.span if name is not None else item.span


def _blocks(root: YamlMap) -> dict[str, YamlMap]:
    blocks_node = root.get("blocks")
    if not isinstance(blocks_node, YamlMap):
        return {}
    return {key: value for key, (_, value) in blocks_node.entries.items()}


class Expansion:
    """A spec's expansion: iterate `records()` (through the checks), then ask for `spec`."""

    def __init__(self, root: YamlMap, file: str, diags: Diagnostics):
        self.root = root
        self.file = file
        self.diags = diags
        self.inputs = _inputs(root)
        self._expander = _Expander(_blocks(root), self.inputs, diags)
        self._last: tuple[str, Span] | None = None

    def records(self) -> Iterator[Record]:
        """Each layer's definition, then its copies, in the order of the spec."""
        scope = _Scope()
        yield from self._expander.run(self.root.get("layers").items, scope)
        self._last = scope.previous if not self._expander.too_big else None

    def spec(self, layers: list[Node]) -> Spec | None:
        """The flat spec, given the checked `layers` of `records()`.

        None when the expansion went over MAX_NODES (reported): a graph of the
        first 20,000 layers would only produce follow-on errors.
        """
        root, diags, expander = self.root, self.diags, self._expander
        if expander.too_big:
            return None
        dims_node = root.get("dims")
        dims = {}
        if isinstance(dims_node, YamlMap):
            for key, (_, value) in dims_node.entries.items():
                dims[key] = value.value if isinstance(value, YamlScalar) else None
        blocks_node = root.get("blocks")
        # Like W305, W205 waits for a spec without errors: a misspelt instance
        # would make the block it meant look unused.
        if isinstance(blocks_node, YamlMap) and not diags.has_errors:
            for key, (key_node, _) in blocks_node.entries.items():
                if key not in expander.used_blocks:
                    diags.warning(
                        "W205",
                        f"block `{key}` is never used, so its layers are not checked",
                        key_node.span,
                        help="use it in a layer (`{name: ..., block: " + key + "}`) or remove it",
                    )
        outputs_node = root.get("outputs")
        if outputs_node is None:
            outputs = [self._last] if self._last else []
        else:
            refs = outputs_node.items if isinstance(outputs_node, YamlSeq) else [outputs_node]
            outputs = [(ref.value, ref.span) for ref in refs]
        batch = root.get("batch_size")
        description = root.get("description")
        return Spec(
            file=self.file,
            name=root.get("name").value,
            description=description.value
            if isinstance(description, YamlScalar) and isinstance(description.value, str)
            else "",
            dims=dims,
            batch_size=batch.value if batch is not None else None,
            inputs=self.inputs,
            layers=layers,
            aliases=expander.aliases,
            outputs=outputs,
        )


def expand(root: YamlMap, file: str, diags: Diagnostics) -> Expansion:
    """The expansion of a spec whose top level checked; it runs as its records are read."""
    return Expansion(root, file, diags)
