"""``VocosModel`` and ``VocosEncodecModel``: transformers' Vocos models over :class:`~vocos_stream.Vocos`.

``VocosModel`` takes mel features (and, as in the seed doc, serves EnCodec checkpoints too: ``bandwidth=`` or
``codes=``); ``VocosEncodecModel`` is the EnCodec variant of the latest revision. Both return
:class:`~vocos_stream.transformers.VocosOutput` (the audio tensor with ``.audio`` / ``.attention_mask``), or a tuple
with ``return_dict=False``; with an ``attention_mask`` whose rows have padding, every item is decoded alone from
the frames that cover its real samples (:mod:`.masking`). ``stream(...)`` opens the exact streaming engine of
:meth:`vocos_stream.Vocos.stream` on the same weights. Inference only (like :class:`~vocos_stream.Vocos`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from ..checkpoint.keys import to_transformers_layout
from ..config import VocosConfig as InternalConfig
from ..features.codes import EncodecFeatures, check_codes
from ..model.head import output_length
from ..model.vocos import Vocos
from .configuration import PretrainedConfig, VocosConfig, VocosEncodecConfig, config_from_internal
from .masking import decode_per_item, frames_covering, mask_lengths, output_mask
from .outputs import VocosOutput

if TYPE_CHECKING:
    from ..engine.stream import InputKind, VocosStream

_ALIASES = {"features": "input_features", "audio_spectrogram": "input_features", "padding_mask": "attention_mask"}


def embed_codes(embedder: EncodecFeatures, config: InternalConfig, codes: Any, bandwidth: float) -> torch.Tensor:
    """EnCodec codes ``(K, L)`` / ``(K, B, L)`` -> features ``(B, dim, L)`` with the codebook-count policy of the
    transformers-style API: any 1..16 codebooks are embedded, as transformers and vocos 0.1.0's
    ``codes_to_features`` do; a count other than the bandwidth's warns (``UserWarning``), since the model is then
    conditioned on a bandwidth its input was not made at. (:meth:`Vocos.codes_to_features` with a
    ``bandwidth_id`` and the streaming engine refuse such codes instead.)"""
    codes = check_codes(torch.as_tensor(codes), embedder.num_codebooks)
    expected = config.codebooks_for_bandwidth(bandwidth)
    if codes.shape[0] != expected:
        warnings.warn(
            f"{bandwidth} kbps uses {expected} codebooks, but the codes have {codes.shape[0]}: all "
            f"{codes.shape[0]} are embedded and the model is conditioned on {bandwidth} kbps. Pass codes of "
            f"{expected} codebooks or the bandwidth they were made at.",
            UserWarning,
            stacklevel=3,
        )
    with torch.inference_mode():
        features = embedder.embed(codes.to(embedder.codebook_weights.device))
    return features.clone()


class _VocosPreTrainedModel(nn.Module):
    """The transformers ``PreTrainedModel`` surface shared by both models."""

    config_class: ClassVar[type[PretrainedConfig]] = VocosConfig
    base_model_prefix = "vocos"
    main_input_name = "input_features"
    #: "encodec" for VocosEncodecModel; None serves both variants (the seed doc's VocosModel).
    _variant: ClassVar[str | None] = None

    def __init__(self, config: PretrainedConfig | InternalConfig | Vocos) -> None:
        """``config``: a transformers-style config (a model initialised at random as transformers does), the
        library's :class:`vocos_stream.VocosConfig` (initialised as vocos 0.1.0), or a loaded
        :class:`~vocos_stream.Vocos` to wrap."""
        super().__init__()
        tconfig: PretrainedConfig
        if isinstance(config, Vocos):
            vocos, tconfig = config, config_from_internal(config.config)
        elif isinstance(config, InternalConfig):
            vocos, tconfig = Vocos(config), config_from_internal(config)
        elif isinstance(config, PretrainedConfig):
            vocos, tconfig = Vocos(config.to_internal()), config
            _init_weights(vocos, float(getattr(config, "initializer_range", 0.02)))
        else:
            raise TypeError(
                f"{type(self).__name__} takes a VocosConfig / VocosEncodecConfig (or a vocos_stream.Vocos), got "
                f"{type(config).__name__}"
            )
        if self._variant == "encodec" and vocos.config.feature_kind != "encodec":
            raise ValueError(f"{type(self).__name__} needs an EnCodec-variant config; this is a mel model (VocosModel)")
        self.vocos = vocos
        self.config: PretrainedConfig = tconfig

    # ------------------------------------------------------------------------------------------------ properties
    @property
    def device(self) -> torch.device:
        return self.vocos.head.out.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.vocos.head.out.weight.dtype

    @property
    def name_or_path(self) -> str:
        return self.config.name_or_path

    # ------------------------------------------------------------------------------------------------ files
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike[str],
        *,
        config: PretrainedConfig | None = None,
        output_loading_info: bool = False,
        dtype: Any = None,
        torch_dtype: Any = None,
        device_map: Any = None,
        subfolder: str = "",
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        encodec: Any = None,
        **config_overrides: Any,
    ) -> Any:
        """Load any Vocos checkpoint layout (directory or hub repo id), as transformers' ``from_pretrained``.

        ``output_loading_info=True`` returns ``(model, {"missing_keys", "unexpected_keys", "mismatched_keys",
        "error_msgs"})``; ``dtype`` (or ``torch_dtype``) and ``device_map`` (``"auto"`` or a device) place the
        model; other keywords override config attributes. ``encodec``: the EnCodec network (or its checkpoint)
        for codebooks the weights lack.
        """
        from .loading import load_model

        vocos, tconfig, info = load_model(
            pretrained_model_name_or_path,
            config=config,
            config_overrides=config_overrides,
            dtype=dtype if dtype is not None else torch_dtype,
            device_map=device_map,
            encodec=encodec,
            subfolder=subfolder,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
        model = cls(vocos)
        model.config = tconfig
        return (model, info) if output_loading_info else model

    def save_pretrained(
        self, save_directory: str | os.PathLike[str], safe_serialization: bool = True, **_: Any
    ) -> Path:
        """Write ``config.json`` (transformers field names) and the weights in the layout of the latest transformers
        port (``model.safetensors``, or ``pytorch_model.bin`` with ``safe_serialization=False``)."""
        directory = Path(save_directory)
        if directory.is_file():
            raise ValueError(f"save_directory {directory} is a file; give a directory")
        directory.mkdir(parents=True, exist_ok=True)
        self.config.architectures = [type(self).__name__]  # as transformers records it
        self.config.save_pretrained(directory)
        layout = to_transformers_layout(self.vocos.state_dict(), self.vocos.config)
        state = {k: v.detach().cpu().contiguous() for k, v in layout.items()}
        if safe_serialization:
            from safetensors.torch import save_file

            save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
        else:
            torch.save(state, directory / "pytorch_model.bin")
        return directory

    # ------------------------------------------------------------------------------------------------ inference
    def _decode(
        self,
        input_features: Any,
        attention_mask: Any,
        bandwidth: Any,
        kwargs: dict[str, Any],
    ) -> VocosOutput | tuple[torch.Tensor, ...]:
        for alias, name in _ALIASES.items():
            if alias in kwargs:
                value = kwargs.pop(alias)
                if name == "input_features":
                    if input_features is not None:
                        raise ValueError(f"give input_features=... or {alias}=..., not both")
                    input_features = value
                elif attention_mask is None:
                    attention_mask = value
        codes = kwargs.pop("codes", None)
        bandwidth = kwargs.pop("bandwidth", bandwidth)
        bandwidth_id = kwargs.pop("bandwidth_id", None)
        return_dict = kwargs.pop("return_dict", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.forward() got unexpected keyword arguments {sorted(kwargs)}")
        if (input_features is None) == (codes is None):
            raise ValueError("give exactly one of input_features=... (or features=...) or codes=...")
        config = self.vocos.config
        if bandwidth is not None:
            if bandwidth_id is not None:
                raise ValueError("give bandwidth (kbps) or bandwidth_id, not both")
            if config.feature_kind != "encodec":
                raise ValueError("bandwidth applies to EnCodec-variant models only; this is a mel model")
            bandwidth_id = config.bandwidth_id(float(bandwidth))
        elif config.feature_kind == "encodec" and bandwidth_id is None:
            raise ValueError(
                f"{type(self).__name__} needs bandwidth=... (kbps), one of {list(config.bandwidths)}: the EnCodec "
                "variant is conditioned on it"
            )
        ids = self.vocos.check_bandwidth_id(bandwidth_id)
        if codes is not None:
            embedder = self.vocos.feature_extractor
            assert ids is not None and isinstance(embedder, EncodecFeatures)
            input_features = embed_codes(embedder, config, codes, config.bandwidths[int(ids[0])])
        features = self.vocos.check_features(torch.as_tensor(input_features))
        audio, out_mask = self._audio(features, attention_mask, ids)
        output = VocosOutput.create(audio, out_mask)
        return output if return_dict is None or return_dict else output.to_tuple()

    def _audio(
        self, features: torch.Tensor, attention_mask: Any, ids: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decode. With a mask, every item of a batch is decoded alone (batch size 1) from its own frames
        (:mod:`.masking`), so that it is bit for bit its output alone (a batched matrix product may round
        differently); the returned mask marks, per row, the real samples that the output holds."""
        vocos, config = self.vocos, self.vocos.config
        if attention_mask is None:
            return vocos.decode(features, bandwidth_id=ids), None
        lengths = mask_lengths(torch.as_tensor(attention_mask), features.shape[0])
        total = features.shape[-1]
        if config.feature_kind == "encodec":  # one EnCodec frame per started hop
            frames = [min(frames_covering(n, config.hop_length, "same"), total) for n in lengths]
        else:  # the mel feature extractor's framing
            frames = [min(frames_covering(n, config.mel_hop_length, config.mel_padding), total) for n in lengths]
        head = vocos.head.istft
        num_samples = output_length(total, head.hop_length, head.padding)
        if len(frames) == 1 and frames[0] == total:
            audio = vocos.decode(features, bandwidth_id=ids)
        else:

            def one(item: torch.Tensor, i: int) -> torch.Tensor:
                own = None if ids is None else ids[i : i + 1] if ids.numel() > 1 else ids
                return vocos.decode(item, bandwidth_id=own)

            audio = decode_per_item(one, features, frames, num_samples)
        held = [min(n, output_length(f, head.hop_length, head.padding)) for n, f in zip(lengths, frames, strict=True)]
        return audio, output_mask(held, num_samples, audio.device)

    # ------------------------------------------------------------------------------------------------ streaming
    def stream(
        self,
        input: InputKind = "mel",
        bandwidth: float | None = None,
        bandwidth_id: int | torch.Tensor | None = None,
        lookahead: int | None = None,
    ) -> VocosStream:
        """The exact streaming engine of :meth:`vocos_stream.Vocos.stream` on this model's weights; ``bandwidth``
        (kbps) may replace ``bandwidth_id`` for EnCodec models. ``input="audio"`` frames audio as vocos 0.1.0."""
        if bandwidth is not None:
            if bandwidth_id is not None:
                raise ValueError("give bandwidth (kbps) or bandwidth_id, not both")
            bandwidth_id = self.vocos.config.bandwidth_id(float(bandwidth))
        return self.vocos.stream(input=input, bandwidth_id=bandwidth_id, lookahead=lookahead)


