"""The ISTFT head: hidden states -> complex STFT frames -> waveform by windowed overlap-add.

The inverse STFT is written out (irfft, window, overlap-add, divide by the summed squared window) for both
paddings instead of calling ``torch.istft`` for ``center``: the same arithmetic then serves the streaming
engine, which keeps the overlap-add numerator and window-square envelope as running state.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import Padding

MAX_MAGNITUDE = 1e2
NOLA_EPS = 1e-11


def trim_for_padding(n_fft: int, hop_length: int, padding: Padding) -> int:
    """Samples dropped at each end of the overlap-add output (``n_fft // 2`` for center)."""
    return n_fft // 2 if padding == "center" else (n_fft - hop_length) // 2


def output_length(num_frames: int, hop_length: int, padding: Padding) -> int:
    """Samples produced from ``num_frames`` frames: ``(T-1)*hop`` for center, ``T*hop`` for same."""
    return max(0, (num_frames - 1) * hop_length) if padding == "center" else num_frames * hop_length


def overlap_add(frames: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Frames ``(B, n_fft, T)`` -> summed signal ``(B, (T-1)*hop + n_fft)``."""
    n_fft, num_frames = frames.shape[-2], frames.shape[-1]
    length = (num_frames - 1) * hop_length + n_fft
    folded = nn.functional.fold(frames, output_size=(1, length), kernel_size=(1, n_fft), stride=(1, hop_length))
    return folded[:, 0, 0, :]


class ISTFT(nn.Module):
    """Complex spectrogram ``(B, n_fft//2+1, T)`` -> audio ``(B, output_length(T))``.

    ``center`` equals ``torch.istft(center=True)``; ``same`` equals vocos' custom ISTFT. Both divide by the true
    window-square envelope, which is not constant over the first and last ``n_fft`` samples.
    """

    window: torch.Tensor

    def __init__(self, n_fft: int, hop_length: int, padding: Padding = "same") -> None:
        super().__init__()
        if padding not in ("center", "same"):
            raise ValueError(f"padding must be 'center' or 'same', got {padding!r}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.padding: Padding = padding
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def frames(self, spec: torch.Tensor) -> torch.Tensor:
        """Windowed time frames ``(B, n_fft, T)`` of a complex spectrogram ``(B, n_fft//2+1, T)``."""
        return torch.fft.irfft(spec, self.n_fft, dim=1, norm="backward") * self.window[:, None]

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        if spec.dim() != 3:
            raise ValueError(f"expected a complex spectrogram (batch, bins, frames), got {tuple(spec.shape)}")
        num_frames = spec.shape[-1]
        trim = trim_for_padding(self.n_fft, self.hop_length, self.padding)
        signal = overlap_add(self.frames(spec), self.hop_length)
        square = self.window.square()[None, :, None].expand(1, self.n_fft, num_frames)
        envelope = overlap_add(square, self.hop_length)[0]
        end = signal.shape[-1] - trim
        signal, envelope = signal[:, trim:end], envelope[trim:end]
        if bool((envelope <= NOLA_EPS).any()):
            raise ValueError("window overlap-add is zero somewhere (NOLA fails): check n_fft and hop_length")
        return signal / envelope


class ISTFTHead(nn.Module):
    """Hidden states ``(B, T, dim)`` -> audio ``(B, output_length(T))``.

    A linear layer predicts ``n_fft//2+1`` log-magnitudes and as many phases per frame; magnitude is
    ``exp`` clipped at 100.
    """

    def __init__(self, dim: int, n_fft: int, hop_length: int, padding: Padding = "same") -> None:
        super().__init__()
        self.out = nn.Linear(dim, n_fft + 2)
        self.istft = ISTFT(n_fft, hop_length, padding)

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(B, T, dim)`` -> complex spectrogram ``(B, n_fft//2+1, T)``."""
        mag, phase = self.out(x).transpose(1, 2).chunk(2, dim=1)
        mag = torch.clip(torch.exp(mag), max=MAX_MAGNITUDE)
        return mag * (torch.cos(phase) + 1j * torch.sin(phase))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.istft(self.spectrogram(x))
