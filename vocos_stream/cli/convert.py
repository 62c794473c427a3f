"""``vocos-stream convert SRC DIR``: save a checkpoint as config.json + model.safetensors for offline use."""

from __future__ import annotations

import argparse

from ..model.vocos import Vocos


def cmd_convert(args: argparse.Namespace) -> int:
    vocos = Vocos.from_pretrained(args.source, revision=args.revision)
    path = vocos.save_pretrained(args.directory)
    print(f"saved {args.source} to {path} (config.json + model.safetensors)")
    print(f"load it offline with Vocos.from_pretrained({str(path)!r})")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("convert", help="save a checkpoint as config.json + model.safetensors for offline use")
    p.add_argument("source", help="checkpoint directory or Hugging Face repo id")
    p.add_argument("directory", help="output directory")
    p.add_argument("--revision", help="hub revision (branch, tag or commit)")
    p.set_defaults(func=cmd_convert)
