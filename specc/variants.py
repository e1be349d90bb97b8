"""The LSTM variants, as one table: which gates each has, and what replaces the missing ones.

Greff et al., "LSTM: A Search Space Odyssey" (2017), and Ba et al.'s layer
normalisation (2016). Gates are named as in the papers and in PyTorch's
weight layout: `i` input, `f` forget, `g` candidate (Keras calls it `c`), `o`
output, always in that order. Everything that needs a variant's gates (the
parameter counts, the lints, both backends' cells, the weight transfer) reads
them here; the runtimes receive them as constants the emitter writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

GATE_ORDER = "ifgo"


@dataclass(frozen=True)
class Variant:
    """One LSTM variant: its gates with weights, its peepholes, its special wiring."""

    name: str
    gates: str  # the gates that have weights, a subsequence of GATE_ORDER
    peepholes: str  # the gates that read the cell through a diagonal peephole
    summary: str
    coupled_forget: bool = False  # cifg: f = 1 - i
    gate_recurrence: bool = False  # fgr: i, f, o also read the last step's i, f, o
    input_activation: bool = True  # niaf: False (the candidate is not squashed)
    output_activation: bool = True  # noaf: False (the cell is not squashed)
    layer_norm: bool = False  # Ba et al., eq. 20: no biases, the norms shift instead

    @property
    def has_bias(self) -> bool:
        return not self.layer_norm

    @property
    def own_forget_gate(self) -> bool:
        """Whether the forget gate has a bias of its own (`forget_bias` applies)."""
        return "f" in self.gates

    @property
    def fused(self) -> bool:
        """Whether the cell is a fused LSTM with some gate rows fixed: a missing gate's
        rows zero and its bias frozen at +1e4 (sigmoid exactly 1), cifg's forget rows
        the input gate's negated (1 - sigmoid(z) = sigmoid(-z)). True once the
        peepholes are dropped (`peepholes: false`) from all but niaf, noaf, fgr and
        layer_norm, whose wiring no fused kernel has."""
        plain = self.input_activation and self.output_activation
        return plain and not (self.peepholes or self.gate_recurrence or self.layer_norm)

    @property
    def extra_matrices(self) -> int:
        """u x u matrices beyond the gates' (fgr: nine, from i, f, o to i, f, o)."""
        return 9 if self.gate_recurrence else 0


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("standard", "ifgo", "", "Greff's NP: no peepholes; the fused cuDNN LSTM"),
        Variant("peephole", "ifgo", "ifo", "Greff's vanilla LSTM: peepholes to i, f, o"),
        Variant("nig", "fgo", "fo", "no input gate (i = 1)"),
        Variant("nfg", "igo", "io", "no forget gate (f = 1)"),
        Variant("nog", "ifg", "if", "no output gate (o = 1)"),
        Variant("niaf", "ifgo", "ifo", "no input activation", input_activation=False),
        Variant("noaf", "ifgo", "ifo", "no output activation", output_activation=False),
        Variant("cifg", "igo", "io", "coupled input and forget gate", coupled_forget=True),
        Variant("fgr", "ifgo", "ifo", "full gate recurrence", gate_recurrence=True),
        Variant("layer_norm", "ifgo", "", "layer-normalised LSTM (Ba et al.)", layer_norm=True),
    )
}


def variant_of(attrs: dict) -> Variant:
    """An `lstm` layer's variant as it runs: without peepholes under `peepholes: false`."""
    variant = VARIANTS[attrs.get("variant", "standard")]
    if attrs.get("peepholes", True):
        return variant
    return replace(variant, peepholes="")
