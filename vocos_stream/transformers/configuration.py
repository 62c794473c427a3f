"""transformers-style configs: ``VocosConfig`` (mel) and ``VocosEncodecConfig`` (EnCodec variant).

Keyword constructors with the field names of the transformers Vocos port (latest revision), attribute aliases for
its earlier revisions (``input_channels``, ``hidden_dim``, ``spec_padding``, ``sampling_rate``, ...), extra
keywords kept as attributes, and the JSON round trips of ``PretrainedConfig`` (``to_dict``, ``to_json_string``,
``to_json_file`` / ``from_json_file``, ``save_pretrained`` / ``from_pretrained``).

These are the user-facing names only. The library itself is built from the typed, frozen
:class:`vocos_stream.config.VocosConfig`; :meth:`PretrainedConfig.to_internal` converts through the same parser
that reads a ``config.json`` from disk (so a saved config and a constructed one can never disagree), and
:func:`config_from_internal` goes the other way (e.g. for a charactr ``config.yaml``). Like transformers,
constructing a config checks nothing; building a model from it does (:class:`~vocos_stream.ConfigError`).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..config import ENCODEC_CODEBOOK_SIZE, ConfigError
from ..config import VocosConfig as InternalConfig

CONFIG_NAME = "config.json"
_Self = TypeVar("_Self", bound="PretrainedConfig")


class PretrainedConfig:
    """The part of transformers' ``PretrainedConfig`` a vocoder config needs."""

    model_type: ClassVar[str] = ""
    #: Old or alternative field names -> the canonical attribute (read and written through).
    attribute_map: ClassVar[dict[str, str]] = {}

    def __init__(self, **kwargs: Any) -> None:
        self._name_or_path = str(kwargs.pop("name_or_path", kwargs.pop("_name_or_path", "")))
        kwargs.pop("model_type", None)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, type(self).attribute_map.get(name, name), value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: resolve aliases, else a plain AttributeError.
        canonical = type(self).attribute_map.get(name)
        if canonical is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return getattr(self, canonical)

    @property
    def name_or_path(self) -> str:
        return self._name_or_path

    @property
    def feature_kind(self) -> str:
        """``"mel"`` or ``"encodec"``: the input features of the model this config describes."""
        return self.to_internal().feature_kind

    # ------------------------------------------------------------------------------------------------ dicts
    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        out["model_type"] = self.model_type
        return out

    def to_json_string(self, use_diff: bool = True) -> str:
        """Sorted, indented JSON of :meth:`to_dict` (``use_diff`` is accepted for transformers compatibility)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, json_file_path: str | os.PathLike[str], use_diff: bool = True) -> None:
        Path(json_file_path).write_text(self.to_json_string(use_diff), encoding="utf-8")

    @classmethod
    def from_dict(cls: type[_Self], config_dict: Mapping[str, Any], **kwargs: Any) -> _Self:
        return cls(**{**dict(config_dict), **kwargs})

    @classmethod
    def from_json_file(cls: type[_Self], json_file: str | os.PathLike[str]) -> _Self:
        return cls.from_dict(json.loads(Path(json_file).read_text(encoding="utf-8")))

    def save_pretrained(self, save_directory: str | os.PathLike[str], **_: Any) -> None:
        directory = Path(save_directory)
        if directory.is_file():
            raise ValueError(f"save_directory {directory} is a file; give a directory")
        directory.mkdir(parents=True, exist_ok=True)
        self.to_json_file(directory / CONFIG_NAME)

    @classmethod
    def from_pretrained(
        cls: type[_Self],
        pretrained_model_name_or_path: str | os.PathLike[str],
        *,
        subfolder: str = "",
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        return_unused_kwargs: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Read ``config.json`` from a directory or hub repo (a charactr ``config.yaml`` is converted);
        keyword arguments naming attributes override them, others come back with ``return_unused_kwargs=True``."""
        from ..checkpoint.files import CONFIG_FILES
        from ..checkpoint.hub import resolve

        directory = (
            resolve(
                pretrained_model_name_or_path,
                revision=revision,
                cache_dir=cache_dir,
                local_files_only=local_files_only,
                token=token,
            )
            / subfolder
        )
        path = next((directory / f for f in CONFIG_FILES if (directory / f).is_file()), None)
        if path is None:
            raise ConfigError(f"{directory} holds no Vocos config (one of {list(CONFIG_FILES)})")
        loaded = load_config(path)
        if not isinstance(loaded, cls):
            raise ConfigError(
                f"{path} describes a {type(loaded).__name__} (model_type {loaded.model_type!r}); load it with "
                f"{type(loaded).__name__}.from_pretrained"
            )
        config = loaded
        config._name_or_path = str(pretrained_model_name_or_path)
        unused = {}
        for key, value in kwargs.items():
            if hasattr(config, key):
                setattr(config, key, value)
            else:
                unused[key] = value
        if return_unused_kwargs:
            return config, unused
        if unused:
            raise TypeError(f"unknown config attributes {sorted(unused)} for {cls.__name__}")
        return config

    # ------------------------------------------------------------------------------------------------ misc
    def to_internal(self) -> InternalConfig:
        """The library's typed config for this model (raises :class:`~vocos_stream.ConfigError` if unsupported)."""
        return InternalConfig.from_dict(self.to_dict())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string()}"


