"""Checks a loaded spec against the spec format and maps each problem to its YAML node.

The format is the op table (`specc.optable`) plus the top level written in
`specc.schema_file`, which together make the JSON Schema (schemas/spec.schema.json
is that document, for editors). For speed and for clear messages, the checker
does not run the whole schema over the document: it checks the top level with
layers left opaque, then checks each layer against a validator built once for
its op (the op's attributes from the table plus the common layer keys). Each
jsonschema error becomes one diagnostic at the exact key or value, never a
dump of the sub-schema.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from .diagnostics import Diagnostics, Related, Span, did_you_mean, escape, show_value
from .loader import YamlMap, YamlScalar, YamlSeq, has_refused, node_at, to_plain
from .names import REFERENCE_PATTERN, is_identifier, is_reference, reserved_reason
from .optable import OPS
from .schema_file import MAX_REPEAT, build_schema, layer_common, schema_json

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

NAME_HELP = "names are ASCII identifiers: a letter or `_`, then letters, digits or `_`"
REFERENCE_HELP = (
    "name an input or layer (an ASCII identifier), or a state port of a recurrent layer: "
    "`LAYER.h`, `LAYER.c`, `LAYER.h_forward`, ..."
)
LAYER_KEYS = ("name", "op", "inputs", "repeat", "description", "ignore")
INSTANCE_KEYS = ("name", "block", "inputs", "repeat", "description", "ignore")
SHARED_KEYS = ("name", "shares", "inputs", "repeat", "description", "ignore")


def schema_text() -> str:
    """The spec format's JSON Schema, as `specc schema` prints it."""
    return schema_json()


# YAML gives `64.0` as a float; JSON Schema would call it an integer. A layer
# size written as a float is a mistake (or a YAML surprise), so refuse it.
def _pattern(validator, pattern: str, instance, schema):
    """`pattern` as JSON Schema (ECMA 262) means it: `$` matches only at the very end.

    Python's `re.search` lets `$` match before a final newline, so `"x\n"` (a
    YAML block scalar, or a quoted "x\n") would pass `^[A-Za-z_]...$` and
    reach the emitters as a name.
    """
    if not isinstance(instance, str):
        return
    strict = (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    )
    if re.search(strict, instance) is None:
        from jsonschema.exceptions import ValidationError  # loaded: it is running us

        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator_class() -> type[Validator]:
    """Draft 2020-12 with the strict `pattern` and YAML-aware `integer` above.

    jsonschema is imported here, when the first spec reaches the schema check:
    `specc --help` and `specc schema` never need it, and it is slow to import.
    """
    from jsonschema import Draft202012Validator, validators

    return validators.extend(
        Draft202012Validator,
        validators={"pattern": _pattern},
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
            "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
        ),
    )


@dataclass
class OpSchema:
    """What the schema says about one op: its attributes, defaults and validators.

    `is_valid` is the fast path: it checks keys and each attribute value on its
    own, caching the verdict per (attribute, value), so a 10,000-layer spec
    costs a few dict look-ups per layer. Only a layer that fails it goes
    through the full validator, whose errors become the diagnostics.
    """

    name: str
    attributes: tuple[str, ...]
    required: tuple[str, ...]
    defaults: dict
    layer_validator: Validator
    inner_validator: Validator
    value_validators: dict[str, Validator]
    verdicts: dict = field(default_factory=dict)

    def is_valid(self, data: dict, inner: bool) -> bool:
        keys = _INNER_KEYS if inner else _LAYER_KEYS
        for key in self.required:
            if key not in data:
                return False
        for key, value in data.items():
            if key in keys:
                if not _valid_common(key, value, inner):
                    return False
                continue
            validator = self.value_validators.get(key)
            if validator is None:
                return False
            frozen = (key, _freeze(value))
            verdict = self.verdicts.get(frozen)
            if verdict is None:
                verdict = self.verdicts[frozen] = validator.is_valid(value)
            if not verdict:
                return False
        return "op" in data and (inner or "name" in data)


