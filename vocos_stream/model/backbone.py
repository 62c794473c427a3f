"""The Vocos backbone: embed conv -> norm -> ConvNeXt blocks -> final LayerNorm, all at the frame rate.

Parameter names follow the original vocos 0.1.0 layout (``embed``, ``norm``, ``convnext.N.{dwconv, norm,
pwconv1, pwconv2, gamma}``, ``final_layer_norm``), so its checkpoints load without renaming.

Only ``embed`` and each block's ``dwconv`` mix frames (kernel k = 7, zero padding p = 3 in the published models;
any odd k with p = (k-1)/2): an output frame depends on input frames t-p(1+num_layers) .. t+p(1+num_layers),
i.e. +-27 frames for 8 layers of kernel 7.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

KERNEL_SIZE = 7
LAYER_NORM_EPS = 1e-6


class AdaLayerNorm(nn.Module):
    """LayerNorm whose scale and shift are looked up per condition (the EnCodec bandwidth id).

    ``x (B, T, dim)``, ``cond (1,)`` or ``(B,)`` int64 -> ``(B, T, dim)``.
    """

    def __init__(self, num_embeddings: int, dim: int, eps: float = LAYER_NORM_EPS) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps
        self.scale = nn.Embedding(num_embeddings, dim)
        self.shift = nn.Embedding(num_embeddings, dim)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = nn.functional.layer_norm(x, (self.dim,), eps=self.eps)
        return x * self.scale(cond).unsqueeze(-2) + self.shift(cond).unsqueeze(-2)


def make_norm(dim: int, adanorm_num_embeddings: int | None, eps: float = LAYER_NORM_EPS) -> nn.Module:
    if adanorm_num_embeddings:
        return AdaLayerNorm(adanorm_num_embeddings, dim, eps)
    return nn.LayerNorm(dim, eps=eps)


def apply_norm(norm: nn.Module, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
    """Run a LayerNorm or AdaLayerNorm on ``x (B, T, dim)``."""
    if isinstance(norm, AdaLayerNorm):
        if cond is None:
            raise ValueError("this model is conditioned on the EnCodec bandwidth: pass bandwidth_id")
        return norm(x, cond)
    assert isinstance(norm, nn.LayerNorm)
    return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


class ConvNeXtBlock(nn.Module):
    """``x (B, dim, T)`` -> ``x + gamma * pwconv2(gelu(pwconv1(norm(dwconv(x)))))``, same shape."""

    gamma: nn.Parameter | None

    def __init__(
        self,
        dim: int,
        intermediate_dim: int,
        layer_scale_init_value: float,
        adanorm_num_embeddings: int | None,
        kernel_size: int = KERNEL_SIZE,
        eps: float = LAYER_NORM_EPS,
    ) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=(kernel_size - 1) // 2, groups=dim)
        self.norm = make_norm(dim, adanorm_num_embeddings, eps)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim)) if layer_scale_init_value > 0 else None

    def pointwise(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """The per-frame part after the depthwise conv: ``(B, T, dim)`` -> ``(B, T, dim)`` (no residual)."""
        # Functional calls: the streaming engine runs this for every push, where module-call overhead shows.
        x = apply_norm(self.norm, x, cond)
        x = F.linear(
            F.gelu(F.linear(x, self.pwconv1.weight, self.pwconv1.bias)), self.pwconv2.weight, self.pwconv2.bias
        )
        return x if self.gamma is None else self.gamma * x

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        y = self.pointwise(self.dwconv(x).transpose(1, 2), cond)
        return x + y.transpose(1, 2)


class VocosBackbone(nn.Module):
    """Features ``(B, input_channels, T)`` -> hidden states ``(B, T, dim)``."""

    def __init__(
        self,
        input_channels: int,
        dim: int,
        intermediate_dim: int,
        num_layers: int,
        layer_scale_init_value: float | None = None,
        adanorm_num_embeddings: int | None = None,
        kernel_size: int = KERNEL_SIZE,
        eps: float = LAYER_NORM_EPS,
    ) -> None:
        super().__init__()
        self.input_channels = input_channels
        self.conv_padding = (kernel_size - 1) // 2
        self.embed = nn.Conv1d(input_channels, dim, kernel_size, padding=self.conv_padding)
        self.norm = make_norm(dim, adanorm_num_embeddings, eps)
        scale = layer_scale_init_value or 1 / num_layers
        self.convnext = nn.ModuleList(
            ConvNeXtBlock(dim, intermediate_dim, scale, adanorm_num_embeddings, kernel_size, eps)
            for _ in range(num_layers)
        )
        self.final_layer_norm = nn.LayerNorm(dim, eps=eps)
        self.apply(_init_weights)

    @property
    def blocks(self) -> list[ConvNeXtBlock]:
        return [cast(ConvNeXtBlock, block) for block in self.convnext]

    @property
    def receptive_field(self) -> int:
        """Frames of context needed on each side of an output frame (27 for 8 layers of kernel 7)."""
        return self.conv_padding * (1 + len(self.convnext))

    def forward(self, x: torch.Tensor, bandwidth_id: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(x)
        x = apply_norm(self.norm, x.transpose(1, 2), bandwidth_id).transpose(1, 2)
        for block in self.convnext:
            x = block(x, bandwidth_id)
        return self.final_layer_norm(x.transpose(1, 2))


def _init_weights(m: nn.Module) -> None:
    # Same initialisation as vocos 0.1.0, so freshly built models are statistically like the original's.
    if isinstance(m, (nn.Conv1d, nn.Linear)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
