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
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
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
        raise CheckpointError(_not_cached(name, e, local_files_only=local_files_only)) from e
    except GatedRepoError as e:
        raise CheckpointError(
            f"Hugging Face repo {name!r} is gated: accept its conditions on its hub page, then log in "
            "(huggingface-cli login, HF_TOKEN or token=...)"
        ) from e
    except RepositoryNotFoundError as e:
        raise CheckpointError(
            f"no Hugging Face repo {name!r}: check the spelling (owner/name, e.g. charactr/vocos-mel-24khz); a "
            "private repo also needs a token (huggingface-cli login, HF_TOKEN or token=...)"
        ) from e
    except RevisionNotFoundError as e:
        raise CheckpointError(f"Hugging Face repo {name!r} has no revision {revision!r}") from e
    except (HfHubHTTPError, OSError) as e:
        raise CheckpointError(f"could not download {name!r} from the Hugging Face hub: {e}") from e
    return Path(local)


_KEEP_OFFLINE = (
    "or, to work without network, pass a directory that holds the checkpoint (make one where there is network "
    "with `vocos-stream convert REPO_ID DIR` or save_pretrained())"
)


def _not_cached(name: str, error: Exception, *, local_files_only: bool) -> str:
    """Why ``name`` could not be fetched although it is not cached: downloading disabled (``local_files_only``,
    ``HF_HUB_OFFLINE``), the hub answering with an error, or the hub not reachable at all."""
    from huggingface_hub import constants

    cause = error.__cause__ or error.__context__
    offline = type(cause).__name__ == "OfflineModeIsEnabled" or bool(getattr(constants, "HF_HUB_OFFLINE", False))
    missing = f"{name!r} is not in the Hugging Face cache"
    if local_files_only:
        return (
            f"{missing} and local_files_only=True forbids downloading it: pass local_files_only=False, {_KEEP_OFFLINE}"
        )
    if offline:
        return (
            f"{missing} and HF_HUB_OFFLINE is set, which forbids downloading it: unset HF_HUB_OFFLINE, {_KEEP_OFFLINE}"
        )
    status = getattr(getattr(cause, "response", None), "status_code", None)
    if status is not None:
        return f"{missing} and the Hugging Face hub answered HTTP {status}: try again later, {_KEEP_OFFLINE}"
    reason = " ".join(str(cause).split()) if cause is not None else "no answer"
    return (
        f"{missing} and the Hugging Face hub ({getattr(constants, 'ENDPOINT', 'huggingface.co')}) cannot be reached "
        f"({reason}): check the network connection or proxy (HTTPS_PROXY), {_KEEP_OFFLINE}"
    )