class VocosConfig(PretrainedConfig):
    """The mel-spectrogram Vocos (``charactr/vocos-mel-24khz`` with the defaults), as transformers' ``VocosConfig``.

    ``n_mels`` input bins, ``hidden_size`` / ``intermediate_size`` / ``num_layers`` ConvNeXt blocks with depthwise
    ``kernel_size`` and ``padding`` (``(kernel_size - 1) // 2``), ``layer_scale_init_value``, ``layer_norm_eps``;
    ISTFT head ``n_fft`` / ``hop_length`` in samples with ``istft_padding`` ``"center"`` or ``"same"``;
    ``sample_rate`` in Hz; ``hidden_act`` ``"gelu"``. Earlier revisions' names are aliases (``input_channels``,
    ``hidden_dim``, ``intermediate_dim``, ``spec_padding``, ``sampling_rate``); their ``use_adaptive_norm=True``
    (with ``bandwidths``) described the EnCodec variant and still does.
    """

    model_type = "vocos"
    attribute_map: ClassVar[dict[str, str]] = {
        "input_channels": "n_mels",
        "hidden_dim": "hidden_size",
        "dim": "hidden_size",
        "intermediate_dim": "intermediate_size",
        "spec_padding": "istft_padding",
        "sampling_rate": "sample_rate",
    }

    def __init__(
        self,
        n_mels: int = 100,
        hidden_size: int = 512,
        intermediate_size: int = 1536,
        num_layers: int = 8,
        kernel_size: int = 7,
        padding: int = 3,
        layer_scale_init_value: float = 0.125,
        layer_norm_eps: float = 1e-6,
        n_fft: int = 1024,
        hop_length: int = 256,
        istft_padding: str = "center",
        sample_rate: int = 24000,
        hidden_act: str = "gelu",
        **kwargs: Any,
    ) -> None:
        self.n_mels = n_mels
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.padding = padding
        self.layer_scale_init_value = layer_scale_init_value
        self.layer_norm_eps = layer_norm_eps
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.istft_padding = istft_padding
        self.sample_rate = sample_rate
        self.hidden_act = hidden_act
        super().__init__(**kwargs)  # after the fields: an alias given as keyword overrides the default


class VocosEncodecConfig(PretrainedConfig):
    """The EnCodec-variant Vocos (``charactr/vocos-encodec-24khz`` with the defaults), as transformers'
    ``VocosEncodecConfig``.

    ``codebook_dim`` is the width of the EnCodec embeddings the model takes, ``num_quantizers`` the rows of the
    stacked codebooks (1024 per codebook: 16384 = 16 codebooks, enough for the largest bandwidth), ``bandwidths``
    the EnCodec bandwidths in kbps whose AdaLayerNorm tables the model holds; the rest as in :class:`VocosConfig`.
    """

    model_type = "vocos_encodec"
    attribute_map: ClassVar[dict[str, str]] = {
        "input_channels": "codebook_dim",
        "hidden_dim": "hidden_size",
        "dim": "hidden_size",
        "intermediate_dim": "intermediate_size",
        "spec_padding": "istft_padding",
        "sampling_rate": "sample_rate",
    }

    def __init__(
        self,
        codebook_dim: int = 128,
        num_quantizers: int = 16384,
        hidden_size: int = 384,
        intermediate_size: int = 1152,
        num_layers: int = 8,
        kernel_size: int = 7,
        padding: int = 3,
        layer_scale_init_value: float = 0.125,
        layer_norm_eps: float = 1e-6,
        n_fft: int = 1280,
        hop_length: int = 320,
        istft_padding: str = "same",
        sample_rate: int = 24000,
        hidden_act: str = "gelu",
        bandwidths: Sequence[float] = (1.5, 3.0, 6.0, 12.0),
        **kwargs: Any,
    ) -> None:
        self.codebook_dim = codebook_dim
        self.num_quantizers = num_quantizers
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.padding = padding
        self.layer_scale_init_value = layer_scale_init_value
        self.layer_norm_eps = layer_norm_eps
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.istft_padding = istft_padding
        self.sample_rate = sample_rate
        self.hidden_act = hidden_act
        self.bandwidths = [float(b) for b in bandwidths]
        super().__init__(**kwargs)


def config_from_internal(config: InternalConfig) -> VocosConfig | VocosEncodecConfig:
    """The transformers-style config of a model built from the library's ``config`` (the inverse of
    :meth:`PretrainedConfig.to_internal` for the backbone and head; a mel model's front-end settings live in its
    :class:`~vocos_stream.transformers.VocosFeatureExtractor`, as in transformers)."""
    common: dict[str, Any] = {
        "hidden_size": config.dim,
        "intermediate_size": config.intermediate_dim,
        "num_layers": config.num_layers,
        "kernel_size": config.kernel_size,
        "padding": (config.kernel_size - 1) // 2,
        "layer_scale_init_value": config.layer_scale_init_value,
        "layer_norm_eps": config.layer_norm_eps,
        "n_fft": config.n_fft,
        "hop_length": config.hop_length,
        "istft_padding": config.padding,
        "sample_rate": config.sample_rate,
    }
    if config.feature_kind == "encodec":
        return VocosEncodecConfig(
            codebook_dim=config.input_channels,
            num_quantizers=config.num_codebooks * ENCODEC_CODEBOOK_SIZE,
            bandwidths=list(config.bandwidths),
            **common,
        )
    return VocosConfig(n_mels=config.input_channels, **common)


def load_config(path: str | os.PathLike[str]) -> VocosConfig | VocosEncodecConfig:
    """The transformers-style config of any Vocos config file: a transformers ``config.json`` as written (its
    ``model_type`` picks the class; the earlier revisions' ``"vocos"`` covers both variants), anything else
    (charactr ``config.yaml``, this library's own ``config.json``) converted from the typed config."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read Vocos config {path}: {e}") from e
        if isinstance(data, dict) and data.get("format") != "vocos_stream":
            model_type = data.get("model_type")
            if model_type == VocosEncodecConfig.model_type:
                return VocosEncodecConfig.from_dict(data)
            if model_type == VocosConfig.model_type:
                return VocosConfig.from_dict(data)
    return config_from_internal(InternalConfig.from_file(path))
