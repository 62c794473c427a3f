"""Helpers of the server tests: tiny models, a server on its own event loop thread, a server subprocess,
offline references and a raw receiver that checks order itself."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from pool_helpers import tiny
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from vocos_stream import BuiltinVocoder, Vocos
from vocos_stream.serving.protocol import Pcm, control, decode_pcm, encode_input
from vocos_stream.serving.server import AudioServer, spawn_server

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def offline(vocoder: Vocos | BuiltinVocoder, x: np.ndarray, kind: str, bandwidth_id: int | None = None) -> np.ndarray:
    """The offline decode a stream's utterance must equal, computed with one torch thread as the server's
    worker does (the builtin's copy-synthesis differs in its last bits with the thread count, and its phase
    retrieval amplifies that)."""
    result: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: result.append(_offline(vocoder, x, kind, bandwidth_id)))
    worker.start()
    worker.join()
    return result[0]


def _offline(vocoder: Vocos | BuiltinVocoder, x: np.ndarray, kind: str, bandwidth_id: int | None) -> np.ndarray:
    torch.set_num_threads(1)  # this thread's intra-op threads only
    t = torch.from_numpy(np.ascontiguousarray(x))
    with torch.inference_mode():
        if kind == "codes":
            assert isinstance(vocoder, Vocos)
            features = vocoder.codes_to_features(t)
            return vocoder.decode(features, bandwidth_id=torch.tensor([bandwidth_id]))[0].numpy()
        if kind == "audio":
            return vocoder(t[None].float())[0].numpy()
        return vocoder.decode(t[None].float())[0].numpy()


class ThreadedServer:
    """An :class:`AudioServer` on port 0 with its own event loop in a daemon thread."""

    def __init__(self, vocoder: Vocos | BuiltinVocoder, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-server", daemon=True)
        self.thread.start()
        self.server: AudioServer = self.call(self._make(vocoder, options))

    @staticmethod
    async def _make(vocoder: Vocos | BuiltinVocoder, options: dict[str, Any]) -> AudioServer:
        server = AudioServer(vocoder, port=0, **options)
        await server.start()
        return server

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def url(self) -> str:
        return self.server.url

    def stats(self) -> dict[str, Any]:
        async def get() -> dict[str, Any]:
            return self.server.stats()

        return self.call(get())

    def stop(self) -> None:
        try:
            self.call(self.server.shutdown(), timeout=120)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            self.loop.close()


def wait_until(predicate: Any, timeout: float = 60.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


class ServerProcess:
    """``vocos-stream serve --port 0`` in a subprocess; the URL comes from its first line. Stop by PID."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
        self.process, self.url = spawn_server(*args, env=full_env, stderr=subprocess.PIPE, cwd=ROOT)
        assert self.url.startswith("ws://127.0.0.1:")
        self.pid = self.process.pid

    def http(self, path: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
        return http_get(self.url, path, token)

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.process.wait(10)


def http_get(url: str, path: str, token: str | None = None) -> tuple[int, Any]:
    """GET an HTTP path on the server's port: (status, parsed JSON or text)."""
    request = urllib.request.Request(url.replace("ws://", "http://", 1) + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body, kind = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, body, kind = e.code, e.read(), e.headers.get("Content-Type", "")
    return status, json.loads(body) if kind.startswith("application/json") else body.decode()


class Received:
    """Everything one session received, checked by the test itself: seq consecutive from 0, each PCM starting
    where the previous one of its utterance ended."""

    def __init__(self, format: str) -> None:
        self.format = format
        self.pcm: list[Pcm] = []
        self.controls: list[dict[str, Any]] = []

    def add(self, message: str | bytes) -> dict[str, Any] | Pcm:
        if isinstance(message, str):
            reply: dict[str, Any] = json.loads(message)
            self.controls.append(reply)
            return reply
        pcm = decode_pcm(message, self.format)  # type: ignore[arg-type]
        assert pcm.seq == len(self.pcm), f"seq {pcm.seq} after {len(self.pcm)} messages"
        ends = [p.position + p.raw.shape[0] for p in self.pcm if p.utterance == pcm.utterance]
        assert pcm.position == (ends[-1] if ends else 0), f"utterance {pcm.utterance}: gap or overlap"
        self.pcm.append(pcm)
        return pcm

    def utterance(self, u: int, raw: bool = False) -> np.ndarray:
        pieces = [p.raw if raw else p.samples for p in self.pcm if p.utterance == u]
        return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def assert_exact(received: np.ndarray, reference: np.ndarray, format: str) -> None:
    """f32le: within 1e-5 of the offline output; s16le: the offline output rounded, +-1 for ties near .5."""
    assert received.shape == reference.shape, (received.shape, reference.shape)
    if format == "f32le":
        np.testing.assert_allclose(received, reference, rtol=0, atol=1e-5)
    else:
        expected = np.round(np.clip(reference, -1, 1) * 32767).astype(np.int64)
        assert np.abs(received.astype(np.int64) - expected).max(initial=0) <= 1


# ------------------------------------------------------------------------------------------ client jobs
async def open_session(url: str, **start: Any) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(url, compression=None, max_size=None, open_timeout=60)
    await ws.send(control("start", **start))
    ready = json.loads(await ws.recv())
    assert ready["type"] == "ready", ready
    return ws, ready


async def receive_all(ws: ClientConnection, received: Received, slow_s: float = 0.0) -> None:
    try:
        async for message in ws:
            received.add(message)
            if slow_s:
                await asyncio.sleep(slow_s)
    except ConnectionClosed:
        pass


BANDWIDTHS = (1.5, 3.0, 6.0, 12.0)
CODEBOOKS = {1.5: 2, 3.0: 4, 6.0: 8, 12.0: 16}


def make_job(i: int, seed: int) -> dict[str, Any]:
    """One client: its input kind, wire dtype, output format, bandwidth, utterances, push sizes and read pace."""
    rng = random.Random(seed * 1000 + i)
    g = torch.Generator().manual_seed(seed * 1000 + i)
    kind = ("mel", "audio", "codes")[i % 3]
    job: dict[str, Any] = {
        "kind": kind,
        "format": rng.choice(["s16le", "f32le"]),
        "dtype": {"mel": rng.choice(["f32", "f16"]), "audio": rng.choice(["f32", "s16"]), "codes": "f32"}[kind],
        "bandwidth": rng.choice(BANDWIDTHS) if kind == "codes" else None,
        "most": rng.choice([1, 4, 10, 25]) * (256 if kind == "audio" else 1)
        + (rng.randrange(255) if kind == "audio" else 0),
        "slow_s": rng.choice([0.0, 0.0, 0.002]),  # some clients read slowly: a narrow downlink
        "pause_s": rng.choice([0.0, 0.001]),
        "seed": seed * 1000 + i,
    }
    utterances = []
    for _ in range(rng.randint(1, 2)):
        frames = rng.randint(1, 30)
        if kind == "codes":
            x = torch.randint(0, 1024, (CODEBOOKS[job["bandwidth"]], frames), generator=g).numpy()
        elif kind == "audio":
            x = np.clip(0.3 * torch.randn(frames * 256 + 520, generator=g).numpy(), -1, 1)
        else:
            x = torch.randn(100, frames, generator=g).numpy()
        utterances.append(x)
    job["utterances"] = utterances
    return job


def wire(x: np.ndarray, kind: str, dtype: str) -> np.ndarray:
    """What the server receives of x after its wire encoding (f16 mel, s16 audio are lossy)."""
    if kind == "mel" and dtype == "f16":
        return x.astype(np.float16).astype(np.float32)
    if kind == "audio" and dtype == "s16":
        return np.clip(np.round(x * 32768), -32768, 32767).astype(np.float32) / 32768
    return x


async def run_job(url: str, job: dict[str, Any]) -> Received:
    start = {"input": job["kind"], "format": job["format"]}
    if job["bandwidth"] is not None:
        start["bandwidth"] = job["bandwidth"]
    ws, _ = await open_session(url, **start)
    received = Received(job["format"])
    reader = asyncio.create_task(receive_all(ws, received, job["slow_s"]))
    rng = random.Random(job["seed"])
    for x in job["utterances"]:
        i = 0
        while i < x.shape[-1]:
            n = rng.randint(0, job["most"])
            await ws.send(encode_input(x[..., i : i + n], job["kind"], dtype=job["dtype"]))
            i += n
            if job["pause_s"]:
                await asyncio.sleep(job["pause_s"])
        await ws.send(control("flush"))
    await ws.send(control("end"))
    await asyncio.wait_for(reader, 120)
    assert ws.close_code == 1000, (ws.close_code, ws.close_reason)
    return received


def check_job(job: dict[str, Any], received: Received) -> None:
    vocoder = tiny("encodec" if job["kind"] == "codes" else "mel")
    bandwidth_id = BANDWIDTHS.index(job["bandwidth"]) if job["bandwidth"] is not None else None
    flushed = [c for c in received.controls if c["type"] == "flushed"]
    assert [c["utterance"] for c in flushed] == list(range(len(job["utterances"])))
    assert not [c for c in received.controls if c["type"] == "error"]
    for u, x in enumerate(job["utterances"]):
        reference = offline(vocoder, wire(x, job["kind"], job["dtype"]), job["kind"], bandwidth_id)
        got = received.utterance(u, raw=job["format"] == "s16le")
        assert flushed[u]["samples"] == got.shape[0]
        assert_exact(got, reference, job["format"])
