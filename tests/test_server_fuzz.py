"""Fuzzing the server on loopback: >= 10,000 malformed messages from a seeded generator, each answered with
the error it deserves (or a clean close where the protocol says so), while well-behaved sessions on the same
servers stay exact; no server error is logged, and the servers serve on afterwards."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from serving_helpers import ThreadedServer, check_job, http_get, make_job, run_job, tiny, wait_until
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from vocos_stream.serving.protocol import control
from vocos_stream.serving.server import Limits

MESSAGES = 10_000
MAX_BYTES = 16_384
VALID_TYPES = (1, 2, 3, 4, 5)

# One malformed message and what must come back: ("error", codes) or ("close", close codes).
Case = tuple[str | bytes, str, frozenset[Any]]


def err(*codes: str) -> tuple[str, frozenset[str]]:
    return "error", frozenset(codes)


def random_text(rng: random.Random) -> str:
    alphabet = '{}[]":,0123456789abcdefghijklmnopqrstuvwxyz \\\t\n\u00e9\u2603\U0001f600'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))


def bad_json(rng: random.Random) -> Case:
    """Text that is not a JSON object with a string type."""
    choice = rng.randrange(7)
    if choice == 0:
        return (random_text(rng), *err("bad_json", "unknown_type"))  # a random string is (almost) never JSON
    if choice == 1:
        return (control("start", input="mel")[: rng.randint(0, 20)], *err("bad_json"))  # truncated
    if choice == 2:
        return (json.dumps(rng.choice([[], [1, 2], 3, "start", None, True, 1.5])), *err("bad_json"))
    if choice == 3:
        return (json.dumps({"type": rng.choice([1, None, [], {}, 2.5, False])}), *err("bad_json"))
    if choice == 4:
        return (json.dumps({"kind": "start"}), *err("bad_json"))
    if choice == 5:
        return ("[" * rng.randint(1000, 5000), *err("bad_json"))  # nesting too deep for any parser
    return (json.dumps({"type": random_text(rng) + "x"}), *err("unknown_type"))


def bad_start(rng: random.Random) -> Case:
    field, value = rng.choice(
        [
            ("input", rng.choice(["codes", "video", "", 3, None, ["mel"]])),
            ("format", rng.choice(["s24le", "mp3", 16, None])),
            ("version", rng.choice([0, 2, "1", 1.5, True, None])),
            ("lookahead", rng.choice([-1, -100, 1.5, "2", True, [1]])),
            ("model", rng.choice(["other", "", 5])),
            ("bandwidth", rng.choice([6.0, 3, "x"])),  # mel model: no bandwidth
        ]
    )
    return control("start", **{field: value}), *err("bad_start")


def unstarted(rng: random.Random) -> Case:
    """Messages to a session that has not started: order errors, bad JSON, bad starts."""
    choice = rng.randrange(5)
    if choice == 0:
        return control(rng.choice(["flush", "clear"])), *err("not_started")
    if choice == 1:
        return bytes([rng.choice(VALID_TYPES)]) + rng.randbytes(rng.randint(0, 900)), *err("not_started")
    if choice == 2:
        return bad_json(rng)
    return bad_start(rng)


def mel_session(rng: random.Random) -> Case:
    """Messages to a started mel session (100 channels): wrong types, shapes, values, order."""
    choice = rng.randrange(10)
    if choice == 0:  # random bytes under an unknown type byte
        kind = rng.choice([t for t in range(256) if t not in VALID_TYPES])
        return bytes([kind]) + rng.randbytes(rng.randint(0, 2000)), *err("unknown_type")
    if choice == 1:  # truncated: not a whole number of frames
        kind, frame = rng.choice([(2, 400), (3, 200)])
        n = rng.randint(1, 6) * frame + rng.randint(1, frame - 1) * rng.choice([1, -1])
        return bytes([kind]) + rng.randbytes(max(1, n)), *err("bad_shape")
    if choice == 2:
        return b"", *err("bad_shape")
    if choice == 3:  # another input kind's message
        kind = rng.choice([1, 4, 5])
        return bytes([kind]) + rng.randbytes(rng.randrange(0, 64, 2)), *err("wrong_input")
    if choice in (4, 5):  # NaN or inf in valid-looking mel
        frames = rng.randint(1, 5)
        dtype = rng.choice(["<f4", "<f2"])
        mel = np.random.default_rng(rng.randrange(2**32)).standard_normal((100, frames)).astype(dtype)
        mel.flat[rng.randrange(mel.size)] = rng.choice([np.nan, np.inf, -np.inf])
        return bytes([2 if dtype == "<f4" else 3]) + mel.tobytes(), *err("bad_value")
    if choice == 6:
        return control("start"), *err("already_started")
    return bad_json(rng)


def codes_session(rng: random.Random) -> Case:
    """Messages to a started codes session (8 codebooks): codes out of range, wrong codebook counts."""
    choice = rng.randrange(4)
    if choice == 0:  # out of range: >= 1024
        codes = np.random.default_rng(rng.randrange(2**32)).integers(0, 1024, (8, rng.randint(1, 6)))
        codes.flat[rng.randrange(codes.size)] = rng.randint(1024, 65535)
        return b"\x01" + codes.astype("<u2").tobytes(), *err("bad_value")
    if choice == 1:  # a whole number of uint16, not of 8-codebook frames
        n = rng.randint(1, 60)
        n += 1 if n % 8 == 0 else 0
        return b"\x01" + rng.randbytes(2 * n), *err("bad_shape")
    if choice == 2:
        return bytes([rng.choice([2, 3, 4, 5])]) + rng.randbytes(rng.randint(0, 100)), *err("wrong_input")
    return bad_json(rng)


def audio_session(rng: random.Random) -> Case:
    """Messages to a started audio session: truncated samples, other kinds' messages, NaN audio."""
    choice = rng.randrange(6)
    if choice == 0:
        kind, size = rng.choice([(4, 2), (5, 4)])
        n = rng.randint(1, 500) * size + rng.randint(1, size - 1)
        return bytes([kind]) + rng.randbytes(n), *err("bad_shape")
    if choice == 1:
        return bytes([rng.choice([1, 2, 3])]) + rng.randbytes(rng.randint(0, 900)), *err("wrong_input")
    if choice == 2:
        audio = np.zeros(rng.randint(1, 900), np.float32)
        audio[rng.randrange(audio.size)] = rng.choice([np.nan, np.inf])
        return b"\x05" + audio.tobytes(), *err("bad_value")
    if choice == 3:
        return bad_json(rng)
    return unknown_or_order(rng)


