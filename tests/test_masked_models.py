"""Masked models (`mask_zero`, `masking`), built in each framework and held to what masks mean.

- Padding changes nothing: a right-padded row gives what the same row without
  its padding gives (every unmasked step, and the last step's output), within
  1e-5, for plain, bidirectional, step-by-step and variant recurrent layers,
  and the pools and `last_step` that honour the mask. Masked steps of a
  returned sequence are zeros.
- Keras and PyTorch are one function on masked input whose padding differs in
  each row (one row all padding too), once Keras's perturbed weights are moved
  into PyTorch.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import specc  # noqa: E402

from .test_cross_backend import _keras_run, _torch_run, _twins  # noqa: E402

TOLERANCE = 1e-5
LENGTHS = [9, 6, 1, 3]  # unpadded length of each row; 9 steps in all

# One recurrent layer of each kind that masks differently in each backend.
RECURRENT = {
    "lstm": "{op: lstm, units: 5}",
    "gru": "{op: gru, units: 5}",
    "rnn": "{op: rnn, units: 5}",
    "bidirectional_lstm": "{op: lstm, units: 4, bidirectional: true}",
    "bidirectional_gru_sum": "{op: gru, units: 4, bidirectional: true, merge_mode: sum}",
    "step_by_step_lstm": "{op: lstm, units: 4, recurrent_dropout: 0.3, bidirectional: true}",
    "step_by_step_gru": "{op: gru, units: 4, activation: relu, reset_after: false}",
    "step_by_step_rnn": "{op: rnn, units: 4, activation: sigmoid}",
    "variant_peephole": "{op: lstm, units: 4, variant: peephole, bidirectional: true}",
    "variant_fgr": "{op: lstm, units: 4, variant: fgr}",
    "variant_cifg_fused": "{op: lstm, units: 4, variant: cifg, peepholes: false, "
    "bidirectional: true}",
}


def _spec(layer: str, sequences: bool, masking: bool = False) -> str:
    flag = "true" if sequences else "false"
    layer = layer[:-1] + f", name: rec, return_sequences: {flag}}}"
    if masking:
        return f"""\
specc: 1
name: masked
dims: {{T: null}}
inputs:
  - {{name: x, shape: [T, 3]}}
layers:
  - {{name: pad, op: masking, mask_value: -1.0}}
  - {layer}
"""
    return f"""\
specc: 1
name: masked
dims: {{T: null}}
inputs:
  - {{name: tokens, shape: [T], dtype: int32}}
layers:
  - {{name: embed, op: embedding, input_dim: 30, output_dim: 3, mask_zero: true}}
  - {layer}
"""


def _tokens(rng, lengths=LENGTHS, steps: int = 9):
    ids = np.zeros((len(lengths), steps), "int32")
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(1, 30, length)
    return ids


def _features(rng, lengths=LENGTHS, steps: int = 9):
    x = rng.standard_normal((len(lengths), steps, 3)).astype("float32")
    for row, length in enumerate(lengths):
        x[row, length:] = -1.0
    return x


def _models(spec: str):
    rng = np.random.default_rng(0)
    _, keras_model, torch_model = _twins(spec, rng)
    torch_model.eval()
    return {"keras": (keras_model, _keras_run), "torch": (torch_model, _torch_run)}


@pytest.mark.parametrize("masking", [False, True], ids=["mask_zero", "masking"])
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("kind", list(RECURRENT))
def test_padding_changes_nothing_and_both_backends_agree(kind, sequences, masking):
    spec = _spec(RECURRENT[kind], sequences, masking)
    models = _models(spec)
    rng = np.random.default_rng(1)
    padded = _features(rng) if masking else _tokens(rng)
    outputs = {}
    for backend, (model, run) in models.items():
        (full,) = run(model, [padded])
        outputs[backend] = full
        for row, length in enumerate(LENGTHS):
            (alone,) = run(model, [padded[row : row + 1, :length]])
            if sequences:
                np.testing.assert_allclose(full[row, :length], alone[0], atol=TOLERANCE)
                assert not full[row, length:].any(), f"{backend}: masked steps are not zeros"
            else:
                np.testing.assert_allclose(full[row], alone[0], atol=TOLERANCE)
    difference = np.abs(outputs["keras"] - outputs["torch"]).max()
    assert difference <= TOLERANCE, f"keras and torch differ by {difference}"


POOLS = """\
specc: 1
name: pools
dims: {T: null}
inputs:
  - {name: tokens, shape: [T], dtype: int32}
