"""Command line: ``vocos-stream COMMAND ...`` (or ``python -m vocos_stream COMMAND ...``).

One module per subcommand, each with ``add_parser(sub)`` that registers it and sets ``func``: ``resynth``
(file -> file through a stream), ``convert`` (checkpoint -> offline directory), ``serve`` (websocket audio
server), ``client`` (file -> server -> WAV). Run ``vocos-stream --help``.

Every user mistake ends the command with one ``error: ...`` line on stderr and exit status 2, never a
traceback; ``--debug`` shows the traceback instead. An unexpected failure (a bug) exits with status 1."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import client, convert, resynth, serve
from .common import UsageError, load_model

#: The subcommand modules, in the order ``--help`` lists them.
COMMANDS = (resynth, convert, serve, client)

#: Exceptions that mean the user asked for something that cannot be done: the library's own errors
#: (``CheckpointError``, ``ConfigError``, ``UsageError``: all ``ValueError``), files that cannot be read or
#: written (``OSError``), and optional packages that are not installed (``ImportError``, whose message says
#: what to install).
USER_ERRORS = (ValueError, OSError, ImportError)

DEBUG_HELP = "show the full traceback of an error instead of one line"


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="vocos-stream", description="Vocos, the Fourier-based neural vocoder, as an exact low-latency stream."
    )
    parser.add_argument("--version", action="version", version=f"vocos-stream {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    for subparser in sub.choices.values():  # --debug also after the subcommand; SUPPRESS keeps the global one
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def one_line(error: BaseException) -> str:
    """The error's message on one line (some messages from other packages span several)."""
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("error: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as e:
        if args.debug:
            raise
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if args.debug:
            raise
        print(
            f"error: unexpected {type(e).__name__}: {one_line(e)} (a bug: rerun with --debug for the traceback "
            "and report it)",
            file=sys.stderr,
        )
        return 1


__all__ = ["COMMANDS", "UsageError", "build_parser", "load_model", "main"]