class SpecSchema:
    """The schema, compiled once per process into the validators the checker uses."""

    def __init__(self, schema: dict):
        compiled = _validator_class()
        self.schema = schema
        defs = schema["$defs"]
        top = copy.deepcopy(schema)
        # Layers are checked one by one, by op (`check_layer`); the top-level
        # pass sees only placeholders for them.
        del top["properties"]["layers"]["items"]
        del top["$defs"]["block"]["properties"]["layers"]["items"]
        self.top_validator = compiled(top)
        instance = defs["block_instance"]
        self.instance_validator = compiled(
            {
                "type": "object",
                "properties": instance["properties"],
                "required": instance["required"],
                "$defs": defs,
            }
        )
        self.shared_validator = compiled({**defs["shared_layer"], "$defs": defs})
        self.ops: dict[str, OpSchema] = {}
        common = layer_common()
        for op, declared in OPS.items():
            props = {a.name: a.schema() for a in declared.attrs}
            if "layer" in props:  # the wrapped layer is checked on its own, by its op
                props = {**props, "layer": {"type": "object"}}
            required = tuple(a.name for a in declared.attrs if a.required)
            layer = {
                "type": "object",
                "properties": {**common, **props},
                "required": ["name", "op", *required],
                "additionalProperties": False,
                "$defs": defs,
            }
            inner = {
                "type": "object",
                "properties": {"op": common["op"], "description": common["description"], **props},
                "required": ["op", *required],
                "additionalProperties": False,
                "$defs": defs,
            }
            defaults = declared.defaults()
            value_validators = {
                attr: compiled({**prop, "$defs": defs}) for attr, prop in props.items()
            }
            self.ops[op] = OpSchema(
                op,
                tuple(props),
                required,
                defaults,
                compiled(layer),
                compiled(inner),
                value_validators,
            )


_LAYER_KEYS = frozenset(LAYER_KEYS)
_INNER_KEYS = frozenset(("op", "description"))


def _valid_common(key: str, value, inner: bool) -> bool:
    """The fast path's check of the keys every layer has (mirrors `$defs/layer`)."""
    if key == "name" or key == "op":
        return isinstance(value, str) and (key == "op" or is_identifier(value))
    if key == "inputs":
        if isinstance(value, str):
            return is_reference(value)
        return isinstance(value, list) and bool(value) and all(is_reference(v) for v in value)
    if key == "repeat":
        return type(value) is int and 1 <= value <= MAX_REPEAT
    if key == "ignore":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)  # description


def _freeze(value):
    """A hashable key for a plain value that tells `true` from `1` and `1` from `1.0`."""
    if isinstance(value, list):
        return ("list", tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _freeze(v)) for k, v in value.items())))
    return (type(value).__name__, value)


@cache
def spec_schema() -> SpecSchema:
    return SpecSchema(build_schema())


_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "`true` or `false`",
    "null": "null",
    "array": "a list",
    "object": "a mapping",
}


