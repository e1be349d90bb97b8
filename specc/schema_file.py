"""The spec format as a JSON Schema (2020-12), generated from the op table.

schemas/spec.schema.json is this document, committed for editors (the
yaml-language-server line at the top of a spec points at it); `specc schema`
prints it, and a test fails when the committed file is stale. The top level
is written here once; each op's entry comes from `specc.optable`, with the
attribute groups that several ops share as `$defs` of their own.
"""

from __future__ import annotations

import json

from .names import IDENTIFIER_PATTERN, REFERENCE_PATTERN
from .optable import OPS, AttrGroup


def ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


REFERENCES = {
    "anyOf": [ref("reference"), {"type": "array", "items": ref("reference"), "minItems": 1}]
}
LAYER_NAME = {
    "description": "Name of the layer: an identifier, unique in the spec. The emitted code "
    "uses it as attribute and layer name.",
    **ref("identifier"),
}
LAYER_INPUTS = {
    "description": "The layer's source or sources: a name or a list of names (a name may be a "
    "recurrent layer's state port, `enc.h`). Left out, the layer reads the layer above it (the "
    "first layer reads the only input).",
    **REFERENCES,
}
LAYER_DESCRIPTION = {"type": "string", "description": "Free text about the layer."}
LAYER_IGNORE = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Warning codes not to report for this layer (a warning located in the "
    "layer's mapping), e.g. `[W501]`.",
}
MAX_REPEAT = 10_000
REPEAT = {"type": "integer", "minimum": 1, "maximum": MAX_REPEAT}

VALUE_TYPES = {
    "identifier": {
        "type": "string",
        "pattern": IDENTIFIER_PATTERN,
        "description": "An ASCII identifier: a letter or underscore, then letters, digits or "
        "underscores.",
    },
    "reference": {
        "type": "string",
        "pattern": REFERENCE_PATTERN,
        "description": "The name of an input or layer, or a port of a layer with "
        "`return_state: true`: `LAYER.h`, `LAYER.c` (`lstm`), and for a bidirectional layer "
        "also `LAYER.h_forward`, `LAYER.h_backward`, `LAYER.c_forward`, `LAYER.c_backward`.",
    },
    "positive_int": {
        "type": "integer",
        "minimum": 1,
        "maximum": 2147483647,
        "description": "An integer from 1 to 2^31 - 1 (the largest size both frameworks index).",
    },
    "number": {"type": "number", "description": "A number."},
    "positive_number": {
        "type": "number",
        "exclusiveMinimum": 0,
        "description": "A number above 0.",
    },
    "rate": {
        "type": "number",
        "minimum": 0,
        "exclusiveMaximum": 1,
        "description": "A fraction from 0 up to (not including) 1.",
    },
    "activation": {
        "enum": [
            "linear",
            "relu",
            "relu6",
            "elu",
            "selu",
            "gelu",
            "silu",
            "sigmoid",
            "hard_sigmoid",
            "tanh",
            "softmax",
            "log_softmax",
            "softplus",
            "softsign",
            "leaky_relu",
            "exponential",
        ],
        "description": "An activation function, by its Keras name.",
    },
    "dim": {
        "anyOf": [ref("positive_int"), ref("identifier")],
        "description": "A dimension: an integer, or the name of a dimension from `dims:`.",
    },
    "shape_dim": {
        "anyOf": [ref("positive_int"), ref("identifier"), {"type": "null"}],
        "description": "One axis of a shape: an integer, a dimension name from `dims:`, or null "
        "for a variable length.",
    },
}

INPUT = {
    "type": "object",
    "description": "A model input.",
    "additionalProperties": False,
    "required": ["name", "shape"],
    "properties": {
        "name": {
            "description": "Name of the input: an identifier, unique in the spec.",
            **ref("identifier"),
        },
        "shape": {
            "type": "array",
            "items": ref("shape_dim"),
            "minItems": 1,
            "description": "Shape without the batch axis: `[T, 8]` is (batch, T, 8).",
        },
        "dtype": {
            "enum": ["float32", "float16", "bfloat16", "int32", "int64"],
            "default": "float32",
            "description": "Element type; integer inputs feed `embedding` layers.",
        },
        "description": {"type": "string", "description": "Free text about the input."},
    },
}

