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
import json
import os
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .encodec_layout import (
    check_transformers_config,
    is_transformers_layout,
    to_package_layout,
    to_transformers_layout,
    transformers_config,
)

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

    def __init__(self, model: nn.Module, name_or_path: str | None = None) -> None:
        super().__init__()
        self.model = model.eval()
        #: Where the weights came from (a hub id or a directory), ``None`` if unknown; processors save this reference.
        self.name_or_path = name_or_path
        for p in self.model.parameters():
            p.requires_grad_(False)

    @classmethod
    def from_pretrained(cls, checkpoint: str | os.PathLike[str] | None = None) -> EncodecTokenizer:
        """The published EnCodec 24 kHz weights.

        ``checkpoint=None`` lets the encodec package download them (its own torch.hub cache, needs the
        network once); a path loads a local ``encodec_24khz-d7cc33bc.th`` (state dict) without network; a
        directory (or hub id such as ``facebook/encodec_24khz``) in transformers' ``EncodecModel`` layout
        (``config.json`` + ``model.safetensors`` or ``pytorch_model.bin``) is mapped onto the package's model.
        """
        if checkpoint is None:
            return cls(_encodec_24khz(pretrained=True))
        path = Path(checkpoint)
        if not path.exists() and str(checkpoint).count("/") == 1 and not str(checkpoint).startswith((".", "/", "~")):
            from ..checkpoint.hub import resolve

            path = resolve(str(checkpoint))
        if path.is_dir():
            return cls._from_directory(path, name_or_path=str(checkpoint))
        if not path.is_file():
            raise FileNotFoundError(f"EnCodec checkpoint {path} does not exist")
        model = _encodec_24khz(pretrained=False)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        return cls(model, name_or_path=str(checkpoint))

    @classmethod
    def _from_directory(cls, directory: Path, name_or_path: str) -> EncodecTokenizer:
        from ..checkpoint.files import WEIGHT_FILES, read_state_dict

        check_transformers_config(directory)
        weights = next((directory / f for f in WEIGHT_FILES if (directory / f).is_file()), None)
        if weights is None:
            raise FileNotFoundError(f"{directory} holds no EnCodec weights (one of {list(WEIGHT_FILES)})")
        model = import_encodec().EncodecModel.encodec_model_24khz(pretrained=False)
        state = read_state_dict(weights)
        if is_transformers_layout(state):
            state = to_package_layout(state, set(model.state_dict()))
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise ValueError(f"{weights} does not hold EnCodec 24 kHz weights: {e}") from e
        return cls(model, name_or_path=name_or_path)

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` + ``model.safetensors`` in transformers' ``EncodecModel`` layout."""
        from safetensors.torch import save_file

        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(transformers_config(), indent=2) + "\n", encoding="utf-8")
        state = {k: v.detach().cpu().contiguous() for k, v in to_transformers_layout(self.model.state_dict()).items()}
        save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})
        return path

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

    # transformers' EncodecModel interface, which the transformers Vocos processors (and their tests) call, so that
    # this tokenizer and a transformers EncodecModel are interchangeable there.
    @property
    def encoder(self) -> nn.Module:
        """Audio ``(B, 1, n)`` -> embeddings ``(B, 128, ceil(n / 320))``."""
        return self.model.encoder  # type: ignore[no-any-return]

    @property
    def quantizer(self) -> QuantizerView:
        return QuantizerView(self.model)

    def codebooks(self, num_codebooks: int) -> torch.Tensor:
        """The first ``num_codebooks`` codebooks stacked: ``(num_codebooks * 1024, 128)``."""
        layers = self.model.quantizer.vq.layers[:num_codebooks]
        return torch.cat([layer.codebook for layer in layers], dim=0)


class _Codebook:
    def __init__(self, embed: torch.Tensor) -> None:
        self.embed = embed


class _QuantizerLayer:
    def __init__(self, embed: torch.Tensor) -> None:
        self.codebook = _Codebook(embed)


class QuantizerView:
    """The residual vector quantizer of an ``encodec`` package model, with transformers' ``EncodecModel.quantizer``
    methods: ``encode(embeddings, bandwidth=...)`` -> codes ``(K, B, T)``, ``get_num_quantizers_for_bandwidth``,
    ``codebook_size`` and ``layers[k].codebook.embed`` ``(1024, 128)``."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.codebook_size = int(model.quantizer.bins)
        self.layers = [_QuantizerLayer(layer.codebook) for layer in model.quantizer.vq.layers]

    def get_num_quantizers_for_bandwidth(self, bandwidth: float | None = None) -> int:
        return int(self._model.quantizer.get_num_quantizers_for_bandwidth(self._model.frame_rate, bandwidth))

    @torch.no_grad()
    def encode(self, embeddings: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
        return self._model.quantizer.encode(embeddings, self._model.frame_rate, bandwidth)  # type: ignore[no-any-return]
