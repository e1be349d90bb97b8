"""The differential shape test: random valid specs built in every installed backend.

A bounded slice of tests/random_specs.py's graphs (GRAPHS seeds per backend):
each is built with `specc.build`, run on random input in eval mode and in
training mode (forward, backward and an SGD step), and its output shapes
(batch and variable dims bound to the sizes fed), dtypes and parameter count
must equal `specc summary --format json`'s predictions; in Keras every live
layer's symbolic shape too. `benchmarks/differential.py --graphs N` runs the
same check on many more graphs. A failure prints the spec and what disagreed.
"""

from __future__ import annotations

import warnings

import pytest

from .differential import check, installed_backends, single_threaded
from .random_specs import random_spec

GRAPHS = 60
BACKENDS = installed_backends()

if not BACKENDS:
    pytest.skip("neither torch nor keras is installed", allow_module_level=True)
single_threaded(BACKENDS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(GRAPHS))
def test_random_graph_does_what_specc_predicts(backend: str, seed: int):
    text = random_spec(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns about softmax over one unit, say
        findings = check(text, backend, seed)
    assert not findings, "\n".join(map(str, findings)) + "\n\n" + text