class SchemaReporter:
    """Turns jsonschema errors on one YAML subtree into located diagnostics."""

    def __init__(self, diags: Diagnostics, root, origin: tuple[Related, ...] = (), what: str = ""):
        self.diags = diags
        self.root = root
        self.origin = origin
        self.what = what  # e.g. "`lstm` layer `enc`", used to open messages

    def report(self, errors) -> bool:
        """Report every error once; True if there were none.

        A value of the wrong type fails its other checks too (`const`,
        `minimum`): only the type error is reported. A misspelt key is an
        unknown key and, when it was required, a missing one: only the
        unknown key is reported, with the right name suggested.
        """
        errors = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
        typed = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
        self.suggested = set()
        for e in errors:
            if e.validator == "additionalProperties" and isinstance(e.instance, dict):
                allowed = set(e.schema.get("properties", {}))
                for key in set(e.instance) - allowed:
                    hint = did_you_mean(key, allowed)
                    if hint:
                        self.suggested.add((tuple(e.absolute_path), hint))
        for error in errors:
            path = tuple(error.absolute_path)
            if error.validator != "type" and path in typed:
                continue
            self._one(error)
        return not errors

    def _where(self, path) -> str:
        field = _field_name(path)
        if field and self.what:
            return f"`{field}` of {self.what}"
        if field:
            return f"`{field}`"
        return self.what or "the spec"

    def _error(self, code, message, node, *, label="", help=""):
        span = node.span
        # Inside a block, the origin names the layer's line; skip it when the
        # problem is on that line already.
        related = [
            r
            for r in self.origin
            if not (r.span.file == span.file and span.line <= r.span.line <= span.end_line)
        ]
        self.diags.error(code, message, span, label=label, help=help, related=related)

    def _one(self, error: ValidationError) -> None:
        path = list(error.absolute_path)
        node, key_node = node_at(self.root, path)
        if isinstance(node, YamlScalar) and node.refused:
            return  # the loader reported this value already
        if path == ["specc"]:
            self._error(
                "E107",
                f"unsupported format version: {show_value(error.instance)}",
                node,
                help="write `specc: 1`",
            )
            return
        kind = error.validator
        value = error.instance
        if kind in ("anyOf", "oneOf"):
            error = _best_alternative(error)
            if error.validator in ("anyOf", "oneOf"):
                expected = " or ".join(_expected_types(error))
                self._error(
                    "E103",
                    f"{self._where(path)} must be {expected}, got {show_value(value)}",
                    node,
                )
                return
            sub_path = path + list(error.path)
            if error.validator == "type":
                # Inside the value (a list item): that item's types; else the alternatives'.
                source = error if error.path else (error.parent or error)
                expected = " or ".join(_expected_types(source))
                node, _ = node_at(self.root, sub_path)
                self._error(
                    "E103",
                    f"{self._where(sub_path)} must be {expected}, got {show_value(error.instance)}",
                    node,
                )
                return
            self._one_leaf(error, sub_path)
            return
        self._one_leaf(error, path)

    def _one_leaf(self, error: ValidationError, path: list) -> None:
        node, key_node = node_at(self.root, path)
        kind = error.validator
        value = error.instance
        schema = error.schema if isinstance(error.schema, dict) else {}
        where = self._where(path)
        if kind == "additionalProperties" and isinstance(value, dict):
            allowed = set(schema.get("properties", {}))
            for key in value:
                if key in allowed:
                    continue
                key_span_node = node.entries[key][0] if isinstance(node, YamlMap) else node
                hint = did_you_mean(key, allowed)
                owner = self.what or _owner(path)
                help_text = f"did you mean `{hint}`?" if hint else _allowed_help(allowed)
                self._error(
                    "E101", f"unknown key `{escape(key)}` in {owner}", key_span_node, help=help_text
                )
            return
        if kind == "required":
            # jsonschema reports all missing keys of one mapping in one error;
            # so does specc, in one diagnostic.
            here = tuple(error.absolute_path)
            missing = [
                k
                for k in error.validator_value
                if k not in value and (here, k) not in self.suggested
            ]
            if not missing or (isinstance(node, YamlMap) and node.dropped):
                return  # a refused key may be the missing one: reported already
            owner = self.what or _owner(path)
            if path and isinstance(node, YamlMap) and isinstance(node.get("name"), YamlScalar):
                node = node.get("name")  # a layer or input: point at its name
            keys = " and ".join(f"`{k}`" for k in missing)
            helps = [_REQUIRED_HELP.get(k, f"add `{k}: ...`") for k in missing]
            self._error("E102", f"{owner} needs {keys}", node, help="; ".join(helps))
            return
        if kind == "type":
            expected = " or ".join(_expected_types(error))
            self._error("E103", f"{where} must be {expected}, got {show_value(value)}", node)
            return
        if kind == "pattern" and "propertyNames" in error.schema_path:
            kind = "propertyNames"  # a key of `dims`, `blocks` or `params`
        elif kind == "pattern" and schema.get("pattern", "").startswith("^[A-Za-z_]"):
            port = schema["pattern"] == REFERENCE_PATTERN  # `LAYER` or `LAYER.PORT`
            self._error(
                "E106",
                f"{where}: {show_value(value)} is not a valid {'reference' if port else 'name'}",
                node,
                help=REFERENCE_HELP if port else NAME_HELP,
            )
            return
        if kind == "propertyNames":
            bad = error.instance
            key_span_node = node
            parent, _ = node_at(self.root, path)
            if isinstance(parent, YamlMap) and bad in parent.entries:
                key_span_node = parent.entries[bad][0]
            kind_of_name = {
                "dims": "dimension name",
                "blocks": "block name",
                "params": "parameter name",
            }.get(path[-1] if path else "", "name")
            self._error(
                "E106",
                f"{kind_of_name} `{escape(bad)}` is not a valid name",
                key_span_node,
                help=NAME_HELP,
            )
            return
        if kind == "enum":
            options = ", ".join(f"`{o}`" for o in error.validator_value)
            hint = (
                did_you_mean(value, [str(o) for o in error.validator_value])
                if isinstance(value, str)
                else None
            )
            self._error(
                "E104",
                f"{where} must be one of {options}; got {show_value(value)}",
                node,
                help=f"did you mean `{hint}`?" if hint else "",
            )
            return
        if kind == "const":
            if path == ["specc"]:
                self._error(
                    "E107",
                    f"unsupported format version {show_value(value)}",
                    node,
                    help="write `specc: 1`",
                )
                return
            self._error(
                "E104", f"{where} must be `{error.validator_value}`; got {show_value(value)}", node
            )
            return
        if kind == "not":
            self._error(
                "E104",
                f"{where} cannot be {show_value(value)}",
                node,
                help=schema.get("description", ""),
            )
            return
        bound = _BOUNDS.get(kind)
        if bound:
            self._error(
                "E104",
                f"{where} must be {bound} {error.validator_value}, got {show_value(value)}",
                node,
            )
            return
        if kind in ("minItems", "maxItems"):
            many = "at least" if kind == "minItems" else "at most"
            n = error.validator_value
            self._error("E104", f"{where} needs {many} {n} item{'s' if n != 1 else ''}", node)
            return
        self._error("E104", f"{where}: {escape(error.message)}", node)


