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

import json
import math
import pickle
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from ..config import VocosConfig
from .keys import CODEBOOKS, to_internal_layout

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


#: Largest safetensors header read (the library's own limit): a larger length field means a corrupt file.
MAX_SAFETENSORS_HEADER = 100_000_000
_SAFETENSORS_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1}
_SAFETENSORS_ITEMSIZE |= {"BOOL": 1, "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
_DAMAGED = "the file is damaged or incomplete: download or convert the checkpoint again"


def _brief(text: object, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters (errors quote file contents, which can be huge)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in a ``.safetensors`` file, from its header alone (no tensor data is read).

    Checks what the format promises (an 8-byte little-endian header length, a JSON header, each tensor's byte
    range inside the file and matching its shape and dtype) and raises :class:`CheckpointError` otherwise.
    """

    def damaged(why: str) -> CheckpointError:
        return CheckpointError(f"cannot read weights from {path}: {why}; {_DAMAGED}")

    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            length = int.from_bytes(f.read(8), "little") if size >= 8 else None
            if length is None:
                raise damaged("the file is empty" if size == 0 else f"the file has only {size} bytes")
            if length > min(size - 8, MAX_SAFETENSORS_HEADER):
                raise damaged(f"its header claims {length} bytes but the file holds {size - 8} after the length")
            header = json.loads(f.read(length))
    except OSError as e:
        raise CheckpointError(f"cannot read weights from {path}: {e}") from e
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise damaged(f"its header is not valid JSON ({_brief(e)})") from e
    if not isinstance(header, dict):
        raise damaged("its header is not a JSON object")
    data_size, shapes = size - 8 - length, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            itemsize = _SAFETENSORS_ITEMSIZE[info["dtype"]]
            shape = tuple(info["shape"])
            begin, end = info["data_offsets"]
            valid = all(isinstance(n, int) and n >= 0 for n in (*shape, begin, end))
        except (KeyError, TypeError, ValueError):
            valid = False
        if not valid:
            raise damaged(f"tensor {_brief(repr(name), 100)} has a malformed header entry {_brief(repr(info), 200)}")
        if not begin <= end <= data_size or end - begin != math.prod(shape) * itemsize:
            tensor = f"{_brief(repr(name), 100)} ({info['dtype']} {_brief(list(shape), 100)})"
            raise damaged(f"tensor {tensor} claims bytes {begin}..{end} of a data section of {data_size} bytes")
        shapes[name] = shape
    return shapes


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` or torch ``.bin`` / ``.ckpt`` file, never unpickling code.

    Raises :class:`CheckpointError` naming the file for a missing, empty, truncated or corrupt file."""
    if path.suffix == ".safetensors":
        safetensors_shapes(path)  # a clear error for a damaged file, before the library's own
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state: object = load_file(str(path), device="cpu")
        except (OSError, SafetensorError) as e:
            raise CheckpointError(f"cannot read weights from {path}: {_brief(e)}; {_DAMAGED}") from e
    else:
        if path.is_file() and path.stat().st_size == 0:
            raise CheckpointError(f"cannot read weights from {path}: the file is empty; {_DAMAGED}")
        try:
            with warnings.catch_warnings():  # random bytes make torch warn about a pickle protocol first
                warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
                state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:  # also what weights_only raises for code in the pickle
            raise CheckpointError(
                f"cannot read weights from {path}: {_brief(e)}. It is damaged, or holds objects "
                "other than tensors (which are never unpickled, as they could run code)"
            ) from e
        except OSError as e:
            raise CheckpointError(f"cannot read weights from {path}: {e}") from e
        except Exception as e:  # a damaged pickle or zip raises any of a dozen types
            raise CheckpointError(
                f"cannot read weights from {path}: {type(e).__name__}: {_brief(e)}; {_DAMAGED}"
            ) from e
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]  # a PyTorch Lightning training checkpoint
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path} does not hold a flat dict of tensors (as torch.save(model.state_dict()) writes): it is not a "
            "Vocos weights file"
        )
    return dict(state)


