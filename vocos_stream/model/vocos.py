"""``Vocos``: a drop-in for ``vocos.Vocos`` (vocos 0.1.0), built from a typed config, loading any layout.

Data flow: audio ``(B, n)`` -> :attr:`feature_extractor` -> features ``(B, C, T)`` -> :attr:`backbone` ->
``(B, T, dim)`` -> :attr:`head` -> audio ``(B, (T-1)*hop)`` (center) or ``(B, T*hop)`` (same).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..checkpoint.audio_tokenizer import complete_codebooks
from ..checkpoint.files import find_files, load_weights, read_checkpoint, write_checkpoint
from ..checkpoint.hub import resolve
from ..config import VocosConfig
from ..features.checks import check_audio, check_features
from ..features.codes import EncodecFeatures, check_codes
from ..features.mel import MelSpectrogramFeatures
from .backbone import VocosBackbone
from .head import ISTFTHead

if TYPE_CHECKING:
    from ..engine.stream import InputKind, VocosStream
    from ..features.encodec_tokenizer import EncodecTokenizer


class Vocos(nn.Module):
    """The Vocos vocoder: front-end, ConvNeXt backbone and ISTFT head.

    Same methods and semantics as ``vocos.Vocos``: :meth:`from_pretrained`, :meth:`decode`,
    :meth:`codes_to_features`, :attr:`feature_extractor` and copy-synthesis by calling the model on audio.
    """

    feature_extractor: MelSpectrogramFeatures | EncodecFeatures

    def __init__(self, config: VocosConfig) -> None:
        super().__init__()
        self.config = config
        if config.feature_kind == "mel":
            self.feature_extractor = MelSpectrogramFeatures(
                config.sample_rate, config.mel_n_fft, config.mel_hop_length, config.n_mels, config.mel_padding
            )
        else:
            self.feature_extractor = EncodecFeatures(config.num_codebooks, config.input_channels, config.bandwidths)
        self.backbone = VocosBackbone(
            config.input_channels,
            config.dim,
            config.intermediate_dim,
            config.num_layers,
            config.layer_scale_init_value,
            config.adanorm_num_embeddings,
            config.kernel_size,
            config.layer_norm_eps,
        )
        self.head = ISTFTHead(config.dim, config.n_fft, config.hop_length, config.padding)
        self.eval()

    # ------------------------------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        repo_id: str | os.PathLike[str],
        revision: str | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        encodec: EncodecTokenizer | str | os.PathLike[str] | None = None,
    ) -> Vocos:
        """Load a checkpoint from a local directory or a Hugging Face hub repo id.

        Reads ``config.json`` or ``config.yaml`` and ``model.safetensors`` or ``pytorch_model.bin`` in the
        original or any transformers-style key layout (EnCodec codebooks missing from the weights come from the
        EnCodec model the directory names, see :mod:`vocos_stream.checkpoint.audio_tokenizer`). ``encodec``
        (EnCodec models only) gives the network used for audio -> codes (and those codebooks): an
        :class:`EncodecTokenizer` or the path of EnCodec's ``.th`` weights or directory; without it the published
        weights are fetched by the encodec package when audio is first encoded.
        """
        directory = resolve(
            repo_id, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token
        )
        config_path, weights_path = find_files(directory)
        config = VocosConfig.from_file(config_path)
        # Checked against the config before the model is built; EnCodec codebooks may come from elsewhere.
        state = read_checkpoint(
            weights_path,
            config,
            complete=lambda raw: complete_codebooks(raw, config, directory, str(weights_path), encodec),
        )
        model = cls(config)
        load_weights(model, state, config, str(weights_path))
        if encodec is not None:
            model.set_encodec(encodec)
        return model.eval()

    @classmethod
    def from_hparams(cls, config_path: str | os.PathLike[str]) -> Vocos:
        """A randomly initialised model from a config file (as ``vocos.Vocos.from_hparams``)."""
        return cls(VocosConfig.from_file(Path(config_path)))

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` + ``model.safetensors``, which :meth:`from_pretrained` reads back offline."""
        path = Path(directory)
        write_checkpoint(path, self.config, self.state_dict())
        return path

    def set_encodec(self, encodec: EncodecTokenizer | str | os.PathLike[str]) -> None:
        """Use this EnCodec network (or weights file) for audio -> codes."""
        from ..features.encodec_tokenizer import EncodecTokenizer

        if not isinstance(self.feature_extractor, EncodecFeatures):
            raise ValueError("set_encodec() applies to EnCodec-variant models only; this is a mel model")
        tokenizer = (
            encodec if isinstance(encodec, EncodecTokenizer) else EncodecTokenizer.from_pretrained(Path(encodec))
        )
        self.feature_extractor.set_tokenizer(tokenizer)

    # ------------------------------------------------------------------------------------------ streaming
    def stream(
        self,
        input: InputKind = "mel",
        bandwidth_id: int | torch.Tensor | None = None,
        lookahead: int | None = None,
    ) -> VocosStream:
        """A new stream of this model: ``s.push(x)`` returns the samples that became final, ``s.flush()`` the rest.

        ``input``: ``"mel"`` / ``"features"`` ``(B, C, t)``, ``"codes"`` ``(K, B, t)`` or ``(K, t)`` (EnCodec
        models, one ``bandwidth_id`` per stream), ``"audio"`` ``(B, n)`` (copy-synthesis, mel models).
        ``lookahead=None`` is exact (output equals offline for any chunking, delay ``s.latency_samples``);
        ``lookahead=k`` (0..27 frames) emits earlier, using only k frames of future context.
        Streams hold their own state: any number can run on one model.
        """
        from ..engine.stream import VocosStream

        return VocosStream(self, input=input, bandwidth_id=bandwidth_id, lookahead=lookahead)

    # ------------------------------------------------------------------------------------------ checks
    def check_bandwidth_id(self, bandwidth_id: torch.Tensor | int | None) -> torch.Tensor | None:
        """``bandwidth_id`` as a ``(1,)`` or ``(B,)`` int64 tensor, validated; ``None`` for mel models."""
        if self.config.adanorm_num_embeddings is None:
            return None
        if bandwidth_id is None:
            raise ValueError(
                f"this EnCodec-variant model needs bandwidth_id, e.g. torch.tensor([0]); ids "
                f"0..{len(self.config.bandwidths) - 1} stand for {list(self.config.bandwidths)} kbps"
            )
        ids = torch.as_tensor(bandwidth_id).reshape(-1).long()
        if ids.numel() == 0 or int(ids.min()) < 0 or int(ids.max()) >= self.config.adanorm_num_embeddings:
            raise ValueError(f"bandwidth_id must be in 0..{self.config.adanorm_num_embeddings - 1}, got {ids.tolist()}")
        return ids.to(self.head.out.weight.device)

    def check_features(self, features: torch.Tensor, *, allow_empty: bool = False) -> torch.Tensor:
        return check_features(
            features, self.config.input_channels, allow_empty=allow_empty, dtype=self.head.out.weight.dtype
        )

    def check_audio(self, audio: torch.Tensor) -> torch.Tensor:
        return check_audio(audio, self.head.out.weight.dtype)

    # ------------------------------------------------------------------------------------------ inference
    @torch.inference_mode()
    def forward(self, audio_input: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Copy-synthesis: audio ``(B, n)`` -> features -> audio. EnCodec models need ``bandwidth_id``."""
        audio = self.check_audio(audio_input)
        bandwidth_id = self.check_bandwidth_id(kwargs.get("bandwidth_id"))
        if isinstance(self.feature_extractor, EncodecFeatures):
            features = self.feature_extractor(audio, bandwidth_id=bandwidth_id)
        else:
            features = self.feature_extractor(audio)
        return self.decode(features, bandwidth_id=bandwidth_id)

    @torch.inference_mode()
    def decode(self, features_input: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Features ``(B, C, T)`` -> audio ``(B, (T-1)*hop)`` (center) or ``(B, T*hop)`` (same)."""
        features = self.check_features(features_input)
        bandwidth_id = self.check_bandwidth_id(kwargs.get("bandwidth_id"))
        return self.head(self.backbone(features, bandwidth_id))

    @torch.inference_mode()
    def codes_to_features(self, codes: torch.Tensor, bandwidth_id: torch.Tensor | int | None = None) -> torch.Tensor:
        """EnCodec codes ``(K, L)`` or ``(K, B, L)`` -> features ``(B, C, L)``.

        With ``bandwidth_id`` given, K must be the codebook count of that bandwidth (2/4/8/16).
        """
        if not isinstance(self.feature_extractor, EncodecFeatures):
            raise ValueError("codes_to_features() needs an EnCodec-variant model (e.g. vocos-encodec-24khz)")
        codes = check_codes(codes, self.feature_extractor.num_codebooks)
        if bandwidth_id is not None:
            ids = self.check_bandwidth_id(bandwidth_id)
            assert ids is not None
            self.check_codebook_count(codes.shape[0], int(ids[0]))
        return self.feature_extractor.embed(codes.to(self.head.out.weight.device))

    def check_codebook_count(self, num_codebooks: int, bandwidth_id: int) -> None:
        bandwidth = self.config.bandwidths[bandwidth_id]
        expected = self.config.codebooks_for_bandwidth(bandwidth)
        if num_codebooks != expected:
            raise ValueError(
                f"{bandwidth} kbps (bandwidth_id {bandwidth_id}) uses {expected} codebooks, but the codes have "
                f"{num_codebooks}; pass codes of shape ({expected}, batch, frames) or pick the matching bandwidth"
            )
