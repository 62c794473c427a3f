"""Attention masks of padded audio batches, and decoding each item of such a batch exactly as it would be alone.

A mask is ``(B, L)``, 1 for the real samples of each padded clip, 0 after (right padding). Item ``i`` with ``n``
real samples is decoded from the frames its features have when that clip is processed alone: EnCodec makes
``ceil(n / 320)`` frames; the mel feature extractor pads the clip to a multiple of the hop, which gives
``ceil(n / hop) + 1`` frames with ``"center"`` framing and ``ceil(n / hop)`` with ``"same"`` (the fewest whose
decoded audio covers the clip, with the published heads). So the output equals that of the item alone, sample for
sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..config import Padding


def mask_lengths(mask: torch.Tensor, batch: int) -> list[int]:
    """The real-sample count of every row of ``mask``; refuses masks that are not ``(batch, L)`` of 0/1 with the
    ones first."""
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2 or mask.shape[0] != batch:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"attention_mask must have shape (batch={batch}, samples), got {shape}")
    values = mask.to(torch.int64)
    if bool(((values != 0) & (values != 1)).any()):
        raise ValueError("attention_mask must hold only 0 and 1 (1 = real sample)")
    lengths = values.sum(dim=1)
    positions = torch.arange(mask.shape[1], device=mask.device)
    if not torch.equal(values, (positions[None, :] < lengths[:, None]).to(torch.int64)):
        raise ValueError(
            "attention_mask rows must be ones then zeros (audio padded at its end), as the feature extractor and "
            "processors make them"
        )
    return [int(n) for n in lengths.tolist()]


def frames_covering(samples: int, hop_length: int, padding: Padding) -> int:
    """Frames the front-end makes of a clip of ``samples`` samples processed alone (0 for an empty clip):
    ``padding`` is the mel framing, ``"same"`` also for EnCodec (one frame per started hop)."""
    if samples <= 0:
        return 0
    frames = math.ceil(samples / hop_length)
    return frames + 1 if padding == "center" else frames


def output_mask(lengths: list[int], num_samples: int, device: torch.device) -> torch.Tensor:
    """``(B, num_samples)`` int32: 1 for the first ``lengths[i]`` samples of row ``i`` (at most all)."""
    positions = torch.arange(num_samples, device=device)
    limit = torch.tensor(lengths, device=device)[:, None]
    return (positions[None, :] < limit).to(torch.int32)


def decode_per_item(
    decode: Callable[[torch.Tensor, int], torch.Tensor], features: torch.Tensor, frames: list[int], num_samples: int
) -> torch.Tensor:
    """Audio ``(B, num_samples)``: row ``i`` is ``decode(features[i:i+1, :, :frames[i]], i)``, then zeros."""
    out = features.new_zeros(features.shape[0], num_samples)
    for i, count in enumerate(frames):
        if count > 0:
            audio = decode(features[i : i + 1, :, :count], i)
            out[i, : audio.shape[-1]] = audio[0, :num_samples]
    return out