def unknown_or_order(rng: random.Random) -> Case:
    if rng.random() < 0.5:
        kind = rng.choice([t for t in range(256) if t not in VALID_TYPES])
        return bytes([kind]) + rng.randbytes(rng.randint(0, 2000)), *err("unknown_type")
    return control("start"), *err("already_started")


def closing(rng: random.Random) -> Case:
    """Messages the websocket layer refuses: oversized (1009), text that is not UTF-8 (1007)."""
    if rng.random() < 0.5:
        return (
            bytes([rng.choice(VALID_TYPES)]) + rng.randbytes(MAX_BYTES + rng.randint(0, 5000)),
            "close",
            frozenset({1009}),
        )
    return b"\xff\xfe" + rng.randbytes(20), "close-text", frozenset({1007})


SESSIONS: dict[str, tuple[str, dict[str, Any] | None, Callable[[random.Random], Case]]] = {
    "unstarted": ("mel", None, unstarted),
    "mel": ("mel", {"input": "mel"}, mel_session),
    "audio": ("mel", {"input": "audio"}, audio_session),
    "codes": ("codes", {"input": "codes", "bandwidth": 6.0}, codes_session),
}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ThreadedServer]]:
    limits = Limits(max_message_bytes=MAX_BYTES)
    mel = ThreadedServer(tiny("mel"), limits=limits, model_name="tiny-mel")
    codes = ThreadedServer(tiny("encodec"), limits=limits, model_name="tiny-encodec")
    yield {"mel": mel, "codes": codes}
    mel.stop()
    codes.stop()