@torch.no_grad()
def _init_weights(vocos: Vocos, std: float) -> None:
    """The random initialisation of transformers' Vocos models (``_init_weights`` of the PR): linear layers
    normal(0, ``initializer_range``), convolutions Kaiming-normal, biases zero, layer norms one and zero."""
    for module in vocos.modules():
        if isinstance(module, nn.Linear):
            module.weight.normal_(0.0, std)
        elif isinstance(module, nn.Conv1d):
            nn.init.kaiming_normal_(module.weight)
        elif isinstance(module, nn.LayerNorm):
            module.weight.fill_(1.0)
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.LayerNorm)) and module.bias is not None:
            module.bias.zero_()


class VocosModel(_VocosPreTrainedModel):
    """Features ``(B, C, T)`` -> audio ``(B, n)``: ``model(**feature_extractor(audio))``, ``model(**processor(...))``.

    Mel checkpoints as transformers' ``VocosModel``; EnCodec checkpoints as in the seed doc (``bandwidth=...``,
    ``codes=...``).
    """

    def forward(
        self, input_features: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None, **kwargs: Any
    ) -> VocosOutput | tuple[torch.Tensor, ...]:
        """``input_features`` (also ``features=`` / ``audio_spectrogram=``) ``(B, C, T)`` or ``codes=`` ``(K, B, T)``
        with ``bandwidth=`` (EnCodec checkpoints); ``attention_mask`` ``(B, L)`` from the feature extractor or
        processor; ``return_dict=False`` for a tuple. Returns :class:`VocosOutput` ``(B, (T-1)*hop)`` (center) or
        ``(B, T*hop)`` (same), with ``attention_mask`` ``(B, n)`` when one was given."""
        return self._decode(input_features, attention_mask, None, kwargs)


class VocosEncodecModel(_VocosPreTrainedModel):
    """EnCodec features ``(B, 128, T)`` + ``bandwidth`` (kbps) -> audio ``(B, T*320)``, as transformers'
    ``VocosEncodecModel``: ``model(**processor(audio=..., bandwidth=6.0))``."""

    config_class = VocosEncodecConfig
    base_model_prefix = "vocos_encodec"
    _variant = "encodec"

    def forward(
        self,
        input_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        bandwidth: float | torch.Tensor | None = None,
        **kwargs: Any,
    ) -> VocosOutput | tuple[torch.Tensor, ...]:
        """As :meth:`VocosModel.forward`; ``bandwidth`` is required (a float or a 0-d tensor)."""
        return self._decode(input_features, attention_mask, bandwidth, kwargs)
