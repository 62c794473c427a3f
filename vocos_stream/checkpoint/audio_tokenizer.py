"""EnCodec checkpoints whose codebooks are not in the vocoder's weights file.

Some revisions of the transformers Vocos port keep no ``codebook_weights`` in the model: the codebooks are those
of the EnCodec model its processor wraps as ``audio_tokenizer``, which the checkpoint directory names in
``processor_config.json`` (``{"audio_tokenizer": {"audio_tokenizer_class": "EncodecModel",
"audio_tokenizer_name_or_path": "facebook/encodec_24khz"}}``), in a legacy ``audio_tokenizer_config.json``, or
holds in an ``audio_tokenizer/`` folder. :func:`complete_codebooks` finds them there (or in an EnCodec network
stored in the weights file itself) and stacks them as vocos 0.1.0 does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from ..config import VocosConfig
from .files import WEIGHT_FILES, CheckpointError, read_state_dict
from .keys import CODEBOOKS, codebooks_from_encodec, to_internal_layout

PROCESSOR_CONFIG = "processor_config.json"
AUDIO_TOKENIZER_CONFIG = "audio_tokenizer_config.json"
AUDIO_TOKENIZER_DIR = "audio_tokenizer"


def audio_tokenizer_reference(directory: Path) -> str | None:
    """The EnCodec model a processor directory names (a path relative to it, a path, or a hub repo id)."""
    for name in (PROCESSOR_CONFIG, AUDIO_TOKENIZER_CONFIG):
        path = directory / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise CheckpointError(f"cannot read {path}: {e}") from e
        entry = data.get("audio_tokenizer", data) if isinstance(data, dict) else None
        if isinstance(entry, dict) and entry.get("audio_tokenizer_name_or_path"):
            return str(entry["audio_tokenizer_name_or_path"])
    if (directory / AUDIO_TOKENIZER_DIR).is_dir():
        return AUDIO_TOKENIZER_DIR
    return None


def resolve_reference(directory: Path, reference: str | os.PathLike[str]) -> Path:
    """A local path for ``reference``: relative to ``directory`` first, then as given, then as a hub repo id."""
    from .hub import resolve

    for candidate in (directory / reference, Path(reference).expanduser()):
        if candidate.exists():
            return candidate
    return resolve(str(reference))


def encodec_codebooks(path: Path, num_codebooks: int) -> torch.Tensor:
    """The first ``num_codebooks`` codebooks of an EnCodec checkpoint: a directory in transformers' layout or the
    ``encodec`` package's ``.th`` file."""
    weights = path
    if path.is_dir():
        found = next((path / f for f in WEIGHT_FILES if (path / f).is_file()), None)
        if found is None:
            raise CheckpointError(f"{path} holds no EnCodec weights (one of {list(WEIGHT_FILES)})")
        weights = found
    try:
        stacked = codebooks_from_encodec(read_state_dict(weights), num_codebooks)
    except KeyError as e:
        raise CheckpointError(f"{weights}: {e.args[0]}") from e
    if stacked is None:
        raise CheckpointError(f"{weights} holds no EnCodec quantizer codebooks (quantizer.layers.N.codebook.embed)")
    return stacked


def complete_codebooks(
    state: Mapping[str, torch.Tensor],
    config: VocosConfig,
    directory: Path,
    source: str,
    encodec: object = None,
) -> dict[str, torch.Tensor]:
    """``state`` with ``codebook_weights`` added when an EnCodec model's weights lack them (see the module doc).

    ``encodec`` gives them before the directory's own reference: an EnCodec checkpoint (path or hub id) or a
    loaded tokenizer (anything with ``codebooks(n)``, such as :class:`~vocos_stream.features.encodec_tokenizer.
    EncodecTokenizer`).
    """
    out = dict(state)
    if config.feature_kind != "encodec":
        return out
    try:
        renamed, _ = to_internal_layout(state, config)
    except KeyError as e:
        raise CheckpointError(f"{source}: {e.args[0]}") from e
    if CODEBOOKS in renamed:
        return out
    codebooks = getattr(encodec, "codebooks", None)
    if callable(codebooks):
        out["codebook_weights"] = codebooks(config.num_codebooks)
        return out
    reference = str(encodec) if encodec is not None else audio_tokenizer_reference(directory)
    if reference is None:
        raise CheckpointError(
            f"{source} holds no EnCodec codebooks (codebook_weights), and {directory} names no EnCodec model to take "
            f"them from ({PROCESSOR_CONFIG} / {AUDIO_TOKENIZER_CONFIG} / an {AUDIO_TOKENIZER_DIR}/ folder): pass "
            "encodec=<EnCodec 24 kHz directory, hub id or .th file>"
        )
    try:
        path = resolve_reference(directory, reference)
        out["codebook_weights"] = encodec_codebooks(path, config.num_codebooks)
    except CheckpointError as e:
        raise CheckpointError(
            f"{source} keeps its EnCodec codebooks in the EnCodec model {str(reference)!r}, which could not be "
            f"read: {e}. Make it available (download it once, or pass encodec=<local copy>)."
        ) from e
    return out
