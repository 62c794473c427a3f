"""``vocos-stream convert SRC DIR``: save a checkpoint as config.json + model.safetensors for offline use."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..model.vocos import Vocos
from .common import UsageError, output_file


def output_directory(path: str) -> Path:
    """``path`` as a directory that exists or can be created, or a :class:`UsageError`."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"output {path} is a file; give a directory to write config.json and model.safetensors")
    if not p.exists():
        output_file(path)  # the same checks of its parents as for a file
    return p


def cmd_convert(args: argparse.Namespace) -> int:
    directory = output_directory(args.directory)
    vocos = Vocos.from_pretrained(args.source, revision=args.revision)
    path = vocos.save_pretrained(directory)
    print(f"saved {args.source} to {path} (config.json + model.safetensors)")
    print(f"load it offline with Vocos.from_pretrained({str(path)!r})")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("convert", help="save a checkpoint as config.json + model.safetensors for offline use")
    p.add_argument("source", help="checkpoint directory or Hugging Face repo id")
    p.add_argument("directory", help="output directory")
    p.add_argument("--revision", help="hub revision (branch, tag or commit)")
    p.set_defaults(func=cmd_convert)
