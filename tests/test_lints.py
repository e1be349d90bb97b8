"""GPU lints (W501, W502), settings without effect (W306), last step of both directions (W307)."""

from __future__ import annotations

import pytest

import specc

HEAD = "specc: 1\nname: m\ninputs:\n  - {name: x, shape: [6, 4]}\nlayers:\n"


def codes(layer: str):
    report = specc.validate(HEAD + f"  - {layer}\n")
    assert report.ok, [d.message for d in report.errors]
    return sorted(d.code for d in report.diagnostics)


@pytest.mark.parametrize(
    "layer, expected",
    [
        ("{name: l, op: lstm, units: 3}", []),
        ("{name: l, op: lstm, units: 3, activation: relu}", ["W501", "W502"]),
        ("{name: l, op: lstm, units: 3, recurrent_activation: hard_sigmoid}", ["W501", "W502"]),
        ("{name: l, op: lstm, units: 3, recurrent_dropout: 0.2}", ["W501", "W502"]),
        ("{name: l, op: lstm, units: 3, use_bias: false}", ["W501"]),
        ("{name: l, op: lstm, units: 3, unroll: true}", ["W501"]),
        ("{name: l, op: gru, units: 3, reset_after: false}", ["W501", "W502"]),
        ("{name: l, op: rnn, units: 3, activation: relu}", []),
        ("{name: l, op: rnn, units: 3, activation: sigmoid}", ["W502"]),
        ("{name: l, op: lstm, units: 3, dropout: 0.3}", []),
        ("{name: l, op: lstm, units: 3, variant: peephole}", []),
        (
            "{name: l, op: time_distributed, layer: {op: lstm, units: 2, recurrent_dropout: 0.3}}",
            "skip",
        ),
    ],
)
def test_gpu_lints(layer, expected):
    if expected == "skip":  # needs a 4-D input
        report = specc.validate(
            f"specc: 1\nname: m\ninputs:\n  - {{name: x, shape: [5, 6, 4]}}\nlayers:\n  - {layer}\n"
        )
        assert sorted(d.code for d in report.diagnostics) == ["W501", "W502"]
        assert report.diagnostics[0].span.column == 84  # the wrapped layer's setting
        return
    assert codes(layer) == expected


def test_lint_names_every_setting_and_points_at_the_first():
    report = specc.validate(
        HEAD + "  - {name: l, op: lstm, units: 3, activation: relu, recurrent_dropout: 0.1}\n"
    )
    w501 = next(d for d in report.diagnostics if d.code == "W501")
    assert "`activation: relu`, `recurrent_dropout: 0.1`" in w501.message
    assert w501.span.column == 47
    assert w501.related[0].span.column == 72


@pytest.mark.parametrize(
    "layer, key",
    [
        ("{name: l, op: lstm, units: 3, merge_mode: sum}", "merge_mode"),
        ("{name: l, op: gru, units: 3, recurrent_dropout_mode: update}", "recurrent_dropout_mode"),
        ("{name: l, op: lstm, units: 3, variant: cifg, forget_bias: 2.0}", "forget_bias"),
        ("{name: l, op: lstm, units: 3, variant: layer_norm, use_bias: false}", "use_bias"),
        ("{name: l, op: lstm, units: 3, variant: layer_norm, forget_bias: 2.0}", "forget_bias"),
    ],
)
def test_settings_without_effect(layer, key):
    report = specc.validate(HEAD + f"  - {layer}\n")
    (d,) = [d for d in report.diagnostics if d.code == "W306"]
    assert f"`{key}` has no effect" in d.message


def test_strict_fails_on_lints(tmp_path, capsys):
    from specc.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "  - {name: l, op: lstm, units: 3, unroll: true}\n")
    assert main(["validate", str(path)]) == 0
    assert main(["validate", "--strict", str(path)]) == 1


BIDIRECTIONAL = "{name: b, op: gru, units: 3, bidirectional: true, return_sequences: true}"


@pytest.mark.parametrize(
    "between, expected",
    [
        ([], ["W307"]),
        (
            ["{name: d, op: dense, units: 5}", "{name: a, op: activation, activation: relu}"],
            ["W307"],
        ),
        (["{name: s, op: add, inputs: [b, b]}", "{name: n, op: layer_norm}"], ["W307"]),
        (["{name: t, op: time_distributed, layer: {op: dense, units: 2}}"], ["W307"]),
        # a forward layer over the sequence reads all of it before its last step
        (["{name: f, op: lstm, units: 3, return_sequences: true}"], []),
        (["{name: p, op: multi_head_attention, num_heads: 1, key_dim: 2, inputs: [b, b]}"], []),
    ],
)
def test_last_step_of_a_bidirectional_sequence_warns(between: list, expected: list):
    layers = [BIDIRECTIONAL, *between, "{name: last, op: last_step}"]
    report = specc.validate(HEAD + "".join(f"  - {layer}\n" for layer in layers))
    assert report.ok, [d.message for d in report.errors]
    assert sorted(d.code for d in report.diagnostics) == expected


def test_a_forward_sequence_or_final_states_do_not_warn():
    assert codes("{name: b, op: gru, units: 3, return_sequences: true}") == []
    assert codes("{name: b, op: gru, units: 3, bidirectional: true}") == []
