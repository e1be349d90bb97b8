"""The `specc summary` view of a shaped graph: each layer's shape and parameter counts."""

from __future__ import annotations

import json

from .graph import ModelGraph
from .masks import mask_sources
from .shapes import dim_json, show
from .shares import held, root_of


def counted_by(model: ModelGraph) -> list[str]:
    """The backends whose parameter counts the graph carries (every installed one that counts)."""
    return sorted(model.order[0].meta["params"]) if model.order else []


def summary_data(model: ModelGraph) -> dict:
    """The summary as plain data (the stable `summary --format json` document).

    Lists the layers the model keeps: those whose result reaches an output. A
    layer that shares another's weights names it (`shares`) and counts 0: the
    totals count each weight once, a shared root's too when only a layer
    sharing it reaches an output.
    """
    inputs = [
        {
            "name": n.name,
            "shape": [dim_json(d) for d in n.meta["shape"][1:]],
            "dtype": n.attrs["dtype"],
        }
        for n in model.spec.inputs
    ]
    layers = []
    backends = counted_by(model)
    totals = dict.fromkeys(backends, 0)
    for node in model.order:
        if node.op == "input" or node.name not in model.live:
            continue
        params = node.meta["params"]
        layer = {
            "name": node.name,
            "op": node.op,
            "inputs": list(node.inputs),
            "shape": [dim_json(d) for d in node.meta["shape"][1:]],
            "dtype": node.meta["dtype"],
            "params": dict(params),
        }
        if root_of(node) is not None:
            layer["shares"] = root_of(node)
        if mask_sources(node):  # the layers whose mask the output carries
            layer["mask"] = list(mask_sources(node))
        layers.append(layer)
    for node in held(model):
        for backend in backends:
            totals[backend] += node.meta["params"][backend]
    return {
        "name": model.name,
        "inputs": inputs,
        "layers": layers,
        "outputs": list(model.outputs),
        "params": totals,
    }


def summary_json(model: ModelGraph) -> str:
    return json.dumps(summary_data(model), indent=2) + "\n"


def summary_text(model: ModelGraph) -> str:
    """A table in the spirit of `keras.Model.summary()`, with each backend's counts."""
    backends = counted_by(model)
    header = ("layer", "op", "inputs", "output shape", *(f"{b} params" for b in backends))
    rows = []
    for node in model.order:
        if node.name not in model.live:
            continue
        params = node.meta["params"]
        rows.append(
            (
                node.name,
                node.op if root_of(node) is None else f"{node.op} (shares {root_of(node)})",
                ", ".join(node.inputs),
                show(node.meta["shape"]),
                *(f"{params[b]:,}" for b in backends),
            )
        )
    data = summary_data(model)
    total = ("total", "", "", "", *(f"{data['params'][b]:,}" for b in backends))
    header, rows, total = _mask_column(model, header, rows, total)
    widths = [max(len(r[i]) for r in [header, *rows, total]) for i in range(len(header))]
    numeric = range(4, 4 + len(backends))

    def line(row) -> str:
        cells = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(header))
    out = [f"model `{model.name}`", line(header), rule, *map(line, rows), rule, line(total)]
    out.append(f"outputs: {', '.join(model.outputs)}")
    return "\n".join(out) + "\n"


def _mask_column(model: ModelGraph, header, rows, total):
    """A last column `mask` naming the layers whose mask each layer's output carries.

    Only when some layer carries one: an unmasked model's table is unchanged.
    """
    live = [node for node in model.order if node.name in model.live]
    if not any(mask_sources(node) for node in live):
        return header, rows, total
    rows = [(*row, ", ".join(mask_sources(node))) for row, node in zip(rows, live, strict=True)]
    return (*header, "mask"), rows, (*total, "")
