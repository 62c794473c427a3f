"""``VocosFeatureExtractor``: audio -> log-mel ``input_features`` as transformers' feature extractor makes them.

The mel is vocos 0.1.0's (:class:`vocos_stream.features.mel.MelSpectrogramFeatures`, equal to the torchaudio
``MelSpectrogram`` both use); the framing is transformers': with padding on (the default) every clip is zero-padded
at its end to a multiple of ``hop_length``, so the frames cover the whole clip and the decoded audio is at least
as long as the input (140520 samples -> 550 frames -> 140544 samples; vocos 0.1.0 and :class:`vocos_stream.Vocos`
give 549 frames -> 140288 samples). ``attention_mask`` ``(B, L)`` marks the real samples of the padded audio.

Batches of different lengths: each item's frames are computed from that item alone (padded as it would be on its
own), and only the frames after its end come from the zero-padded batch, so that a model given the
``attention_mask`` reproduces, per item, exactly the output of that item alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..config import Padding
from ..config import VocosConfig as InternalConfig
from ..features.mel import MelSpectrogramFeatures
from .batch import BatchFeature, ragged_error
from .sequence import SequenceFeatureExtractor, padding_strategy, round_up

logger = logging.getLogger(__name__)


def make_list_of_audio(audio: Any) -> list[torch.Tensor]:
    """One clip ``(n,)`` or a batch (``(B, n)`` array/tensor, or a list of clips of any lengths) -> 1-D float
    tensors. A clip may also be ``(1, n)`` or ``(n, 1)``; more than one channel is refused."""
    if isinstance(audio, (np.ndarray, torch.Tensor)):
        if audio.ndim == 1:
            clips: list[Any] = [audio]
        elif audio.ndim == 2:
            clips = list(audio)
        else:
            raise ValueError(
                f"audio must have shape (samples,) or (batch, samples), or be a list of clips; got {tuple(audio.shape)}"
            )
    elif isinstance(audio, (list, tuple)) and audio and all(isinstance(x, (int, float)) for x in audio):
        clips = [np.asarray(audio, dtype=np.float32)]
    elif isinstance(audio, (list, tuple)) and audio:
        clips = list(audio)
    else:
        raise ValueError(f"audio must be an array, a tensor or a non-empty list of clips, got {type(audio).__name__}")
    out = []
    for clip in clips:
        tensor = clip if isinstance(clip, torch.Tensor) else torch.as_tensor(np.asarray(clip))
        if tensor.ndim == 2 and 1 in tensor.shape:
            tensor = tensor.reshape(-1)
        if tensor.ndim != 1:
            raise ValueError(
                f"only mono audio is supported: each clip must have shape (samples,), got {tuple(tensor.shape)}"
            )
        if tensor.is_complex() or not (tensor.is_floating_point() or tensor.dtype in (torch.int16, torch.int32)):
            raise ValueError(f"audio must hold real sample values, got dtype {tensor.dtype}")
        out.append(tensor.float())
    return out


def pad_batch(
    extractor: SequenceFeatureExtractor,
    clips: list[torch.Tensor],
    *,
    padding: bool | str,
    max_length: int | None,
    truncation: bool,
    pad_to_multiple_of: int | None,
    alone_multiple: int | None,
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Zero-pad (and truncate) ``clips`` as ``extractor.pad`` does. Returns the padded batch ``(B, L)``, its int32
    mask ``(B, L)`` and, per item, the length it is padded to when processed alone (then rounded up to
    ``alone_multiple``): what "that item alone" means."""
    strategy = padding_strategy(padding, max_length)
    if truncation:
        if max_length is None:
            raise ValueError("When setting truncation=True, make sure that max_length is defined.")
        limit = round_up(max_length, pad_to_multiple_of)
        clips = [c[:limit] for c in clips]
    lengths = [int(c.shape[0]) for c in clips]
    if strategy == "do_not_pad":
        if len(set(lengths)) > 1:
            raise ragged_error("input_features", "pt")
        target, alone = lengths[0], lengths
    elif strategy == "longest":
        target = round_up(max(lengths), pad_to_multiple_of)
        alone = [round_up(n, alone_multiple) for n in lengths]
    else:
        assert max_length is not None
        target = max(round_up(max_length, pad_to_multiple_of), max(lengths))
        if any(n > round_up(max_length, pad_to_multiple_of) for n in lengths) and len(set(lengths)) > 1:
            raise ragged_error("input_features", "pt")  # longer than max_length and not truncated
        alone = [max(round_up(max_length, alone_multiple), n) for n in lengths]
    batch = clips[0].new_full((len(clips), target), extractor.padding_value)
    mask = torch.zeros(len(clips), target, dtype=torch.int32)
    for i, clip in enumerate(clips):
        batch[i, : lengths[i]] = clip
        mask[i, : lengths[i]] = 1
    return batch, mask, alone


def features_per_item(
    compute: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor, mask: torch.Tensor, alone: list[int]
) -> torch.Tensor:
    """``compute`` (audio ``(B, L)`` -> features ``(B, C, T)``) on the padded batch, then each item's leading
    frames replaced by ``compute`` on that item alone (its real samples padded to its own length ``alone[i]``),
    batch size 1, so that they do not depend on the other items in any digit."""
    features = compute(batch)
    if batch.shape[0] == 1 and alone[0] == batch.shape[1]:
        return features
    lengths = mask.sum(dim=1).tolist()
    for i, (n, own) in enumerate(zip(lengths, alone, strict=True)):
        clip = batch.new_full((1, own), 0.0)
        clip[0, :n] = batch[i, :n]
        item = compute(clip)
        features[i, :, : item.shape[-1]] = item[0]
    return features


