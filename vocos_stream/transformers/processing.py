"""``VocosProcessor`` (the seed doc's: mel and EnCodec) and ``VocosEncodecProcessor`` (the latest revision's).

Both wrap a :class:`VocosFeatureExtractor` and an EnCodec ``audio_tokenizer`` (this library's
:class:`~vocos_stream.features.encodec_tokenizer.EncodecTokenizer`, or anything with transformers' ``EncodecModel``
interface: ``encoder``, ``quantizer.encode(embeddings, bandwidth=)``, ``quantizer.layers[k].codebook.embed``).

* ``processor(audio=...)`` (``VocosProcessor``, no ``bandwidth``): the feature extractor's log-mel;
* ``processor(audio=..., bandwidth=6.0)``: EnCodec codes at that bandwidth, embedded with the codebooks;
* ``processor(codes=..., bandwidth=6.0)``: codes ``(K, L)`` / ``(K, B, L)`` embedded (any 1..16 codebooks, a
  count other than the bandwidth's warns, see :func:`~vocos_stream.transformers.modeling.embed_codes`).

Output: ``BatchFeature`` with the features (key ``"features"`` for ``VocosProcessor`` as in the seed doc,
``"input_features"`` for ``VocosEncodecProcessor``), ``"bandwidth"`` for EnCodec, and ``"attention_mask"`` for
audio. Audio batches of different lengths are padded (EnCodec: to a multiple of 320 samples) and each item's
frames are computed from that item alone, so a model given the mask reproduces each item's own output exactly.
The codebooks come from the checkpoint's ``codebook_weights`` when it has them (what vocos 0.1.0 embeds with),
else from the audio tokenizer (what transformers embeds with); they are the same for the published model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from ..checkpoint.audio_tokenizer import PROCESSOR_CONFIG, audio_tokenizer_reference, resolve_reference
from ..config import ENCODEC_CODEBOOK_SIZE, encodec_24khz_config
from ..config import VocosConfig as InternalConfig
from ..features.codes import EncodecFeatures
from ..model.vocos import Vocos
from .batch import BatchFeature
from .feature_extraction import VocosFeatureExtractor, features_per_item, make_list_of_audio, pad_batch
from .loading import CODEBOOKS_FILE, load_codebooks, model_config_file, resolve_directory
from .modeling import embed_codes

ENCODEC_HOP = 320  # EnCodec 24 kHz: one frame per 320 samples
_Self = TypeVar("_Self", bound="VocosProcessor")


class VocosProcessor:
    """Audio or EnCodec codes -> model inputs (see the module doc). ``VocosProcessor(feature_extractor,
    audio_tokenizer)`` as in transformers, or ``VocosProcessor(vocos)`` around a loaded :class:`~vocos_stream.Vocos`.
    """

    feature_extractor_class = "VocosFeatureExtractor"
    audio_tokenizer_class = "EncodecModel"
    attributes: ClassVar[list[str]] = ["feature_extractor", "audio_tokenizer"]
    features_key = "features"
    #: "mel" or "encodec" once the checkpoint is known (None: both paths open, as in transformers).
    variant: str | None = None

    def __init__(
        self,
        feature_extractor: VocosFeatureExtractor | Vocos | None = None,
        audio_tokenizer: Any = None,
        *,
        codebooks: torch.Tensor | None = None,
        bandwidths: tuple[float, ...] | list[float] | None = None,
        variant: str | None = None,
    ) -> None:
        config = encodec_24khz_config()
        if isinstance(feature_extractor, Vocos):  # the library's model: its front-end, codebooks and bandwidths
            vocos = feature_extractor
            config, variant = vocos.config, vocos.config.feature_kind
            if isinstance(vocos.feature_extractor, EncodecFeatures):
                codebooks = vocos.feature_extractor.codebook_weights.detach()
                if audio_tokenizer is None:
                    audio_tokenizer = vocos.feature_extractor.tokenizer
                feature_extractor = VocosFeatureExtractor(sampling_rate=config.sample_rate)
            else:
                feature_extractor = VocosFeatureExtractor.from_internal(config)
        if bandwidths is not None:
            config = config.replace(bandwidths=tuple(float(b) for b in bandwidths))
        self.feature_extractor = feature_extractor or VocosFeatureExtractor()
        self._audio_tokenizer = audio_tokenizer
        self._audio_tokenizer_ref: tuple[Path, str] | None = None  # (directory, reference), loaded on first use
        self._codebooks = codebooks
        self._embedding: EncodecFeatures | None = None
        self._config = config  # bandwidths and their codebook counts
        self.variant = variant if variant is not None else type(self).variant

    # ------------------------------------------------------------------------------------------------ parts
    @property
    def sampling_rate(self) -> int:
        return self.feature_extractor.sampling_rate

    @property
    def bandwidths(self) -> list[float]:
        return list(self._config.bandwidths)

    @property
    def audio_tokenizer(self) -> Any:
        """The EnCodec network for audio -> codes; loaded on first use from the reference the processor was saved
        with, else the published EnCodec 24 kHz weights (through the ``encodec`` package, network needed once)."""
        if self._audio_tokenizer is None:
            from ..features.encodec_tokenizer import EncodecTokenizer

            if self._audio_tokenizer_ref is not None:
                directory, reference = self._audio_tokenizer_ref
                path = resolve_reference(directory, reference)
                self._audio_tokenizer = EncodecTokenizer.from_pretrained(path)
                self._audio_tokenizer.name_or_path = reference
            else:
                self._audio_tokenizer = EncodecTokenizer.from_pretrained()
        return self._audio_tokenizer

    @audio_tokenizer.setter
    def audio_tokenizer(self, value: Any) -> None:
        self._audio_tokenizer, self._audio_tokenizer_ref = value, None

    def _embedder(self) -> EncodecFeatures:
        """The codes -> features table (built once; its codebooks from the checkpoint or the tokenizer)."""
        if self._embedding is None:
            codebooks = self._codebooks
            if codebooks is None:  # transformers' source: the tokenizer's quantizer
                layers = self.audio_tokenizer.quantizer.layers[: self._config.num_codebooks]
                codebooks = torch.cat([layer.codebook.embed.detach().cpu() for layer in layers], dim=0)
                self._codebooks = codebooks
            size = ENCODEC_CODEBOOK_SIZE
            self._embedding = EncodecFeatures(codebooks.shape[0] // size, codebooks.shape[1], self._config.bandwidths)
            self._embedding.codebook_weights.data = codebooks.detach().float().clone()
        return self._embedding

    # ------------------------------------------------------------------------------------------------ call
    def __call__(
        self,
        audio: Any = None,
        codes: Any = None,
        bandwidth: float | None = None,
        return_tensors: str | None = "pt",
        sampling_rate: int | None = None,
        padding: bool | str = True,
        max_length: int | None = None,
        truncation: bool = False,
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
        device: str | torch.device | None = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """See the module doc; ``padding`` / ``max_length`` / ``truncation`` / ``pad_to_multiple_of`` /
        ``return_attention_mask`` / ``sampling_rate`` as for :class:`VocosFeatureExtractor`; ``device`` where the
        features are computed; ``return_tensors`` ``"pt"`` (default) or ``"np"``."""
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}")
        if (audio is None) == (codes is None):
            raise ValueError("give exactly one of audio=... or codes=...")
        if bandwidth is not None:
            if self.variant == "mel":
                raise ValueError("bandwidth selects the EnCodec pathway, but this checkpoint is a mel model")
            bandwidth = float(bandwidth)
            self._config.bandwidth_id(bandwidth)  # refuses unknown bandwidths, naming the supported ones
        elif codes is not None or self.variant == "encodec":
            raise ValueError(f"the EnCodec pathway needs bandwidth=..., one of {self.bandwidths} kbps")
        data: dict[str, Any]
        if codes is not None:
            assert bandwidth is not None
            embedder = self._embedder()
            tensor = _as_codes(codes, device or embedder.codebook_weights.device)
            data = {self.features_key: embed_codes(embedder.to(tensor.device), self._config, tensor, bandwidth)}
        elif bandwidth is None:
            inputs = self.feature_extractor(
                audio,
                padding=padding,
                max_length=max_length,
                truncation=truncation,
                pad_to_multiple_of=pad_to_multiple_of,
                # As transformers' processors: the processor's own rate unless one is given (then it is checked).
                sampling_rate=sampling_rate if sampling_rate is not None else self.sampling_rate,
                return_attention_mask=return_attention_mask,
                device=device,
                return_tensors="pt",
            )
            data = {self.features_key: inputs["input_features"]}
            if "attention_mask" in inputs:
                data["attention_mask"] = inputs["attention_mask"]
        else:
            data = self._encode_audio(
                audio, bandwidth, sampling_rate, padding, max_length, truncation, pad_to_multiple_of, device
            )
            if return_attention_mask is False:
                del data["attention_mask"]
        if bandwidth is not None:
            data["bandwidth"] = bandwidth
        return BatchFeature(data, tensor_type=return_tensors)

    def _encode_audio(
        self,
        audio: Any,
        bandwidth: float,
        sampling_rate: int | None,
        padding: bool | str,
        max_length: int | None,
        truncation: bool,
        pad_to_multiple_of: int | None,
        device: str | torch.device | None,
    ) -> dict[str, Any]:
        if sampling_rate is not None:
            self.feature_extractor.check_sampling_rate(sampling_rate)
        if padding and truncation:
            raise ValueError("Both padding and truncation were set. Make sure you only set one.")
        clips = make_list_of_audio(audio)
        target = torch.device(device) if device is not None else clips[0].device
        # transformers pads a batch to a multiple of EnCodec's 320-sample frame, and a clip alone not at all
        # (EnCodec pads its last frame itself).
        batch, mask, alone = pad_batch(
            self.feature_extractor,
            [c.to(target) for c in clips],
            padding=padding,
            max_length=max_length,
            truncation=truncation,
            pad_to_multiple_of=pad_to_multiple_of or (ENCODEC_HOP if len(clips) > 1 and padding else None),
            alone_multiple=pad_to_multiple_of,
        )
        tokenizer = self.audio_tokenizer
        if isinstance(tokenizer, torch.nn.Module):
            tokenizer.to(target)
        embedder = self._embedder().to(target)

        def compute(x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                codes = tokenizer.quantizer.encode(tokenizer.encoder(x.unsqueeze(1)), bandwidth=bandwidth)
            return embed_codes(embedder, self._config, codes, bandwidth)

        return {self.features_key: features_per_item(compute, batch, mask, alone), "attention_mask": mask}

    # ------------------------------------------------------------------------------------------------ files
    @classmethod
    def from_pretrained(
        cls: type[_Self],
        pretrained_model_name_or_path: str | os.PathLike[str],
        *,
        audio_tokenizer: Any = None,
        encodec: Any = None,
        subfolder: str = "",
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        **feature_extractor_kwargs: Any,
    ) -> _Self:
        """A checkpoint directory or hub repo of any layout (a saved processor, a transformers conversion, a
        charactr checkpoint). Keywords such as ``sampling_rate=16000`` override the feature extractor's values;
        ``audio_tokenizer`` (or ``encodec``) replaces the EnCodec network the directory names."""
        directory = resolve_directory(
            pretrained_model_name_or_path,
            subfolder=subfolder,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
        saved = _read_processor_config(directory)
        fe = VocosFeatureExtractor.from_pretrained(directory, **feature_extractor_kwargs)
        config_path = model_config_file(directory)
        config = InternalConfig.from_file(config_path) if config_path is not None else None
        variant = config.feature_kind if config is not None else saved.get("variant")
        bandwidths = saved.get("bandwidths") or (list(config.bandwidths) if config is not None else None)
        tokenizer = audio_tokenizer if audio_tokenizer is not None else encodec
        if isinstance(tokenizer, (str, os.PathLike)):
            from ..features.encodec_tokenizer import EncodecTokenizer

            tokenizer = EncodecTokenizer.from_pretrained(tokenizer)
        processor = cls(fe, tokenizer, bandwidths=bandwidths, variant=variant)
        if processor.variant != "mel":
            model_config = config if config is not None and config.feature_kind == "encodec" else processor._config
            processor._codebooks = load_codebooks(directory, model_config)
            processor._embedding = None
            reference = audio_tokenizer_reference(directory)
            if tokenizer is None and reference is not None:
                processor._audio_tokenizer_ref = (directory, reference)
        return processor

    def save_pretrained(self, save_directory: str | os.PathLike[str], **_: Any) -> list[str]:
        """``preprocessor_config.json`` and ``processor_config.json`` (naming the audio tokenizer, as transformers
        does; one without a name is saved in ``audio_tokenizer/``), and the codebooks if they came from a model
        checkpoint (``codebooks.safetensors``). :meth:`from_pretrained` reads the directory back offline."""
        directory = Path(save_directory)
        self.feature_extractor.processor_class = type(self).__name__  # as transformers records it
        written = self.feature_extractor.save_pretrained(directory)
        config: dict[str, Any] = {
            "processor_class": type(self).__name__,
            "variant": self.variant,
            "bandwidths": self.bandwidths,
        }
        reference = self._tokenizer_reference(directory)
        if reference is not None:
            config["audio_tokenizer"] = {
                "audio_tokenizer_class": self.audio_tokenizer_class,
                "audio_tokenizer_name_or_path": reference,
            }
        if self._codebooks is not None and self.variant != "mel":
            from safetensors.torch import save_file

            save_file(
                {"codebook_weights": self._codebooks.detach().cpu().contiguous()}, str(directory / CODEBOOKS_FILE)
            )
            written.append(str(directory / CODEBOOKS_FILE))
        path = directory / PROCESSOR_CONFIG
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return [*written, str(path)]

    def _tokenizer_reference(self, directory: Path) -> str | None:
        if self._audio_tokenizer_ref is not None:
            source, reference = self._audio_tokenizer_ref
            return str(resolve_reference(source, reference)) if (source / reference).exists() else reference
        tokenizer = self._audio_tokenizer
        if tokenizer is None:
            return None
        name = getattr(tokenizer, "name_or_path", None)
        if name:
            return str(name)
        tokenizer.save_pretrained(directory / "audio_tokenizer")
        return "audio_tokenizer"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(variant={self.variant!r}, feature_extractor={self.feature_extractor!r})"


class VocosEncodecProcessor(VocosProcessor):
    """The latest revision's EnCodec processor: ``bandwidth`` always required, features under ``"input_features"``."""

    features_key = "input_features"
    variant = "encodec"


def _as_codes(codes: Any, device: str | torch.device | None) -> torch.Tensor:
    tensor = torch.as_tensor(codes)
    if tensor.dim() not in (2, 3):
        raise ValueError(
            "codes must have shape (num_codebooks, frames) or (num_codebooks, batch, frames), got "
            f"{tuple(tensor.shape)}"
        )
    return tensor.to(device) if device is not None else tensor


def _read_processor_config(directory: Path) -> dict[str, Any]:
    path = directory / PROCESSOR_CONFIG
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
