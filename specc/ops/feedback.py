"""`gated_feedback`: a whole gated-feedback stack (Chung et al., 2015) as one layer.

Its own rule, not the recurrent family's: it has no bidirectional or stateful
form, and its output width is `units` whatever `layers` is. `layers` below 2
never reaches here: the schema refuses it (E104) at the value.
"""

from __future__ import annotations

from ..shapes import RuleContext, Shape
from . import register


@register("gated_feedback")
def gated_feedback_shape(ctx: RuleContext) -> Shape:
    x = ctx.one_input()
    ctx.rank(x, (3,), "3-D (batch, time, features)")
    ctx.static(x[2], "feature size")
    units = ctx.attrs["units"]
    return (x[0], x[1], units) if ctx.attrs["return_sequences"] else (x[0], units)
