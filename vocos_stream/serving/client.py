"""Python client of the websocket protocol (``docs/protocol.md``): one :class:`Client` per session, and
:func:`stream_utterances`, which sends utterances at real-time pace (or flat out, with optional jitter),
receives the audio and reports time to first audio and continuity at the receiving end.

    async with await Client.connect("ws://127.0.0.1:8765", input="mel") as client:
        await client.send(mel[:, :10])           # (100, t) float, or codes (K, t), or audio (n,)
        await client.flush()
        async for message in client:             # Pcm, or a control dict ("flushed", "error", ...)
            ...

``websockets`` is imported here; ``import vocos_stream`` does not load this module.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .protocol import FormatName, InputName, Pcm, control, decode_pcm, encode_input, parse_control


class ServerError(RuntimeError):
    """The server refused something: ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class StreamBroken(RuntimeError):
    """PCM messages lost, duplicated or out of order (a server or transport bug)."""


class Client:
    """One session. :meth:`connect` opens it (``start`` -> ``ready``); :attr:`ready` is the server's answer."""

    def __init__(self, ws: ClientConnection, ready: dict[str, Any]) -> None:
        self.ws = ws
        self.ready = ready
        self.input: InputName = ready["input"]
        self.format: FormatName = ready["format"]
        self.sample_rate: int = ready["sample_rate"]
        self._next_seq = 0
        self._ends: dict[int, int] = {}  # utterance -> end position of its last PCM received

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        token: str | None = None,
        input: InputName | None = None,
        format: FormatName = "s16le",
        bandwidth: float | None = None,
        lookahead: int | None = None,
        open_timeout: float = 30.0,
        max_size: int = 2**22,
    ) -> Client:
        """Connect and start a session; raises :class:`ServerError` if the server refuses the start, and
        websockets' ``InvalidStatus`` (401, 404) or ``ConnectionClosed`` (1013: server full) at connect."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        ws = await connect(
            url, additional_headers=headers, compression=None, open_timeout=open_timeout, max_size=max_size
        )
        start: dict[str, Any] = {"version": 1, "format": format}
        if input is not None:
            start["input"] = input
        if bandwidth is not None:
            start["bandwidth"] = bandwidth
        if lookahead is not None:
            start["lookahead"] = lookahead
        try:
            await ws.send(control("start", **start))
            reply = parse_control(str(await ws.recv()))
        except BaseException:
            await ws.close()
            raise
        if reply["type"] != "ready":
            await ws.close()
            raise ServerError(reply.get("code", reply["type"]), reply.get("message", str(reply)))
        return cls(ws, reply)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, x: Any, *, dtype: Literal["f32", "f16", "s16"] = "f32") -> None:
        """Send input: codes ``(K, t)`` integers, mel ``(C, t)``, audio ``(n,)`` (numpy or torch)."""
        await self.ws.send(encode_input(np.asarray(x), self.input, dtype=dtype))

    async def flush(self) -> None:
        await self.ws.send(control("flush"))

    async def clear(self) -> None:
        await self.ws.send(control("clear"))

    async def end(self) -> None:
        await self.ws.send(control("end"))

    async def request_stats(self) -> None:
        await self.ws.send(control("stats"))

    async def receive(self) -> Pcm | dict[str, Any]:
        """The next message: a :class:`Pcm` (checked for order) or a control dict. Raises ``ConnectionClosed``
        at the end of the session."""
        message = await self.ws.recv()
        if isinstance(message, str):
            reply = parse_control(message)
            if reply["type"] == "cleared":
                self._ends.clear()
            return reply
        pcm = decode_pcm(message, self.format)
        if pcm.seq != self._next_seq:
            raise StreamBroken(f"PCM seq {pcm.seq} where {self._next_seq} was due")
        if pcm.position != self._ends.get(pcm.utterance, 0):
            raise StreamBroken(
                f"utterance {pcm.utterance}: PCM at {pcm.position}, but {self._ends.get(pcm.utterance, 0)} was due"
            )
        self._next_seq += 1
        self._ends[pcm.utterance] = pcm.position + pcm.samples.shape[0]
        return pcm

    def __aiter__(self) -> AsyncIterator[Pcm | dict[str, Any]]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Pcm | dict[str, Any]]:
        try:
            while True:
                yield await self.receive()
        except ConnectionClosed:
            return

    async def close(self) -> None:
        await self.ws.close()

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    @property
    def close_reason(self) -> str | None:
        return self.ws.close_reason


# -------------------------------------------------------------------------------------------- a whole run
@dataclass
class Playout:
    """A receiver that plays each utterance from its first audio (plus ``prebuffer_s``) in real time: a PCM
    message that arrives after its first sample was due is an underrun; playback waits for it (a stall)."""

    sample_rate: int
    prebuffer_s: float = 0.0
    underruns: int = 0
    stall_s: float = 0.0
    _start: dict[int, float] = field(default_factory=dict)  # utterance -> when its sample 0 plays

    def arrive(self, pcm: Pcm, now: float) -> None:
        if pcm.utterance not in self._start:
            self._start[pcm.utterance] = now + self.prebuffer_s
            return
        due = self._start[pcm.utterance] + pcm.position / self.sample_rate
        if now > due:
            self.underruns += 1
            self.stall_s += now - due
            self._start[pcm.utterance] += now - due


@dataclass
class StreamReport:
    """What one run of :func:`stream_utterances` received and measured. Times in seconds."""

    ready: dict[str, Any]
    audio: list[np.ndarray]  # per utterance, float32
    raw: list[np.ndarray]  # per utterance, as sent (int16 or float32)
    first_audio_s: list[float | None]  # per utterance: its first input sent -> its first PCM received
    max_gap_s: float  # longest time between two PCM messages of an utterance
    underruns: int
    stall_s: float
    wall_s: float  # first input sent -> session closed
    errors: list[dict[str, Any]]
    close_code: int | None

    @property
    def audio_s(self) -> float:
        return sum(a.shape[0] for a in self.audio) / self.ready["sample_rate"]


async def stream_utterances(
    url: str,
    utterances: Sequence[np.ndarray],
    *,
    input: InputName | None = None,
    token: str | None = None,
    format: FormatName = "s16le",
    bandwidth: float | None = None,
    lookahead: int | None = None,
    chunk: int = 4,
    pace: bool = True,
    jitter_s: float = 0.0,
    prebuffer_s: float = 0.0,
    dtype: Literal["f32", "f16", "s16"] = "f32",
    seed: int = 0,
) -> StreamReport:
    """Send each utterance in pushes of ``chunk`` frames (``hop_length`` samples each for audio), ``flush``
    after each, then ``end``; receive everything. With ``pace`` a push leaves when a real-time producer would
    have it (frame i at i / frame_rate), late by a random 0..``jitter_s``; without, flat out."""
    client = await Client.connect(
        url, token=token, input=input, format=format, bandwidth=bandwidth, lookahead=lookahead
    )
    ready = client.ready
    rate = ready["sample_rate"] if client.input == "audio" else ready["frame_rate"]
    step = chunk * (ready["hop_length"] if client.input == "audio" else 1)
    audio: dict[int, list[np.ndarray]] = {}
    raw: dict[int, list[np.ndarray]] = {}
    sent_at: list[float] = []
    first: dict[int, float] = {}
    errors: list[dict[str, Any]] = []
    playout = Playout(ready["sample_rate"], prebuffer_s)
    last_arrival: dict[int, float] = {}
    max_gap = 0.0
    rng = random.Random(seed)

    async def produce() -> None:
        for x in utterances:
            x = np.asarray(x)
            length = x.shape[-1]
            begin = time.perf_counter()
            sent_at.append(begin)
            for i in range(0, max(length, 1), step):
                if pace:
                    due = begin + i / rate + rng.uniform(0.0, jitter_s)
                    if (wait := due - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                await client.send(x[..., i : i + step], dtype=dtype)
            await client.flush()
        await client.end()

    start = time.perf_counter()
    producer = asyncio.create_task(produce())
    try:
        async for message in client:
            now = time.perf_counter()
            if isinstance(message, Pcm):
                u = message.utterance
                audio.setdefault(u, []).append(message.samples)
                raw.setdefault(u, []).append(message.raw)
                if u not in first:
                    first[u] = now
                elif u in last_arrival:
                    max_gap = max(max_gap, now - last_arrival[u])
                last_arrival[u] = now
                playout.arrive(message, now)
            elif message["type"] == "error":
                errors.append(message)
        await producer
    finally:
        producer.cancel()
        await client.close()
    # Without clear, utterance u is the u-th one sent.
    utterance_numbers = range(len(utterances))
    empty = np.zeros(0, np.float32)
    return StreamReport(
        ready=ready,
        audio=[np.concatenate(audio[u]) if u in audio else empty for u in utterance_numbers],
        raw=[np.concatenate(raw[u]) if u in raw else empty for u in utterance_numbers],
        first_audio_s=[first[u] - sent_at[u] if u in first else None for u in utterance_numbers],
        max_gap_s=max_gap,
        underruns=playout.underruns,
        stall_s=playout.stall_s,
        wall_s=time.perf_counter() - start,
        errors=errors,
        close_code=client.close_code,
    )
