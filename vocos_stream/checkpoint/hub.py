"""Resolve a model name to a local checkpoint directory: a path, or a Hugging Face hub repo id.

Hub downloads go through ``huggingface_hub`` and so honour its cache (``HF_HOME`` / ``HF_HUB_CACHE`` or
``cache_dir``), ``revision``, tokens and ``HF_HUB_OFFLINE=1`` (then only the cache is used). Only the
config and weights files are fetched.
"""

from __future__ import annotations

import os
from pathlib import Path

from .files import CONFIG_FILES, CheckpointError

_HUB_FILES = [
    *CONFIG_FILES,
    "model.safetensors",
    "pytorch_model.bin",
    "preprocessor_config.json",
    # transformers processors: the EnCodec audio tokenizer they name (its codebooks, for some checkpoints)
    "processor_config.json",
    "audio_tokenizer_config.json",
    "audio_tokenizer/*",
]


def resolve(
    name_or_path: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """A local directory holding the checkpoint ``name_or_path`` names.

    An existing path is used as it is. Anything else must look like a hub repo id (``owner/name``) and is
    downloaded (or found in the cache) with ``huggingface_hub.snapshot_download``.
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    name = str(name_or_path)
    if name == "builtin":
        raise CheckpointError(
            "'builtin' names the builtin vocoder, which has no checkpoint: use vocos_stream.load('builtin') "
            "or vocos_stream.BuiltinVocoder()"
        )
    if name.count("/") != 1 or name.startswith((".", "/", "~")):
        raise CheckpointError(
            f"{name!r} is neither an existing directory nor a Hugging Face repo id like 'charactr/vocos-mel-24khz'"
        )
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError
    except ImportError as e:  # pragma: no cover - huggingface_hub is a declared dependency
        raise CheckpointError("loading from the hub needs huggingface_hub: pip install huggingface_hub") from e
    try:
        local = snapshot_download(
            repo_id=name,
            revision=revision,
            cache_dir=None if cache_dir is None else Path(cache_dir),
            local_files_only=local_files_only,
            token=token,
            allow_patterns=_HUB_FILES,
        )
    except LocalEntryNotFoundError as e:
        raise CheckpointError(
            f"{name!r} is not in the Hugging Face cache and downloading is disabled (offline mode or "
            f"local_files_only). Download it once with network access, or save it with save_pretrained() and "
            f"pass that directory. ({e})"
        ) from e
    except RepositoryNotFoundError as e:
        raise CheckpointError(f"no Hugging Face repo {name!r} (or it is private: pass token=...)") from e
    except (HfHubHTTPError, OSError) as e:
        raise CheckpointError(f"could not download {name!r} from the Hugging Face hub: {e}") from e
    return Path(local)
