"""Write checkpoint directories laid out exactly like the published hub repos, for loading tests.

* charactr layout (``charactr/vocos-mel-24khz``, ``charactr/vocos-encodec-24khz``): ``config.yaml`` +
  ``pytorch_model.bin`` with the original vocos 0.1.0 keys (including the buffers it saves).
* transformers layout (``hf-audio/vocos-mel-24khz`` style): ``config.json`` + ``model.safetensors`` with the
  renamed keys (``layers.``, ``layer_scale_parameter``, ``out_proj``, AdaLayerNorm as ``norm.weight/bias``).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import torch
import yaml


def write_charactr(directory: Path, config_yaml: dict[str, Any], state: dict[str, torch.Tensor]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config_yaml, sort_keys=False))
    head = config_yaml["head"]["init_args"]
    full = dict(state)
    full["head.istft.window"] = torch.hann_window(head["n_fft"])  # saved by the original as a buffer
    fe = config_yaml["feature_extractor"]["init_args"]
    if "n_mels" in fe:
        full["feature_extractor.mel_spec.spectrogram.window"] = torch.hann_window(fe["n_fft"])
        full["feature_extractor.mel_spec.mel_scale.fb"] = torch.zeros(fe["n_fft"] // 2 + 1, fe["n_mels"])
    torch.save(full, directory / "pytorch_model.bin")
    return directory


def transformers_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        if key.startswith("feature_extractor.") and not key.endswith("codebook_weights"):
            continue
        key = key.replace("feature_extractor.codebook_weights", "codebook_weights")
        key = key.replace("backbone.convnext.", "backbone.layers.").replace(".gamma", ".layer_scale_parameter")
        key = key.replace("head.out.", "head.out_proj.")
        key = re.sub(r"norm\.scale\.weight$", "norm.weight", key)
        key = re.sub(r"norm\.shift\.weight$", "norm.bias", key)
        out[key] = value.contiguous()
    return out


def write_transformers(
    directory: Path, config_yaml: dict[str, Any], state: dict[str, torch.Tensor], prefix: str = ""
) -> Path:
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    bb, head = config_yaml["backbone"]["init_args"], config_yaml["head"]["init_args"]
    encodec = "adanorm_num_embeddings" in bb
    config = {
        "model_type": "vocos_with_encodec" if encodec else "vocos",
        "input_channels": bb["input_channels"],
        "hidden_size": bb["dim"],
        "intermediate_size": bb["intermediate_dim"],
        "num_layers": bb["num_layers"],
        "kernel_size": 7,
        "padding": 3,
        "layer_scale_init_value": 1 / bb["num_layers"],
        "use_adaptive_norm": encodec,
        "layer_norm_eps": 1e-6,
        "n_fft": head["n_fft"],
        "hop_length": head["hop_length"],
        "istft_padding": head["padding"],
        "bandwidths": [1.5, 3.0, 6.0, 12.0],
        "sampling_rate": 24000,
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    tensors = {prefix + k: v for k, v in transformers_keys(state).items()}
    tensors[prefix + "head.window"] = torch.hann_window(head["n_fft"])
    save_file(tensors, str(directory / "model.safetensors"))
    return directory


# ---------------------------------------------------------------------------------------------------------------
# Layouts written by the conversion scripts of the transformers Vocos pull request (huggingface/transformers#39403),
# with their key mappings transcribed here (not taken from vocos_stream), applied to the ORIGINAL vocos 0.1.0 state
# dict as the scripts apply them to charactr's pytorch_model.bin.


def original_state(config_yaml: dict[str, Any], state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The keys of charactr's pytorch_model.bin for these weights (buffers included), as write_charactr saves."""
    full = dict(state)
    full["head.istft.window"] = torch.hann_window(config_yaml["head"]["init_args"]["n_fft"])
    return full