class VocosFeatureExtractor(SequenceFeatureExtractor):
    """Audio -> ``BatchFeature(input_features (B, num_mel_bins, T), attention_mask (B, L))`` (transformers API).

    Constructor and saved fields as in transformers: ``feature_size``, ``sampling_rate`` (Hz), ``num_mel_bins``,
    ``n_fft`` and ``hop_length`` (samples), ``padding`` (``"center"`` or ``"same"``), ``padding_value``,
    ``return_attention_mask``.
    """

    def __init__(
        self,
        feature_size: int = 100,
        sampling_rate: int = 24000,
        num_mel_bins: int = 100,
        n_fft: int = 1024,
        hop_length: int = 256,
        padding: str = "center",
        padding_value: float = 0.0,
        return_attention_mask: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("win_length", None)  # always n_fft; saved for transformers, recomputed here
        super().__init__(
            feature_size, sampling_rate, padding_value, return_attention_mask=return_attention_mask, **kwargs
        )
        if padding not in ("center", "same"):
            raise ValueError(f"padding must be 'center' or 'same', got {padding!r}")
        self.num_mel_bins = int(num_mel_bins)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.win_length = self.n_fft
        self.padding: Padding = "center" if padding == "center" else "same"
        self._mel = MelSpectrogramFeatures(
            self.sampling_rate, self.n_fft, self.hop_length, self.num_mel_bins, self.padding
        )

    @classmethod
    def from_internal(cls, config: InternalConfig, **kwargs: Any) -> VocosFeatureExtractor:
        """The feature extractor of a mel model described by the library's config (e.g. a charactr config.yaml)."""
        return cls(
            **{
                "feature_size": config.n_mels,
                "sampling_rate": config.sample_rate,
                "num_mel_bins": config.n_mels,
                "n_fft": config.mel_n_fft,
                "hop_length": config.mel_hop_length,
                "padding": config.mel_padding,
                **kwargs,
            }
        )

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, **kwargs: Any) -> VocosFeatureExtractor:
        """``preprocessor_config.json`` of a directory or hub repo; without one (a charactr checkpoint), the mel
        settings of its model config. Keyword arguments override the saved values."""
        from .loading import load_feature_extractor

        return load_feature_extractor(cls, pretrained_model_name_or_path, **kwargs)

    def check_sampling_rate(self, sampling_rate: int | None) -> None:
        if sampling_rate is None:
            logger.warning(
                "pass sampling_rate=... to %s: audio at another rate would be processed as %d Hz without an error",
                type(self).__name__,
                self.sampling_rate,
            )
        elif int(sampling_rate) != self.sampling_rate:
            raise ValueError(
                f"{type(self).__name__} works at {self.sampling_rate} Hz (the rate its model was trained at), but the "
                f"audio is at {sampling_rate} Hz. Resample it to {self.sampling_rate} Hz first "
                f"(e.g. vocos_stream.io or soxr.resample)."
            )

    def __call__(
        self,
        audio: Any = None,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        truncation: bool = False,
        sampling_rate: int | None = None,
        return_tensors: str | None = None,
        device: str | torch.device | None = None,
        return_attention_mask: bool | None = None,
        raw_speech: Any = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Featurize one clip or a batch (see :func:`make_list_of_audio`).

        ``padding``: ``True`` / ``"longest"`` (default), ``"max_length"`` (with ``max_length``) or ``False``
        (equal lengths only); ``truncation=True`` cuts clips to ``max_length`` (not together with padding);
        ``pad_to_multiple_of`` defaults to ``hop_length`` when padding; ``return_tensors`` ``"pt"`` (default) or
        ``"np"``; ``device`` where the mel is computed and returned.
        """
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}")
        if raw_speech is not None:  # the name of the first revisions
            if audio is not None:
                raise ValueError("give audio=... or raw_speech=..., not both")
            audio = raw_speech
        if audio is None:
            raise ValueError("give the audio to featurize: audio=...")
        self.check_sampling_rate(sampling_rate)
        if padding and truncation:
            raise ValueError("Both padding and truncation were set. Make sure you only set one.")
        if pad_to_multiple_of is None and padding:
            pad_to_multiple_of = self.hop_length  # the frames then cover every input sample
        clips = make_list_of_audio(audio)
        target = torch.device(device) if device is not None else clips[0].device
        clips = [c.to(target) for c in clips]
        batch, mask, alone = pad_batch(
            self,
            clips,
            padding=padding,
            max_length=max_length,
            truncation=truncation,
            pad_to_multiple_of=pad_to_multiple_of,
            alone_multiple=pad_to_multiple_of,
        )
        mel = self._mel.to(target)
        with torch.inference_mode():
            features = features_per_item(mel, batch, mask.to(target), alone)
        data: dict[str, Any] = {"input_features": features.clone()}
        if self.return_attention_mask if return_attention_mask is None else return_attention_mask:
            data["attention_mask"] = mask.to(target)
        return BatchFeature(data, tensor_type=return_tensors or "pt")
