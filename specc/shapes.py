"""Symbolic shapes and the shape-inference pass.

A shape is a tuple of dims with the batch first. A dim is an int (static) or a
`Sym`: the batch, a dimension named in `dims:` with a null size, an anonymous
null dim of an input, or an expression over these (`T+T`, `ceil(T/2)`). A Sym
equals only itself, or another Sym built by the same expression from the same
dims, so two branches that compute the same thing from a variable length
still match, and two unrelated variable lengths never do.

This module is the language the shape rules (`specc.ops`) are written in:
dims, shapes, the context a rule sees, and the problem it raises. The pass
that runs the rules is `specc.infer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import Related, escape
from .ir import Node
from .optable import is_recurrent


class Sym:
    """A symbolic dimension (see the module docstring)."""

    __slots__ = ("label", "key")

    def __init__(self, label: str, key: tuple | None = None):
        self.label = label
        self.key = key

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        return isinstance(other, Sym) and self.key is not None and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key) if self.key is not None else id(self)

    def __repr__(self) -> str:
        return self.label


BATCH = Sym("batch")
Dim = int | Sym
Shape = tuple  # tuple[Dim, ...], batch first


def dim_label(dim: Dim) -> str:
    return str(dim) if isinstance(dim, int) else dim.label


def show(shape: Shape) -> str:
    """A shape the way Keras users read it: `(batch, 36, 64)`."""
    return "(" + ", ".join(dim_label(d) for d in shape) + ")"


def dim_json(dim: Dim):
    """An int, a dimension name, or None, for JSON output."""
    if isinstance(dim, int):
        return dim
    if dim.key is None and dim is not BATCH and dim.label != "None":
        return dim.label
    return None


def _wrap(dim: Dim) -> str:
    label = dim_label(dim)
    return f"({label})" if any(c in label for c in "+-*/") else label


def dim_add(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return Sym(f"{_wrap(a)}+{_wrap(b)}", ("add", a, b))


def dim_mul(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    return Sym(f"{_wrap(a)}*{_wrap(b)}", ("mul", a, b))


@dataclass
class ShapeProblem(Exception):
    """A shape rule's finding. `at` says where: an attribute path, or ("input", i)."""

    code: str
    message: str
    at: tuple = ()
    label: str = ""
    help: str = ""
    related: list[Related] = field(default_factory=list)


@dataclass
class RuleContext:
    """What a shape rule sees: the node, its checked attributes, its inputs' shapes."""

    node: Node
    op: str
    attrs: dict
    shapes: list[Shape]
    sources: list[Node]
    dims: dict[str, Dim]
    batch_size: int | None
    at_prefix: tuple = ()  # set when a rule runs for a layer wrapped by time_distributed

    @property
    def what(self) -> str:
        return f"`{self.op}` layer `{escape(self.node.name)}`"

    def fail(
        self,
        code: str,
        message: str,
        *,
        at: tuple = (),
        label: str = "",
        help: str = "",
        related: list[Related] | None = None,
    ):
        if at and at[0] != "input":
            at = (*self.at_prefix, *at)
        raise ShapeProblem(code, message, at, label, help, related or [])

    def origin_of(self, index: int) -> str:
        """`from `name`` for an input, for messages that name where a shape came from."""
        return f"from `{self.sources[index].name}`"

    def one_input(self, given: int | None = None) -> Shape:
        """The one input's shape; `given` counts the inputs when some of them are not
        sources (a recurrent layer's initial states)."""
        given = len(self.shapes) if given is None else given
        if given != 1:
            self.fail(
                "E403",
                f"{self.what} takes one input, got {given}",
                at=("inputs",),
                help="give it a single source",
            )
        return self.shapes[0]

    def rank(
        self, shape: Shape, ranks: tuple[int, ...], meaning: str, index: int = 0, help: str = ""
    ) -> None:
        """Require a rank (batch included); `meaning` describes it, e.g. (batch, time, features)."""
        if len(shape) in ranks:
            return
        if not help and ranks == (3,) and len(shape) == 2 and not self.at_prefix:
            help = self.sequence_hint(index)
        got = show(shape)
        self.fail(
            "E402",
            f"{self.what} needs a {meaning} input, got {got} {self.origin_of(index)}",
            at=("input", index),
            label=f"{got} here",
            help=help,
        )

    def sequence_hint(self, index: int) -> str:
        """How to give a layer that needs (batch, time, features) a sequence instead of a vector."""
        source = self.sources[index]
        if is_recurrent(source.op) and not source.attrs.get("return_sequences"):
            return f"set `return_sequences: true` on `{source.name}` to pass every time step on"
        return "make a sequence first, e.g. with `repeat_vector`"

    def static(self, dim: Dim, what: str, index: int = 0, help: str = "") -> int:
        if isinstance(dim, int):
            return dim
        self.fail(
            "E405",
            f"{self.what} needs a static {what}, but the input {self.origin_of(index)} has a "
            f"variable one (`{dim_label(dim)}`)",
            at=("input", index),
            label=f"{show(self.shapes[index])} here",
            help=help or "give the dimension a size under `dims:` or in the input's shape",
        )

    def dim(self, value, path: tuple) -> Dim:
        """An attribute that names a dimension (`n: T`) or gives a size."""
        if isinstance(value, int):
            return value
        if value not in self.dims:
            self.fail(
                "E304",
                f"unknown dimension `{escape(value)}` in {self.what}",
                at=path,
                help="declare it under `dims:`",
            )
        return self.dims[value]


def input_shape(node: Node, dims: dict[str, Dim], batch: Dim = BATCH) -> Shape | None:
    out: list[Dim] = [batch]
    for value in node.attrs["shape"]:
        if value is None:
            out.append(Sym("None"))
        elif isinstance(value, str):
            if value not in dims:
                return None  # reported by the graph stage
            out.append(dims[value])
        else:
            out.append(value)
    return tuple(out)


def spec_dims(dims: dict[str, int | None]) -> dict[str, Dim]:
    """`dims:` as dims: ints stay ints, each null becomes one Sym shared by all its uses."""
    return {name: (size if size is not None else Sym(name)) for name, size in dims.items()}