BLOCK = {
    "type": "object",
    "description": "A reusable sub-graph with parameters.",
    "additionalProperties": False,
    "required": ["layers"],
    "properties": {
        "params": {
            "type": "object",
            "description": "Parameter names with their defaults; `null` makes a parameter "
            "required. Layers use a parameter as `$name`.",
            "propertyNames": ref("identifier"),
        },
        "inputs": {
            "type": "array",
            "items": ref("identifier"),
            "minItems": 1,
            "default": ["x"],
            "description": "Names the block's layers use for the instance's sources, in order.",
        },
        "layers": {
            "type": "array",
            "items": ref("block_layer"),
            "minItems": 1,
            "description": "The block's layers, named locally.",
        },
        "outputs": {
            "anyOf": [
                ref("reference"),
                {"type": "array", "items": ref("reference"), "minItems": 1, "maxItems": 1},
            ],
            "description": "The layer whose result the instance's name stands for; default: "
            "the last layer.",
        },
        "description": {"type": "string", "description": "Free text about the block."},
    },
}

BLOCK_INSTANCE = {
    "type": "object",
    "description": "An instance of a block: the block's layers, expanded under the prefix "
    "`<name>_`. Other keys set the block's parameters.",
    "required": ["name", "block"],
    "properties": {
        "name": LAYER_NAME,
        "block": {"description": "Name of the block, from `blocks:`.", **ref("identifier")},
        "inputs": LAYER_INPUTS,
        "repeat": {
            **REPEAT,
            "description": "Chain this many copies of the block; its name then refers to the "
            "last copy's output.",
        },
        "description": LAYER_DESCRIPTION,
        "ignore": LAYER_IGNORE,
    },
    "additionalProperties": {"description": "A value for one of the block's parameters."},
}

LAYER_SHARES = {
    "description": "Name of another layer whose op, attributes and weights this layer uses, "
    "called on its own inputs (Keras: the same layer object called again; PyTorch: the same "
    "module). The layer then has no `op` or attributes of its own.",
    **ref("identifier"),
}


def shared_layer() -> dict:
    """A layer that shares another's weights: `shares:` instead of `op:` and attributes."""
    return {
        "type": "object",
        "description": "A layer that calls another layer's weights on its own inputs.",
        "required": ["name", "shares"],
        "additionalProperties": False,
        "properties": {
            "name": LAYER_NAME,
            "shares": LAYER_SHARES,
            "inputs": LAYER_INPUTS,
            "repeat": {
                **REPEAT,
                "description": "Chain this many copies, each calling the shared weights on "
                "the copy before; its name then refers to the last copy.",
            },
            "description": LAYER_DESCRIPTION,
            "ignore": LAYER_IGNORE,
        },
    }


PARAM_REF = {
    "type": "string",
    "pattern": "^\\$[A-Za-z_][A-Za-z0-9_]*$",
    "description": "A reference to a block parameter: `$name`.",
}


def op_enum() -> dict:
    return {"enum": sorted(OPS), "description": "What the layer computes."}


def _by_op() -> list[dict]:
    """`if op is X then $defs/op_X`, for every op, in name order."""
    return [
        {
            "if": {"properties": {"op": {"const": name}}, "required": ["op"]},
            "then": ref(f"op_{name}"),
        }
        for name in sorted(OPS)
    ]


def layer_common() -> dict:
    """The keys every layer has besides its op's attributes (the `else` of `$defs/layer`)."""
    return {
        "name": LAYER_NAME,
        "op": op_enum(),
        "inputs": LAYER_INPUTS,
        "repeat": {
            **REPEAT,
            "description": "Chain this many copies of the layer, each reading the one before; "
            "its name then refers to the last copy.",
        },
        "description": LAYER_DESCRIPTION,
        "ignore": LAYER_IGNORE,
    }


def _group(group: AttrGroup) -> dict:
    out: dict = {"properties": {a.name: a.schema() for a in group.attrs}}
    required = [a.name for a in group.attrs if a.required]
    if required:
        out["required"] = required
    return out


def _op(name: str) -> dict:
    op = OPS[name]
    out: dict = {"description": op.description}
    if op.groups:
        out["allOf"] = [ref(group.name) for group in op.groups]
    if op.own or not op.groups:
        out["properties"] = {a.name: a.schema() for a in op.own}
    required = [a.name for a in op.own if a.required]
    if required:
        out["required"] = required
    return out


