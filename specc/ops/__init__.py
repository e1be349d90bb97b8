"""Shape rules: one pure function per op, registered by the op's name.

Each family module registers its rules with `@register`; what else specc
knows about an op (its attributes, defaults, flags) is its entry in the op
table (`specc.optable`), and its parameter counts belong to each backend
(`specc.counts` has the formulas they share).
"""

from __future__ import annotations

from collections.abc import Callable

from ..optable import OPS
from ..shapes import RuleContext, Shape

ShapeRule = Callable[[RuleContext], Shape]
RULES: dict[str, ShapeRule] = {}


def register(*ops: str):
    """Register the decorated function as the shape rule of `ops` (names from the op table)."""

    def decorate(shape_fn: ShapeRule) -> ShapeRule:
        for op in ops:
            assert op in OPS and op not in RULES, op
            RULES[op] = shape_fn
        return shape_fn

    return decorate


# Importing the family modules fills RULES.
from . import attention, conv, dense, feedback, merge, recurrent, regularise, reshape  # noqa: E402,F401
