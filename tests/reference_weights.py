"""Deterministic, non-trivial weights for reference-equivalence tests, from a key name, a shape and a seed.

Shared by ``tools/make_golden.py`` (which loads them into the ORIGINAL vocos 0.1.0 model to compute golden
outputs) and the tests (which load them into ours through the checkpoint loader). It depends on torch only.
Norm scales are drawn around 1 and layer scales around 0.1 (not the init constants) so that every parameter
influences the output and a wrongly mapped key cannot go unnoticed.
"""

from __future__ import annotations

import math
import zlib

import torch


def reference_weight(key: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
    x = torch.randn(shape, generator=generator, dtype=torch.float32)
    if key.endswith("codebook_weights"):
        return x
    if key.endswith(".gamma"):
        return 0.1 + 0.05 * x
    if key.endswith("scale.weight") or (key.endswith("norm.weight") and len(shape) == 1):
        return 1.0 + 0.1 * x
    if key.endswith(("shift.weight", ".bias")):
        return 0.05 * x
    if len(shape) >= 2:  # conv / linear weights: unit-variance outputs for unit-variance inputs
        fan_in = math.prod(shape[1:])
        return x / math.sqrt(fan_in)
    raise KeyError(f"no reference rule for {key} {shape}")


def reference_state(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    return {k: reference_weight(k, tuple(s), seed) for k, s in shapes.items()}
