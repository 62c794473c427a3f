"""EnCodec 24 kHz weights in transformers' ``EncodecModel`` layout, mapped to and from the ``encodec`` package's.

transformers stores the network that its Vocos processors use as audio tokenizer (``facebook/encodec_24khz``)
as a directory with ``config.json`` (``"model_type": "encodec"``) and ``model.safetensors`` or
``pytorch_model.bin``, keyed as its own converter (``convert_encodec_checkpoint_to_pytorch.py``) names them:

==========================================  ==================================================
encodec package (``EncodecModel``)          transformers (``EncodecModel``)
==========================================  ==================================================
``encoder.model.N.conv.conv.*``             ``encoder.layers.N.conv.*``
``encoder.model.N.block.J.conv.conv.*``     ``encoder.layers.N.block.J.conv.*`` (also ``shortcut``)
``encoder.model.N.lstm.*``                  ``encoder.layers.N.lstm.*`` (decoder alike)
``decoder.model.N.convtr.convtr.*``         ``decoder.layers.N.conv.*``
``quantizer.vq.layers.N._codebook.*``       ``quantizer.layers.N.codebook.*``
``*.weight_g`` / ``*.weight_v``              the same, or ``*.parametrizations.weight.original0`` / ``original1``
==========================================  ==================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

CONFIG_FILE = "config.json"
SAMPLE_RATE = 24000

# (transformers pattern, encodec package replacement); the first that matches wins.
_TO_PACKAGE = (
    (re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.lstm\.(.+)$"), r"\1.model.\2.lstm.\3"),
    (
        re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(block\.\d+|shortcut)\.conv\.(.+)$"),
        r"\1.model.\2.\3.conv.conv.\4",
    ),
    (re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.conv\.(.+)$"), r"\1.model.\2.conv.conv.\3"),
    (re.compile(r"^quantizer\.layers\.(\d+)\.codebook\.(.+)$"), r"quantizer.vq.layers.\1._codebook.\2"),
)
_TO_TRANSFORMERS = (
    (re.compile(r"^(encoder|decoder)\.model\.(\d+)\.lstm\.(.+)$"), r"\1.layers.\2.lstm.\3"),
    (
        re.compile(r"^(encoder|decoder)\.model\.(\d+)\.(block\.\d+|shortcut)\.conv\.conv\.(.+)$"),
        r"\1.layers.\2.\3.conv.\4",
    ),
    (re.compile(r"^(encoder|decoder)\.model\.(\d+)\.(?:conv\.conv|convtr\.convtr)\.(.+)$"), r"\1.layers.\2.conv.\3"),
    (re.compile(r"^quantizer\.vq\.layers\.(\d+)\._codebook\.(.+)$"), r"quantizer.layers.\1.codebook.\2"),
)
_WEIGHT_NORM = (("parametrizations.weight.original0", "weight_g"), ("parametrizations.weight.original1", "weight_v"))


def is_transformers_layout(state: Mapping[str, torch.Tensor]) -> bool:
    return any(k.startswith(("encoder.layers.", "quantizer.layers.")) for k in state)


def to_package_layout(state: Mapping[str, torch.Tensor], package_keys: set[str]) -> dict[str, torch.Tensor]:
    """transformers-layout EnCodec weights keyed for the ``encodec`` package model whose keys are
    ``package_keys`` (they decide ``conv.conv`` or ``convtr.convtr`` for a decoder layer). Unknown keys are
    kept as they are, so that strict loading reports them."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        for new, old in _WEIGHT_NORM:
            name = name.replace(new, old)
        for pattern, replacement in _TO_PACKAGE:
            if pattern.match(name):
                name = pattern.sub(replacement, name)
                break
        if name not in package_keys and ".conv.conv." in name:
            transposed = name.replace(".conv.conv.", ".convtr.convtr.")
            name = transposed if transposed in package_keys else name
        out[name] = value
    return out


def to_transformers_layout(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``encodec`` package weights keyed as transformers' ``EncodecModel`` (weight norm as ``weight_g/_v``)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        for pattern, replacement in _TO_TRANSFORMERS:
            if pattern.match(name):
                name = pattern.sub(replacement, name)
                break
        out[name] = value
    return out


def transformers_config() -> dict[str, Any]:
    """The ``config.json`` of a transformers ``EncodecModel`` for the 24 kHz model (its defaults are that model)."""
    return {
        "model_type": "encodec",
        "architectures": ["EncodecModel"],
        "sampling_rate": SAMPLE_RATE,
        "audio_channels": 1,
        "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0],
        "codebook_size": 1024,
        "normalize": False,
    }


def check_transformers_config(directory: Path) -> None:
    """Refuse an EnCodec directory whose ``config.json`` describes another model than EnCodec 24 kHz mono."""
    path = directory / CONFIG_FILE
    if not path.is_file():
        return
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ValueError(f"cannot read the EnCodec config {path}: {e}") from e
    problems = []
    if config.get("model_type", "encodec") != "encodec":
        problems.append(f"model_type {config.get('model_type')!r} (expected 'encodec')")
    if int(config.get("sampling_rate", SAMPLE_RATE)) != SAMPLE_RATE:
        problems.append(f"sampling_rate {config.get('sampling_rate')}")
    if int(config.get("audio_channels", 1)) != 1:
        problems.append(f"audio_channels {config.get('audio_channels')}")
    if problems:
        raise ValueError(
            f"{path} does not describe EnCodec 24 kHz mono ({', '.join(problems)}); Vocos uses facebook/encodec_24khz"
        )
