"""EnCodec tokens -> Vocos input features: the sum of one embedding per codebook.

The checkpoint of ``vocos-encodec-24khz`` stores the first 16 EnCodec codebooks stacked in one matrix
``codebook_weights`` of shape ``(16 * 1024, 128)``; codebook ``k`` occupies rows ``k*1024 .. k*1024+1023``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ENCODEC_CODEBOOK_SIZE
from .encodec_tokenizer import EncodecTokenizer


def check_codes(codes: torch.Tensor, max_codebooks: int, codebook_size: int = ENCODEC_CODEBOOK_SIZE) -> torch.Tensor:
    """Validate EnCodec codes and return them as ``(K, B, L)`` int64.

    Accepts ``(K, L)`` (one stream) or ``(K, B, L)``, the layout of ``vocos.Vocos.codes_to_features``.
    """
    if not isinstance(codes, torch.Tensor):
        raise ValueError(f"codes must be a torch.Tensor, got {type(codes).__name__}")
    if codes.dim() == 2:
        codes = codes.unsqueeze(1)
    if codes.dim() != 3:
        raise ValueError(
            f"codes must have shape (codebooks, frames) or (codebooks, batch, frames), got {tuple(codes.shape)}"
        )
    if codes.dtype.is_floating_point or codes.dtype.is_complex or codes.dtype == torch.bool:
        raise ValueError(f"codes must be integers, got dtype {codes.dtype}")
    if codes.shape[0] < 1 or codes.shape[0] > max_codebooks:
        raise ValueError(f"got {codes.shape[0]} codebooks; this model has 1..{max_codebooks}")
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= codebook_size):
        raise ValueError(
            f"codes must lie in [0, {codebook_size}), got values in [{int(codes.min())}, {int(codes.max())}]"
        )
    return codes.long()


class EncodecFeatures(nn.Module):
    """The EnCodec front-end of ``vocos-encodec-24khz``.

    * :meth:`embed`: codes ``(K, B, L)`` or ``(K, L)`` -> features ``(B, dim, L)`` as
      ``sum_k codebook_weights[k * 1024 + codes[k]]``;
    * ``forward(audio, bandwidth_id)``: audio ``(B, n)`` at 24 kHz -> EnCodec codes at that bandwidth -> features.
      The EnCodec network is not part of a Vocos checkpoint: set :attr:`tokenizer`, or the published
      EnCodec weights are fetched by the encodec package on first use.
    """

    tokenizer: EncodecTokenizer | None

    def __init__(
        self, num_codebooks: int, dim: int, bandwidths: tuple[float, ...], codebook_size: int = ENCODEC_CODEBOOK_SIZE
    ) -> None:
        super().__init__()
        self.num_codebooks = num_codebooks
        self.codebook_size = codebook_size
        self.bandwidths = bandwidths
        self.codebook_weights = nn.Parameter(torch.zeros(num_codebooks * codebook_size, dim), requires_grad=False)
        # Not registered as a submodule: its weights are not part of the Vocos checkpoint.
        object.__setattr__(self, "tokenizer", None)

    def set_tokenizer(self, tokenizer: EncodecTokenizer | None) -> None:
        object.__setattr__(self, "tokenizer", tokenizer)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        codes = check_codes(codes, self.num_codebooks, self.codebook_size)
        offsets = torch.arange(codes.shape[0], device=codes.device).view(-1, 1, 1) * self.codebook_size
        features = nn.functional.embedding(codes + offsets, self.codebook_weights).sum(dim=0)
        return features.transpose(1, 2)

    def forward(self, audio: torch.Tensor, bandwidth_id: torch.Tensor | int | None = None) -> torch.Tensor:
        if bandwidth_id is None:
            raise ValueError("the EnCodec front-end needs bandwidth_id (0..3 for 1.5/3/6/12 kbps)")
        index = int(torch.as_tensor(bandwidth_id).reshape(-1)[0])
        if not 0 <= index < len(self.bandwidths):
            raise ValueError(f"bandwidth_id must be in 0..{len(self.bandwidths) - 1}, got {index}")
        if self.tokenizer is None:
            self.set_tokenizer(EncodecTokenizer.from_pretrained())
        assert self.tokenizer is not None
        return self.embed(self.tokenizer.encode(audio, self.bandwidths[index]))