def groups() -> dict[str, AttrGroup]:
    """The shared attribute groups, by `$defs` name, in the order ops first use them."""
    return {g.name: g for op in OPS.values() for g in op.groups}


def build_schema() -> dict:
    """The whole schema as plain data."""
    common = layer_common()
    defs: dict = {
        **VALUE_TYPES,
        "input": INPUT,
        "layer": {
            "type": "object",
            "description": "A layer: `op` and its attributes, or an instance of a block "
            "(`block:` and its parameters).",
            "required": ["name"],
            "if": {"required": ["block"]},
            "then": ref("block_instance"),
            "else": {
                "if": {"required": ["shares"]},
                "then": ref("shared_layer"),
                "else": {
                    "required": ["op"],
                    "properties": common,
                    "allOf": _by_op(),
                    "unevaluatedProperties": False,
                },
            },
        },
        "shared_layer": shared_layer(),
        "inner_layer": {
            "type": "object",
            "description": "A layer wrapped by `time_distributed`: `op` and its attributes.",
            "required": ["op"],
            "properties": {"op": common["op"], "description": common["description"]},
            "allOf": _by_op(),
            "unevaluatedProperties": False,
        },
        "block_instance": BLOCK_INSTANCE,
        "block": BLOCK,
        **{name: _group(group) for name, group in groups().items()},
        **{f"op_{name}": _op(name) for name in OPS},
        "block_layer": {
            "type": "object",
            "description": "A layer inside a block. Its values may be `$param` references, so "
            "editors check only its keys here; specc checks each expanded copy in full.",
            "required": ["name"],
            "properties": {
                "name": LAYER_NAME,
                "op": common["op"],
                "block": {
                    "description": "Name of another block, for a nested instance.",
                    **ref("identifier"),
                },
                "inputs": LAYER_INPUTS,
                "shares": LAYER_SHARES,
                "repeat": {
                    "description": common["repeat"]["description"],
                    "anyOf": [REPEAT, ref("param_ref")],
                },
                "description": LAYER_DESCRIPTION,
                "ignore": LAYER_IGNORE,
            },
            "additionalProperties": {
                "description": "An attribute of the op, or a parameter of the nested block."
            },
        },
        "param_ref": PARAM_REF,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://specc.dev/schemas/spec.schema.json",
        "title": "specc spec, format version 1",
        "description": "A neural-network architecture: inputs, a layer graph, outputs.",
        "type": "object",
        "additionalProperties": False,
        "required": ["specc", "name", "inputs", "layers"],
        "properties": {
            "$schema": {
                "type": "string",
                "description": "Path or URL of this schema, for editors.",
            },
            "specc": {
                "type": "integer",
                "const": 1,
                "description": "Format version of the spec; 1 is the only version.",
            },
            "name": {
                "description": "Name of the model: an identifier; names the emitted class or "
                "function.",
                **ref("identifier"),
            },
            "description": {"type": "string", "description": "Free text about the model."},
            "dims": {
                "type": "object",
                "description": "Named dimensions: an integer for a fixed size, null for a "
                "variable one. Input shapes, `repeat_vector.n` and `reshape.target_shape` may "
                "use the names.",
                "propertyNames": ref("identifier"),
                "additionalProperties": {"anyOf": [ref("positive_int"), {"type": "null"}]},
            },
            "batch_size": {
                "anyOf": [ref("positive_int"), {"type": "null"}],
                "default": None,
                "description": "Fixed batch size; needed by `stateful` recurrent layers. Left "
                "out, the batch is variable.",
            },
            "inputs": {
                "type": "array",
                "items": ref("input"),
                "minItems": 1,
                "description": "The model's inputs.",
            },
            "blocks": {
                "type": "object",
                "description": "Reusable parameterised sub-graphs, by name. A layer `{name: b1, "
                "block: NAME}` expands one under the prefix `b1_`.",
                "propertyNames": ref("identifier"),
                "additionalProperties": ref("block"),
            },
            "layers": {
                "type": "array",
                "items": ref("layer"),
                "minItems": 1,
                "description": "The layers, in order.",
            },
            "outputs": {
                "anyOf": [
                    ref("reference"),
                    {"type": "array", "items": ref("reference"), "minItems": 1},
                ],
                "description": "The layers whose results the model returns; default: the last "
                "layer.",
            },
        },
        "$defs": defs,
    }


def schema_json() -> str:
    """The schema file's text: what `specc schema` prints and schemas/ holds."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"
