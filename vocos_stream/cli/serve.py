"""``vocos-stream serve``: the websocket audio server (``docs/server.md``, protocol in ``docs/protocol.md``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

TOKEN_ENV = "VOCOS_STREAM_TOKEN"


def cmd_serve(args: argparse.Namespace) -> int:
    from ..serving.server import Limits, serve
    from .common import load_model

    limits = Limits(
        max_sessions=args.max_sessions,
        idle_timeout_s=args.idle_timeout,
        max_session_s=args.max_session,
        max_message_bytes=args.max_message_bytes,
        max_pending_s=args.max_pending,
        max_backlog_s=args.max_backlog,
        send_timeout_s=args.send_timeout,
    )
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    vocoder, banner = load_model(args.model)
    print(banner, file=sys.stderr, flush=True)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if args.host not in ("127.0.0.1", "localhost", "::1") and token is None:
        print(f"warning: listening on {args.host} without a token (--token or ${TOKEN_ENV})", file=sys.stderr)
    asyncio.run(
        serve(
            vocoder,
            model_name=args.model or "builtin",
            host=args.host,
            port=args.port,
            token=token,
            limits=limits,
            threads=args.threads,
        )
    )
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ..serving.server import Limits

    d = Limits()
    p = sub.add_parser(
        "serve",
        help="websocket audio server: codes, mel or audio in, PCM out, for many clients",
        description="Serve a vocoder over websockets. The first line of output is 'listening on ws://HOST:PORT'. "
        "SIGTERM or Ctrl-C: stop accepting, flush live streams, close them with 1001.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free port, printed)")
    p.add_argument("--model", help="'builtin' (default: no weights) or a Vocos mel/EnCodec checkpoint dir or hub id")
    p.add_argument("--token", help=f"require this bearer token (header or ?token=); default ${TOKEN_ENV} if set")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the compute worker (default 1)")
    limits = p.add_argument_group("limits (see docs/server.md)")
    for flag, field, unit in (
        ("--max-sessions", "max_sessions", "sessions; more are refused with close code 1013"),
        ("--max-message-bytes", "max_message_bytes", "bytes per message; larger: close code 1009"),
        ("--idle-timeout", "idle_timeout_s", "s with nothing sent or received"),
        ("--max-session", "max_session_s", "s per session"),
        ("--max-pending", "max_pending_s", "s of input queued per stream"),
        ("--max-backlog", "max_backlog_s", "s of unsent audio per session before its input stalls"),
        ("--send-timeout", "send_timeout_s", "s a client may take nothing while audio waits (then 1008)"),
    ):
        default = getattr(d, field)
        limits.add_argument(flag, type=type(default), default=default, help=f"{unit} (default {default})")
    p.add_argument("-v", "--verbose", action="store_true", help="log sessions to stderr")
    p.set_defaults(func=cmd_serve)
