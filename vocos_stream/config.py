"""Typed configuration of a Vocos model and the parsers for the two published config formats.

Two formats exist in the wild:

* the charactr / gemelo-ai ``config.yaml`` (LightningCLI style): three sections ``feature_extractor``,
  ``backbone`` and ``head``, each ``{class_path: ..., init_args: {...}}``;
* the transformers-style ``config.json``: one flat dict whose field names vary between versions
  (``dim`` / ``hidden_size`` / ``hidden_dim``, ``intermediate_dim`` / ``intermediate_size``, ...).

Both are parsed by *reading values*. The ``class_path`` strings are only matched against the few
class names Vocos ships; they are never imported (importing strings from a downloaded file would
run arbitrary code). Every value is checked for its type and range before anything is built: a wrong
value raises :class:`ConfigError` naming the field as the file spells it (and the file, from
:meth:`VocosConfig.from_file`). Sizes are bounded (:data:`INT_BOUNDS`, :data:`MAX_PARAMETERS`), so a
typo cannot make the library allocate gigabytes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Padding = Literal["center", "same"]
FeatureKind = Literal["mel", "encodec"]

#: EnCodec 24 kHz: 75 frames/s, each codebook adds 10 bits per frame = 750 bit/s.
ENCODEC_BITS_PER_CODEBOOK_PER_SECOND = 750
ENCODEC_CODEBOOK_SIZE = 1024


class ConfigError(ValueError):
    """A config file or value that cannot describe a supported Vocos model."""


#: Allowed range of each integer field: generous around the published models (mel_24khz_config,
#: encodec_24khz_config) and the 44.1 kHz variants, small enough that a typo cannot allocate gigabytes.
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "sample_rate": (1000, 384_000),
    "n_mels": (1, 1024),
    "mel_n_fft": (2, 16384),
    "mel_hop_length": (1, 16384),
    "input_channels": (1, 1024),
    "dim": (1, 4096),
    "intermediate_dim": (1, 16384),
    "num_layers": (1, 64),
    "adanorm_num_embeddings": (1, 64),
    "n_fft": (2, 16384),
    "hop_length": (1, 16384),
    "kernel_size": (1, 63),
}
#: Largest model accepted (float32: 1 GB); the published ones have 13.5 M (mel) and 7.9 M + codebooks (EnCodec).
MAX_PARAMETERS = 250_000_000
#: EnCodec bandwidths (kbps) a config may list: EnCodec 24 kHz goes up to 24 kbps (32 codebooks).
MAX_BANDWIDTH_KBPS = 24.0
_CHOICES: dict[str, tuple[str, ...]] = {
    "feature_kind": ("mel", "encodec"),
    "padding": ("center", "same"),
    "mel_padding": ("center", "same"),
}


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
    # ISTFT head.
    n_fft: int = 1024
    hop_length: int = 256
    padding: Padding = "center"
    # Convolutions and norms (vocos: 7 and 1e-6; the transformers port makes them configurable).
    kernel_size: int = 7  # embed and depthwise convs, zero-padded by (kernel_size - 1) // 2 ("same")
    layer_norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        # Types and ranges first: nothing below (1 / num_layers, comparisons) may meet a bad value.
        values = check_values({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        if values["layer_scale_init_value"] is None:  # vocos' default; only its sign matters once weights are loaded
            values["layer_scale_init_value"] = 1.0 / values["num_layers"]
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every tensor in the state dict of the model this config describes (original vocos
        names), computed without building it: checkpoints are checked against it before anything is allocated."""
        return parameter_shapes(self.__dict__)

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
            return _build({k: v for k, v in d.items() if k in _field_names()}, {})
        return _from_transformers(d)

    @classmethod
    def from_file(cls, path: str | Path) -> VocosConfig:
        """Read ``config.yaml`` (charactr) or ``config.json`` (transformers-style or ours)."""
        import yaml  # here, not at import: the builtin vocoder and the CLI's start-up do without it

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
        except (TypeError, ValueError, KeyError, AttributeError) as e:  # a value of a shape no check foresaw
            raise ConfigError(f"{path}: a config value has an unexpected type or form ({e!r})") from e

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------- checks
def _whole(value: Any, name: str, bounds: tuple[int, int] | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})")
    if bounds is not None and not bounds[0] <= int(value) <= bounds[1]:
        raise ConfigError(f"{name} must be in {bounds[0]}..{bounds[1]}, got {int(value)}")
    return int(value)


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ConfigError(f"{name} must be a finite number, got {value!r} ({type(value).__name__})")
    return float(value)


