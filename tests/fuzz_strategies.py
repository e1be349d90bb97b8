"""Hypothesis strategies that turn the example specs into hostile spec texts.

Shared by tests/test_fuzz.py (a bounded, derandomized slice) and
benchmarks/fuzz.py (long runs). Three families, each starting from a spec of
specs/, so a mutant is usually one or two steps from a valid spec and reaches
the late stages (expansion, shapes, emitters), not only the YAML parser:

- `text_mutants`: edits of the text (numbers, names with whitespace and
  unicode, keywords, lines, indentation, stray YAML punctuation).
- `structure_mutants`: edits of the parsed tree (values of every type,
  references, renames, `repeat`, layers wrapped into blocks and blocks into
  blocks, `$param`s), dumped back in a drawn YAML or JSON style.
- `yaml_feature_mutants`: YAML a spec never needs (anchors, aliases, tags,
  block scalars, merge keys, duplicate keys, several documents, directives,
  a BOM, CR line ends).

`hostile=True` adds the sizes that cost time (`repeat: 10000`), which the
benchmark wants and the suite's time budget does not.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

import yaml
from hypothesis import strategies as st

from specc.optable import OPS

ROOT = Path(__file__).resolve().parent.parent
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "specs").rglob("*.yaml"))]
# libyaml when PyYAML has it: the pure-Python parser and emitter cost tens of
# milliseconds a spec, as much as validating and emitting it.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
SEED_TREES = [yaml.load(text, Loader=_LOADER) for text in SEED_TEXTS]  # copied before a mutation

# Characters that make a name wrong in a way that is easy to miss: whitespace
# (a trailing newline above all), zero-width and combining characters, lone
# surrogates, controls, and YAML's own punctuation.
ODD_CHARS = [
    "\n", " ", "\t", "\u200b", "\u200d", "\u2060", "\ufeff", "\u00a0", "\u0301", "é", "ß",
    "名", "\U0001f600", "\ud800", "\udfff", "\x00", "\x7f", "\x1b", "\r", "$", "-", ".",
    ":", "#", "'", '"', "\\", "_", "0",
]  # fmt: skip
BASE_NAMES = ["x", "a", "T", "S", "units", "lstm", "batch", "out", "b1_main", "_", "A" * 65]
# Valid names that the emitters must keep apart from Python's and the frameworks'.
PYTHON_NAMES = [
    "class", "self", "None", "True", "lambda", "def", "import", "torch", "nn", "keras", "layers",
    "np", "build_model", "forward", "super", "x_1", "__init__", "__class__", "_", "A" * 64,
]  # fmt: skip
NUMBERS = [
    "0", "-1", "1", "2", "3", "7", "64", "10001", "20001", "-0", "0.0", "0.5", "1.0", "1.5",
    "1e3", "1e309", "-1e309", ".inf", "-.inf", ".nan", "0x10", "0o17", "010", "1_000", "+1",
    "2147483648", "9223372036854775808", "123456789012345678901", "1:20", "~", "null",
    "true", "false", "yes", "no", "on", "''", '"1"', "[]", "{}", "[1, 2]", "$units", "T", "S",
]  # fmt: skip
SPEC_KEYS = [
    "specc", "name", "description", "dims", "inputs", "shape", "dtype", "blocks", "params",
    "layers", "outputs", "op", "block", "repeat", "batch_size", "layer", "$schema",
]  # fmt: skip
ATTRS = sorted({a.name for op in OPS.values() for a in op.attrs})
WORDS = sorted({*SPEC_KEYS, *ATTRS, *OPS, "x", "T", "S", "null", "true", "$units"})
YAML_SNIPPETS = [
    "&a ", "*a", "!!str ", "!custom ", "<<: {}", "---\n", "...\n", "|\n  x\n", ">-\n", "? ",
    "{", "}", "[", "]", ", ", ": ", "- ", "#", "'", '"', "\\", "%YAML 1.1\n", "\ufeff", "\r",
    "\t", "\x85", "\u2028", "\x00", "@", "`",
]  # fmt: skip
TAGS = [
    "!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!map ", "!!seq ", "!custom ",
    "!!python/object/apply:os.system ", "!<tag:yaml.org,2002:str> ", "! ",
]  # fmt: skip
BLOCK_INDICATORS = ["|", "|-", "|+", ">", ">-", "|2", ">+"]

NUMBER = re.compile(r"(?<![\w$.])-?\d+(?:\.\d+)?(?![\w.])")
WORD = re.compile(r"(?<![\w$])[A-Za-z_][A-Za-z0-9_]*")
# A block-style `key: value` line (optionally a list item), for block scalars.
BLOCK_PAIR = re.compile(r"^( *)(- )?([A-Za-z_$][\w$]*): ([^\s{\[|>&*!#'\"][^\n]*)$", re.M)
# A `key: value` inside a flow mapping or on a line, for anchors, aliases and tags.
VALUE = re.compile(r"(?<=: )(?=[^\s{\[])")


@functools.cache  # built once: strategies are drawn from thousands of times
def odd_names() -> st.SearchStrategy[str]:
    """Valid names that are also Python's, names that almost are, and any short text."""
    odd = st.text(alphabet=st.sampled_from(ODD_CHARS), max_size=2)
    framed = st.builds(
        lambda pre, base, post: pre + base + post, odd, st.sampled_from(BASE_NAMES), odd
    )
    return st.one_of(st.sampled_from(PYTHON_NAMES), framed, st.text(max_size=6))


