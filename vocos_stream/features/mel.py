"""The log-mel front-end Vocos is trained on (torchaudio ``MelSpectrogram`` as configured by vocos 0.1.0).

STFT with a periodic Hann window of ``n_fft`` samples, magnitude (power 1), an HTK mel filterbank from
0 Hz to ``sample_rate / 2`` without normalisation, then ``log(max(x, 1e-7))``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import Padding

LOG_FLOOR = 1e-7


def hz_to_mel_htk(hz: float) -> float:
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def htk_mel_filterbank(
    n_freqs: int, n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """Triangular HTK mel filters, shape ``(n_freqs, n_mels)``, no area normalisation.

    Same construction as ``torchaudio.functional.melscale_fbanks(..., norm=None, mel_scale="htk")``:
    ``n_mels + 2`` points equally spaced on the mel scale, filters rising from point m-1 to m and falling to m+1,
    evaluated at the ``n_freqs`` linearly spaced bin frequencies 0 .. sample_rate // 2.
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel_htk(f_min), hz_to_mel_htk(f_max), n_mels + 2)
    f_pts = 700.0 * (10.0 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]  # (n_mels + 1,)
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0)


class MelSpectrogramFeatures(nn.Module):
    """Audio ``(B, L)`` float in [-1, 1] at ``sample_rate`` -> log-mel ``(B, n_mels, T)``.

    ``padding="center"``: reflect-pad ``n_fft // 2`` both sides, ``T = 1 + L // hop_length``.
    ``padding="same"``: reflect-pad ``(n_fft - hop_length) // 2`` both sides, then frames without centring,
    ``T = 1 + (L + 2 * pad - n_fft) // hop_length`` (= ``L // hop_length`` when L is a multiple of the hop).
    """

    window: torch.Tensor
    filterbank: torch.Tensor

    def __init__(
        self,
        sample_rate: int = 24000,
        n_fft: int = 1024,
        hop_length: int = 256,
        n_mels: int = 100,
        padding: Padding = "center",
    ) -> None:
        super().__init__()
        if padding not in ("center", "same"):
            raise ValueError(f"padding must be 'center' or 'same', got {padding!r}")
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.padding: Padding = padding
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("filterbank", htk_mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate), persistent=False)

    @property
    def pad(self) -> int:
        """Reflect padding added at each end before framing, in samples."""
        return self.n_fft // 2 if self.padding == "center" else (self.n_fft - self.hop_length) // 2

    def num_frames(self, num_samples: int) -> int:
        return 1 + (num_samples + 2 * self.pad - self.n_fft) // self.hop_length

    def magnitudes_to_log_mel(self, magnitudes: torch.Tensor) -> torch.Tensor:
        """Linear STFT magnitudes ``(B, n_fft//2+1, T)`` -> log-mel ``(B, n_mels, T)``."""
        mel = torch.matmul(magnitudes.transpose(-1, -2), self.filterbank).transpose(-1, -2)
        return torch.log(torch.clamp(mel, min=LOG_FLOOR))

    def frames_to_log_mel(self, frames: torch.Tensor) -> torch.Tensor:
        """Windowless frames ``(B, T, n_fft)`` -> log-mel ``(B, n_mels, T)`` (used by the streaming front-end)."""
        spec = torch.fft.rfft(frames * self.window, n=self.n_fft, dim=-1)
        return self.magnitudes_to_log_mel(spec.abs().transpose(1, 2))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 2:
            raise ValueError(f"audio must have shape (batch, samples), got {tuple(audio.shape)}")
        if audio.shape[-1] <= self.pad:
            raise ValueError(
                f"audio of {audio.shape[-1]} samples is too short for reflect padding of {self.pad}; "
                f"give at least {self.pad + 1} samples"
            )
        padded = torch.nn.functional.pad(audio.unsqueeze(1), (self.pad, self.pad), mode="reflect").squeeze(1)
        spec = torch.stft(
            padded,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.n_fft,
            window=self.window,
            center=False,
            return_complex=True,
        )
        return self.magnitudes_to_log_mel(spec.abs())
