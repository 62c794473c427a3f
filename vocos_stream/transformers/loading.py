"""``from_pretrained`` for the transformers-style classes: every layout :class:`vocos_stream.Vocos` reads (charactr,
each revision of the transformers port, this library's own), from a directory or a hub repo id.

=======================  =====================================================================================
file in the directory     read by
=======================  =====================================================================================
``config.json`` / .yaml   the models (:func:`load_model`); processors, for the variant and the bandwidths
weights                   the models; EnCodec processors, for ``codebook_weights`` (the codes -> features table)
preprocessor_config.json  :class:`VocosFeatureExtractor` (without it: the mel settings of the model config)
processor_config.json     processors: the EnCodec ``audio_tokenizer`` it names (and its codebooks, if needed)
=======================  =====================================================================================
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from ..checkpoint.audio_tokenizer import complete_codebooks
from ..checkpoint.files import CONFIG_FILES, WEIGHT_FILES, find_files, load_weights, read_state_dict
from ..checkpoint.hub import resolve
from ..checkpoint.keys import CODEBOOKS, to_internal_layout
from ..config import VocosConfig as InternalConfig
from ..model.vocos import Vocos
from .configuration import PretrainedConfig, load_config
from .sequence import FEATURE_EXTRACTOR_NAME

if TYPE_CHECKING:
    from .feature_extraction import VocosFeatureExtractor

_FE = TypeVar("_FE", bound="VocosFeatureExtractor")
# Buffers that every implementation recomputes: present in some files, never "unexpected".
_RECOMPUTED = re.compile(r"(^|\.)(window|mel_spec\..+)$")


def resolve_directory(
    name_or_path: str | os.PathLike[str],
    *,
    subfolder: str = "",
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    directory = resolve(
        name_or_path, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token
    )
    return directory / subfolder if subfolder else directory


def model_config_file(directory: Path) -> Path | None:
    return next((directory / f for f in CONFIG_FILES if (directory / f).is_file()), None)


def load_feature_extractor(cls: type[_FE], name_or_path: str | os.PathLike[str], **kwargs: Any) -> _FE:
    hub = {k: kwargs.pop(k) for k in ("subfolder", "revision", "cache_dir", "local_files_only", "token") if k in kwargs}
    directory = resolve_directory(name_or_path, **hub)
    saved = directory / FEATURE_EXTRACTOR_NAME
    if saved.is_file():
        return cls.from_dict(json.loads(saved.read_text(encoding="utf-8")), **kwargs)
    config_path = model_config_file(directory)
    if config_path is None:
        raise FileNotFoundError(f"{directory} holds neither {FEATURE_EXTRACTOR_NAME} nor a Vocos model config")
    config = InternalConfig.from_file(config_path)
    if config.feature_kind != "mel":
        # The EnCodec variant's processor uses the feature extractor only to pad audio; transformers saves the
        # default one, at the model's sampling rate.
        return cls(sampling_rate=config.sample_rate, **kwargs)
    return cls.from_internal(config, **kwargs)  # type: ignore[return-value]


def _dtype(value: Any) -> torch.dtype | None:
    if value is None or value == "auto":
        return None
    if isinstance(value, torch.dtype):
        return value
    dtype = getattr(torch, str(value).removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"dtype must be a torch.dtype, a name such as 'float32', or 'auto'; got {value!r}")
    return dtype


def _device(device_map: Any) -> torch.device | None:
    if device_map is None:
        return None
    if device_map == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device_map, (str, int, torch.device)):
        return torch.device(device_map)
    raise ValueError(f"device_map must be 'auto', a device or None (one device holds all of Vocos); got {device_map!r}")


def loading_info(state: dict[str, torch.Tensor], config: InternalConfig) -> dict[str, Any]:
    """transformers' ``output_loading_info``: loading is strict, so nothing is missing or mismatched; keys that
    were skipped (an EnCodec network, training leftovers) are listed as unexpected."""
    _, ignored = to_internal_layout(state, config)
    return {
        "missing_keys": set(),
        "unexpected_keys": {k for k in ignored if not _RECOMPUTED.search(k)},
        "mismatched_keys": set(),
        "error_msgs": [],
    }


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    config: PretrainedConfig | None = None,
    config_overrides: dict[str, Any],
    dtype: Any = None,
    device_map: Any = None,
    encodec: Any = None,
    **hub: Any,
) -> tuple[Vocos, PretrainedConfig, dict[str, Any]]:
    """The loaded :class:`Vocos`, its transformers-style config and the loading info."""
    directory = resolve_directory(name_or_path, **hub)
    config_path, weights_path = find_files(directory)
    internal: InternalConfig | None = None
    if config is None:
        config = load_config(config_path)
        internal = InternalConfig.from_file(config_path)  # exact (mel front-end settings of a config.yaml too)
    for key, value in config_overrides.items():
        if not hasattr(config, key):
            raise TypeError(f"from_pretrained() got an unexpected keyword argument {key!r}")
        setattr(config, key, value)
    if internal is None or config_overrides:
        internal = config.to_internal()
    config._name_or_path = str(name_or_path)
    state = complete_codebooks(read_state_dict(weights_path), internal, directory, str(weights_path), encodec)
    vocos = Vocos(internal)
    load_weights(vocos, state, internal, str(weights_path))
    if encodec is not None:
        vocos.set_encodec(encodec)
    target_dtype, device = _dtype(dtype), _device(device_map)
    if target_dtype is not None or device is not None:
        vocos.to(device=device, dtype=target_dtype)
    return vocos.eval(), config, loading_info(state, internal)


def load_codebooks(directory: Path, config: InternalConfig) -> torch.Tensor | None:
    """The ``codebook_weights`` of the EnCodec model in ``directory`` (weights file or a saved processor's
    ``codebooks.safetensors``), or ``None`` if it has none there."""
    saved = directory / CODEBOOKS_FILE
    files = [saved] if saved.is_file() else [directory / f for f in WEIGHT_FILES if (directory / f).is_file()][:1]
    for path in files:
        state = read_state_dict(path)
        renamed, _ = to_internal_layout(state, config)
        if CODEBOOKS in renamed:
            return renamed[CODEBOOKS]
    return None


CODEBOOKS_FILE = "codebooks.safetensors"
