"""The transformers-style API of the Vocos model docs: ``VocosProcessor`` and ``VocosModel``.

Mel variant::

    processor = VocosProcessor.from_pretrained(path_or_repo)
    model = VocosModel.from_pretrained(path_or_repo)
    inputs = processor(audio=audio)                  # {"features": (B, 100, T)}
    audio = model(**inputs)                          # (B, (T-1)*256)

EnCodec variant: ``processor(audio=audio, bandwidth=6.0)`` or ``processor(codes=codes, bandwidth=6.0)`` give
``{"features": (B, 128, T), "bandwidth": 6.0}``; ``model(**inputs)`` or ``model(codes=codes, bandwidth=6.0)``.

Both classes read the same checkpoint directories as :class:`vocos_stream.Vocos` (charactr or
transformers layout). The processor needs no backbone weights, only the front-end: the mel settings, or the
EnCodec codebooks stored in the checkpoint (and the encodec package's network for audio -> codes).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .features.codes import EncodecFeatures
from .model.vocos import Vocos


class ProcessorOutput(dict[str, Any]):
    """A dict whose entries are also attributes (``inputs.features``), like transformers' ``BatchFeature``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e


def _as_audio_batch(audio: Any) -> torch.Tensor:
    """Audio as a float32 ``(B, n)`` tensor from a tensor/array ``(n,)`` or ``(B, n)`` or a list of 1-D arrays
    (zero-padded at the end to the longest)."""
    if isinstance(audio, (list, tuple)):
        arrays = [np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float32) for a in audio]
        if not arrays or any(a.ndim != 1 for a in arrays):
            raise ValueError("a list of audio must hold 1-D arrays (one per batch item)")
        longest = max(a.shape[0] for a in arrays)
        audio = np.stack([np.pad(a, (0, longest - a.shape[0])) for a in arrays])
    tensor = torch.as_tensor(np.asarray(audio, dtype=np.float32) if not isinstance(audio, torch.Tensor) else audio)
    if tensor.dim() == 1:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 2:
        raise ValueError(f"audio must have shape (samples,) or (batch, samples), got {tuple(tensor.shape)}")
    return tensor.float()


class VocosProcessor:
    """Turns audio or EnCodec codes into the features :class:`VocosModel` takes."""

    def __init__(self, vocos: Vocos) -> None:
        self._vocos = vocos
        self.sampling_rate = vocos.config.sample_rate
        self.bandwidths: Sequence[float] = vocos.config.bandwidths

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike[str], **kwargs: Any) -> VocosProcessor:
        """Same arguments as :meth:`Vocos.from_pretrained`."""
        return cls(Vocos.from_pretrained(pretrained_model_name_or_path, **kwargs))

    @property
    def feature_extractor(self) -> torch.nn.Module:
        return self._vocos.feature_extractor

    def __call__(
        self,
        audio: Any = None,
        codes: torch.Tensor | None = None,
        bandwidth: float | None = None,
        return_tensors: str = "pt",
        **_: Any,
    ) -> ProcessorOutput:
        if return_tensors != "pt":
            raise ValueError("VocosProcessor only returns PyTorch tensors (return_tensors='pt')")
        if (audio is None) == (codes is None):
            raise ValueError("give exactly one of audio=... or codes=...")
        vocos = self._vocos
        is_encodec = isinstance(vocos.feature_extractor, EncodecFeatures)
        if bandwidth is not None and not is_encodec:
            raise ValueError("bandwidth selects the EnCodec pathway, but this checkpoint is a mel model")
        if (codes is not None or is_encodec) and bandwidth is None:
            raise ValueError(f"the EnCodec pathway needs bandwidth=..., one of {list(self.bandwidths)} kbps")
        out = ProcessorOutput()
        if codes is not None:
            bandwidth_id = vocos.config.bandwidth_id(bandwidth)  # type: ignore[arg-type]
            out["features"] = vocos.codes_to_features(codes, bandwidth_id=bandwidth_id)
        else:
            batch = vocos.check_audio(_as_audio_batch(audio))
            with torch.inference_mode():
                if is_encodec:
                    bandwidth_id = vocos.config.bandwidth_id(bandwidth)  # type: ignore[arg-type]
                    out["features"] = vocos.feature_extractor(batch, bandwidth_id=bandwidth_id)
                else:
                    out["features"] = vocos.feature_extractor(batch)
        if bandwidth is not None:
            out["bandwidth"] = float(bandwidth)
        return out


class VocosModel(torch.nn.Module):
    """Features (or EnCodec codes) -> audio ``(B, n)``, called as ``model(**processor(...))``."""

    def __init__(self, vocos: Vocos) -> None:
        super().__init__()
        self.vocos = vocos
        self.config = vocos.config

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike[str], **kwargs: Any) -> VocosModel:
        """Same arguments as :meth:`Vocos.from_pretrained`."""
        return cls(Vocos.from_pretrained(pretrained_model_name_or_path, **kwargs))

    def save_pretrained(self, directory: str | os.PathLike[str]) -> None:
        self.vocos.save_pretrained(directory)

    def forward(
        self,
        features: torch.Tensor | None = None,
        codes: torch.Tensor | None = None,
        bandwidth: float | None = None,
        bandwidth_id: torch.Tensor | int | None = None,
    ) -> torch.Tensor:
        if (features is None) == (codes is None):
            raise ValueError("give exactly one of features=... or codes=...")
        if bandwidth is not None:
            if bandwidth_id is not None:
                raise ValueError("give bandwidth (kbps) or bandwidth_id, not both")
            if self.config.feature_kind != "encodec":
                raise ValueError("bandwidth applies to EnCodec-variant models only; this is a mel model")
            bandwidth_id = self.config.bandwidth_id(bandwidth)
        if codes is not None:
            if bandwidth_id is None:
                raise ValueError(f"decoding codes needs bandwidth=..., one of {list(self.config.bandwidths)} kbps")
            features = self.vocos.codes_to_features(codes, bandwidth_id=bandwidth_id)
        assert features is not None
        ids = None if bandwidth_id is None else torch.as_tensor(bandwidth_id).reshape(-1)
        return self.vocos.decode(features, bandwidth_id=ids)
