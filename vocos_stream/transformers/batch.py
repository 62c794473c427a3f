"""``BatchFeature``: what feature extractors and processors return, as transformers' class of that name behaves.

A dict (``inputs["input_features"]``) whose entries are also attributes (``inputs.input_features``), that can
hold NumPy arrays or torch tensors (``return_tensors="np"`` / ``"pt"``), and whose :meth:`BatchFeature.to` moves
every tensor to a device and casts floating-point tensors to a dtype (integer masks keep their dtype), so
``model(**processor(...).to(model.device))`` works. Non-tensor entries (the EnCodec ``bandwidth``) pass through.
"""

from __future__ import annotations

from collections import UserDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

TENSOR_TYPES = ("pt", "np")


def ragged_error(key: str, tensor_type: str) -> ValueError:
    kind = "PyTorch tensors" if tensor_type == "pt" else "NumPy arrays"
    return ValueError(
        f"Unable to convert output to {kind}: the items of {key!r} have different lengths. Activate padding "
        "with padding=True (or padding='max_length' with max_length=...) to have batched tensors with the same "
        "length."
    )


def _convert(key: str, value: Any, tensor_type: str) -> Any:
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value  # scalars such as the EnCodec bandwidth stay Python values
    if tensor_type == "pt":
        if isinstance(value, torch.Tensor):
            return value
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
            if len({tuple(v.shape) for v in value}) > 1:
                raise ragged_error(key, tensor_type)
            return torch.stack(list(value))
        try:
            array = np.asarray(value)
        except ValueError as e:  # NumPy refuses ragged nested sequences
            raise ragged_error(key, tensor_type) from e
        if array.dtype == object:
            raise ragged_error(key, tensor_type)
        return torch.from_numpy(np.ascontiguousarray(array))
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        value = [v.detach().cpu().numpy() for v in value]
    try:
        array = np.asarray(value)
    except ValueError as e:
        raise ragged_error(key, tensor_type) from e
    if array.dtype == object:
        raise ragged_error(key, tensor_type)
    return array


class BatchFeature(UserDict[str, Any]):
    """Model inputs by name; ``tensor_type`` ``"pt"`` or ``"np"`` converts every entry (``None`` leaves them)."""

    def __init__(self, data: Mapping[str, Any] | None = None, tensor_type: str | None = None) -> None:
        super().__init__(data or {})
        self.convert_to_tensors(tensor_type)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails; "data" is set in __init__, so this never recurses.
        try:
            return self.data[name]
        except KeyError as e:
            raise AttributeError(f"BatchFeature has no entry {name!r}; it holds {list(self.data)}") from e

    def __getstate__(self) -> dict[str, Any]:
        return {"data": self.data}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.data = state["data"]

    def convert_to_tensors(self, tensor_type: str | None = None) -> BatchFeature:
        """Convert every entry in place to torch tensors (``"pt"``) or NumPy arrays (``"np"``)."""
        if tensor_type is None:
            return self
        tensor_type = str(getattr(tensor_type, "value", tensor_type))
        if tensor_type not in TENSOR_TYPES:
            raise ValueError(f"return_tensors must be 'pt' or 'np' (or None), got {tensor_type!r}")
        for key, value in self.data.items():
            self.data[key] = _convert(key, value, tensor_type)
        return self

    def to(self, *args: Any, **kwargs: Any) -> BatchFeature:
        """Like ``torch.Tensor.to``: a device and/or a dtype. Every tensor moves to the device; only floating-point
        tensors take the dtype (masks and codes keep theirs). Returns ``self``."""
        device = kwargs.get("device")
        dtype = kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, torch.dtype):
                dtype = arg
            elif isinstance(arg, (str, torch.device, int)):
                device = arg
            else:
                raise ValueError(f"BatchFeature.to() takes a device and/or a torch.dtype, got {arg!r}")
        for key, value in self.data.items():
            if isinstance(value, torch.Tensor):
                if dtype is not None and value.is_floating_point():
                    value = value.to(device=device, dtype=dtype)
                elif device is not None:
                    value = value.to(device=device)
                self.data[key] = value
        return self