async def fuzz_worker(
    url: str, start: dict[str, Any] | None, generate: Callable[[random.Random], Case], count: int, seed: int
) -> Counter[str]:
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    ws: ClientConnection | None = None
    sent = 0
    while sent < count:
        if ws is None:
            ws = await connect(url, compression=None, max_size=None, open_timeout=60)
            if start is not None:
                await ws.send(control("start", **start))
                assert json.loads(await ws.recv())["type"] == "ready"
        message, expect, allowed = closing(rng) if rng.random() < 0.004 else generate(rng)
        if expect == "close-text":
            await ws.send(message, text=True)  # bytes sent in a text frame: not UTF-8
        else:
            await ws.send(message)
        sent += 1
        if expect.startswith("close"):
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 30)
            assert ws.close_code in allowed, (message[:40], ws.close_code, ws.close_reason)
            seen[f"close {ws.close_code}"] += 1
            ws = None
            continue
        reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert reply["type"] == "error" and reply["code"] in allowed, (message[:80], reply)
        assert reply["fatal"] is False and reply["message"]
        seen[reply["code"]] += 1
    if ws is not None:
        await ws.close()
    return seen


def test_ten_thousand_malformed_messages_answered_while_good_sessions_stay_exact(
    servers: dict[str, ThreadedServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    kinds = list(SESSIONS)
    workers = 8
    good_jobs = [make_job(i, seed=7) for i in range(24)]
    started = time.perf_counter()

    async def well_behaved() -> list[Any]:
        results = []
        for batch in range(0, len(good_jobs), 6):  # rounds of 6 concurrent sessions while the fuzz goes on
            jobs = good_jobs[batch : batch + 6]
            urls = [servers["codes" if j["kind"] == "codes" else "mel"].url for j in jobs]
            results += await asyncio.gather(*(run_job(u, j) for u, j in zip(urls, jobs, strict=True)))
        return results

    async def main() -> tuple[list[Counter[str]], list[Any]]:
        fuzz = [
            fuzz_worker(
                servers[SESSIONS[kinds[w % len(kinds)]][0]].url,
                SESSIONS[kinds[w % len(kinds)]][1],
                SESSIONS[kinds[w % len(kinds)]][2],
                MESSAGES // workers,
                seed=w,
            )
            for w in range(workers)
        ]
        *counts, good = await asyncio.gather(*fuzz, well_behaved())
        return counts, good

    counts, good = asyncio.run(main())
    total = sum((c for c in counts), Counter())
    assert sum(total.values()) >= MESSAGES
    for code in ("bad_json", "bad_start", "not_started", "already_started", "unknown_type", "bad_shape",
                 "wrong_input", "bad_value", "close 1009", "close 1007"):  # fmt: skip
        assert total[code] > 0, (code, total)
    for job, received in zip(good_jobs, good, strict=True):
        check_job(job, received)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    for server in servers.values():
        assert server.thread.is_alive()
        assert http_get(server.url, "/health")[0] == 200
        assert wait_until(lambda s=server: s.stats()["sessions"] == 0 and s.stats()["streams"] == 0, 30)  # type: ignore[misc]
    print(f"{sum(total.values())} malformed messages in {time.perf_counter() - started:.1f} s: {dict(total)}")


def test_the_servers_serve_exactly_after_the_fuzz(servers: dict[str, ThreadedServer]) -> None:
    jobs = [make_job(i, seed=8) for i in range(6)]

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(run_job(servers["codes" if j["kind"] == "codes" else "mel"].url, j) for j in jobs)
        )

    for job, received in zip(jobs, asyncio.run(main()), strict=True):
        check_job(job, received)
