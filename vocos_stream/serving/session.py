"""One websocket session: one stream of the shared :class:`~vocos_stream.engine.pool.StreamPool`.

Three parties, one data flow::

    reader task (loop)  --push-->  pool worker thread  --chunk, call_soon_threadsafe-->  out queue  --> writer task

- The **reader** takes one message at a time, validates it completely, and pushes it to the stream in pieces
  with ``push(block=False)``; while the stream's pending input is at its bound (``PendingFull``) or the unsent
  output is over ``max_backlog_s``, it does not read the socket, so TCP slows the client down.
- The **worker** (the pool's thread) computes; each chunk is encoded there and handed to the loop.
- The **writer** sends the out queue in order (PCM, replies, errors), numbering PCM messages as it sends them.
  A send that the client does not take within ``send_timeout_s`` ends the session (1008).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from ..engine.pool import AudioChunk, PendingFull, PoolClosed, PoolFull, StreamHandle
from .protocol import (
    VERSION,
    CloseCode,
    ErrorCode,
    ProtocolError,
    Start,
    bytes_per_second,
    control,
    decode_input,
    error,
    parse_control,
    parse_start,
    pcm_header,
    pcm_payload,
)

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from .server import AudioServer

log = logging.getLogger("vocos_stream.serving")

Outcome = Literal["closed", "end", "stop", "fatal"]


@dataclass
class _Pcm:
    utterance: int
    position: int
    payload: bytes
    samples: int


@dataclass
class _Text:
    text: str
    audio: bool = False  # a "flushed" notice: dropped with the audio by clear


@dataclass
class _Close:
    code: int
    reason: str


_Out = _Pcm | _Text | _Close


class Session:
    """A connection's state. :meth:`run` serves it to the end; :meth:`stop` ends it gracefully."""

    def __init__(self, server: AudioServer, ws: ServerConnection, session_id: int) -> None:
        self.server = server
        self.ws = ws
        self.id = session_id
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.start: Start | None = None
        self.handle: StreamHandle | None = None
        # Output side (loop): queued messages, their bytes, and what has been sent.
        self.out: deque[_Out] = deque()
        self.out_bytes = 0
        self.sample_bytes = 2  # of the output format
        self.backlog_bound = int(self.limits.max_backlog_s * server.sample_rate * self.sample_bytes)
        self.seq = 0
        self.sent_utterance: int | None = None
        self.sent_position: int | None = None
        self.samples_out = 0
        self.stale_below = 0  # chunks of utterances below this number were cleared
        self.awaiting_final = 0  # flushes whose last chunk has not arrived
        # Input side.
        self.frames_in = 0.0
        self.utterance_has_input = False
        self.in_utterance = 0  # the utterance the next input belongs to (for time to first audio)
        self.first_input: dict[int, float] = {}  # utterance -> arrival of its first input
        self.first_audio_ms: float | None = None
        now = self.loop.time()
        self.last_rx = self.last_tx = now
        # Wake-ups.
        self._queued = asyncio.Event()  # something to send
        self._room = asyncio.Event()  # the backlog may have fallen below its bound
        self._progress = asyncio.Event()  # a chunk arrived (the worker took this stream's pending input)
        self._stop: tuple[int, str | None, str] | None = None
        self._busy = False  # the reader is in the middle of a message (not cancellable there)
        self._reader: asyncio.Task[Outcome] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.closed = False

    # ------------------------------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        reader = self._reader = asyncio.create_task(self._read_loop())
        writer = self._writer = asyncio.create_task(self._write_loop())
        expiry = self.loop.call_later(
            self.limits.max_session_s,
            self.stop,
            CloseCode.POLICY,
            ErrorCode.SESSION_LIMIT,
            f"session longer than max_session_s = {self.limits.max_session_s:g} s",
        )
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done and not reader.cancelled() and reader.exception() is None:
                outcome = reader.result()
                if outcome == "end":
                    await self._finish(CloseCode.NORMAL, None, "end")
                elif outcome == "stop":
                    assert self._stop is not None
                    await self._finish(*self._stop)
                elif outcome == "fatal":
                    await self._writer_done()
            elif reader in done and not reader.cancelled() and reader.exception() is not None:
                exc = reader.exception()
                log.error("session %d: internal error", self.id, exc_info=exc)
                self._send_text(error(ErrorCode.INTERNAL, f"internal error: {exc}", fatal=True))
                self._queue(_Close(CloseCode.INTERNAL, "internal error"))
                await self._writer_done()
        finally:
            expiry.cancel()
            self.closed = True
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
            if self.handle is not None:
                self.handle.close()
            code, reason = (self._stop[0], self._stop[2]) if self._stop else (CloseCode.INTERNAL, "session ended")
            await self._close(code, reason)  # no-op if closed already

    def stop(self, code: int, error_code: str | None, reason: str) -> None:
        """End the session gracefully: stop reading, flush the live utterance, send it, close with ``code``."""
        if self._stop is not None or self.closed:
            return
        self._stop = (code, error_code, reason)
        if self._reader is not None and not self._busy:
            self._reader.cancel()

    async def _finish(self, code: int, error_code: str | None, reason: str) -> None:
        """Flush the live utterance, wait (bounded) for its tail, then send everything and close."""
        if self.handle is not None and self.utterance_has_input:
            try:
                self._flush()
            except ProtocolError:  # an audio utterance too short to end: drop it
                self.handle.clear()
        deadline = self.loop.time() + self.limits.shutdown_timeout_s
        while self.awaiting_final > 0 and (left := deadline - self.loop.time()) > 0:
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), left)
            except asyncio.TimeoutError:
                break
        if error_code is not None:
            self._send_text(error(error_code, reason, fatal=True))
        self._queue(_Close(code, reason))
        await self._writer_done()

    async def _writer_done(self) -> None:
        """Wait (bounded) for the writer to send what is queued and close."""
        if self._writer is not None:
            await asyncio.wait({self._writer}, timeout=self.limits.send_timeout_s + self.limits.close_timeout_s)

    # ------------------------------------------------------------------------------------------ reader
    async def _read_loop(self) -> Outcome:
        from websockets.exceptions import ConnectionClosed

        try:
            while self._stop is None:
                await self._wait_for_room()
                message = await self._receive()
                if message is None:
                    idle = f"idle timeout: nothing sent or received for {self.limits.idle_timeout_s:g} s"
                    self._send_text(error(ErrorCode.IDLE_TIMEOUT, idle, fatal=True))
                    self._queue(_Close(CloseCode.POLICY, idle))
                    return "fatal"
                self.last_rx = self.loop.time()
                self._busy = True
                try:
                    if isinstance(message, str):
                        if await self._on_text(message):
                            return "end"
                    else:
                        await self._on_binary(message)
                except ProtocolError as e:
                    self._send_text(error(e.code, str(e), fatal=e.fatal))
                finally:
                    self._busy = False
            return "stop"
        except asyncio.CancelledError:
            if self._stop is not None:
                return "stop"
            raise
        except ConnectionClosed:
            return "closed"
        except PoolClosed:
            return "stop" if self._stop is not None else "closed"

    async def _receive(self) -> str | bytes | None:
        """The next message, or None after ``idle_timeout_s`` with nothing received or sent."""
        while True:
            left = max(self.last_rx, self.last_tx) + self.limits.idle_timeout_s - self.loop.time()
            if left <= 0:
                return None
            try:
                return await asyncio.wait_for(self.ws.recv(), left)  # cancelling recv loses nothing
            except asyncio.TimeoutError:
                continue

    @property
    def backlog_bytes(self) -> int:
        """Unsent output, plus the input not yet computed counted as the output it will make."""
        pending = self.handle.pending_samples if self.handle is not None else 0
        return self.out_bytes + pending * self.sample_bytes

    async def _wait_for_room(self) -> None:
        """Take no more input while the backlog is over its bound: the socket is not read, TCP slows the
        client. So the unsent output never exceeds the bound by more than one message's worth."""
        while self.backlog_bytes > self.backlog_bound:
            self._room.clear()
            await self._room.wait()

    async def _on_text(self, text: str) -> bool:
        """Handle a control message; True for ``end``."""
        message = parse_control(text)
        kind = message["type"]
        if kind == "start":
            await self._start(message)
        elif kind == "flush":
            self._flush()
        elif kind == "clear":
            self._clear()
        elif kind == "end":
            return True
        elif kind == "stats":
            self._send_text(control("stats", session=self.stats(), server=self.server.stats()))
        else:
            raise ProtocolError(
                ErrorCode.UNKNOWN_TYPE, f"control type {kind!r} is unknown; use start, flush, clear, end or stats"
            )
        return False

    async def _start(self, message: dict[str, Any]) -> None:
        if self.handle is not None:
            raise ProtocolError(ErrorCode.ALREADY_STARTED, "this session has started already; one start per session")
        server = self.server
        start = parse_start(message, encodec=server.encodec, model=server.model_name, bandwidths=server.bandwidths)
        try:
            # open() waits for the engine between steps: off the loop, so other sessions go on meanwhile.
            handle = await self.loop.run_in_executor(
                None,
                lambda: server.pool.open(
                    input=start.input,
                    bandwidth_id=start.bandwidth_id,
                    lookahead=start.lookahead,
                    on_audio=self._on_audio,
                ),
            )
        except ValueError as e:
            raise ProtocolError(ErrorCode.BAD_START, str(e)) from None
        except PoolFull as e:  # sessions are counted at connect time, so only a misconfigured pool gets here
            raise ProtocolError(ErrorCode.BAD_START, str(e)) from None
        if self.closed:
            handle.close()
            return
        self.start, self.handle = start, handle
        info = handle.info
        self.sample_bytes = bytes_per_second(start.format, 1)
        self.backlog_bound = int(self.limits.max_backlog_s * info.sample_rate * self.sample_bytes)
        self._send_text(
            control(
                "ready",
                version=VERSION,
                session=self.id,
                model=server.model_name,
                input=start.input,
                format=start.format,
                sample_rate=info.sample_rate,
                hop_length=info.hop_length,
                frame_rate=info.sample_rate / info.hop_length,
                channels=info.channels,
                num_codebooks=info.num_codebooks,
                bandwidth=None if start.bandwidth_id is None else server.bandwidths[start.bandwidth_id],
                latency_samples=info.latency_samples,
                lookahead=start.lookahead,
                max_message_bytes=self.limits.max_message_bytes,
                max_pending_s=self.limits.max_pending_s,
            )
        )

    def _started(self) -> StreamHandle:
        if self.handle is None:
            raise ProtocolError(ErrorCode.NOT_STARTED, 'send {"type": "start"} first and wait for "ready"')
        return self.handle

    def _flush(self) -> None:
        handle = self._started()
        try:
            handle.flush()
        except ValueError as e:
            raise ProtocolError(ErrorCode.TOO_SHORT, str(e)) from None
        self.awaiting_final += 1
        self.utterance_has_input = False
        self.in_utterance += 1

    def _clear(self) -> None:
        handle = self._started()
        handle.clear()
        self.stale_below = self.in_utterance = handle.utterance
        kept: deque[_Out] = deque(item for item in self.out if not _audio(item))
        self.out = kept
        self.out_bytes = sum(_size(item) for item in kept)
        self._room.set()
        self.awaiting_final = 0
        self.utterance_has_input = False
        self.first_input.clear()
        self._send_text(control("cleared", utterance=self.sent_utterance, position=self.sent_position))

    async def _on_binary(self, data: bytes) -> None:
        handle = self._started()
        assert self.start is not None
        info = handle.info
        array = decode_input(data, input=self.start.input, channels=info.channels, num_codebooks=info.num_codebooks)
        try:
            x = handle.validate(array)
        except ValueError as e:
            raise ProtocolError(ErrorCode.BAD_VALUE, str(e)) from None
        length = int(x.shape[-1])
        if length == 0:
            return
        self.first_input.setdefault(self.in_utterance, time.perf_counter())
        self.utterance_has_input = True
        per_item = 1 if self.start.input == "audio" else info.hop_length
        self.frames_in += length * per_item / info.hop_length
        # Pieces of at most a quarter of the pending bound, so a message of any allowed size goes in.
        step = max(1, int(self.limits.max_pending_s * info.sample_rate / 4) // per_item)
        for i in range(0, length, step):
            await self._push(handle, x[..., i : i + step])

    async def _push(self, handle: StreamHandle, x: torch.Tensor) -> None:
        while True:
            try:
                handle.push(x, block=False)
                return
            except PendingFull:
                # The worker has this stream's input pending; it answers each step with a chunk.
                self._progress.clear()
                try:
                    await asyncio.wait_for(self._progress.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass

    # ------------------------------------------------------------------------------------------ output
    def _on_audio(self, chunk: AudioChunk) -> None:
        """Pool worker thread: encode, hand over to the loop. Raises if the loop is gone (the pool then
        closes the stream)."""
        fmt = self.start.format if self.start is not None else "s16le"
        payload = pcm_payload(chunk.samples, fmt) if chunk.samples.shape[0] else b""
        self.loop.call_soon_threadsafe(self._on_chunk, chunk, payload)

    def _on_chunk(self, chunk: AudioChunk, payload: bytes) -> None:
        self._progress.set()
        self._room.set()
        if self.closed or chunk.utterance < self.stale_below:
            return
        if chunk.error is not None:
            self._send_text(
                error(ErrorCode.INTERNAL, f"the engine failed on this utterance ({chunk.error}); it was dropped")
            )
        n = int(chunk.samples.shape[0])
        if n:
            self._queue(_Pcm(chunk.utterance, chunk.position, payload, n))
        if chunk.final:
            self.awaiting_final = max(0, self.awaiting_final - 1)
            if chunk.position + n == 0:
                self.first_input.pop(chunk.utterance, None)
            self._queue(_Text(control("flushed", utterance=chunk.utterance, samples=chunk.position + n), audio=True))

    def _send_text(self, text: str) -> None:
        self._queue(_Text(text))

    def _queue(self, item: _Out) -> None:
        self.out.append(item)
        self.out_bytes += _size(item)
        self._queued.set()

    async def _write_loop(self) -> None:
        while True:
            while not self.out:
                self._queued.clear()
                await self._queued.wait()
            item = self.out.popleft()
            self.out_bytes -= _size(item)
            self._room.set()
            if isinstance(item, _Close):
                await self._close(item.code, item.reason)
                return
            frame: str | bytes
            if isinstance(item, _Pcm):
                frame = pcm_header(seq=self.seq, utterance=item.utterance, position=item.position) + item.payload
                self.seq += 1
                if item.utterance != self.sent_utterance:
                    self._first_audio(item.utterance)
                self.sent_utterance, self.sent_position = item.utterance, item.position + item.samples
                self.samples_out += item.samples
            else:
                frame = item.text
            self.last_tx = self.loop.time()
            send = asyncio.ensure_future(self.ws.send(frame))
            done, _ = await asyncio.wait({send}, timeout=self.limits.send_timeout_s)
            if not done:  # the client does not read: close (this aborts the TCP connection after close_timeout)
                log.info("session %d: client not reading; closing", self.id)
                await self._close(CloseCode.POLICY, f"not reading: output unsent for {self.limits.send_timeout_s:g} s")
                await asyncio.gather(send, return_exceptions=True)
                return
            send.result()  # ConnectionClosed ends the writer

    async def _close(self, code: int, reason: str) -> None:
        """The closing handshake, bounded: websockets' close() first waits for room in the write buffer, which
        a client that does not read never makes; then the TCP connection is aborted."""
        try:
            await asyncio.wait_for(self.ws.close(code, reason), self.limits.close_timeout_s)
        except asyncio.TimeoutError:
            self.ws.transport.abort()
            await asyncio.gather(self.ws.wait_closed(), return_exceptions=True)

    def _first_audio(self, utterance: int) -> None:
        started = self.first_input.pop(utterance, None)
        if started is not None:
            self.first_audio_ms = 1000 * (time.perf_counter() - started)
            self.server.record_first_audio(self.first_audio_ms)

    # ------------------------------------------------------------------------------------------ stats
    def stats(self) -> dict[str, Any]:
        rate = self.server.sample_rate
        pending = self.handle.pending_samples if self.handle is not None else 0
        per_second = bytes_per_second(self.start.format if self.start else "s16le", rate)
        return {
            "id": self.id,
            "utterance": self.in_utterance,
            "frames_in": self.frames_in,
            "samples_out": self.samples_out,
            "pending_s": pending / rate,
            "backlog_s": self.backlog_bytes / per_second,
            "first_audio_ms": self.first_audio_ms,
        }


def _audio(item: _Out) -> bool:
    """Output that clear() drops: PCM and "flushed" notices."""
    return isinstance(item, _Pcm) or (isinstance(item, _Text) and item.audio)


def _size(item: _Out) -> int:
    if isinstance(item, _Pcm):
        return len(item.payload)
    if isinstance(item, _Text):
        return len(item.text)
    return 0
