"""Checkpoint directories on disk: find, read (safely) and write them.

A Vocos checkpoint directory holds one config and one weights file:

=====================  ===========================================  ==================================
layout                 config                                       weights
=====================  ===========================================  ==================================
charactr (original)    ``config.yaml`` (LightningCLI class_path)    ``pytorch_model.bin``
transformers-style     ``config.json``                              ``model.safetensors`` or ``.bin``
ours (save_pretrained) ``config.json`` (``"format": "vocos_stream"``) ``model.safetensors``
=====================  ===========================================  ==================================

Weights are read with safetensors or ``torch.load(weights_only=True)``: a checkpoint cannot run code.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..config import VocosConfig
from .keys import to_internal_layout

CONFIG_FILES = ("config.json", "config.yaml")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not fit the model its config describes."""


def find_files(directory: Path) -> tuple[Path, Path]:
    """The config and weights file of a checkpoint directory (``config.json`` and safetensors preferred)."""
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is not a directory")
    config = next((directory / f for f in CONFIG_FILES if (directory / f).is_file()), None)
    weights = next((directory / f for f in WEIGHT_FILES if (directory / f).is_file()), None)
    if config is None or weights is None:
        present = sorted(p.name for p in directory.iterdir())
        raise CheckpointError(
            f"{directory} is not a Vocos checkpoint: it needs one of {list(CONFIG_FILES)} and one of "
            f"{list(WEIGHT_FILES)}; it holds {present}"
        )
    return config, weights


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` or torch ``.bin`` / ``.ckpt`` file, never unpickling code."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: object = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError, ValueError) as e:
        raise CheckpointError(f"cannot read weights from {path}: {e}") from e
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]  # a PyTorch Lightning training checkpoint
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a flat dict of tensors")
    return dict(state)


def load_weights(model: nn.Module, state: Mapping[str, torch.Tensor], config: VocosConfig, source: str) -> None:
    """Load ``state`` (any supported layout) into ``model`` strictly.

    Raises :class:`CheckpointError` naming every missing key, unexpected key and shape mismatch, and ``source``.
    """
    renamed, _ignored = to_internal_layout(state, config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(renamed))
    unexpected = sorted(set(renamed) - set(expected))
    mismatched = [
        f"{k}: checkpoint {tuple(renamed[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(renamed))
        if renamed[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if mismatched:
        problems.append(f"shape mismatches {mismatched}")
    if problems:
        raise CheckpointError(
            f"weights in {source} do not fit the model described by its config: " + "; ".join(problems)
        )
    with torch.no_grad():
        for k, v in expected.items():
            v.copy_(renamed[k].to(v.dtype))


def write_checkpoint(directory: Path, config: VocosConfig, state: Mapping[str, torch.Tensor]) -> None:
    """Write ``config.json`` and ``model.safetensors`` (original vocos key names) into ``directory``."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    config.save(directory / "config.json")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt", "library": "vocos_stream"})