def _summary(kind: str, items: list[str], shown: int = 3) -> str:
    more = f", and {len(items) - shown} more" if len(items) > shown else ""
    return f"{len(items)} {kind}{'s' if len(items) != 1 else ''} ({', '.join(items[:shown])}{more})"


def check_fits(
    shapes: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]], source: str, against: str
) -> None:
    """Raise :class:`CheckpointError` unless the checkpoint's (renamed) tensor ``shapes`` are exactly
    ``expected``. The message counts missing keys, unexpected keys and shape mismatches, with the first few."""
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    mismatched = [
        f"{k}: file {tuple(shapes[k])} vs {against} {tuple(expected[k])}"
        for k in sorted(set(expected) & set(shapes))
        if tuple(shapes[k]) != tuple(expected[k])
    ]
    problems = [
        _summary(kind, items)
        for kind, items in (("missing key", missing), ("unexpected key", unexpected), ("shape mismatch", mismatched))
        if items
    ]
    if problems:
        raise CheckpointError(
            f"weights in {source} do not fit the model described by its {against}: {'; '.join(problems)}. "
            "Check that the config and the weights come from the same checkpoint"
        )


def read_checkpoint(
    path: Path,
    config: VocosConfig,
    complete: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
) -> dict[str, torch.Tensor]:
    """The tensors of weights file ``path`` in our layout, checked against ``config`` before any model is built.

    A ``.safetensors`` file is checked from its header, before its data is read; a ``.bin`` file is read first
    (its shapes are only known then). Nothing of the size the config describes is allocated before the check.
    ``complete`` may add tensors the file lacks (EnCodec codebooks kept in a separate EnCodec model) to the
    state as read, before the final check; the header check then allows those codebooks to be missing.
    """
    expected = config.parameter_shapes()
    if path.suffix == ".safetensors":
        meta = {k: torch.empty(shape, device="meta") for k, shape in safetensors_shapes(path).items()}
        renamed, _ = _rename(meta, config, path)
        header_expected = expected
        if complete is not None and CODEBOOKS not in renamed:
            header_expected = {k: v for k, v in expected.items() if k != CODEBOOKS}
        check_fits({k: tuple(v.shape) for k, v in renamed.items()}, header_expected, str(path), "config")
    raw = read_state_dict(path)
    if complete is not None:
        raw = complete(raw)
    state, _ = _rename(raw, config, path)
    check_fits({k: tuple(v.shape) for k, v in state.items()}, expected, str(path), "config")
    return state


def _rename(
    state: Mapping[str, torch.Tensor], config: VocosConfig, path: Path
) -> tuple[dict[str, torch.Tensor], list[str]]:
    try:
        return to_internal_layout(state, config)
    except KeyError as e:
        raise CheckpointError(f"weights in {path}: {e.args[0]}") from e


def load_weights(model: nn.Module, state: Mapping[str, torch.Tensor], config: VocosConfig, source: str) -> None:
    """Load ``state`` (any supported layout) into ``model`` strictly.

    Raises :class:`CheckpointError` summarising missing keys, unexpected keys and shape mismatches, naming ``source``.
    """
    renamed, _ignored = to_internal_layout(state, config)
    expected = model.state_dict()
    check_fits(
        {k: tuple(v.shape) for k, v in renamed.items()},
        {k: tuple(v.shape) for k, v in expected.items()},
        source,
        "config",
    )
    with torch.no_grad():
        for k, v in expected.items():
            v.copy_(renamed[k].to(v.dtype))


def write_checkpoint(directory: Path, config: VocosConfig, state: Mapping[str, torch.Tensor]) -> None:
    """Write ``config.json`` and ``model.safetensors`` (original vocos key names) into ``directory``.

    Files get the usual permissions (0644 under umask 022; safetensors' own ``save_file`` makes them 0600), and
    the weights appear whole or not at all (written beside, then renamed)."""
    from safetensors.torch import save

    directory.mkdir(parents=True, exist_ok=True)
    config.save(directory / "config.json")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    data = save(tensors, metadata={"format": "pt", "library": "vocos_stream"})
    partial = directory / "model.safetensors.partial"
    partial.write_bytes(data)
    partial.replace(directory / "model.safetensors")
