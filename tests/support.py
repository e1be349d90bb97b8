"""Helpers the backend tests share: random inputs for a graph, the hand-written Keras models."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from specc.shapes import BATCH, Sym

ROOT = Path(__file__).resolve().parent.parent
FEED_SIZE = 12  # the size fed for each variable dim
# A spec with one mistake, E401 at 8:36: what every CI integration must report.
BAD_SPEC = """\
specc: 1
name: bad
inputs:
  - {name: x, shape: [4, 8]}
layers:
  - {name: a, op: dense, units: 3}
  - {name: b, op: dense, units: 5, inputs: x}
  - {name: c, op: add, inputs: [a, b]}
"""


def embedding_limit(graph) -> int:
    """The smallest vocabulary of the graph's embeddings: ids fed stay below it."""
    sizes = []
    for node in graph.order:
        attrs = node.attrs["layer"] if node.op == "time_distributed" else node.attrs
        if attrs.get("op", node.op) == "embedding" and "input_dim" in attrs:
            sizes.append(attrs["input_dim"])
    return min(sizes, default=10)


def feed(graph, rng: np.random.Generator) -> tuple[list, dict]:
    """Random inputs for the graph, and the size bound to each dim (the batch included)."""
    batch = graph.spec.batch_size or 2
    bound: dict = {BATCH: batch}
    arrays = []
    limit = embedding_limit(graph)
    for node in graph.spec.inputs:
        shape = [batch]
        for dim in node.meta["shape"][1:]:
            if isinstance(dim, Sym):
                bound.setdefault(dim, FEED_SIZE)
                shape.append(bound[dim])
            else:
                shape.append(dim)
        dtype = node.attrs.get("dtype", "float32")
        if dtype.startswith("int"):
            arrays.append(rng.integers(0, limit, size=shape).astype(dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(dtype))
    right_pad(graph, arrays)
    return arrays, bound


def pad_lengths(batch: int, steps: int) -> list[int]:
    """Unpadded lengths of the rows: the first row full, the others shorter, each its own."""
    return [max(1, steps - 3 * b) if b < steps else 1 + b % steps for b in range(batch)]


def right_pad(graph, arrays: list) -> None:
    """Right-pad, in place, each input a mask-making layer reads (`embedding` with
    `mask_zero`: id 0 after each row's length, ids from 1 before; `masking`: steps
    of `mask_value`), so that masked models see padding of another length in each row."""
    inputs = [node.name for node in graph.spec.inputs]
    for node in graph.order:
        masking = node.op == "masking"
        if not (masking or (node.op == "embedding" and node.attrs.get("mask_zero"))):
            continue
        if node.inputs[0] not in inputs:
            continue
        array = arrays[inputs.index(node.inputs[0])]
        if array.ndim < 2:
            continue
        for row, length in enumerate(pad_lengths(array.shape[0], array.shape[1])):
            if masking:
                array[row, length:] = node.attrs["mask_value"]
            else:
                array[row, :length] = np.maximum(array[row, :length], 1)
                array[row, length:] = 0


@functools.cache
def hand_written_models() -> dict:
    """benchmarks/keras_models.py's MODELS: spec key (path under specs/) -> builder."""
    spec = importlib.util.spec_from_file_location(
        "specc_bench_keras_models", ROOT / "benchmarks" / "keras_models.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MODELS


# Shared layers (`shares:`) at the top level, inside blocks and repeated; the roots `enc`
# and `head` reach no output themselves.
SHARED = """\
specc: 1
name: shared
inputs:
  - {name: a, shape: [5, 6]}
  - {name: b, shape: [7, 6]}
blocks:
  tied:
    layers:
      - {name: p, op: dense, units: 6}
      - {name: q, shares: p, repeat: 2}
layers:
  - {name: enc, op: lstm, units: 4, inputs: a}
  - {name: enc_b, shares: enc, inputs: b}
  - {name: t, block: tied, inputs: b}
  - {name: t2, block: tied, inputs: a}
  - {name: head, op: dense, units: 3, inputs: t}
  - {name: head_b, shares: head, inputs: t2}
outputs: [enc_b, head_b, t]
"""