def latest_mel_keys(original: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """convert_vocos_weights_to_hf.py, convert_old_keys_to_new_keys (latest revision)."""
    out = {}
    for key, value in original.items():
        if key.startswith("feature_extractor."):
            continue
        key = key.replace("backbone.embed.", "embed.")
        key = key.replace("backbone.norm.", "norm.")
        key = key.replace("backbone.convnext.", "layers.")
        key = key.replace("backbone.final_layer_norm.", "final_layer_norm.")
        key = key.replace(".gamma", ".layer_scale_parameter")
        key = key.replace("head.", "decoder.")
        if "istft.window" in key:
            key = key.replace("istft.window", "window")
        out[key] = value
    return out


def latest_encodec_keys(original: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """vocos_encodec/convert_vocos_with_encodec.py, convert_old_keys_to_new_keys (latest revision)."""
    out = {}
    for old_key, value in original.items():
        if old_key == "feature_extractor.codebook_weights":
            out["codebook_weights"] = value
        elif old_key.startswith("backbone.") or old_key in ["norm.scale.weight", "norm.shift.weight"]:
            new_key = old_key.replace("backbone.embed.", "embed.")
            new_key = new_key.replace("backbone.norm.", "norm.")
            new_key = new_key.replace("backbone.convnext.", "layers.")
            new_key = new_key.replace("backbone.final_layer_norm.", "final_layer_norm.")
            new_key = new_key.replace(".gamma", ".layer_scale_parameter")
            new_key = new_key.replace(".norm.scale.weight", ".norm.weight")
            new_key = new_key.replace(".norm.shift.weight", ".norm.bias")
            if new_key == "norm.scale.weight":
                new_key = "norm.weight"
            elif new_key == "norm.shift.weight":
                new_key = "norm.bias"
            out[new_key] = value
        elif old_key.startswith("head."):
            new_key = old_key.replace("head.", "decoder.")
            if "istft.window" in new_key:
                new_key = new_key.replace("istft.window", "window")
            out[new_key] = value
    return out


def mid_encodec_keys(original: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """vocos/convert_vocos_with_encodec.py of the 2025 revisions (BACKBONE_MAPPING / HEAD_MAPPING): the model keeps
    no codebooks; they live in the EnCodec model the processor wraps."""
    out = {}
    for key, value in original.items():
        if key.startswith("backbone."):
            key = key.replace("backbone.convnext.", "backbone.layers.").replace(".gamma", ".layer_scale_parameter")
            key = key.replace(".norm.scale.weight", ".norm.weight").replace(".norm.shift.weight", ".norm.bias")
            out[key] = value
        elif key.startswith("head.out."):
            out[key.replace("head.out.", "head.out_proj.")] = value
        elif key == "head.istft.window":
            out["head.window"] = value
    return out


# transformers' convert_encodec_checkpoint_to_pytorch.py, MAPPING_24K (encodec package -> EncodecModel); the layer
# numbers of the 24 kHz SEANet encoder/decoder.
_ENCODER_CONVS = ["0", "3", "6", "9", "12", "15"]
_RESBLOCKS = {"encoder": ["1", "4", "7", "10"], "decoder": ["4", "7", "10", "13"]}
_DECODER_CONVS = ["0", "15"]
_DECODER_TRANSPOSED = ["3", "6", "9", "12"]


def encodec_mapping_24k() -> dict[str, str]:
    mapping = {
        "quantizer.vq.layers.*._codebook.inited": "quantizer.layers.*.codebook.inited",
        "quantizer.vq.layers.*._codebook.cluster_size": "quantizer.layers.*.codebook.cluster_size",
        "quantizer.vq.layers.*._codebook.embed": "quantizer.layers.*.codebook.embed",
        "quantizer.vq.layers.*._codebook.embed_avg": "quantizer.layers.*.codebook.embed_avg",
        "encoder.model.13.lstm": "encoder.layers.13.lstm",
        "decoder.model.1.lstm": "decoder.layers.1.lstm",
    }
    for n in _ENCODER_CONVS:
        mapping[f"encoder.model.{n}.conv.conv"] = f"encoder.layers.{n}.conv"
    for n in _DECODER_CONVS:
        mapping[f"decoder.model.{n}.conv.conv"] = f"decoder.layers.{n}.conv"
    for n in _DECODER_TRANSPOSED:
        mapping[f"decoder.model.{n}.convtr.convtr"] = f"decoder.layers.{n}.conv"
    for part, blocks in _RESBLOCKS.items():
        for n in blocks:
            for sub in ("block.1", "block.3", "shortcut"):
                mapping[f"{part}.model.{n}.{sub}.conv.conv"] = f"{part}.layers.{n}.{sub}.conv"
    return mapping


def transformers_encodec_keys(package_state: dict[str, torch.Tensor], parametrized: bool) -> dict[str, torch.Tensor]:
    """An encodec package state dict keyed as transformers' EncodecModel saves it; ``parametrized``: weight norm as
    ``parametrizations.weight.original0/1`` (torch's new weight_norm) instead of ``weight_g/_v``."""
    mapping = encodec_mapping_24k()
    out = {}
    for key, value in package_state.items():
        new = None
        for old, target in mapping.items():
            if "*" in old:
                prefix, suffix = old.split(".*.")
                m = re.fullmatch(re.escape(prefix) + r"\.(\d+)\." + re.escape(suffix), key)
                if m:
                    new = target.replace("*", m.group(1))
                    break
            elif key.startswith(old + "."):
                new = target + key[len(old) :]
                break
        assert new is not None, key
        if parametrized:
            new = new.replace(".weight_g", ".parametrizations.weight.original0")
            new = new.replace(".weight_v", ".parametrizations.weight.original1")
        out[new] = value.contiguous()
    return out


def write_transformers_encodec(directory: Path, package_state: dict[str, torch.Tensor], parametrized: bool) -> Path:
    """A transformers EncodecModel directory (facebook/encodec_24khz layout) holding ``package_state``."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    config = {"model_type": "encodec", "architectures": ["EncodecModel"], "sampling_rate": 24000, "audio_channels": 1}
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    save_file(transformers_encodec_keys(package_state, parametrized), str(directory / "model.safetensors"))
    return directory


def feature_extractor_json(processor_class: str | None = None) -> dict[str, Any]:
    """preprocessor_config.json of VocosFeatureExtractor() as transformers saves it (the scripts save the default)."""
    out: dict[str, Any] = {
        "feature_extractor_type": "VocosFeatureExtractor",
        "feature_size": 100,
        "hop_length": 256,
        "n_fft": 1024,
        "num_mel_bins": 100,
        "padding": "center",
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": True,
        "sampling_rate": 24000,
        "win_length": 1024,
    }
    if processor_class:
        out["processor_class"] = processor_class
    return out


def latest_config(config_yaml: dict[str, Any]) -> dict[str, Any]:
    """config.json of the latest VocosConfig / VocosEncodecConfig for this architecture, as save_pretrained writes."""
    bb, head = config_yaml["backbone"]["init_args"], config_yaml["head"]["init_args"]
    encodec = "adanorm_num_embeddings" in bb
    out: dict[str, Any] = {
        "architectures": ["VocosEncodecModel" if encodec else "VocosModel"],
        "model_type": "vocos_encodec" if encodec else "vocos",
        "hidden_size": bb["dim"],
        "intermediate_size": bb["intermediate_dim"],
        "num_layers": bb["num_layers"],
        "kernel_size": 7,
        "padding": 3,
        "layer_scale_init_value": 0.125,
        "layer_norm_eps": 1e-06,
        "n_fft": head["n_fft"],
        "hop_length": head["hop_length"],
        "istft_padding": head["padding"],
        "sample_rate": 24000,
        "hidden_act": "gelu",
        "dtype": "float32",
        "transformers_version": "5.0.0.dev0",
    }
    if encodec:
        out |= {"codebook_dim": bb["input_channels"], "num_quantizers": 16384, "bandwidths": [1.5, 3.0, 6.0, 12.0]}
    else:
        out["n_mels"] = bb["input_channels"]
    return out


def write_latest(
    directory: Path,
    config_yaml: dict[str, Any],
    state: dict[str, torch.Tensor],
    audio_tokenizer: str | None = None,
) -> Path:
    """What the latest conversion scripts leave in their output folder: config.json + pytorch_model.bin
    (save_pretrained(safe_serialization=False)) + preprocessor_config.json, and for EnCodec processor_config.json
    naming the audio tokenizer (``audio_tokenizer``: a local stand-in for facebook/encodec_24khz)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = latest_config(config_yaml)
    encodec = config["model_type"] == "vocos_encodec"
    original = original_state(config_yaml, state)
    weights = latest_encodec_keys(original) if encodec else latest_mel_keys(original)
    torch.save(weights, directory / "pytorch_model.bin")
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    processor = "VocosEncodecProcessor" if encodec else None
    (directory / "preprocessor_config.json").write_text(json.dumps(feature_extractor_json(processor), indent=2))
    if encodec:
        reference = {"audio_tokenizer_class": "EncodecModel", "audio_tokenizer_name_or_path": audio_tokenizer}
        processor_config = {"audio_tokenizer": reference, "processor_class": processor}
        (directory / "processor_config.json").write_text(json.dumps(processor_config, indent=2))
    return directory


def write_mid_encodec(
    directory: Path, config_yaml: dict[str, Any], state: dict[str, torch.Tensor], audio_tokenizer: str
) -> Path:
    """The 2025 revisions' EnCodec conversion: VocosModel with use_adaptive_norm and no codebooks, a VocosProcessor
    whose processor_config.json names the EnCodec model holding them."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    bb, head = config_yaml["backbone"]["init_args"], config_yaml["head"]["init_args"]
    config = {
        "model_type": "vocos",
        "architectures": ["VocosModel"],
        "input_channels": bb["input_channels"],
        "hidden_dim": bb["dim"],
        "intermediate_dim": bb["intermediate_dim"],
        "num_layers": bb["num_layers"],
        "kernel_size": 7,
        "padding": 3,
        "layer_scale_init_value": 0.125,
        "use_adaptive_norm": True,
        "layer_norm_eps": 1e-06,
        "n_fft": head["n_fft"],
        "hop_length": head["hop_length"],
        "spec_padding": head["padding"],
        "bandwidths": [1.5, 3.0, 6.0, 12.0],
        "sampling_rate": 24000,
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    save_file(mid_encodec_keys(original_state(config_yaml, state)), str(directory / "model.safetensors"))
    (directory / "preprocessor_config.json").write_text(json.dumps(feature_extractor_json("VocosProcessor"), indent=2))
    reference = {"audio_tokenizer_class": "EncodecModel", "audio_tokenizer_name_or_path": audio_tokenizer}
    processor_config = {"audio_tokenizer": reference, "processor_class": "VocosProcessor"}
    (directory / "processor_config.json").write_text(json.dumps(processor_config, indent=2))
    return directory


@functools.lru_cache(maxsize=2)
def _random_encodec_state(seed: int) -> dict[str, torch.Tensor]:
    from vocos_stream.features.encodec_tokenizer import EncodecTokenizer

    return dict(EncodecTokenizer.random(seed).model.state_dict())


def encodec_package_state_with(codebooks: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random EnCodec 24 kHz network (encodec package keys) whose first codebooks are ``codebooks`` (K*1024, D)."""
    state = {k: v.clone() for k, v in _random_encodec_state(seed).items()}
    for k in range(codebooks.shape[0] // 1024):
        state[f"quantizer.vq.layers.{k}._codebook.embed"] = codebooks[k * 1024 : (k + 1) * 1024].clone()
    return state


def spread_codebooks(seed: int = 0) -> torch.Tensor:
    """16 codebooks (16 * 1024, 128) small against the random encoder's output, so that the quantizer picks varied
    codes (a random EnCodec's own codebooks are all zero, and large ones all pick the smallest entry)."""
    return torch.randn(16 * 1024, 128, generator=torch.Generator().manual_seed(seed)) * 3e-3