layers:
  - {name: embed, op: embedding, input_dim: 30, output_dim: 4, mask_zero: true}
  - {name: seq, op: gru, units: 4, return_sequences: true, bidirectional: true}
  - {name: avg, op: global_avg_pool, inputs: seq}
  - {name: top, op: global_max_pool, inputs: seq}
  - {name: last, op: last_step, inputs: embed}
  - {name: out, op: concatenate, inputs: [avg, top, last]}
"""


def test_pools_and_last_step_honour_the_mask_in_both_backends():
    models = _models(POOLS)
    ids = _tokens(np.random.default_rng(2))
    outputs = {}
    for backend, (model, run) in models.items():
        (full,) = run(model, [ids])
        outputs[backend] = full
        for row, length in enumerate(LENGTHS):
            (alone,) = run(model, [ids[row : row + 1, :length]])
            np.testing.assert_allclose(full[row], alone[0], atol=TOLERANCE, err_msg=backend)
    assert np.abs(outputs["keras"] - outputs["torch"]).max() <= TOLERANCE


def test_an_all_padding_row_gives_zeros_and_nan_means_in_both_backends():
    """A row without an unmasked step: recurrent layers give their initial state
    (zeros), `global_max_pool` zeros; `global_avg_pool` divides by 0 (NaN), as Keras."""
    models = _models(POOLS.replace("inputs: [avg, top, last]", "inputs: [top, avg]"))
    ids = _tokens(np.random.default_rng(3), lengths=[4, 0])
    got = {backend: run(model, [ids])[0] for backend, (model, run) in models.items()}
    for backend, out in got.items():
        assert not out[1, :8].any(), backend
        assert np.isnan(out[1, 8:]).all(), backend
    assert np.abs(got["keras"][0] - got["torch"][0]).max() <= TOLERANCE
    spec = _spec(RECURRENT["bidirectional_lstm"], False)
    for model, run in _models(spec).values():
        assert not run(model, [ids])[0][1].any()


def test_emitted_torch_source_packs_fused_layers():
    source = specc.emit(_spec(RECURRENT["bidirectional_lstm"], True), backend="torch")
    assert "embed_mask = tokens != 0" in source
    assert "packed(self.rec, embed, embed_mask)" in source
    assert "enforce_sorted=False" in source and "total_length=" in source


# The final states of masked layers, read as ports, and a masked decoder started
# from them: fused, step-by-step and variant layers, one and two directions.
STATES = """\
specc: 1
name: masked_states
dims: {{T: null}}
inputs:
  - {{name: tokens, shape: [T], dtype: int32}}
layers:
  - {{name: embed, op: embedding, input_dim: 30, output_dim: 3, mask_zero: true}}
  - {{name: enc, return_state: true, return_sequences: true, {encoder}}}
  - {{name: dec, op: {op}, units: {units}, return_sequences: true, inputs: embed,
     initial_state: enc{decoder}}}
  - {{name: states, op: concatenate, inputs: [{ports}]}}
outputs: [dec, states]
"""
STATE_CASES = {
    "fused_lstm": ("op: lstm, units: 4", "lstm", 4, "enc.h, enc.c"),
    "step_by_step_gru": ("op: gru, units: 4, activation: relu", "gru", 4, "enc.h, enc.h"),
    "variant_cifg": ("op: lstm, units: 4, variant: cifg", "lstm", 4, "enc.h, enc.c"),
    "bidirectional_rnn": (
        "op: rnn, units: 3, bidirectional: true",
        "rnn",
        6,
        "enc.h, enc.h_forward, enc.h_backward",
    ),
    "bidirectional_decoder": (
        "op: lstm, units: 3, bidirectional: true",
        "lstm",
        3,
        "enc.c_forward, enc.c_backward",
        ", bidirectional: true",
    ),
}


@pytest.mark.parametrize("case", list(STATE_CASES))
def test_final_states_are_at_the_last_unmasked_step(case):
    """A padded row's final states (and a decoder started from them) are those of the
    same row without its padding, in each backend; the two backends agree."""
    encoder, op, units, ports, *decoder = STATE_CASES[case]
    spec = STATES.format(encoder=encoder, op=op, units=units, ports=ports, decoder="".join(decoder))
    models = _models(spec)
    ids = _tokens(np.random.default_rng(4))
    outputs = {}
    for backend, (model, run) in models.items():
        sequences, states = outputs[backend] = run(model, [ids])
        for row, length in enumerate(LENGTHS):
            alone = run(model, [ids[row : row + 1, :length]])
            np.testing.assert_allclose(states[row], alone[1][0], atol=TOLERANCE, err_msg=backend)
            np.testing.assert_allclose(
                sequences[row, :length], alone[0][0], atol=TOLERANCE, err_msg=backend
            )
    for keras_out, torch_out in zip(outputs["keras"], outputs["torch"], strict=True):
        assert np.abs(keras_out - torch_out).max() <= TOLERANCE
