"""Per-op rules: one shape function and one parameter-count function for each op.

Each family module registers its ops with `@register`; adding an op means one
schema entry, one rule here, and one emitter per backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..shapes import RuleContext, Shape

ParamCount = dict  # {"keras": int, "torch": int}


def no_params(ctx: RuleContext, shape: Shape) -> ParamCount:
    return {"keras": 0, "torch": 0}


@dataclass(frozen=True)
class OpRule:
    """What specc knows about one op beyond its schema."""

    shape: Callable[[RuleContext], Shape]
    params: Callable[[RuleContext, Shape], ParamCount]
    keeps_dtype: bool  # moves values without computing new ones (permute, reshape, ...)
    wrappable: bool  # may be wrapped by `time_distributed` (single input, per step)


RULES: dict[str, OpRule] = {}


def register(
    *ops: str,
    params: Callable[[RuleContext, Shape], ParamCount] = no_params,
    keeps_dtype: bool = False,
    wrappable: bool = True,
):
    """Register a shape rule (the decorated function) and what goes with it, for ops."""

    def decorate(shape_fn):
        for op in ops:
            assert op not in RULES, op
            RULES[op] = OpRule(shape_fn, params, keeps_dtype, wrappable)
        return shape_fn

    return decorate


def same(n: int) -> ParamCount:
    """The same parameter count in both frameworks."""
    return {"keras": n, "torch": n}


# Importing the family modules fills RULES.
from . import attention, conv, dense, merge, recurrent, regularise, reshape  # noqa: E402,F401
