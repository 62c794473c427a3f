"""The websocket audio server: every connection a session, every session a stream on one shared StreamPool.

    server = AudioServer(vocos_stream.load("builtin"), port=0)
    await server.start()                 # server.url: ws://127.0.0.1:PORT
    ...
    await server.shutdown()              # stop accepting, flush live streams, close them with 1001

Compute runs on the pool's worker thread, never on the event loop; chunks come back to the loop with
``call_soon_threadsafe``. The protocol is in ``docs/protocol.md``, running and limits in ``docs/server.md``.
``websockets`` is imported here only, so ``import vocos_stream`` stays free of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..engine.pool import StepMetrics, StreamPool
from .http import STATIC_DIR, make_process_request
from .protocol import VERSION, CloseCode, ErrorCode
from .session import Session

if TYPE_CHECKING:
    from websockets.asyncio.server import Server, ServerConnection

    from ..builtin.vocoder import BuiltinVocoder
    from ..engine.step import StepEngine
    from ..model.vocos import Vocos

log = logging.getLogger("vocos_stream.serving")


@dataclass(frozen=True, kw_only=True)
class Limits:
    """A server's limits, all on by default. Times in seconds, amounts of audio in seconds of output.

    Sessions: ``max_sessions`` (one stream each; a connection beyond it is closed at once with 1013),
    ``idle_timeout_s`` (nothing received or sent), ``max_session_s``.
    Input: ``max_message_bytes`` (a larger message closes the connection with 1009), ``max_queue`` (received
    messages buffered per connection before the server stops reading it), ``max_pending_s`` (input queued for
    compute per stream: the pool's worker takes all of it in one step, so it also bounds what one flat-out
    client adds to every step).
    Output: ``max_backlog_s`` (unsent audio plus queued input per session before the server stops taking its
    input; unsent audio stays below it plus ``max_pending_s`` plus one message), ``send_timeout_s`` (a client
    that takes nothing for this long while output waits is disconnected, 1008), ``send_buffer_bytes`` (the
    kernel's send buffer per connection, SO_SNDBUF; None: the system's autotuned default, up to megabytes).
    Closing: ``close_timeout_s`` (websocket closing handshake), ``shutdown_timeout_s`` (flushing live streams).
    Keepalive: ``ping_interval_s`` (None: off).
    """

    max_sessions: int = 64
    idle_timeout_s: float = 120.0
    max_session_s: float = 3600.0
    max_message_bytes: int = 2**20
    max_queue: int = 4
    max_pending_s: float = 0.5
    max_backlog_s: float = 4.0
    send_timeout_s: float = 10.0
    send_buffer_bytes: int | None = 2**18
    close_timeout_s: float = 5.0
    shutdown_timeout_s: float = 10.0
    ping_interval_s: float | None = 20.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.name in ("ping_interval_s", "send_buffer_bytes"):
                continue
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{field.name} must be positive, got {value!r}")


def _percentiles(values: list[float], qs: tuple[int, ...]) -> dict[str, float | None]:
    if not values:
        return {f"p{q}": None for q in qs}
    points = np.percentile(np.asarray(values), qs)
    return {f"p{q}": round(float(p), 3) for q, p in zip(qs, points, strict=True)}


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class AudioServer:
    """Serves one vocoder to many websocket sessions over one :class:`StreamPool`.

    Options: ``model_name`` (what ``ready`` and ``/stats`` call the model); network: ``host`` (127.0.0.1:
    loopback only; binding elsewhere is explicit), ``port`` (0: any free port, see :attr:`port`), ``token``
    (bearer token, None: no auth); ``limits`` (:class:`Limits`); compute: ``threads`` (torch threads of the
    pool's worker), ``engine`` (the pool's :class:`~vocos_stream.engine.step.StepEngine`; default: the best
    for the vocoder), ``warmup`` (run a short stream of each input kind through the pool before listening, so
    the first client does not pay for compilation); ``static_dir`` (files of the browser page, served at ``/``).
    """

    def __init__(
        self,
        vocoder: Vocos | BuiltinVocoder,
        *,
        model_name: str = "builtin",
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        limits: Limits | None = None,
        threads: int = 1,
        engine: StepEngine | None = None,
        static_dir: Path = STATIC_DIR,
        warmup: bool = True,
    ) -> None:
        self.vocoder = vocoder
        self.model_name = model_name
        self.host = host
        self.port = port
        self.token = token or None
        self.limits = limits or Limits()
        self.static_dir = static_dir
        self.warmup = warmup
        config = vocoder.config
        self.sample_rate = int(config.sample_rate)
        self.encodec = getattr(config, "feature_kind", "mel") == "encodec"
        self.bandwidths: tuple[float, ...] = tuple(getattr(config, "bandwidths", ()))
        self.pool = StreamPool(
            vocoder,
            threads=threads,
            max_streams=self.limits.max_sessions,
            max_pending_s=self.limits.max_pending_s,
            on_step=self._on_step,
            engine=engine,
        )
        self.sessions: set[Session] = set()
        self._ids = itertools.count()
        self._first_audio_ms: deque[float] = deque(maxlen=1000)
        self._busy_s = 0.0  # written by the pool's worker only
        self._started = time.monotonic()
        self._server: Server | None = None
        self._closing = False
        self._closed: asyncio.Event | None = None  # events are made on the loop, in start()
        self._sessions_gone: asyncio.Event | None = None

    # ------------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Warm the model up (a first stream compiles kernels: seconds for the builtin), then bind."""
        from websockets.asyncio.server import serve

        if self.warmup:
            await asyncio.get_running_loop().run_in_executor(None, self._warm_up)
        self._closed = asyncio.Event()
        self._sessions_gone = asyncio.Event()
        self._sessions_gone.set()
        limits = self.limits
        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            process_request=make_process_request(
                token=self.token, health=self.health, stats=self.stats, static_dir=self.static_dir
            ),
            compression=None,  # audio does not deflate; and no decompression bombs
            max_size=limits.max_message_bytes,
            max_queue=limits.max_queue,
            ping_interval=limits.ping_interval_s,
            ping_timeout=limits.ping_interval_s,
            close_timeout=limits.close_timeout_s,
            server_header=f"vocos-stream (protocol {VERSION})",
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("listening on %s", self.url)

    def _warm_up(self) -> None:
        for kind in ("codes",) if self.encodec else ("mel", "audio"):
            handle = self.pool.open(input=kind, bandwidth_id=0 if kind == "codes" else None)  # type: ignore[arg-type]
            info = handle.info
            if kind == "codes":
                x = torch.zeros(info.num_codebooks or 1, 8, dtype=torch.long)
            elif kind == "audio":
                x = torch.zeros(8 * info.hop_length + info.min_flush_samples)
            else:
                x = torch.full((info.channels, 8), -5.0)
            try:
                handle.push(x)
                handle.flush()
                while not handle.get(timeout=300).final:
                    pass
            finally:
                handle.close()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    async def shutdown(self) -> None:
        """Stop accepting, flush every live stream and send its tail, close each session with 1001, stop the
        pool. Idempotent; returns when done (bounded by ``shutdown_timeout_s`` and the send timeouts)."""
        assert self._closed is not None and self._sessions_gone is not None and self._server is not None
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._server.server.close()  # the listening socket only: live connections go on
        for session in list(self.sessions):
            session.stop(CloseCode.GOING_AWAY, ErrorCode.SHUTTING_DOWN, "server shutting down")
        limits = self.limits
        bound = limits.shutdown_timeout_s + limits.send_timeout_s + limits.close_timeout_s
        try:
            await asyncio.wait_for(self._sessions_gone.wait(), bound)
        except asyncio.TimeoutError:
            log.warning("%d sessions did not end within %.0f s; closing them", len(self.sessions), bound)
        self._server.close()  # whatever is left: 1001
        await self._server.wait_closed()
        await asyncio.get_running_loop().run_in_executor(None, lambda: self.pool.close(drain=False))
        self._closed.set()

    async def wait_closed(self) -> None:
        assert self._closed is not None
        await self._closed.wait()

    async def _handler(self, ws: ServerConnection) -> None:
        assert self._sessions_gone is not None
        if self._closing:
            await ws.close(CloseCode.GOING_AWAY, "server shutting down")
            return
        if len(self.sessions) >= self.limits.max_sessions:
            n = self.limits.max_sessions
            await ws.close(CloseCode.TRY_AGAIN_LATER, f"server full: {n} of {n} sessions in use; try again later")
            return
        sock = ws.transport.get_extra_info("socket")
        if self.limits.send_buffer_bytes is not None and sock is not None:
            # Kernel buffering counts too: bounded, so a client that stops reading is noticed soon.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.limits.send_buffer_bytes)
        session = Session(self, ws, next(self._ids))
        self.sessions.add(session)
        self._sessions_gone.clear()
        log.info("session %d: open (%d live)", session.id, len(self.sessions))
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            if not self.sessions:
                self._sessions_gone.set()
            log.info("session %d: closed (%d live)", session.id, len(self.sessions))

    # ------------------------------------------------------------------------------------------ metrics
    def _on_step(self, metrics: StepMetrics) -> None:
        self._busy_s += metrics.step_s

    def record_first_audio(self, ms: float) -> None:
        self._first_audio_ms.append(ms)

    def health(self) -> tuple[bool, dict[str, Any]]:
        free = self.limits.max_sessions - len(self.sessions)
        status = "shutting down" if self._closing else "ok"
        return not self._closing, {"status": status, "sessions": len(self.sessions), "free_slots": free}

    def stats(self) -> dict[str, Any]:
        pool = self.pool.stats()
        first_audio = list(self._first_audio_ms)
        return {
            "version": VERSION,
            "model": self.model_name,
            "inputs": ["codes"] if self.encodec else ["mel", "audio"],
            "sample_rate": self.sample_rate,
            "sessions": len(self.sessions),
            "max_sessions": self.limits.max_sessions,
            "free_slots": self.limits.max_sessions - len(self.sessions),
            "streams": pool.streams,
            "steps": pool.steps,
            "step_ms": dict(zip(("p50", "p95", "p99"), pool.step_ms, strict=True)),
            "wait_ms": dict(zip(("p50", "p95", "p99"), pool.wait_ms, strict=True)),
            "frames_per_step": pool.frames_per_step,
            "first_audio_ms": {**_percentiles(list(first_audio), (50, 95)), "count": len(first_audio)},
            "busy_s": round(self._busy_s, 6),
            "uptime_s": round(time.monotonic() - self._started, 3),
            "memory_rss_bytes": _rss_bytes(),
            "limits": dataclasses.asdict(self.limits),
            "shutting_down": self._closing,
        }


def spawn_server(*args: str, env: dict[str, str] | None = None, **popen: Any) -> tuple[subprocess.Popen[str], str]:
    """Start ``vocos-stream serve --port 0 ARGS`` as a child process (``python -m vocos_stream``, this
    interpreter); returns it and its URL, read from its first line. Stop it with SIGTERM (graceful)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "vocos_stream", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        **popen,
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line.startswith("listening on ws://"):
        child.kill()
        child.wait()
        raise RuntimeError(f"vocos-stream serve did not start: its first line was {line!r}")
    return child, line.removeprefix("listening on ")


async def serve(
    vocoder: Vocos | BuiltinVocoder, *, announce: Callable[[str], None] | None = None, **options: Any
) -> None:
    """Run a server until SIGTERM or SIGINT, then shut it down gracefully. ``announce`` receives the line
    ``listening on ws://HOST:PORT`` once the socket is bound (default: print it and flush stdout)."""
    server = AudioServer(vocoder, **options)
    await server.start()
    line = f"listening on {server.url}"
    if announce is None:
        print(line, flush=True)
    else:
        announce(line)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        print("shutting down: flushing live streams", file=sys.stderr, flush=True)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await server.shutdown()
