"""``VocosOutput``: what ``VocosModel`` returns, usable both as the seed doc uses it and as transformers' doc does.

The seed doc (the first revisions of the transformers Vocos port) treats the result as the audio tensor::

    audio = model(**inputs)          # (batch, time)
    write_wav(path, 24000, audio[0].detach().cpu().numpy())

the latest revision as a ``ModelOutput``::

    outputs = model(**inputs)
    outputs.audio, outputs.attention_mask

``VocosOutput`` is both: a ``torch.Tensor`` holding the audio ``(B, n)`` (every tensor operation, comparison and
integer index works on the audio, and their results are plain tensors) that also has ``.audio``,
``.attention_mask`` (``(B, n)``, 1 = real sample, or ``None``), string keys (``outputs["audio"]``), ``keys()`` /
``values()`` / ``items()`` and ``to_tuple()``. The one place the two conventions disagree is an integer index:
``outputs[0]`` is the first batch item here (the seed doc's ``audio[0]``), where a ``ModelOutput`` would give
its first field; ``outputs.to_tuple()[0]`` or ``model(..., return_dict=False)[0]`` give that.
"""

from __future__ import annotations

from typing import Any

import torch


class VocosOutput(torch.Tensor):
    """Reconstructed audio ``(batch, samples)``, with the ``ModelOutput`` accessors described in the module doc."""

    attention_mask: torch.Tensor | None
    # Operations on the output give plain tensors: the attributes describe this result, not derived ones.
    __torch_function__ = torch._C._disabled_torch_function_impl  # type: ignore[assignment]

    @staticmethod
    def create(audio: torch.Tensor, attention_mask: torch.Tensor | None = None) -> VocosOutput:
        out = audio.as_subclass(VocosOutput)
        out.attention_mask = attention_mask
        return out

    @property
    def audio(self) -> torch.Tensor:
        return self.as_subclass(torch.Tensor)

    def keys(self) -> list[str]:
        return ["audio"] if self.attention_mask is None else ["audio", "attention_mask"]

    def values(self) -> list[torch.Tensor]:  # type: ignore[override]  # ModelOutput's, not a sparse tensor's
        return [self[k] for k in self.keys()]

    def items(self) -> list[tuple[str, torch.Tensor]]:
        return [(k, self[k]) for k in self.keys()]

    def to_tuple(self) -> tuple[torch.Tensor, ...]:
        """``(audio,)`` or ``(audio, attention_mask)``: the fields that are set, as ``return_dict=False`` gives."""
        return tuple(self.values())

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(f"{key!r}: this output holds {self.keys()}")
            return self.audio if key == "audio" else self.attention_mask
        return super().__getitem__(key)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Pickle (and deepcopy) as the audio tensor plus the mask, not as a tensor subclass with a state dict.
        return (VocosOutput.create, (self.audio.detach().clone(), self.attention_mask))


VocosEncodecOutput = VocosOutput
