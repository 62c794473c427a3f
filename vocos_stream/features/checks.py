"""Input validation shared by every vocoder and stream: errors say what was wrong and what shape is expected."""

from __future__ import annotations

import torch


def check_audio(audio: object, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Audio for any vocoder here: a finite tensor of shape ``(batch, samples)``, returned as ``dtype``."""
    if not isinstance(audio, torch.Tensor) or audio.dim() != 2:
        shape = tuple(audio.shape) if isinstance(audio, torch.Tensor) else type(audio).__name__
        raise ValueError(f"audio must be a tensor of shape (batch, samples), got {shape}")
    if not bool(torch.isfinite(audio).all()):
        raise ValueError("audio contains NaN or inf")
    return audio.to(dtype)


def check_features(
    features: object, channels: int, *, allow_empty: bool = False, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Features ``(batch, channels, frames)``, finite, returned as ``dtype``. Streams allow 0 frames (an empty
    push); offline decoding does not."""
    expected = f"features must have shape (batch, {channels}, frames)"
    if not isinstance(features, torch.Tensor) or features.dim() != 3:
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"{expected}, got {shape}")
    if features.shape[1] != channels:
        raise ValueError(
            f"{expected}, got {tuple(features.shape)}: {features.shape[1]} channels but this model takes {channels}"
        )
    if features.shape[-1] < 1 and not allow_empty:
        raise ValueError("features hold no frames")
    if not bool(torch.isfinite(features).all()):
        raise ValueError("features contain NaN or inf")
    return features.to(dtype)
