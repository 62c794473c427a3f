"""Write checkpoint directories laid out exactly like the published hub repos, for loading tests.

* charactr layout (``charactr/vocos-mel-24khz``, ``charactr/vocos-encodec-24khz``): ``config.yaml`` +
  ``pytorch_model.bin`` with the original vocos 0.1.0 keys (including the buffers it saves).
* transformers layout (``hf-audio/vocos-mel-24khz`` style): ``config.json`` + ``model.safetensors`` with the
  renamed keys (``layers.``, ``layer_scale_parameter``, ``out_proj``, AdaLayerNorm as ``norm.weight/bias``).
"""

from __future__ import annotations

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