@functools.cache
def values(hostile: bool) -> st.SearchStrategy:
    """Plain YAML values of every type, the sizes that break limits included."""
    repeats = [10000, 10001, 20001] if hostile else [10001]
    scalars = st.one_of(
        st.sampled_from([0, -1, 1, 2, 3, 64, 0.5, True, False, None, "", "x", "$units", *repeats]),
        odd_names(),
        st.integers(-(2**70), 2**70),
        st.floats(),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)
        ),
        max_leaves=4,
    )


def _pick(draw, items: list):
    return items[draw(st.integers(0, len(items) - 1))]


# -- text-level mutations: (draw, text) -> text ---------------------------------------


def _replace_match(draw, text: str, pattern: re.Pattern, replacement: str) -> str:
    matches = list(pattern.finditer(text))
    if not matches:
        return text
    match = _pick(draw, matches)
    if pattern is WORD and draw(st.booleans()):
        # Rename every occurrence, so a reference still names its layer.
        whole = re.compile(rf"(?<![\w$]){re.escape(match.group())}(?!\w)")
        return whole.sub(lambda _: replacement, text)
    return text[: match.start()] + replacement + text[match.end() :]


def swap_number(draw, text: str) -> str:
    literal = draw(st.one_of(st.sampled_from(NUMBERS), st.integers(-(10**20), 10**20).map(str)))
    return _replace_match(draw, text, NUMBER, literal)


def swap_name(draw, text: str) -> str:
    name = draw(odd_names())
    # Raw, or double-quoted with YAML escapes (`"x\n"`, `"\ud800"`, `"\u200b"`).
    if draw(st.booleans()):
        name = json.dumps(name, ensure_ascii=draw(st.booleans()))
    return _replace_match(draw, text, WORD, name)


def swap_word(draw, text: str) -> str:
    return _replace_match(draw, text, WORD, draw(st.sampled_from(WORDS)))


