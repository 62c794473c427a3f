"""Pick a vocoder by name: ``"builtin"`` (no weights, works offline) or a Vocos checkpoint."""

from __future__ import annotations

import os
from typing import Any

from .builtin.vocoder import BUILTIN_NAME, BuiltinVocoder
from .model.vocos import Vocos


def load(name: str | os.PathLike[str] = BUILTIN_NAME, **options: Any) -> Vocos | BuiltinVocoder:
    """``"builtin"``: the classical streaming vocoder (options: ``lookahead``, ``iterations``, ...).
    Anything else: a Vocos checkpoint directory or Hugging Face repo id (options of ``Vocos.from_pretrained``).

    Both results have ``decode``, copy-synthesis by call, ``feature_extractor`` and ``stream(...)``.
    """
    if str(name) == BUILTIN_NAME:
        return BuiltinVocoder.from_pretrained(BUILTIN_NAME, **options)
    return Vocos.from_pretrained(name, **options)
