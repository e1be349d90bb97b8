"""The few names a spec may not use: what no emitter could work around.

Names belong to the user: any ASCII identifier names a model, input, layer,
block or dimension, Python keywords and framework attribute names included
(`input`, `output`, `class`, `forward`). Each emitter maps spec names to safe
identifiers of its own, as torch.fx's namespace does. What is left to refuse:
names longer than MAX_NAME_LENGTH (a spec typo or generated noise, and past
what error messages can show), and `batch` as a dimension name, since every
shape specc prints calls the batch axis that.
"""

from __future__ import annotations

import re

# ASCII identifiers; the schema's `$defs/identifier` is this pattern, anchored.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
IDENTIFIER_PATTERN = f"^{IDENTIFIER.pattern}$"
# A reference to a layer's result, or to one of its ports (`enc.h`: specc.states).
REFERENCE = re.compile(rf"{IDENTIFIER.pattern}(?:\.{IDENTIFIER.pattern})?")
REFERENCE_PATTERN = f"^{REFERENCE.pattern}$"
MAX_NAME_LENGTH = 64


def is_identifier(value: object) -> bool:
    """Whether a YAML value is a string that is a whole identifier."""
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


def is_reference(value: object) -> bool:
    """Whether a YAML value names a layer or input, or a port of one (`enc.h`)."""
    return isinstance(value, str) and REFERENCE.fullmatch(value) is not None


def split_port(ref: str) -> tuple[str, str]:
    """(name, `.port`) of a reference; the port is "" when it names the layer itself."""
    name, dot, port = ref.partition(".")
    return name, dot + port


def reserved_reason(name: str, kind: str = "layer") -> str | None:
    """Why `name` cannot be used, or None if it can.

    `kind` says what it names: `layer` (inputs and layers), `model`, `dim`, or
    `block` (blocks, their parameters and inputs). A block layer's expanded
    name (`b1_main`) may be longer than the cap: only the names written in the
    spec are capped.
    """
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if kind == "dim" and name == "batch":
        return "is what specc calls the batch axis"
    return None
