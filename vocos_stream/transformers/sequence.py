"""What transformers' ``SequenceFeatureExtractor`` gives every audio feature extractor: JSON save/load and
``pad``, with the same semantics (and checks) as there.

``pad`` takes a ``BatchFeature`` / dict of lists, or a list of dicts, whose first model input holds one sequence
per item (``(length,)`` or ``(length, feature_size)``); it truncates (``truncation=True`` needs ``max_length``),
pads on the right with ``padding_value`` (``True`` / ``"longest"``, ``"max_length"`` with ``max_length``,
``False`` / ``"do_not_pad"``), rounds lengths up to ``pad_to_multiple_of``, adds an ``int32`` ``attention_mask``
(1 = real sample), and stores float64 as float32.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch

from .batch import BatchFeature

FEATURE_EXTRACTOR_NAME = "preprocessor_config.json"
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
_Self = TypeVar("_Self", bound="SequenceFeatureExtractor")


def padding_strategy(padding: bool | str, max_length: int | None) -> str:
    """``True`` -> ``"longest"``, ``False`` -> ``"do_not_pad"``; ``"max_length"`` needs ``max_length``."""
    if padding is True:
        strategy = "longest"
    elif padding is False or padding is None:
        strategy = "do_not_pad"
    else:
        strategy = str(getattr(padding, "value", padding))
        if strategy not in PADDING_STRATEGIES:
            raise ValueError(f"padding must be True, False or one of {list(PADDING_STRATEGIES)}, got {padding!r}")
    if strategy == "max_length" and max_length is None:
        raise ValueError("When setting padding='max_length', make sure that max_length is defined")
    return strategy


def round_up(length: int, multiple: int | None) -> int:
    if multiple is None or length % multiple == 0:
        return length
    return (length // multiple + 1) * multiple


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


class SequenceFeatureExtractor:
    """Base of :class:`~vocos_stream.transformers.VocosFeatureExtractor` (transformers semantics, no transformers)."""

    model_input_names: ClassVar[list[str]] = ["input_features", "attention_mask"]
    processor_class: str  # set (and saved) once a processor has saved this feature extractor, as in transformers

    def __init__(
        self,
        feature_size: int,
        sampling_rate: int,
        padding_value: float,
        *,
        padding_side: str = "right",
        return_attention_mask: bool = True,
        **kwargs: Any,
    ) -> None:
        if padding_side != "right":
            raise ValueError(
                f"only padding_side='right' is supported (audio is padded at its end), got {padding_side!r}"
            )
        self.feature_size = int(feature_size)
        self.sampling_rate = int(sampling_rate)
        self.padding_value = float(padding_value)
        self.padding_side = padding_side
        self.return_attention_mask = bool(return_attention_mask)
        kwargs.pop("feature_extractor_type", None)
        for key, value in kwargs.items():  # e.g. processor_class: kept and saved, as transformers does
            setattr(self, key, value)

    # ------------------------------------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        out["feature_extractor_type"] = type(self).__name__
        return out

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, json_file_path: str | os.PathLike[str]) -> None:
        Path(json_file_path).write_text(self.to_json_string(), encoding="utf-8")

    @classmethod
    def from_dict(cls: type[_Self], feature_extractor_dict: Mapping[str, Any], **kwargs: Any) -> _Self:
        """Build from a dict; ``kwargs`` override its values (as ``from_pretrained(..., sampling_rate=16000)``)."""
        return cls(**{**dict(feature_extractor_dict), **kwargs})

    @classmethod
    def from_json_file(cls: type[_Self], json_file: str | os.PathLike[str]) -> _Self:
        return cls.from_dict(json.loads(Path(json_file).read_text(encoding="utf-8")))

    def save_pretrained(self, save_directory: str | os.PathLike[str], **_: Any) -> list[str]:
        """Write ``preprocessor_config.json``; returns ``[its path]`` as transformers does."""
        directory = Path(save_directory)
        if directory.is_file():
            raise ValueError(f"save_directory {directory} is a file; give a directory")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FEATURE_EXTRACTOR_NAME
        self.to_json_file(path)
        return [str(path)]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string()}"

    # ------------------------------------------------------------------------------------------------ padding
    def pad(
        self,
        processed_features: Any,
        padding: bool | str = True,
        max_length: int | None = None,
        truncation: bool = False,
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
    ) -> BatchFeature:
        """Pad (and truncate) a batch of sequences; see the module docstring."""
        if (
            isinstance(processed_features, (list, tuple))
            and processed_features
            and isinstance(processed_features[0], Mapping)
        ):
            processed_features = {k: [item[k] for item in processed_features] for k in processed_features[0]}
        name = self.model_input_names[0]
        if not isinstance(processed_features, Mapping) or name not in processed_features:
            keys = list(processed_features) if isinstance(processed_features, Mapping) else type(processed_features)
            raise ValueError(f"pad() needs a BatchFeature, a dict or a list of dicts holding {name!r}; got {keys}")
        with_mask = self.return_attention_mask if return_attention_mask is None else return_attention_mask
        items: dict[str, list[np.ndarray]] = {k: [_to_numpy(v) for v in vs] for k, vs in processed_features.items()}
        required = items[name]
        if return_tensors is None:
            first = processed_features[name][0] if len(processed_features[name]) else None
            return_tensors = "pt" if isinstance(first, torch.Tensor) else "np"
        if not required:
            if with_mask:
                items["attention_mask"] = []
            return BatchFeature(items)
        strategy = padding_strategy(padding, max_length)
        if any(len(v) != len(required) for v in items.values()):
            raise ValueError("Some items in the output dictionary have a different batch size than others.")
        if truncation:
            if max_length is None:
                raise ValueError("When setting truncation=True, make sure that max_length is defined.")
            limit = round_up(max_length, pad_to_multiple_of)
            items = {k: [v[:limit] for v in vs] for k, vs in items.items()}
            required = items[name]
        if strategy == "longest":
            max_length, strategy = max(len(x) for x in required), "max_length"
        target = round_up(max_length, pad_to_multiple_of) if max_length is not None else None
        out: dict[str, list[np.ndarray]] = {k: [] for k in items}
        if with_mask:
            out.setdefault("attention_mask", [])
        for i, x in enumerate(required):
            missing = target - len(x) if strategy == "max_length" and target is not None else 0
            missing = max(missing, 0)
            for key in items:
                value = items[key][i]
                if key == name and missing:
                    width = [(0, missing)] + [(0, 0)] * (value.ndim - 1)
                    value = np.pad(value, width, constant_values=self.padding_value)
                elif key == "attention_mask" and missing:
                    value = np.pad(value, (0, missing))
                out[key].append(value.astype(np.float32) if value.dtype == np.float64 else value)
            if with_mask and "attention_mask" not in items:
                out["attention_mask"].append(np.pad(np.ones(len(x), dtype=np.int32), (0, missing)))
        return BatchFeature(out, tensor_type=return_tensors if _same_lengths(out[name]) else None)


def _same_lengths(values: Sequence[np.ndarray]) -> bool:
    return len({v.shape for v in values}) <= 1
