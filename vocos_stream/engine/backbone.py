"""The Vocos backbone run incrementally: per-layer convolution state, residuals delayed with the convolutions.

Every ConvNeXt block's output at frame t needs its depthwise convolution at t, which leaves ``p = 3`` frames
after its input; the residual uses the block input at the same frame t (taken from the convolution's own
history), so both branches stay aligned. With 8 blocks plus the embedding, output frame t leaves 27 frames
after input frame t.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..model.backbone import VocosBackbone, apply_norm
from .conv import ConvState, conv_step


@dataclass
class BackboneState:
    """Input history of the embedding convolution and of each block's depthwise convolution."""

    embed: ConvState
    blocks: list[ConvState]

    @classmethod
    def start(cls, backbone: VocosBackbone, batch: int) -> BackboneState:
        return cls(
            ConvState.start(backbone.embed, batch),
            [ConvState.start(block.dwconv, batch) for block in backbone.blocks],
        )

    def copy(self) -> BackboneState:
        return BackboneState(self.embed.copy(), [s.copy() for s in self.blocks])


def backbone_step(
    backbone: VocosBackbone,
    state: BackboneState,
    features: torch.Tensor,
    cond: torch.Tensor | None,
    *,
    end: bool = False,
) -> torch.Tensor:
    """Push features ``(B, C, n)``; return the hidden frames that became final, ``(B, m, dim)``.

    ``end=True`` flushes each layer in order with its own zero padding, so that over a whole stream the
    outputs equal ``backbone(all_features)`` frame for frame.
    """
    x, _ = conv_step(backbone.embed, state.embed, features, end=end)
    x = apply_norm(backbone.norm, x.transpose(1, 2), cond).transpose(1, 2)
    for block, block_state in zip(backbone.blocks, state.blocks, strict=True):
        y, residual = conv_step(block.dwconv, block_state, x, end=end)
        x = residual + block.pointwise(y.transpose(1, 2), cond).transpose(1, 2)
    return backbone.final_layer_norm(x.transpose(1, 2))
