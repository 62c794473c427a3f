"""Command line: ``vocos-stream COMMAND ...`` (or ``python -m vocos_stream COMMAND ...``).

One module per subcommand, each with ``add_parser(sub)`` that registers it and sets ``func``: ``resynth``
(file -> file through a stream), ``convert`` (checkpoint -> offline directory), ``serve`` (websocket audio
server), ``client`` (file -> server -> WAV). Run ``vocos-stream --help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..checkpoint.files import CheckpointError
from ..config import ConfigError
from . import client, convert, resynth, serve
from .common import load_model

#: The subcommand modules, in the order ``--help`` lists them.
COMMANDS = (resynth, convert, serve, client)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="vocos-stream", description="Vocos, the Fourier-based neural vocoder, as an exact low-latency stream."
    )
    parser.add_argument("--version", action="version", version=f"vocos-stream {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (CheckpointError, ConfigError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


__all__ = ["COMMANDS", "build_parser", "load_model", "main"]