_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "above",
    "exclusiveMaximum": "below",
}

_REQUIRED_HELP = {
    "specc": "start the spec with `specc: 1`",
    "name": "add `name: ...` (an identifier)",
    "inputs": "add `inputs: [{name: x, shape: [T, 8]}]`",
    "layers": "add `layers:` with at least one layer",
    "shape": "add `shape: [...]` (without the batch axis)",
    "op": "add `op: ...` (or `block: ...` for a block instance)",
    "units": "add `units: N`",
}


def _allowed_help(allowed) -> str:
    return "allowed keys: " + ", ".join(f"`{k}`" for k in sorted(allowed)) if allowed else ""


def _owner(path) -> str:
    """Words for the mapping at `path`: the spec, block `b`, input 2, `dims`."""
    if not path:
        return "the spec"
    if len(path) == 2 and path[0] == "blocks":
        return f"block `{escape(path[1])}`"
    if len(path) == 2 and path[0] == "inputs" and isinstance(path[1], int):
        return f"input {path[1] + 1}"
    return f"`{_field_name(path)}`"


def _field_name(path) -> str:
    """The name of the attribute a path ends in (`units`, `shape[1]`)."""
    out = ""
    for step in path:
        out = f"{out}[{step}]" if isinstance(step, int) else step
    return out


