"""The transformers-style API of Vocos, without transformers: swap ``from transformers import ...`` for
``from vocos_stream.transformers import ...`` and the checkpoints for any Vocos checkpoint.

=======================  ==========================================================================
``VocosConfig``          mel model config (transformers field names, JSON round trips)
``VocosEncodecConfig``   EnCodec-variant config
``VocosFeatureExtractor`` audio -> log-mel ``input_features`` + ``attention_mask`` (transformers framing)
``VocosProcessor``       the seed doc's processor: mel, or EnCodec with ``bandwidth=`` (key ``features``)
``VocosEncodecProcessor`` the latest EnCodec processor (key ``input_features``)
``VocosModel``           features -> audio (mel; EnCodec checkpoints too, as in the seed doc)
``VocosEncodecModel``    EnCodec features + ``bandwidth`` -> audio
``VocosOutput``          the audio tensor, with ``.audio`` / ``.attention_mask`` / ``to_tuple()``
``BatchFeature``         what the feature extractor and processors return (``.to(device or dtype)``)
=======================  ==========================================================================

These ``VocosConfig`` classes are the transformers-facing ones; the library is built from the typed
:class:`vocos_stream.VocosConfig` (``config.to_internal()`` / :func:`config_from_internal` convert). See
``docs/transformers-api.md``.
"""

from .batch import BatchFeature
from .configuration import PretrainedConfig, VocosConfig, VocosEncodecConfig, config_from_internal
from .feature_extraction import VocosFeatureExtractor
from .modeling import VocosEncodecModel, VocosModel
from .outputs import VocosEncodecOutput, VocosOutput
from .processing import VocosEncodecProcessor, VocosProcessor
from .sequence import SequenceFeatureExtractor

__all__ = [
    "BatchFeature",
    "PretrainedConfig",
    "SequenceFeatureExtractor",
    "VocosConfig",
    "VocosEncodecConfig",
    "VocosEncodecModel",
    "VocosEncodecOutput",
    "VocosEncodecProcessor",
    "VocosFeatureExtractor",
    "VocosModel",
    "VocosOutput",
    "VocosProcessor",
    "config_from_internal",
]
