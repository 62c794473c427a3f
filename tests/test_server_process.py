"""``vocos-stream serve`` as a subprocess (started from fixtures, stopped by PID): the listening line, SIGTERM
shutdown (live streams flushed, 1001), a SIGKILLed client freeing its slot, memory over many sessions, the
``vocos-stream client`` command and the streaming TTS demo against it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from checkpoints import write_charactr
from conftest import Golden
from serving_helpers import ROOT, Received, ServerProcess, assert_exact, offline, receive_all, wait_until
from websockets.asyncio.client import connect

from vocos_stream import Vocos
from vocos_stream.io.wav import read_wav
from vocos_stream.serving.protocol import control, encode_input


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vocos-mel-24khz's real architecture and layout, random weights (no weights can be downloaded)."""
    golden = Golden("mel_full")
    return write_charactr(tmp_path_factory.mktemp("ckpt") / "vocos-mel-24khz", golden.config_yaml, golden.state())


@pytest.fixture(scope="module")
def vocos(checkpoint: Path) -> Vocos:
    return Vocos.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def server(checkpoint: Path) -> Iterator[ServerProcess]:
    process = ServerProcess("--model", str(checkpoint))
    yield process
    process.stop()


def stats(server: ServerProcess) -> dict[str, Any]:
    status, body = server.http("/stats")
    assert status == 200
    return body  # type: ignore[no-any-return]


def test_sigterm_flushes_live_streams_and_closes_them_with_1001(checkpoint: Path, vocos: Vocos) -> None:
    process = ServerProcess("--model", str(checkpoint))
    mel = np.random.default_rng(1).standard_normal((100, 30)).astype(np.float32)
    try:

        async def main() -> tuple[Received, list[Any]]:
            live = await connect(process.url, compression=None)
            await live.send(control("start", format="f32le"))
            assert json.loads(await live.recv())["type"] == "ready"
            idle = await connect(process.url, compression=None)
            await idle.send(control("start"))
            assert json.loads(await idle.recv())["type"] == "ready"
            unstarted = await connect(process.url, compression=None)
            received = Received("f32le")
            for i in range(0, 30, 7):
                await live.send(encode_input(mel[:, i : i + 7], "mel"))
            await live.send(control("stats"))  # a barrier: answered once all the input above is taken
            while not any(c["type"] == "stats" for c in received.controls):
                received.add(await live.recv())
            process.signal(signal.SIGTERM)
            others = []
            for ws in (idle, unstarted):
                messages = [json.loads(m) async for m in ws]
                others.append((messages, ws.close_code, ws.close_reason))
            await receive_all(live, received)
            assert live.close_code == 1001, (live.close_code, live.close_reason)
            return received, others

        received, others = asyncio.run(main())
        assert_exact(received.utterance(0), offline(vocos, mel, "mel"), "f32le")  # the tail was flushed
        controls = [c["type"] for c in received.controls]
        assert controls[-2:] == ["flushed", "error"] and received.controls[-1]["code"] == "shutting_down"
        for messages, code, reason in others:
            assert code == 1001 and "shutting down" in (reason or "")
            assert [m.get("code") for m in messages] == ["shutting_down"]
        assert process.process.wait(60) == 0
        assert "shutting down" in process.process.stderr.read()  # type: ignore[union-attr]
    finally:
        process.stop()


KILLED_CLIENT = """
import asyncio, json, sys, time
from websockets.asyncio.client import connect

async def main():
    ws = await connect(sys.argv[1], compression=None)
    await ws.send(json.dumps({"type": "start"}))
    await ws.recv()
    await ws.send(bytes([2]) + bytes(400 * 40))  # 40 frames of zero log-mel
    print("streaming", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def test_a_sigkilled_client_frees_its_stream_and_slot(server: ServerProcess) -> None:
    before = stats(server)
    client = subprocess.Popen(
        [sys.executable, "-c", KILLED_CLIENT, server.url], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert client.stdout is not None and client.stdout.readline().strip() == "streaming"
        assert wait_until(lambda: stats(server)["streams"] == before["streams"] + 1, 30)
        os.kill(client.pid, signal.SIGKILL)
        client.wait(30)
        assert wait_until(lambda: stats(server)["sessions"] == 0 and stats(server)["streams"] == 0, 30)
        assert stats(server)["free_slots"] == stats(server)["max_sessions"]
    finally:
        if client.poll() is None:
            os.kill(client.pid, signal.SIGKILL)
            client.wait(10)


def test_memory_stays_bounded_over_many_sessions(server: ServerProcess) -> None:
    """Sessions that end every way (abort mid-stream, close, end) leave nothing behind: no session, no
    stream, and the server's resident memory flat (a leaked stream of this model alone holds ~100 KB)."""
    mel = np.random.default_rng(2).standard_normal((100, 20)).astype(np.float32)

    async def session(i: int) -> None:
        ws = await connect(server.url, compression=None)
        await ws.send(control("start"))
        await ws.recv()
        await ws.send(encode_input(mel, "mel"))
        if i % 3 == 0:
            ws.transport.abort()
        elif i % 3 == 1:
            await ws.close()
        else:
            await ws.send(control("end"))
            async for _ in ws:
                pass

    def cycles(first: int, count: int) -> int:
        async def main() -> None:
            for batch in range(first, first + count, 8):
                await asyncio.gather(*(session(i) for i in range(batch, batch + 8)))

        asyncio.run(main())
        assert wait_until(lambda: stats(server)["sessions"] == 0 and stats(server)["streams"] == 0, 30)
        return int(stats(server)["memory_rss_bytes"])

    warm = cycles(0, 80)
    after = cycles(80, 240)
    assert after - warm < 8e6, f"RSS grew by {(after - warm) / 1e6:.1f} MB over 240 sessions"


def test_client_command_writes_the_servers_audio(server: ServerProcess, vocos: Vocos, tmp_path: Path) -> None:
    mel = np.random.default_rng(3).standard_normal((100, 40)).astype(np.float32)
    np.save(tmp_path / "mel.npy", mel)
    out = tmp_path / "out.wav"
    result = subprocess.run(
        [sys.executable, "-m", "vocos_stream", "client", server.url, str(tmp_path / "mel.npy"), str(out), "--flat-out"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "time to first audio" in result.stdout and "closed with 1000" in result.stdout
    audio, rate = read_wav(out)
    assert rate == 24000
    # The WAV holds the s16 PCM as sent: the offline output rounded (write_wav and the server round alike).
    assert_exact(np.round(audio[0] * 32768).astype(np.int64), offline(vocos, mel, "mel"), "s16le")


def test_streaming_tts_demo_runs_against_a_running_server(server: ServerProcess, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "demos/streaming_tts_server.py", "--url", server.url, "--out", str(tmp_path / "tts.wav")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "time to first audio" in out and "algorithmic latency" in out and "underruns" in out
    assert "real-time factor" in out
    audio, rate = read_wav(tmp_path / "tts.wav")
    assert rate == 24000 and audio.shape[1] > 24000 * 5  # two clips of speech, ~7 s
