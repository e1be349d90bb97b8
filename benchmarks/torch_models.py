"""Some models of specs/ written by hand in PyTorch, to time the emitted ones against.

Plain idiomatic PyTorch: batch-first `nn.LSTM`/`nn.GRU` called directly, the
last step taken by slicing, a bidirectional summary from `h_n`. Each matches
its spec's shapes and parameter count (benchmarks/model_speed.py checks both
before it times anything). Keyed like benchmarks/keras_models.py: by the path
under specs/ without the suffix.
"""

from __future__ import annotations

import torch
from torch import nn


def _run(lstm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return lstm(x)[0]


class SkipDeepLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.bi1 = nn.LSTM(8, 64, batch_first=True, bidirectional=True)
        self.stack = nn.ModuleList(nn.LSTM(128, 128, batch_first=True) for _ in range(5))
        self.head = nn.LSTM(128, 256, batch_first=True)
        self.out = nn.Linear(256, 1)

    def forward(self, x):
        bi1 = _run(self.bi1, x)
        bi2 = _run(self.stack[0], bi1)
        bi3 = _run(self.stack[1], bi2)
        bi4 = _run(self.stack[2], bi1 + bi3)
        bi5 = _run(self.stack[3], bi4)
        bi6 = _run(self.stack[4], bi1 + bi3 + bi5)
        head = _run(self.head, bi1 + bi3 + bi5 + bi6)[:, -1]
        return self.out(head)


class StackedLstm4(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstms = nn.ModuleList(
            [nn.LSTM(40, 256, batch_first=True)]
            + [nn.LSTM(256, 256, batch_first=True) for _ in range(3)]
        )
        self.classes = nn.Linear(256, 35)

    def forward(self, x):
        for lstm in self.lstms:
            x = _run(lstm, x)
        return torch.softmax(self.classes(x[:, -1]), dim=-1)


class GruStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru1 = nn.GRU(26, 128, batch_first=True)
        self.gru2 = nn.GRU(128, 128, batch_first=True)
        self.gru3 = nn.GRU(128, 128, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.tags = nn.Linear(128, 61)

    def forward(self, x):
        # dropout on the inputs of gru2 and gru3; one mask for all steps, as Keras does
        x = _run(self.gru1, x)
        mask = self.drop(x.new_ones(x.shape[0], 1, x.shape[2]))
        x = _run(self.gru2, x * mask)
        mask = self.drop(x.new_ones(x.shape[0], 1, x.shape[2]))
        x = _run(self.gru3, x * mask)
        return torch.softmax(self.tags(x), dim=-1)


class FusedTwoBranchLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.bi_a1 = nn.LSTM(12, 32, batch_first=True, bidirectional=True)
        self.uni_b1 = nn.LSTM(12, 64, batch_first=True)
        self.bi_a2 = nn.LSTM(64, 32, batch_first=True, bidirectional=True)
        self.uni_b2 = nn.LSTM(64, 64, batch_first=True)
        self.bi_a3 = nn.LSTM(64, 64, batch_first=True, bidirectional=True)
        self.uni_b3 = nn.LSTM(64, 64, batch_first=True)
        self.hidden = nn.Linear(128, 64)
        self.forecast = nn.Linear(64, 6)

    def forward(self, series):
        uni_b1 = _run(self.uni_b1, series)
        cross1 = _run(self.bi_a1, series) + uni_b1
        cross2 = _run(self.bi_a2, cross1) + _run(self.uni_b2, uni_b1)
        _, (h_n, _) = self.bi_a3(cross2)
        bi_a3 = h_n[0] + h_n[1]  # merge_mode sum of both directions' final states
        uni_b3 = _run(self.uni_b3, cross2)[:, -1]
        hidden = torch.relu(self.hidden(torch.cat([bi_a3, uni_b3], -1)))
        return self.forecast(hidden)


class LstmAutoencoderUnet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.LSTM(16, 64, batch_first=True)
        self.enc2 = nn.LSTM(64, 32, batch_first=True)
        self.bottleneck = nn.LSTM(32, 16, batch_first=True)
        self.dec1 = nn.LSTM(16, 32, batch_first=True)
        self.dec2 = nn.LSTM(32, 64, batch_first=True)
        self.reconstruction = nn.Linear(128, 16)

    def forward(self, seq):
        enc1 = _run(self.enc1, seq)
        enc2 = _run(self.enc2, enc1)
        bottleneck = _run(self.bottleneck, enc2)[:, -1]
        repeated = bottleneck.unsqueeze(1).expand(-1, seq.shape[1], -1)
        dec1 = _run(self.dec1, repeated)
        dec2 = _run(self.dec2, dec1 + enc2)
        return self.reconstruction(torch.cat([dec2, enc1], -1))


MODELS = {
    "skip_deep_lstm": SkipDeepLstm,
    "stacked_lstm_4": StackedLstm4,
    "gru_stack": GruStack,
    "fused_two_branch_lstm": FusedTwoBranchLstm,
    "lstm_autoencoder_unet": LstmAutoencoderUnet,
}