def check_values(values: Mapping[str, Any], names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Check the types and ranges of VocosConfig field values; return them normalised (``bandwidths`` as a
    tuple of floats). ``names`` maps a field to the key the config file uses for it, for messages."""
    name = {f: (names or {}).get(f, f) for f in values}
    out = dict(values)
    for field, choices in _CHOICES.items():
        if field in out and (not isinstance(out[field], str) or out[field] not in choices):
            raise ConfigError(f"{name[field]} must be one of {list(choices)}, got {out[field]!r}")
    if "encodec_model" in out and not isinstance(out["encodec_model"], str):
        raise ConfigError(f"{name['encodec_model']} must be a string, got {out['encodec_model']!r}")
    for field, bounds in INT_BOUNDS.items():
        if field in out and not (field == "adanorm_num_embeddings" and out[field] is None):
            out[field] = _whole(out[field], name[field], bounds)
    if "kernel_size" in out and out["kernel_size"] % 2 == 0:
        raise ConfigError(f"{name['kernel_size']} must be odd (a 'same' convolution), got {out['kernel_size']}")
    if "layer_norm_eps" in out:
        out["layer_norm_eps"] = _real(out["layer_norm_eps"], name["layer_norm_eps"])
        if not 0 < out["layer_norm_eps"] < 1:
            raise ConfigError(f"{name['layer_norm_eps']} must be in (0, 1), got {out['layer_norm_eps']}")
    if out.get("layer_scale_init_value") is not None:
        out["layer_scale_init_value"] = _real(out["layer_scale_init_value"], name["layer_scale_init_value"])
    if "bandwidths" in out:
        bandwidths = out["bandwidths"]
        if (
            isinstance(bandwidths, str | bytes)
            or not isinstance(bandwidths, list | tuple)
            or not 1 <= len(bandwidths) <= 16
        ):
            raise ConfigError(f"{name['bandwidths']} must be a list of 1 to 16 numbers (kbps), got {bandwidths!r}")
        out["bandwidths"] = tuple(_real(b, f"{name['bandwidths']}[{i}]") for i, b in enumerate(bandwidths))
        if not all(0 < b <= MAX_BANDWIDTH_KBPS for b in out["bandwidths"]):
            raise ConfigError(
                f"{name['bandwidths']} must lie in (0, {MAX_BANDWIDTH_KBPS:g}] kbps, got {list(bandwidths)}"
            )
    for fft, hop in (("n_fft", "hop_length"), ("mel_n_fft", "mel_hop_length")):
        if fft in out and hop in out and out[hop] > out[fft]:
            raise ConfigError(f"{name[hop]} must be at most {name[fft]} = {out[fft]}, got {out[hop]}")
    if _field_names() <= out.keys():
        _check_model(out, name)
    return out


def _check_model(v: Mapping[str, Any], name: Mapping[str, str]) -> None:
    """Relations between fields, and the size of the model (all fields present and individually valid)."""
    if v["feature_kind"] == "mel" and v["input_channels"] != v["n_mels"]:
        raise ConfigError(
            f"the backbone takes {name['input_channels']} = {v['input_channels']} input channels but the mel front-end "
            f"makes {name['n_mels']} = {v['n_mels']} bins; fix one of them"
        )
    ada = v["adanorm_num_embeddings"]
    if v["feature_kind"] == "encodec" and ada is not None and ada != len(v["bandwidths"]):
        raise ConfigError(
            f"{name['adanorm_num_embeddings']} = {ada} must equal the number of bandwidths {list(v['bandwidths'])} "
            "(the bandwidth id selects both)"
        )
    count = sum(math.prod(shape) for shape in parameter_shapes(v).values())
    if count > MAX_PARAMETERS:
        raise ConfigError(
            f"this config describes a model of {count / 1e6:.0f} M parameters (dim {v['dim']}, intermediate_dim "
            f"{v['intermediate_dim']}, num_layers {v['num_layers']}); the published Vocos models have about 14 M "
            f"and vocos_stream refuses more than {MAX_PARAMETERS / 1e6:.0f} M: check those sizes"
        )


def parameter_shapes(v: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of the model (see :meth:`VocosConfig.parameter_shapes`) from checked field values.

    Mirrors ``model/`` (tests compare it with a built model): the mel front-end's buffers are not saved."""
    dim, inter, ada = v["dim"], v["intermediate_dim"], v["adanorm_num_embeddings"]
    shapes: dict[str, tuple[int, ...]] = {}
    if v["feature_kind"] == "encodec":
        codebooks = max(1, int(max(v["bandwidths"]) * 1000 // ENCODEC_BITS_PER_CODEBOOK_PER_SECOND))
        shapes["feature_extractor.codebook_weights"] = (codebooks * ENCODEC_CODEBOOK_SIZE, v["input_channels"])

    def norm(prefix: str) -> None:
        if ada:
            shapes[f"{prefix}.scale.weight"] = shapes[f"{prefix}.shift.weight"] = (ada, dim)
        else:
            shapes[f"{prefix}.weight"] = shapes[f"{prefix}.bias"] = (dim,)

    k = v["kernel_size"]
    shapes["backbone.embed.weight"], shapes["backbone.embed.bias"] = (dim, v["input_channels"], k), (dim,)
    norm("backbone.norm")
    scale = v["layer_scale_init_value"] or 1 / v["num_layers"]
    for i in range(v["num_layers"]):
        block = f"backbone.convnext.{i}"
        shapes[f"{block}.dwconv.weight"], shapes[f"{block}.dwconv.bias"] = (dim, 1, k), (dim,)
        norm(f"{block}.norm")
        shapes[f"{block}.pwconv1.weight"], shapes[f"{block}.pwconv1.bias"] = (inter, dim), (inter,)
        shapes[f"{block}.pwconv2.weight"], shapes[f"{block}.pwconv2.bias"] = (dim, inter), (dim,)
        if scale > 0:
            shapes[f"{block}.gamma"] = (dim,)
    shapes["backbone.final_layer_norm.weight"] = shapes["backbone.final_layer_norm.bias"] = (dim,)
    shapes["head.out.weight"], shapes["head.out.bias"] = (v["n_fft"] + 2, dim), (v["n_fft"] + 2,)
    return shapes


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


def _field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(VocosConfig)}


def _build(raw: Mapping[str, Any], names: Mapping[str, str]) -> VocosConfig:
    """A VocosConfig from raw file values (defaults for the rest), checked with the file's ``names``."""
    defaults = {f.name: f.default for f in dataclasses.fields(VocosConfig)}
    return VocosConfig(**check_values({**defaults, **raw}, names))


def _section(d: Mapping[str, Any], name: str, known: set[str] | dict[str, str]) -> tuple[str, dict[str, Any]]:
    sec = d.get(name)
    if not isinstance(sec, Mapping) or not isinstance(sec.get("class_path"), str):
        raise ConfigError(f"section {name!r} must have a 'class_path' string and 'init_args'")
    class_name = sec["class_path"].rsplit(".", 1)[-1]
    if class_name not in known:
        raise ConfigError(
            f"{name} class {sec['class_path']!r} is not supported; vocos_stream implements {sorted(known)}"
        )
    args = sec.get("init_args") or {}
    if not isinstance(args, Mapping):
        raise ConfigError(f"{name}.init_args must be a mapping of values, got {args!r}")
    return class_name, dict(args)


def _from_lightning(d: Mapping[str, Any]) -> VocosConfig:
    """Parse the charactr ``config.yaml`` (vocos 0.1.0 ``Vocos.from_hparams`` format)."""
    fe_class, fe = _section(d, "feature_extractor", _KNOWN_FEATURES)
    _, bb = _section(d, "backbone", _KNOWN_BACKBONES)
    _, head = _section(d, "head", _KNOWN_HEADS)
    raw: dict[str, Any] = {"feature_kind": _KNOWN_FEATURES[fe_class]}
    names: dict[str, str] = {}

    def take(section: dict[str, Any], where: str, key: str, field: str, default: Any = None) -> None:
        if key in section or default is not None:
            raw[field] = section.get(key, default)
            names[field] = f"{where}.init_args.{key}"

    if fe_class == "MelSpectrogramFeatures":
        fe_pairs = {"sample_rate": "sample_rate", "n_fft": "mel_n_fft", "hop_length": "mel_hop_length"}
        for key, field in {**fe_pairs, "n_mels": "n_mels", "padding": "mel_padding"}.items():
            take(fe, "feature_extractor", key, field)
    else:
        take(fe, "feature_extractor", "encodec_model", "encodec_model")
        take(fe, "feature_extractor", "bandwidths", "bandwidths")
        if raw.get("encodec_model", "encodec_24khz") != "encodec_24khz":
            raise ConfigError(f"only encodec_24khz is supported, got {raw['encodec_model']!r}")
    for key in ("input_channels", "dim", "intermediate_dim", "num_layers"):
        if key not in bb:
            raise ConfigError(f"backbone init_args lacks {key!r}")
        take(bb, "backbone", key, key)
    for key in ("layer_scale_init_value", "adanorm_num_embeddings"):
        if bb.get(key) is not None:
            take(bb, "backbone", key, key)
    for key in ("n_fft", "hop_length"):
        if key not in head:
            raise ConfigError(f"head init_args lacks {key!r}")
        take(head, "head", key, key)
    take(head, "head", "padding", "padding", default="same")
    if "dim" in head and head["dim"] != raw["dim"]:
        raise ConfigError(f"head.init_args.dim = {head['dim']!r} differs from backbone.init_args.dim = {raw['dim']!r}")
    return _build(raw, names)


_OPTIONAL = {"layer_scale_init_value", "adanorm_num_embeddings"}
_MISSING = object()  # take() of a required field the file sets to null: checked (and refused) by _build


def _pick(d: Mapping[str, Any], *keys: str) -> tuple[str, Any]:
    """The first of ``keys`` that ``d`` holds (not None), and its value; ``(keys[0], None)`` if none."""
    for key in keys:
        if d.get(key) is not None:
            return key, d[key]
    return keys[0], None


def _from_transformers(d: Mapping[str, Any]) -> VocosConfig:
    """Parse a transformers-style ``config.json``: every revision of the transformers Vocos port
    (``vocos`` / ``vocos_with_encodec`` / ``vocos_encodec`` model types, old and new field names)."""
    raw: dict[str, Any] = {}
    names: dict[str, str] = {}

    def take(field: str, *keys: str) -> Any:
        key, value = _pick(d, *keys)
        if value is not None:
            raw[field], names[field] = value, key
        elif field not in _OPTIONAL and any(k in d for k in keys):  # an explicit null is a wrong value
            raw[field], names[field] = None, next(k for k in keys if k in d)
            return _MISSING
        return value

    channel_keys = ("input_channels", "n_mels", "num_mel_bins", "feature_size", "codebook_dim")
    if take("input_channels", *channel_keys) is None or take("dim", "dim", "hidden_size", "hidden_dim") is None:
        raise ConfigError(
            "config.json does not look like a Vocos config: it needs input_channels (or n_mels, or codebook_dim) "
            "and dim (or hidden_size)"
        )
    model_type = d.get("model_type", "")
    encodec_type = (isinstance(model_type, str) and "encodec" in model_type) or "encodec_config" in d
    # The published EnCodec variant conditions every norm on the bandwidth; older configs leave that implicit, and
    # the latest ("vocos_encodec") always does, whatever a stray use_adaptive_norm says.
    use_ada = d.get("use_adaptive_norm")
    if use_ada is not None and not isinstance(use_ada, bool):
        raise ConfigError(f"use_adaptive_norm must be true or false, got {use_ada!r}")
    use_ada = (
        model_type == "vocos_encodec"
        or (encodec_type if use_ada is None else use_ada)
        or d.get("adanorm_num_embeddings") is not None
    )
    is_encodec = encodec_type or use_ada
    kernel = take("kernel_size", "kernel_size")
    conv_padding = d.get("padding")  # the conv padding in the transformers configs (an int), not the ISTFT's
    if isinstance(kernel, int) and not isinstance(kernel, bool) and kernel % 2 == 1:
        if isinstance(conv_padding, int) and not isinstance(conv_padding, bool) and conv_padding != (kernel - 1) // 2:
            raise ConfigError(
                f"padding {conv_padding} with kernel_size {kernel} would change the number of frames; Vocos "
                f"convolutions keep it: use padding {(kernel - 1) // 2}"
            )
    activation = d.get("hidden_act", "gelu")
    if activation != "gelu":
        raise ConfigError(f"hidden_act {activation!r} is not supported; Vocos uses 'gelu'")
    take("layer_norm_eps", "layer_norm_eps")
    take("bandwidths", "bandwidths")
    take("layer_scale_init_value", "layer_scale_init_value")
    take("sample_rate", "sampling_rate", "sample_rate")
    take("intermediate_dim", "intermediate_dim", "intermediate_size")
    take("num_layers", "num_layers", "num_hidden_layers")
    if take("n_fft", "n_fft") is None:
        raw["n_fft"] = 1280 if is_encodec else 1024
    if take("hop_length", "hop_length", "hop_size") is None:
        raw["hop_length"] = 320 if is_encodec else 256
    if take("padding", "istft_padding", "spec_padding") is None:
        raw["padding"] = "same" if is_encodec else "center"
    if "intermediate_dim" not in raw and isinstance(raw["dim"], int) and not isinstance(raw["dim"], bool):
        raw["intermediate_dim"] = 3 * raw["dim"]
    raw["feature_kind"] = "encodec" if is_encodec else "mel"
    if use_ada and take("adanorm_num_embeddings", "adanorm_num_embeddings") is None:
        bandwidths = raw.get("bandwidths", VocosConfig.bandwidths)  # one norm table per bandwidth
        raw["adanorm_num_embeddings"] = len(bandwidths) if isinstance(bandwidths, list | tuple) else None
    if not is_encodec:  # a mel model's front-end frames like its head; an EnCodec model has no mel front-end
        for field, source in (("n_mels", "input_channels"), ("mel_n_fft", "n_fft"), ("mel_hop_length", "hop_length")):
            raw[field], names[field] = raw[source], names.get(source, source)
        raw["mel_padding"], names["mel_padding"] = raw["padding"], names.get("padding", "istft_padding")
    config = _build(raw, names)
    rows = d.get("num_quantizers")  # "vocos_encodec": rows of the stacked codebooks, 1024 per codebook
    if is_encodec and rows is not None and rows != config.num_codebooks * ENCODEC_CODEBOOK_SIZE:
        raise ConfigError(
            f"num_quantizers {rows!r} does not match the bandwidths {list(config.bandwidths)}: the largest needs "
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
