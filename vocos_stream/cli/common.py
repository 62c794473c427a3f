"""What every subcommand shares: picking the vocoder a user named, argument types and path checks.

A user mistake raises :class:`UsageError` (or another ``ValueError`` / ``OSError``), which ``main`` prints as
one ``error: ...`` line with exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from ..builtin.vocoder import BUILTIN_NAME, BuiltinConfig, BuiltinVocoder
from ..model.vocos import Vocos

#: The EnCodec 24 kHz weights file as Meta publishes it (and as the encodec package caches it in torch.hub).
ENCODEC_WEIGHTS_NAME = "encodec_24khz-d7cc33bc.th"
ENCODEC_WEIGHTS_URL = f"https://dl.fbaipublicfiles.com/encodec/v0/{ENCODEC_WEIGHTS_NAME}"


class UsageError(ValueError):
    """A command line that cannot run as given; the message says what to change."""


# --------------------------------------------------------------------------------------------- arguments
def whole_number(minimum: int) -> Callable[[str], int]:
    """argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}")
        return value

    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (refuses nan, inf, 0 and negatives)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


# --------------------------------------------------------------------------------------------- paths
def input_file(path: str, what: str = "input") -> Path:
    """``path`` as an existing, readable regular file, or a :class:`UsageError` saying what it is instead."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{what} {path} does not exist")
    if p.is_dir():
        raise UsageError(f"{what} {path} is a directory; give a file")
    try:
        with p.open("rb") as f:
            f.read(1)
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror or e}") from e
    return p


def output_file(path: str, what: str = "output") -> Path:
    """``path`` as a file that can be created or replaced (its missing parent directories are created when
    writing), or a :class:`UsageError`: a directory, a parent that is a file, a directory not writable."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{what} {path} is a directory; give a file name, e.g. {p / 'out.wav'}")
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {what} {path}: no permission to write in {parent}")
    return p


# --------------------------------------------------------------------------------------------- models
def load_model(name: str | None, *, kernels: str = "auto") -> tuple[Vocos | BuiltinVocoder, str]:
    """The vocoder a user named (the builtin one when none), and a line saying what it is. ``kernels``: the
    builtin's per-frame kernels (``"auto"``, ``"numba"``, ``"numpy"``)."""
    if name is None or name == BUILTIN_NAME:
        vocoder = BuiltinVocoder(BuiltinConfig(backend=kernels))
        c = vocoder.config
        how = "no --model given, so" if name is None else "--model builtin:"
        return vocoder, (
            f"{how} using the builtin vocoder: streaming phase reconstruction (RTISI-LA, look-ahead "
            f"{c.lookahead} frames, {c.iterations} iterations, {c.init} initial phase) over vocos-mel-24khz's "
            "log-mel, no weights needed. "
            "Pass --model DIR_OR_HUB_ID for a Vocos checkpoint, e.g. charactr/vocos-mel-24khz."
        )
    vocos = Vocos.from_pretrained(name)
    return vocos, f"vocoder: Vocos {name} ({vocos.config.feature_kind} features, {vocos.config.sample_rate} Hz)"


def encodec_weights(given: str | None) -> Path:
    """The EnCodec 24 kHz weights to turn audio into codes: ``--encodec-weights`` if given, else the copy the
    encodec package keeps in torch.hub's cache. Never downloads: without either, a :class:`UsageError` says
    where to get the file."""
    if given is not None:
        return input_file(given, "--encodec-weights")
    import torch.hub

    cached = Path(torch.hub.get_dir()) / "checkpoints" / ENCODEC_WEIGHTS_NAME
    if cached.is_file():
        return cached
    raise UsageError(
        "this EnCodec model turns audio into codes with Meta's EnCodec network, whose weights are not part of a "
        f"Vocos checkpoint and are not downloaded by vocos-stream: download {ENCODEC_WEIGHTS_URL} (CC-BY-NC 4.0) "
        f"and pass --encodec-weights PATH, or put it at {cached}"
    )
