"""Audio -> EnCodec codes with Meta's ``encodec`` package (24 kHz model), loaded lazily.

``encodec`` 0.1.1 imports ``torchaudio`` at import time, but only uses it to resample and save files, which
this library never asks of it. torchaudio has no build matching a CPU-only torch here, so
:func:`import_encodec` lets encodec import without it: if ``import torchaudio`` fails, a placeholder module
is put in ``sys.modules`` for the duration of the ``import encodec`` only, and removed again afterwards, so a
real torchaudio installed later (or already installed) is never shadowed. Any use of the placeholder raises
an error that says what happened.

Licence note: the encodec package and its weights are CC-BY-NC 4.0 (non-commercial).
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

_PLACEHOLDER_NAME = "torchaudio"


def _torchaudio_placeholder() -> types.ModuleType:
    module = types.ModuleType(_PLACEHOLDER_NAME)

    def __getattr__(name: str) -> Any:
        raise ImportError(
            f"torchaudio.{name} was used, but torchaudio is not installed: vocos_stream imported encodec "
            "without it, which only supports encoding and decoding tensors. Install a torchaudio build that "
            "matches your torch to use encodec's file and resampling helpers."
        )

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__vocos_stream_placeholder__ = True  # type: ignore[attr-defined]
    return module


def import_encodec() -> types.ModuleType:
    """Import and return the ``encodec`` package, tolerating a missing or broken torchaudio."""
    if "encodec" in sys.modules:
        return sys.modules["encodec"]
    try:
        importlib.import_module("torchaudio")
        have_torchaudio = True
    except Exception:  # noqa: BLE001 - an ABI-mismatched torchaudio raises OSError/RuntimeError, not ImportError
        sys.modules.pop("torchaudio", None)
        have_torchaudio = False
    if not have_torchaudio:
        sys.modules[_PLACEHOLDER_NAME] = _torchaudio_placeholder()
    try:
        return importlib.import_module("encodec")
    except ImportError as e:
        raise ImportError(
            "audio -> EnCodec codes needs the optional 'encodec' package. Install it without its "
            "dependencies (it would replace your torch): pip install --no-deps encodec==0.1.1 einops"
        ) from e
    finally:
        if not have_torchaudio and getattr(sys.modules.get(_PLACEHOLDER_NAME), "__vocos_stream_placeholder__", False):
            del sys.modules[_PLACEHOLDER_NAME]


def _encodec_24khz(*, pretrained: bool) -> nn.Module:
    """``encodec.EncodecModel.encodec_model_24khz``, without the FutureWarning that encodec 0.1.1 triggers
    for every conv it builds with the deprecated ``torch.nn.utils.weight_norm`` (not ours to fix)."""
    encodec = import_encodec()
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*torch\.nn\.utils\.weight_norm.* is deprecated", category=FutureWarning
        )
        model: nn.Module = encodec.EncodecModel.encodec_model_24khz(pretrained=pretrained)
    return model


class EncodecTokenizer(nn.Module):
    """Audio ``(B, L)`` at 24 kHz -> codes ``(K, B, ceil(L / 320))`` with K = 2/4/8/16 for 1.5/3/6/12 kbps.

    Wraps ``encodec.EncodecModel.encodec_model_24khz``; exactly the encoding that vocos 0.1.0's
    ``EncodecFeatures`` performs (encoder, then residual quantiser at the target bandwidth, no normalisation).
    """

    model: Any  # encodec.EncodecModel (an untyped package)

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @classmethod
    def from_pretrained(cls, checkpoint: str | Path | None = None) -> EncodecTokenizer:
        """The published EnCodec 24 kHz weights.

        ``checkpoint=None`` lets the encodec package download them (its own torch.hub cache, needs the
        network once); a path loads a local ``encodec_24khz-d7cc33bc.th`` (state dict) without network.
        """
        if checkpoint is None:
            return cls(_encodec_24khz(pretrained=True))
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"EnCodec checkpoint {path} does not exist")
        model = _encodec_24khz(pretrained=False)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        return cls(model)

    @classmethod
    def random(cls, seed: int = 0) -> EncodecTokenizer:
        """An EnCodec 24 kHz network with random weights (deterministic for a seed); for tests and benchmarks."""
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = _encodec_24khz(pretrained=False)
        return cls(model)

    @property
    def sample_rate(self) -> int:
        return int(self.model.sample_rate)

    @property
    def frame_rate(self) -> int:
        return int(self.model.frame_rate)

    @torch.no_grad()
    def encode(self, audio: torch.Tensor, bandwidth: float) -> torch.Tensor:
        """Audio ``(B, L)`` -> int64 codes ``(K, B, T)``."""
        if audio.dim() != 2:
            raise ValueError(f"audio must have shape (batch, samples), got {tuple(audio.shape)}")
        self.model.set_target_bandwidth(bandwidth)
        emb = self.model.encoder(audio.unsqueeze(1))
        return self.model.quantizer.encode(emb, self.model.frame_rate, self.model.bandwidth)

    def codebooks(self, num_codebooks: int) -> torch.Tensor:
        """The first ``num_codebooks`` codebooks stacked: ``(num_codebooks * 1024, 128)``."""
        layers = self.model.quantizer.vq.layers[:num_codebooks]
        return torch.cat([layer.codebook for layer in layers], dim=0)
