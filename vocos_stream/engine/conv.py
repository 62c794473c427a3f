"""One 'same' convolution (kernel k, zero padding p = (k-1)/2 at both ends) run incrementally.

Offline, the layer sees ``p`` zeros, the T input frames, ``p`` zeros, and emits T frames. Streaming, its state
starts as those ``p`` leading zeros (so nothing before time 0 is ever emitted into the next layer); each push
appends frames and emits every output whose ``k`` inputs are now known; the end of the stream appends the
trailing ``p`` zeros. Output frame t therefore leaves ``p`` frames after input frame t arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class ConvState:
    """The last ``<= k-1`` inputs of one convolution, ``(B, C, h)``; initially ``p`` zeros."""

    history: torch.Tensor

    @classmethod
    def start(cls, conv: nn.Conv1d, batch: int) -> ConvState:
        weight = conv.weight
        return cls(weight.new_zeros(batch, conv.in_channels, conv_padding(conv)))

    def copy(self) -> ConvState:
        # Steps never write into tensors in place, so sharing them is safe.
        return ConvState(self.history)


def conv_padding(conv: nn.Conv1d) -> int:
    padding = conv.padding
    assert isinstance(padding, tuple) and conv.stride == (1,) and conv.dilation == (1,)
    return int(padding[0])


def conv_step(
    conv: nn.Conv1d, state: ConvState, x: torch.Tensor, *, end: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Push ``x (B, C, n)``; return ``(y (B, C_out, m), aligned (B, C, m))``.

    ``y`` holds the outputs that became computable, ``aligned`` the inputs at the same times (what a residual
    branch adds to them). ``end=True`` closes the stream: the layer's own ``p`` trailing zeros are appended and
    every remaining output is emitted.
    """
    k, p = conv.kernel_size[0], conv_padding(conv)
    parts = [state.history, x]
    if end:
        parts.append(x.new_zeros(x.shape[0], x.shape[1], p))
    full = torch.cat(parts, dim=-1)
    m = full.shape[-1] - (k - 1)
    state.history = full[..., max(0, full.shape[-1] - (k - 1)) :]
    if m <= 0:
        return x.new_zeros(x.shape[0], conv.out_channels, 0), x.new_zeros(x.shape[0], x.shape[1], 0)
    if conv.groups == conv.in_channels == conv.out_channels:
        # Depthwise: a broadcast multiply-sum over the k taps. For the few frames of a push this is several
        # times cheaper than conv1d's grouped path (~8 us vs ~50 us per layer and frame, measured).
        y = (full.unfold(-1, k, 1) * conv.weight[:, 0, None, :]).sum(-1)
        if conv.bias is not None:
            y = y + conv.bias[:, None]
    elif conv.groups == 1:
        # Dense: one linear layer over the unfolded windows (x4 faster than conv1d at 8 frames, measured).
        windows = full.unfold(-1, k, 1).transpose(1, 2).reshape(full.shape[0], m, -1)
        y = nn.functional.linear(windows, conv.weight.reshape(conv.out_channels, -1), conv.bias).transpose(1, 2)
    else:
        y = nn.functional.conv1d(full, conv.weight, conv.bias, groups=conv.groups)
    return y, full[..., p : p + m]