def _expected_types(error: ValidationError) -> list[str]:
    """Plain-words types an anyOf/type error accepts, from its schema."""
    out: list[str] = []

    def visit(schema):
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            visit(_resolve_ref(schema["$ref"]))
        types = schema.get("type")
        if isinstance(types, str):
            types = [types]
        for t in types or ():
            name = _TYPE_NAMES.get(t, t)
            if t == "integer" and schema.get("minimum") == 1:
                name = "a positive integer"
            if t == "string" and "pattern" in schema:
                name = "a name"
            if name not in out:
                out.append(name)
        if "const" in schema:
            out.append(f"`{schema['const']}`")
        for alt in [*schema.get("anyOf", ()), *schema.get("oneOf", ())]:
            visit(alt)

    visit(error.schema)
    return out or ["a valid value"]


def _resolve_ref(ref: str) -> dict:
    node = spec_schema().schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _best_alternative(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf: the failure of the alternative whose type did match, if any."""

    def type_matches(e: ValidationError) -> bool:
        if e.validator == "type":
            return False
        if e.validator == "const":  # `-1` is no alternative for `4.0`
            return type(e.validator_value) is type(e.instance)
        return True

    matching = [e for e in error.context if type_matches(e) and not e.path]
    deeper = [e for e in error.context if e.path]
    if deeper:
        return deeper[0]
    if matching:
        return matching[0]
    return error


# Top-level keys whose errors stop shape inference but leave the layers checkable.
SHAPING_KEYS = frozenset({"specc", "name", "dims", "batch_size", "outputs"})


def check_top(root, file: str, diags: Diagnostics) -> str:
    """Check everything but the layers' own attributes: how far the later stages can go.

    "shape": all the way; "layers": the layers can be checked but not shaped
    (a bad `dims`, `batch_size` or `outputs`); "": nothing more.
    """
    if not isinstance(root, YamlMap):
        span = root.span if root is not None else Span(file, 1, 1, 1, 1)
        got = "an empty file" if root is None else show_value(to_plain(root))
        diags.error(
            "E103",
            f"a spec must be a mapping, got {got}",
            span,
            help="start with `specc: 1`, `name:`, `inputs:` and `layers:`",
        )
        return ""
    schema = spec_schema()
    errors = list(schema.top_validator.iter_errors(_top_level_plain(root)))
    SchemaReporter(diags, root).report(errors)
    names_ok = check_names(root, diags)
    # Go on to the layers unless the structure they hang on is broken: an
    # unknown top-level key or a bad `description` should not hide them.
    blocking = [
        e
        for e in errors
        if not (e.validator == "additionalProperties" and not e.path)
        and not (e.path and e.path[0] in ("description", "$schema"))
    ]
    refused = {
        key
        for key, (_, value) in root.entries.items()
        if key not in ("layers", "blocks", "description") and has_refused(value)
    }
    if names_ok and not blocking and not refused:
        return "shape"
    broken = set(refused)
    for e in blocking:
        if e.path:
            broken.add(e.path[0])
        elif e.validator == "required":  # the keys missing from the top level
            broken.update(k for k in e.validator_value if k not in root.entries)
        else:
            broken.add("")
    return "layers" if names_ok and broken <= SHAPING_KEYS else ""


def _top_level_plain(root: YamlMap) -> dict:
    """The spec as plain data, with each top-level layer left as a placeholder."""
    data = {}
    for key, (_, value) in root.entries.items():
        if key == "layers" and isinstance(value, YamlSeq):
            data[key] = [None] * len(value.items)
        else:
            data[key] = to_plain(value)
    return data


def check_names(root: YamlMap, diags: Diagnostics) -> bool:
    """Refuse the few names no emitter can take (see `specc.names`); True if all may be used."""
    ok = True
    named = [(root.get("name"), "model")]
    inputs = root.get("inputs")
    if isinstance(inputs, YamlSeq):
        named += [(item.get("name"), "layer") for item in inputs.items if isinstance(item, YamlMap)]
    dims = root.get("dims")
    if isinstance(dims, YamlMap):
        named += [(key, "dim") for key, _ in dims.entries.values()]
    blocks = root.get("blocks")
    for key, block in blocks.entries.values() if isinstance(blocks, YamlMap) else ():
        named.append((key, "block"))
        params = block.get("params") if isinstance(block, YamlMap) else None
        if isinstance(params, YamlMap):
            named += [(param, "block") for param, _ in params.entries.values()]
        block_inputs = block.get("inputs") if isinstance(block, YamlMap) else None
        if isinstance(block_inputs, YamlSeq):
            named += [(item, "block") for item in block_inputs.items]
    for node, kind in named:
        if node is not None:
            ok = check_name(node, diags, kind=kind) and ok
    return ok


def check_name(
    node, diags: Diagnostics, origin: tuple[Related, ...] = (), kind: str = "layer"
) -> bool:
    """Refuse a reserved name (see `reserved_reason`); True if the name may be used."""
    if not (isinstance(node, YamlScalar) and isinstance(node.value, str)):
        return True  # a wrong type is the schema's to report
    reason = reserved_reason(node.value, kind)
    if reason:
        fix = "give the dimension another name, e.g. `B`" if kind == "dim" else "shorten it"
        diags.error(
            "E106", f"name `{escape(node.value)}` {reason}", node.span, help=fix, related=origin
        )
        return False
    return True


def check_instance(node: YamlMap, diags: Diagnostics, origin: tuple[Related, ...]) -> bool:
    """Check a block instance's own keys (`block`, `inputs`, `repeat`); params are the block's."""
    data = to_plain(node)
    name = data.get("name")
    what = f"block instance `{escape(name)}`" if isinstance(name, str) else "block instance"
    errors = spec_schema().instance_validator.iter_errors(data)
    return SchemaReporter(diags, node, origin, what).report(errors)


def check_shared(node: YamlMap, diags: Diagnostics, origin: tuple[Related, ...]) -> bool:
    """Check a layer with `shares:`: its own keys only; an op or attribute is E110."""
    data = to_plain(node)
    name = data.get("name")
    target = data.get("shares")
    what = f"layer `{escape(name)}`" if isinstance(name, str) else "layer"
    ok = True
    for key, (key_node, _) in node.entries.items():
        if key in SHARED_KEYS:
            continue
        ok = False
        shared = f"`{escape(target)}`" if isinstance(target, str) else "the shared layer"
        diags.error(
            "E110",
            f"{what} shares {shared}, so it cannot set `{escape(key)}`",
            key_node.span,
            help=f"a shared layer takes its op and attributes from {shared}: remove `{escape(key)}`"
            + ("" if key == "op" else f", or set it on {shared}"),
            related=origin,
        )
        del data[key]
    errors = spec_schema().shared_validator.iter_errors(data)
    return SchemaReporter(diags, node, origin, what).report(errors) and ok


def check_layer(
    node: YamlMap, op: str, diags: Diagnostics, origin: tuple[Related, ...], inner: bool = False
) -> dict | None:
    """Check one expanded layer (or a wrapped inner layer); its attributes with defaults."""
    op_schema = spec_schema().ops[op]
    data = to_plain(node)
    name = data.get("name")
    what = f"`{op}` layer `{escape(name)}`" if isinstance(name, str) else f"`{op}` layer"
    if not op_schema.is_valid(data, inner):
        validator = op_schema.inner_validator if inner else op_schema.layer_validator
        if not SchemaReporter(diags, node, origin, what).report(validator.iter_errors(data)):
            return None
    attrs = dict(op_schema.defaults)
    for key, value in data.items():
        if key not in LAYER_KEYS:
            attrs[key] = value
    return attrs
