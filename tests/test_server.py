"""The websocket server on loopback (port 0), real sockets: exactness for many concurrent clients, flush and
clear, backpressure (flooding writer, slow reader), limits, auth, HTTP, disconnects, engine failures."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from pool_helpers import FailingEngine, GatedEngine
from serving_helpers import (
    Received,
    ThreadedServer,
    assert_exact,
    check_job,
    http_get,
    make_job,
    offline,
    open_session,
    receive_all,
    run_job,
    tiny,
    wait_until,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from vocos_stream import BuiltinVocoder
from vocos_stream.serving.protocol import control, encode_input
from vocos_stream.serving.server import Limits


@pytest.fixture(scope="module")
def mel_server() -> Iterator[ThreadedServer]:
    server = ThreadedServer(tiny("mel"), model_name="tiny-mel")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def codes_server() -> Iterator[ThreadedServer]:
    server = ThreadedServer(tiny("encodec"), model_name="tiny-encodec")
    yield server
    server.stop()


def test_64_concurrent_clients_each_receive_exactly_their_offline_output(
    mel_server: ThreadedServer, codes_server: ThreadedServer
) -> None:
    """Mixed inputs (mel f32/f16, audio f32/s16, codes at all four bandwidths), output formats, push sizes,
    1-2 utterances each, some slow readers; all at once on two servers (a server serves one model)."""
    jobs = [make_job(i, seed=1) for i in range(64)]

    async def main() -> list[Received]:
        return await asyncio.gather(
            *(run_job((codes_server if j["kind"] == "codes" else mel_server).url, j) for j in jobs)
        )

    results = asyncio.run(main())
    for job, received in zip(jobs, results, strict=True):
        check_job(job, received)
    assert wait_until(lambda: mel_server.stats()["sessions"] == 0 and codes_server.stats()["sessions"] == 0, 30)
    assert mel_server.stats()["streams"] == 0


def test_builtin_default_model_is_exact_through_the_server() -> None:
    """The real 24 kHz builtin vocoder (the server's default model), mel and audio in."""
    builtin = BuiltinVocoder()
    server = ThreadedServer(builtin)
    try:
        g = torch.Generator().manual_seed(2)
        audio = np.clip(0.2 * torch.randn(256 * 20 + 300, generator=g).numpy(), -1, 1)
        mel = builtin.feature_extractor(torch.from_numpy(audio)[None])[0].numpy()
        jobs = [
            {"kind": "mel", "format": "f32le", "dtype": "f32", "bandwidth": None, "most": 5, "slow_s": 0.0,
             "pause_s": 0.0, "seed": 1, "utterances": [mel, mel[:, :7]]},
            {"kind": "audio", "format": "f32le", "dtype": "f32", "bandwidth": None, "most": 700, "slow_s": 0.0,
             "pause_s": 0.0, "seed": 2, "utterances": [audio]},
        ]  # fmt: skip

        async def main() -> list[Received]:
            return await asyncio.gather(*(run_job(server.url, j) for j in jobs))

        for job, received in zip(jobs, asyncio.run(main()), strict=True):
            for u, x in enumerate(job["utterances"]):
                assert_exact(received.utterance(u), offline(builtin, x, job["kind"]), "f32le")
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ control
def test_flush_keeps_the_socket_and_clear_drops_pending_output(mel_server: ThreadedServer) -> None:
    vocos = tiny("mel")
    g = torch.Generator().manual_seed(3)
    first, second, third = (torch.randn(100, n, generator=g).numpy() for n in (30, 400, 25))

    async def main() -> tuple[Received, list[dict[str, Any]]]:
        ws, ready = await open_session(mel_server.url, format="f32le")
        assert ready["latency_samples"] > 0 and ready["channels"] == 100 and ready["num_codebooks"] is None
        received = Received("f32le")
        await ws.send(encode_input(first, "mel"))
        await ws.send(control("flush"))
        while not any(c["type"] == "flushed" for c in received.controls):
            received.add(await ws.recv())
        # A long utterance, then clear before it is all out: what was sent is reported, the rest dropped.
        for i in range(0, second.shape[1], 10):
            await ws.send(encode_input(second[:, i : i + 10], "mel"))
        while not received.pcm or received.pcm[-1].utterance != 1:
            received.add(await ws.recv())
        await ws.send(control("clear"))
        while not any(c["type"] == "cleared" for c in received.controls):
            received.add(await ws.recv())
        await ws.send(encode_input(third, "mel"))
        await ws.send(control("end"))
        await receive_all(ws, received)
        assert ws.close_code == 1000
        return received, received.controls

    received, controls = asyncio.run(main())
    assert_exact(received.utterance(0), offline(vocos, first, "mel"), "f32le")
    cleared = next(c for c in controls if c["type"] == "cleared")
    sent = received.utterance(1)
    assert cleared["utterance"] == 1 and cleared["position"] == sent.shape[0]
    assert 0 < sent.shape[0] < (second.shape[1] - 1) * 256
    np.testing.assert_allclose(sent, offline(vocos, second, "mel")[: sent.shape[0]], atol=1e-5)
    later = sorted({p.utterance for p in received.pcm if p.utterance > 1})
    assert len(later) == 1  # the utterance after the clear, numbered above the cleared one
    assert_exact(received.utterance(later[0]), offline(vocos, third, "mel"), "f32le")
    assert [c["utterance"] for c in controls if c["type"] == "flushed"] == [0, later[0]]


def test_errors_leave_the_session_as_it_was(mel_server: ThreadedServer) -> None:
    """Each bad message is answered with its error code; the stream's output is still exact afterwards."""
    vocos = tiny("mel")
    x = torch.randn(100, 20, generator=torch.Generator().manual_seed(4)).numpy()
    nan = x[:, :3].copy()
    nan[5, 1] = np.nan
    bad = [
        (control("flush"), "not_started"),
        (encode_input(x, "mel"), "not_started"),
        ("{", "bad_json"),
        ("[1, 2]", "bad_json"),
        (control("start", input="codes"), "bad_start"),
        (control("start", format="mp3"), "bad_start"),
        (control("start", version=2), "bad_start"),
        (control("start", lookahead=-1), "bad_start"),
        (control("start", model="other"), "bad_start"),
    ]
    after_start = [
        (control("start"), "already_started"),
        (control("dance"), "unknown_type"),
        (b"\x07abc", "unknown_type"),
        (b"", "bad_shape"),
        (encode_input(x[:, :2], "mel")[:-1], "bad_shape"),
        (encode_input(np.zeros(300, np.float32), "audio"), "wrong_input"),
        (encode_input(np.zeros((8, 2), np.int64), "codes"), "wrong_input"),
        (encode_input(nan, "mel"), "bad_value"),
        (encode_input(np.full((100, 2), np.inf, np.float32), "mel", dtype="f16"), "bad_value"),
    ]

    async def main() -> Received:
        ws = await connect(mel_server.url, compression=None)
        for message, code in bad:
            await ws.send(message)
            reply = json.loads(await ws.recv())
            assert (reply["type"], reply["code"], reply["fatal"]) == ("error", code, False), (message, reply)
            assert reply["message"]
        await ws.send(control("start", format="f32le"))
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(encode_input(x[:, :8], "mel"))
        received = Received("f32le")
        for message, code in after_start:
            await ws.send(message)
            while True:
                reply = received.add(await ws.recv())
                if isinstance(reply, dict):
                    break
            assert (reply["type"], reply["code"]) == ("error", code), (message, reply)
        await ws.send(encode_input(x[:, 8:], "mel"))
        await ws.send(control("end"))
        await receive_all(ws, received)
        return received

    received = asyncio.run(main())
    assert_exact(received.utterance(0), offline(vocos, x, "mel"), "f32le")


def test_audio_flush_too_short_is_refused_and_the_utterance_goes_on(mel_server: ThreadedServer) -> None:
    vocos = tiny("mel")
    audio = np.clip(0.3 * np.random.default_rng(5).standard_normal(3000), -1, 1).astype(np.float32)

    async def main() -> Received:
        ws, _ = await open_session(mel_server.url, input="audio", format="f32le")
        received = Received("f32le")
        await ws.send(encode_input(audio[:100], "audio"))
        await ws.send(control("flush"))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "too_short" and "513" in reply["message"]
        await ws.send(encode_input(audio[100:], "audio"))
        await ws.send(control("end"))
        await receive_all(ws, received)
        return received

    assert_exact(asyncio.run(main()).utterance(0), offline(vocos, audio, "audio"), "f32le")


def test_a_message_larger_than_the_pending_bound_is_taken_in_pieces() -> None:
    """max_message_bytes, not the compute queue, bounds a message: 10 s of audio in one message is exact."""
    vocos = tiny("mel")
    server = ThreadedServer(vocos, limits=Limits(max_pending_s=0.2, max_message_bytes=2**21))
    audio = np.clip(0.3 * np.random.default_rng(6).standard_normal(240_000), -1, 1).astype(np.float32)
    try:

        async def main() -> Received:
            ws, _ = await open_session(server.url, input="audio", format="f32le")
            received = Received("f32le")
            reader = asyncio.create_task(receive_all(ws, received))
            await ws.send(encode_input(audio, "audio"))
            await ws.send(control("end"))
            await reader
            return received

        assert_exact(asyncio.run(main()).utterance(0), offline(vocos, audio, "audio"), "f32le")
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ backpressure
def test_a_flooding_writer_is_slowed_by_tcp_not_buffered() -> None:
    """With compute stalled, a client sending flat out soon cannot send more (its socket is not read): the
    server holds at most the stream's pending bound plus a few received messages."""
    vocos = tiny("mel")
    engine = GatedEngine(vocos)
    limits = Limits(max_pending_s=0.5, max_queue=2)
    server = ThreadedServer(vocos, engine=engine, limits=limits, warmup=False)
    message = encode_input(np.clip(0.3 * np.random.default_rng(7).standard_normal(4800), -1, 1), "audio", dtype="s16")
    total = 4000  # 38 MB, 800 s of audio: far more than the socket buffers on both sides hold
    try:

        async def main() -> tuple[int, float]:
            ws, _ = await open_session(server.url, input="audio")
            sent, pending = 0, 0.0
            try:
                while sent < total:
                    await asyncio.wait_for(ws.send(message), 3.0)
                    sent += 1
            except asyncio.TimeoutError:
                pass
            session = next(iter(server.server.sessions))
            assert session.handle is not None
            pending = session.handle.pending_samples / 24000
            ws.transport.abort()
            return sent, pending

        sent, pending = asyncio.run(main())
        assert sent < total, "every message went through although nothing was computed"
        assert pending <= limits.max_pending_s
        engine.gate.set()
        assert wait_until(lambda: server.stats()["sessions"] == 0 and server.stats()["streams"] == 0, 60)
    finally:
        engine.gate.set()
        server.stop()


def test_a_client_that_stops_reading_is_disconnected_with_a_bounded_backlog() -> None:
    vocos = tiny("mel")
    limits = Limits(
        max_backlog_s=0.25, max_pending_s=0.5, send_timeout_s=1.0, close_timeout_s=1.0, send_buffer_bytes=2**15
    )
    server = ThreadedServer(vocos, limits=limits)
    mel = np.random.default_rng(8).standard_normal((100, 40)).astype(np.float32)
    peak = [0]
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            for session in list(server.server.sessions):
                peak[0] = max(peak[0], session.out_bytes)
            watching.wait(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:

        async def main() -> tuple[int | None, int]:
            ws = await connect(server.url, compression=None, max_queue=1)
            await ws.send(control("start", format="f32le"))
            sent = 0
            try:  # never read: mel is cheap to send, its audio is 2.5x larger
                for _ in range(20000):
                    await asyncio.wait_for(ws.send(encode_input(mel, "mel", dtype="f16")), 30)
                    sent += 1
            except (ConnectionClosed, asyncio.TimeoutError, OSError):
                pass
            await asyncio.wait_for(ws.wait_closed(), 60)
            return ws.close_code, sent

        code, sent = asyncio.run(main())
        assert sent < 20000
        assert wait_until(lambda: server.stats()["sessions"] == 0, 60)
        # The bound, plus one step's input in compute (not counted while the worker holds it: at most the
        # pending bound), plus the one message taken while under the bound (40 frames); 4 bytes a sample.
        bound = (limits.max_backlog_s + limits.max_pending_s) * 24000 * 4 + 40 * 256 * 4
        assert peak[0] <= bound, (peak[0], bound)
        assert code in (1008, 1006), code  # 1006: the server aborted TCP after its close frame went unread
    finally:
        watching.set()
        server.stop()


# ------------------------------------------------------------------------------------------ limits
def test_a_full_server_rejects_at_once_with_a_clear_reason() -> None:
    server = ThreadedServer(tiny("mel"), limits=Limits(max_sessions=2))
    try:

        async def main() -> None:
            a, _ = await open_session(server.url)
            b, _ = await open_session(server.url)
            c = await connect(server.url)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(c.recv(), 10)
            assert c.close_code == 1013 and "server full: 2 of 2 sessions" in (c.close_reason or "")
            status, health = http_get(server.url, "/health")
            assert status == 200 and health["free_slots"] == 0
            await a.close()
            assert await asyncio.to_thread(wait_until, lambda: server.stats()["sessions"] == 1, 30)
            d, _ = await open_session(server.url)  # the slot is free again
            await b.close()
            await d.close()

        asyncio.run(main())
    finally:
        server.stop()


def test_message_size_idle_timeout_and_session_length_limits() -> None:
    vocos = tiny("mel")
    server = ThreadedServer(vocos, limits=Limits(max_message_bytes=4096, idle_timeout_s=0.5))
    long_server = ThreadedServer(vocos, limits=Limits(max_session_s=1.5))
    mel = np.random.default_rng(9).standard_normal((100, 30)).astype(np.float32)
    try:

        async def main() -> None:
            ws, ready = await open_session(server.url, format="f32le")
            assert ready["max_message_bytes"] == 4096
            await ws.send(b"\x02" + bytes(4096))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            assert ws.close_code == 1009

            ws, _ = await open_session(server.url)
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (reply["code"], reply["fatal"]) == ("idle_timeout", True)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            assert ws.close_code == 1008 and "idle" in (ws.close_reason or "")

            # Session length: the live utterance is flushed and sent, then 1008.
            ws, _ = await open_session(long_server.url, format="f32le")
            received = Received("f32le")
            reader = asyncio.create_task(receive_all(ws, received))
            try:
                for i in range(mel.shape[1]):  # 3 s at this pace: longer than max_session_s
                    await ws.send(encode_input(mel[:, i : i + 1], "mel"))
                    await asyncio.sleep(0.1)
            except ConnectionClosed:
                pass
            await asyncio.wait_for(reader, 20)
            assert ws.close_code == 1008 and "max_session_s" in (ws.close_reason or "")
            assert [c["code"] for c in received.controls if c["type"] == "error"] == ["session_limit"]
            (flushed,) = [c for c in received.controls if c["type"] == "flushed"]
            taken = flushed["samples"] // 256 + 1  # frames the server took before the limit
            assert 5 < taken < mel.shape[1]
            assert_exact(received.utterance(0), offline(vocos, mel[:, :taken], "mel"), "f32le")

        asyncio.run(main())
    finally:
        server.stop()
        long_server.stop()


def test_auth_by_header_or_query_and_http_endpoints() -> None:
    server = ThreadedServer(tiny("mel"), token="s3cret")
    try:

        async def main() -> None:
            for url, headers in ((server.url, None), (server.url + "/?token=nope", None)):
                with pytest.raises(InvalidStatus) as refused:
                    await connect(url, additional_headers=headers)
                assert refused.value.response.status_code == 401
            with pytest.raises(InvalidStatus):
                await connect(server.url, additional_headers={"Authorization": "Bearer wrong"})
            ws = await connect(server.url, additional_headers={"Authorization": "Bearer s3cret"})
            await ws.send(control("start"))
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.close()
            ws = await connect(server.url + "/ws?token=s3cret")  # browsers cannot set headers
            await ws.send(control("start"))
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.close()
            with pytest.raises(InvalidStatus) as missing:
                await connect(server.url + "/elsewhere?token=s3cret")
            assert missing.value.response.status_code == 404

        asyncio.run(main())
        assert http_get(server.url, "/health")[0] == 200  # no token needed to probe
        assert http_get(server.url, "/stats")[0] == 401
        status, stats = http_get(server.url, "/stats", token="s3cret")
        assert status == 200 and stats["max_sessions"] == 64 and stats["free_slots"] == 64
        assert set(stats["step_ms"]) == {"p50", "p95", "p99"} and set(stats["first_audio_ms"]) >= {"p50", "p95"}
        assert http_get(server.url, "/stats?token=s3cret")[0] == 200
        status, page = http_get(server.url, "/")
        assert status == 200 and "<html" in page
        assert http_get(server.url, "/../pyproject.toml")[0] == 404
        assert http_get(server.url, "/nothing.js")[0] == 404
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ failures
def test_a_client_vanishing_mid_stream_frees_its_stream_and_slot(mel_server: ThreadedServer) -> None:
    mel = np.random.default_rng(10).standard_normal((100, 200)).astype(np.float32)

    async def main() -> None:
        for abrupt in (True, False):
            ws, _ = await open_session(mel_server.url)
            for i in range(0, 200, 10):
                await ws.send(encode_input(mel[:, i : i + 10], "mel"))
            assert mel_server.stats()["streams"] >= 1
            if abrupt:
                ws.transport.abort()  # no closing handshake: as if the network went away
            else:
                await ws.close()

    asyncio.run(main())
    assert wait_until(lambda: mel_server.stats()["sessions"] == 0 and mel_server.stats()["streams"] == 0, 30)


def test_an_engine_failure_is_reported_and_the_session_goes_on() -> None:
    vocos = tiny("mel")
    server = ThreadedServer(vocos, engine=FailingEngine(vocos), warmup=False)
    x = np.random.default_rng(11).standard_normal((100, 12)).astype(np.float32)
    try:

        async def main() -> Received:
            ws, _ = await open_session(server.url, format="f32le")
            received = Received("f32le")
            await ws.send(encode_input(x[:, :3], "mel"))
            reply = json.loads(await ws.recv())
            assert (reply["type"], reply["code"], reply["fatal"]) == ("error", "internal", False)
            await ws.send(control("clear"))
            assert json.loads(await ws.recv())["type"] == "cleared"
            await ws.send(encode_input(x, "mel"))
            await ws.send(control("end"))
            await receive_all(ws, received)
            return received

        received = asyncio.run(main())
        (utterance,) = {p.utterance for p in received.pcm}
        assert_exact(received.utterance(utterance), offline(vocos, x, "mel"), "f32le")
    finally:
        server.stop()


def test_client_command_says_why_it_was_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vocos_stream.cli import main

    server = ThreadedServer(tiny("mel"), token="s3cret")
    np.save(tmp_path / "mel.npy", np.zeros((100, 12), np.float32))
    command = ["client", server.url, str(tmp_path / "mel.npy"), str(tmp_path / "out.wav"), "--flat-out"]
    try:
        assert main(command) == 2
        assert "HTTP 401" in capsys.readouterr().err
        assert main([*command, "--token", "s3cret"]) == 0
        assert "time to first audio" in capsys.readouterr().out and (tmp_path / "out.wav").exists()
    finally:
        server.stop()
