"""Typed configuration of a Vocos model and the parsers for the two published config formats.

Two formats exist in the wild:

* the charactr / gemelo-ai ``config.yaml`` (LightningCLI style): three sections ``feature_extractor``,
  ``backbone`` and ``head``, each ``{class_path: ..., init_args: {...}}``;
* the transformers-style ``config.json``: one flat dict whose field names vary between versions
  (``dim`` / ``hidden_size`` / ``hidden_dim``, ``intermediate_dim`` / ``intermediate_size``, ...).

Both are parsed by *reading values*. The ``class_path`` strings are only matched against the few
class names Vocos ships; they are never imported (importing strings from a downloaded file would
run arbitrary code).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

Padding = Literal["center", "same"]
FeatureKind = Literal["mel", "encodec"]

#: EnCodec 24 kHz: 75 frames/s, each codebook adds 10 bits per frame = 750 bit/s.
ENCODEC_BITS_PER_CODEBOOK_PER_SECOND = 750
ENCODEC_CODEBOOK_SIZE = 1024


class ConfigError(ValueError):
    """A config file or value that cannot describe a supported Vocos model."""


@dataclass(frozen=True)
class VocosConfig:
    """Everything needed to build a Vocos model (front-end, backbone, ISTFT head).

    Units: ``sample_rate`` in Hz, ``n_fft`` / ``hop_length`` in samples, ``bandwidths`` in kbps.
    """

    feature_kind: FeatureKind = "mel"
    sample_rate: int = 24000
    # Mel front-end (feature_kind == "mel").
    n_mels: int = 100
    mel_n_fft: int = 1024
    mel_hop_length: int = 256
    mel_padding: Padding = "center"
    # EnCodec front-end (feature_kind == "encodec").
    bandwidths: tuple[float, ...] = (1.5, 3.0, 6.0, 12.0)
    encodec_model: str = "encodec_24khz"
    # Backbone.
    input_channels: int = 100
    dim: int = 512
    intermediate_dim: int = 1536
    num_layers: int = 8
    layer_scale_init_value: float | None = None
    adanorm_num_embeddings: int | None = None
    kernel_size: int = 7  # embed and depthwise convs, zero-padded by (kernel_size - 1) // 2 ("same")
    layer_norm_eps: float = 1e-6
    # ISTFT head.
    n_fft: int = 1024
    hop_length: int = 256
    padding: Padding = "center"

    def __post_init__(self) -> None:
        if self.layer_scale_init_value is None:  # vocos' default; only its sign matters once weights are loaded
            object.__setattr__(self, "layer_scale_init_value", 1.0 / self.num_layers)
        if self.feature_kind not in ("mel", "encodec"):
            raise ConfigError(f"feature_kind must be 'mel' or 'encodec', got {self.feature_kind!r}")
        for name in ("padding", "mel_padding"):
            if getattr(self, name) not in ("center", "same"):
                raise ConfigError(f"{name} must be 'center' or 'same', got {getattr(self, name)!r}")
        for name in ("sample_rate", "n_mels", "input_channels", "dim", "intermediate_dim", "num_layers", "n_fft"):
            if int(getattr(self, name)) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd and positive (a 'same' convolution), got {self.kernel_size}")
        if not 0 < self.hop_length <= self.n_fft:
            raise ConfigError(f"hop_length must be in (0, n_fft={self.n_fft}], got {self.hop_length}")
        if self.feature_kind == "mel" and self.input_channels != self.n_mels:
            raise ConfigError(
                f"the backbone takes {self.input_channels} input channels but the mel front-end makes "
                f"{self.n_mels} bins; fix n_mels or input_channels in the config"
            )
        if self.feature_kind == "encodec" and not self.bandwidths:
            raise ConfigError("an EnCodec model needs at least one bandwidth")

    # ----------------------------------------------------------------------------------------- derived
    @property
    def frame_rate(self) -> float:
        """Backbone frames per second (93.75 for vocos-mel-24khz, 75 for vocos-encodec-24khz)."""
        return self.sample_rate / self.hop_length

    @property
    def num_codebooks(self) -> int:
        """Codebooks stored in the checkpoint: enough for the largest bandwidth (16 for 12 kbps)."""
        return self.codebooks_for_bandwidth(max(self.bandwidths))

    def codebooks_for_bandwidth(self, bandwidth: float) -> int:
        """Number of EnCodec codebooks at ``bandwidth`` kbps (1.5 -> 2, 3 -> 4, 6 -> 8, 12 -> 16).

        EnCodec 24 kHz runs at 75 frames/s with 10-bit codebooks: 750 bit/s per codebook.
        """
        return max(1, int(bandwidth * 1000 // ENCODEC_BITS_PER_CODEBOOK_PER_SECOND))

    def bandwidth_id(self, bandwidth: float) -> int:
        """Index of ``bandwidth`` (kbps) in :attr:`bandwidths`; raises ``ValueError`` if unknown."""
        for i, b in enumerate(self.bandwidths):
            if abs(b - float(bandwidth)) < 1e-9:
                return i
        raise ValueError(f"unknown bandwidth {bandwidth!r} kbps; this model supports {list(self.bandwidths)}")

    def replace(self, **changes: Any) -> VocosConfig:
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------------------------------- I/O
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the format written by ``save_pretrained``)."""
        d = dataclasses.asdict(self)
        d["bandwidths"] = list(self.bandwidths)
        return {"format": "vocos_stream", "format_version": 1, **d}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VocosConfig:
        """Parse a config dict in any supported format (ours, transformers-style or charactr-style)."""
        if "backbone" in d and "head" in d:
            return _from_lightning(d)
        if d.get("format") == "vocos_stream":
            names = {f.name for f in dataclasses.fields(cls)}
            kwargs = {k: v for k, v in d.items() if k in names}
            if "bandwidths" in kwargs:
                kwargs["bandwidths"] = tuple(float(b) for b in kwargs["bandwidths"])
            return cls(**kwargs)
        return _from_transformers(d)

    @classmethod
    def from_file(cls, path: str | Path) -> VocosConfig:
        """Read ``config.yaml`` (charactr) or ``config.json`` (transformers-style or ours)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read Vocos config {path}: {e}") from e
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path} does not hold a mapping of config values")
        try:
            return cls.from_dict(data)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from e

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


def mel_24khz_config() -> VocosConfig:
    """The architecture of ``charactr/vocos-mel-24khz``."""
    return VocosConfig()


def encodec_24khz_config() -> VocosConfig:
    """The architecture of ``charactr/vocos-encodec-24khz``."""
    return VocosConfig(
        feature_kind="encodec",
        input_channels=128,
        dim=384,
        intermediate_dim=1152,
        num_layers=8,
        adanorm_num_embeddings=4,
        n_fft=1280,
        hop_length=320,
        padding="same",
    )


# --------------------------------------------------------------------------------------------- parsers
_KNOWN_FEATURES = {"MelSpectrogramFeatures": "mel", "EncodecFeatures": "encodec"}
_KNOWN_BACKBONES = {"VocosBackbone"}
_KNOWN_HEADS = {"ISTFTHead"}


def _section(d: Mapping[str, Any], name: str, known: set[str] | dict[str, str]) -> tuple[str, dict[str, Any]]:
    sec = d.get(name)
    if not isinstance(sec, Mapping) or "class_path" not in sec:
        raise ConfigError(f"section {name!r} must have a 'class_path' and 'init_args'")
    class_name = str(sec["class_path"]).rsplit(".", 1)[-1]
    if class_name not in known:
        raise ConfigError(
            f"{name} class {sec['class_path']!r} is not supported; vocos_stream implements {sorted(known)}"
        )
    return class_name, dict(sec.get("init_args") or {})


def _from_lightning(d: Mapping[str, Any]) -> VocosConfig:
    """Parse the charactr ``config.yaml`` (vocos 0.1.0 ``Vocos.from_hparams`` format)."""
    fe_class, fe = _section(d, "feature_extractor", _KNOWN_FEATURES)
    _, bb = _section(d, "backbone", _KNOWN_BACKBONES)
    _, head = _section(d, "head", _KNOWN_HEADS)
    kwargs: dict[str, Any] = {"feature_kind": _KNOWN_FEATURES[fe_class]}
    if fe_class == "MelSpectrogramFeatures":
        kwargs.update(
            sample_rate=int(fe.get("sample_rate", 24000)),
            mel_n_fft=int(fe.get("n_fft", 1024)),
            mel_hop_length=int(fe.get("hop_length", 256)),
            n_mels=int(fe.get("n_mels", 100)),
            mel_padding=fe.get("padding", "center"),
        )
    else:
        kwargs.update(
            encodec_model=str(fe.get("encodec_model", "encodec_24khz")),
            bandwidths=tuple(float(b) for b in fe.get("bandwidths", (1.5, 3.0, 6.0, 12.0))),
        )
        if kwargs["encodec_model"] != "encodec_24khz":
            raise ConfigError(f"only encodec_24khz is supported, got {kwargs['encodec_model']!r}")
    for key in ("input_channels", "dim", "intermediate_dim", "num_layers"):
        if key not in bb:
            raise ConfigError(f"backbone init_args lacks {key!r}")
        kwargs[key] = int(bb[key])
    if bb.get("layer_scale_init_value") is not None:
        kwargs["layer_scale_init_value"] = float(bb["layer_scale_init_value"])
    if bb.get("adanorm_num_embeddings") is not None:
        kwargs["adanorm_num_embeddings"] = int(bb["adanorm_num_embeddings"])
    if int(head.get("dim", kwargs["dim"])) != kwargs["dim"]:
        raise ConfigError(f"head dim {head['dim']} differs from backbone dim {kwargs['dim']}")
    kwargs.update(n_fft=int(head["n_fft"]), hop_length=int(head["hop_length"]), padding=head.get("padding", "same"))
    if kwargs["feature_kind"] == "mel":
        kwargs.setdefault("n_mels", kwargs["input_channels"])
    return VocosConfig(**kwargs)


def _first(d: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return default


def _from_transformers(d: Mapping[str, Any]) -> VocosConfig:
    """Parse a transformers-style ``config.json``: every revision of the transformers Vocos port
    (``vocos`` / ``vocos_with_encodec`` / ``vocos_encodec`` model types, old and new field names)."""
    input_channels = _first(d, "input_channels", "n_mels", "num_mel_bins", "feature_size", "codebook_dim")
    dim = _first(d, "dim", "hidden_size", "hidden_dim")
    if input_channels is None or dim is None:
        raise ConfigError(
            "config.json does not look like a Vocos config: it needs input_channels (or n_mels, or codebook_dim) "
            "and dim (or hidden_size)"
        )
    model_type = str(d.get("model_type", ""))
    encodec_type = "encodec" in model_type or "encodec_config" in d
    # The published EnCodec variant conditions every norm on the bandwidth; older configs leave that implicit, and
    # the latest ("vocos_encodec") always does, whatever a stray use_adaptive_norm says.
    use_ada = (
        model_type == "vocos_encodec"
        or bool(_first(d, "use_adaptive_norm", default=encodec_type))
        or d.get("adanorm_num_embeddings") is not None
    )
    is_encodec = encodec_type or use_ada
    bandwidths = tuple(float(b) for b in _first(d, "bandwidths", default=(1.5, 3.0, 6.0, 12.0)))
    kernel = int(_first(d, "kernel_size", default=7))
    conv_padding = d.get("padding")  # the conv padding in the transformers configs (an int), not the ISTFT's
    if isinstance(conv_padding, int) and not isinstance(conv_padding, bool) and conv_padding != (kernel - 1) // 2:
        raise ConfigError(
            f"padding {conv_padding} with kernel_size {kernel} would change the number of frames; Vocos convolutions "
            f"keep it: use padding {(kernel - 1) // 2}"
        )
    activation = _first(d, "hidden_act", default="gelu")
    if activation != "gelu":
        raise ConfigError(f"hidden_act {activation!r} is not supported; Vocos uses 'gelu'")
    layer_scale = _first(d, "layer_scale_init_value")
    n_fft = int(_first(d, "n_fft", default=1280 if is_encodec else 1024))
    hop = int(_first(d, "hop_length", "hop_size", default=320 if is_encodec else 256))
    padding = _first(d, "istft_padding", "spec_padding", default="same" if is_encodec else "center")
    if padding not in ("center", "same"):  # some versions store the conv padding int under "padding"
        padding = "same" if is_encodec else "center"
    # A mel model's front-end frames like its head; an EnCodec model has no mel front-end (defaults kept).
    mel = (
        {}
        if is_encodec
        else {"n_mels": int(input_channels), "mel_n_fft": n_fft, "mel_hop_length": hop, "mel_padding": padding}
    )
    config = VocosConfig(
        feature_kind="encodec" if is_encodec else "mel",
        sample_rate=int(_first(d, "sampling_rate", "sample_rate", default=24000)),
        **mel,
        bandwidths=bandwidths,
        input_channels=int(input_channels),
        dim=int(dim),
        intermediate_dim=int(_first(d, "intermediate_dim", "intermediate_size", default=3 * int(dim))),
        num_layers=int(_first(d, "num_layers", "num_hidden_layers", default=8)),
        layer_scale_init_value=float(layer_scale) if layer_scale is not None else None,
        adanorm_num_embeddings=(int(_first(d, "adanorm_num_embeddings", default=len(bandwidths))) if use_ada else None),
        n_fft=n_fft,
        hop_length=hop,
        padding=padding,
        kernel_size=kernel,
        layer_norm_eps=float(_first(d, "layer_norm_eps", default=1e-6)),
    )
    rows = d.get("num_quantizers")  # "vocos_encodec": rows of the stacked codebooks, 1024 per codebook
    if is_encodec and rows is not None and int(rows) != config.num_codebooks * ENCODEC_CODEBOOK_SIZE:
        raise ConfigError(
            f"num_quantizers {rows} does not match the bandwidths {list(bandwidths)}: the largest needs "
            f"{config.num_codebooks} codebooks of {ENCODEC_CODEBOOK_SIZE} rows = "
            f"{config.num_codebooks * ENCODEC_CODEBOOK_SIZE}"
        )
    return config


__all__ = [
    "ConfigError",
    "VocosConfig",
    "encodec_24khz_config",
    "mel_24khz_config",
]