def edit_line(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent"]))
    if action == "delete":
        del lines[i]
    elif action == "duplicate":  # a duplicate key, a duplicate layer
        lines.insert(j, lines[i])
    elif action == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif action == "indent":
        lines[i] = draw(st.sampled_from([" ", "  ", "    ", "\t"])) + lines[i]
    else:
        lines[i] = lines[i][
            min(draw(st.integers(1, 4)), len(lines[i]) - len(lines[i].lstrip(" "))) :
        ]
    return "".join(lines)


def insert_snippet(draw, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    snippet = draw(st.one_of(st.sampled_from(YAML_SNIPPETS), st.text(max_size=3)))
    return text[:at] + snippet + text[at:]


def delete_span(draw, text: str) -> str:
    start = draw(st.integers(0, len(text)))
    return text[:start] + text[start + draw(st.integers(1, 40)) :]


TEXT_MUTATIONS = [swap_number, swap_name, swap_word, edit_line, insert_snippet, delete_span]


# -- YAML features: (draw, text) -> text -----------------------------------------------


def anchor_alias(draw, text: str) -> str:
    spots = [m.start() for m in VALUE.finditer(text)]
    if len(spots) < 2:
        return text
    first = draw(st.integers(0, len(spots) - 2))
    second = draw(st.integers(first + 1, len(spots) - 1))
    anchor = draw(st.sampled_from(["a", "x", "名", "a b"]))
    # The alias replaces the second value's first token.
    rest = re.sub(r"^[^\s,}\]]*", "", text[spots[second] :], count=1)
    text = text[: spots[second]] + f"*{anchor}" + rest
    return text[: spots[first]] + f"&{anchor} " + text[spots[first] :]


def tag_value(draw, text: str) -> str:
    spots = [m.start() for m in VALUE.finditer(text)]
    if not spots:
        return text
    at = _pick(draw, spots)
    return text[:at] + draw(st.sampled_from(TAGS)) + text[at:]


def block_scalar(draw, text: str) -> str:
    """`key: value` as `key: |` and the value on the next line (adds a final newline)."""
    matches = list(BLOCK_PAIR.finditer(text))
    if not matches:
        return text
    m = _pick(draw, matches)
    indent = m.group(1) + ("  " if m.group(2) else "") + draw(st.sampled_from(["  ", " ", "    "]))
    indicator = draw(st.sampled_from(BLOCK_INDICATORS))
    head = f"{m.group(1)}{m.group(2) or ''}{m.group(3)}: {indicator}\n"
    return text[: m.start()] + head + indent + m.group(4) + text[m.end() :]


def merge_key(draw, text: str) -> str:
    spots = [m.end() for m in re.finditer(r"\{", text)]
    if not spots:
        return text
    at = _pick(draw, spots)
    return (
        text[:at] + draw(st.sampled_from(["<<: {units: 3}, ", "<<: *a, ", "<<: [], "])) + text[at:]
    )


def duplicate_key(draw, text: str) -> str:
    """A key written twice in one flow mapping (block mappings: `edit_line`)."""
    spots = [m.end() for m in re.finditer(r"\{", text)]
    if not spots:
        return text
    at = _pick(draw, spots)
    key = draw(st.sampled_from(["name", "op", "units", "inputs", "repeat"]))
    return text[:at] + f"{key}: {draw(st.sampled_from(['x', '3', 'dense', '[x]']))}, " + text[at:]


def documents(draw, text: str) -> str:
    form = draw(
        st.sampled_from(["---\n{t}", "{t}---\n{t}", "{t}...\n", "{t}---\n", "---\n{t}...\n---\n"])
    )
    return form.replace("{t}", text)


def directive(draw, text: str) -> str:
    head = draw(
        st.sampled_from(
            [
                "%YAML 1.1\n---\n",
                "%YAML 1.2\n---\n",
                "%YAML 2.0\n---\n",
                "%TAG ! tag:x,2000:\n---\n",
                "%FOO\n---\n",
            ]
        )
    )
    return head + text


def line_ends(draw, text: str) -> str:
    prefix = draw(st.sampled_from(["", "\ufeff"]))
    return prefix + text.replace("\n", draw(st.sampled_from(["\n", "\r\n", "\r"])))


YAML_MUTATIONS = [
    anchor_alias, tag_value, block_scalar, merge_key, duplicate_key, documents, directive,
    line_ends,
]  # fmt: skip


# -- structure-level mutations: (draw, data, hostile) -> data ----------------------------


def _containers(node, found: list) -> list:
    """Every dict and list in a tree, outermost first."""
    if isinstance(node, (dict, list)):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)
    return found


def _layer_lists(data) -> list[list]:
    """The top-level `layers:` and each block's `layers:`, where they are lists."""
    if not isinstance(data, dict):
        return []
    found = [data["layers"]] if isinstance(data.get("layers"), list) else []
    blocks = data.get("blocks")
    for block in blocks.values() if isinstance(blocks, dict) else ():
        if isinstance(block, dict) and isinstance(block.get("layers"), list):
            found.append(block["layers"])
    return found


def _layers(data) -> list[dict]:
    return [layer for layers in _layer_lists(data) for layer in layers if isinstance(layer, dict)]


def _names(data) -> list[str]:
    names = [layer["name"] for layer in _layers(data) if isinstance(layer.get("name"), str)]
    inputs = data.get("inputs") if isinstance(data, dict) else None
    for item in inputs if isinstance(inputs, list) else ():
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
    return names


def set_value(draw, data, hostile: bool):
    node = _pick(draw, _containers(data, []))
    value = draw(values(hostile))
    if isinstance(node, dict):
        keys = list(node) + SPEC_KEYS + ATTRS
        node[_pick(draw, keys)] = value
    elif node and draw(st.booleans()):
        node[draw(st.integers(0, len(node) - 1))] = value
    else:
        node.insert(draw(st.integers(0, len(node))), value)
    return data


def delete_item(draw, data, hostile: bool):
    node = _pick(draw, _containers(data, []))
    if node:
        key = (
            _pick(draw, list(node))
            if isinstance(node, dict)
            else draw(st.integers(0, len(node) - 1))
        )
        del node[key]
    return data


def duplicate_item(draw, data, hostile: bool):
    lists = [c for c in _containers(data, []) if isinstance(c, list) and c]
    if lists:
        items = _pick(draw, lists)
        items.insert(draw(st.integers(0, len(items))), copy.deepcopy(_pick(draw, items)))
    return data


def rename(draw, data, hostile: bool):
    """Rename a layer, input, dim or block everywhere it is written (refs follow it)."""
    names = _names(data)
    if isinstance(data, dict):
        for key in ("dims", "blocks"):
            if isinstance(data.get(key), dict):
                names += [k for k in data[key] if isinstance(k, str)]
    if not names:
        return data
    old, new = _pick(draw, names), draw(odd_names())

    def walk(node):
        if isinstance(node, dict):
            return {(new if k == old else k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return new if node == old else node

    return walk(data)


def rewire(draw, data, hostile: bool):
    """Point a layer at other sources: names of the spec, unknown names, a few or none."""
    layers = _layers(data)
    if not layers:
        return data
    choices = st.one_of(st.sampled_from(_names(data) or ["x"]), odd_names())
    sources = draw(st.lists(choices, max_size=3))
    _pick(draw, layers)["inputs"] = (
        sources[0] if len(sources) == 1 and draw(st.booleans()) else sources
    )
    return data


def add_repeat(draw, data, hostile: bool):
    layers = _layers(data)
    if layers:
        counts = [0, 1, 2, 3, 50, 10001, -1, "2", 2.5, "$n"] + ([10000, 5000] if hostile else [])
        _pick(draw, layers)["repeat"] = draw(st.sampled_from(counts))
    return data


def wrap_in_block(draw, data, hostile: bool):
    """Move a run of layers into a new block and put an instance in their place.

    The run may come from a block, which nests blocks; the instance takes the
    last layer's name, so references to it still resolve.
    """
    lists = [layers for layers in _layer_lists(data) if layers]
    if not lists or not isinstance(data.get("blocks", {}), dict):
        return data
    layers = _pick(draw, lists)
    start = draw(st.integers(0, len(layers) - 1))
    stop = draw(st.integers(start + 1, len(layers)))
    run = copy.deepcopy(layers[start:stop])
    first, last = run[0], run[-1]
    instance = {"name": last.get("name", "b") if isinstance(last, dict) else "b"}
    block = {"layers": run}
    if isinstance(first, dict) and "inputs" in first:
        sources = first["inputs"] if isinstance(first["inputs"], list) else [first["inputs"]]
        instance["inputs"] = first["inputs"]
        block["inputs"] = [f"in{i}" for i in range(len(sources))]
        first["inputs"] = list(block["inputs"])  # shared, it would dump as an alias
    if draw(st.booleans()):
        _parameterize(draw, block)
    if draw(st.booleans()):
        instance["repeat"] = draw(st.sampled_from([1, 2, 3, *([100, 10000] if hostile else [])]))
    blocks = data.setdefault("blocks", {})
    block_name = draw(st.sampled_from(["blk", "inner", *blocks]))
    instance["block"] = block_name
    blocks[block_name] = block
    layers[start:stop] = [instance]
    return data


def _parameterize(draw, block: dict) -> None:
    """Turn one integer attribute of the block's layers into a `$param` with a default."""
    spots = [
        (layer, key)
        for layer in block["layers"]
        if isinstance(layer, dict)
        for key, value in layer.items()
        if isinstance(value, int) and not isinstance(value, bool)
    ]
    if spots:
        layer, key = _pick(draw, spots)
        block["params"] = {"p": draw(st.sampled_from([layer[key], None, 0, "x"]))}
        layer[key] = "$p"


# The gentle ones first: hypothesis shrinks towards the start of the list.
STRUCTURE_MUTATIONS = [
    wrap_in_block, add_repeat, rename, rewire, duplicate_item, delete_item, set_value,
]  # fmt: skip


def dumped(draw, data) -> str:
    """The tree as YAML (block, flow or mixed style) or as JSON (which is YAML too)."""
    style = draw(st.sampled_from(["block", "mixed", "flow", "json", "canonical"]))
    unicode = draw(st.booleans())
    try:
        if style == "json":
            return json.dumps(
                data, ensure_ascii=not unicode, indent=draw(st.sampled_from([None, 2]))
            )
        flow = {"block": False, "mixed": None, "flow": True, "canonical": None}[style]
        return yaml.dump(
            data,
            Dumper=_DUMPER,
            default_flow_style=flow,
            allow_unicode=unicode,
            sort_keys=False,
            canonical=style == "canonical",
            width=draw(st.sampled_from([80, 20, 1000])),
        )
    except (yaml.YAMLError, ValueError, TypeError, UnicodeError):
        # libyaml cannot write a lone surrogate; JSON can.
        return json.dumps(data, ensure_ascii=not unicode)


# -- the three families ------------------------------------------------------------------


def _apply(draw, text: str, mutations: list, least: int, most: int) -> str:
    for _ in range(draw(st.integers(least, most))):
        text = draw(st.sampled_from(mutations))(draw, text)
    return text if "\n" in text else text + "\n"  # validate() takes a one-line str as a path


@st.composite
def text_mutants(draw, hostile: bool = False) -> str:
    return _apply(draw, draw(st.sampled_from(SEED_TEXTS)), TEXT_MUTATIONS, 1, 3)


@st.composite
def structure_mutants(draw, hostile: bool = False) -> str:
    data = copy.deepcopy(draw(st.sampled_from(SEED_TREES)))
    for _ in range(draw(st.integers(1, 3))):
        data = draw(st.sampled_from(STRUCTURE_MUTATIONS))(draw, data, hostile)
    return _apply(draw, dumped(draw, data), TEXT_MUTATIONS, 0, 1)


@st.composite
def yaml_feature_mutants(draw, hostile: bool = False) -> str:
    return _apply(draw, draw(st.sampled_from(SEED_TEXTS)), YAML_MUTATIONS, 1, 2)


def mutants(hostile: bool = False) -> st.SearchStrategy[str]:
    """All three families."""
    return st.one_of(
        text_mutants(hostile), structure_mutants(hostile), yaml_feature_mutants(hostile)
    )
