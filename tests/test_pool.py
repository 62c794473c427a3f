"""StreamPool: many streams from many threads, each equal to its own offline decode; limits and refusals."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pool_helpers import FailingEngine, GatedEngine, tiny

from vocos_stream import BuiltinVocoder, Vocos
from vocos_stream.engine.pool import AudioChunk, PendingFull, PoolClosed, PoolFull, StreamHandle, StreamPool

TOL = 1e-5


def collect(handle: StreamHandle, timeout: float = 30.0) -> list[AudioChunk]:
    """Chunks of the current utterance up to its final one."""
    chunks = []
    while not chunks or not chunks[-1].final:
        chunks.append(handle.get(timeout=timeout))
        assert chunks[-1].error is None, chunks[-1].error
    return chunks


def joined(chunks: list[AudioChunk]) -> np.ndarray:
    positions = [c.position for c in chunks]
    ends = np.cumsum([0] + [c.samples.shape[0] for c in chunks])
    assert positions == list(ends[:-1]), "positions must be contiguous"
    assert len({c.utterance for c in chunks}) == 1
    return np.concatenate([c.samples for c in chunks])


def offline(vocoder: Vocos | BuiltinVocoder, x: torch.Tensor, kind: str, bandwidth_id: int | None) -> np.ndarray:
    if kind == "codes":
        assert isinstance(vocoder, Vocos)
        features = vocoder.codes_to_features(x)
        return vocoder.decode(features, bandwidth_id=torch.tensor([bandwidth_id]))[0].numpy()
    if kind == "audio":
        return vocoder(x[None])[0].numpy()
    return vocoder.decode(x[None])[0].numpy()


def codebooks(vocos: Vocos, bandwidth_id: int) -> int:
    return vocos.config.codebooks_for_bandwidth(vocos.config.bandwidths[bandwidth_id])


def pieces(x: torch.Tensor, rng: random.Random, most: int) -> list[torch.Tensor]:
    out, i = [], 0
    while i < x.shape[-1]:
        n = rng.randint(0, most)
        out.append(x[..., i : i + n])
        i += n
    return out


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(seed=st.integers(0, 2**16), streams=st.integers(1, 6))
def test_streams_pushed_from_threads_equal_their_offline_decode(seed: int, streams: int) -> None:
    """Out-of-step streams of mixed kinds and bandwidths, each pushed from its own thread in random pieces,
    flushing and starting a second utterance while the others continue."""
    rng = random.Random(seed)
    mel, enc = tiny("mel"), tiny("encodec")
    jobs = []
    for i in range(streams):
        kind = rng.choice(["mel", "audio", "codes"])
        vocos = enc if kind == "codes" else mel
        bw = rng.randrange(4) if kind == "codes" else None
        g = torch.Generator().manual_seed(seed + i)
        utterances = []
        for _ in range(rng.randint(1, 2)):
            frames = rng.randint(1, 40)
            if kind == "codes":
                assert bw is not None
                x = torch.randint(0, 1024, (codebooks(enc, bw), frames), generator=g)
            elif kind == "audio":
                x = 0.3 * torch.randn(frames * 256 + 600, generator=g)
            else:
                x = torch.randn(100, frames, generator=g)
            utterances.append(x)
        jobs.append((vocos, kind, bw, utterances, random.Random(seed * 31 + i)))

    with StreamPool(mel) as mel_pool, StreamPool(enc) as enc_pool:
        handles = [
            (enc_pool if kind == "codes" else mel_pool).open(input=kind, bandwidth_id=bw)  # type: ignore[arg-type]
            for _, kind, bw, _, _ in jobs
        ]
        results: dict[int, list[np.ndarray]] = {}

        def produce(i: int) -> None:
            _, kind, _, utterances, r = jobs[i]
            outs = []
            for x in utterances:
                for piece in pieces(x, r, 300 if kind == "audio" else 9):
                    handles[i].push(piece)
                handles[i].flush()
                outs.append(joined(collect(handles[i])))
            results[i] = outs

        threads = [threading.Thread(target=produce, args=(i,)) for i in range(streams)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(results) == streams
    for i, (vocos, kind, bw, utterances, _) in enumerate(jobs):
        for x, got in zip(utterances, results[i], strict=True):
            ref = offline(vocos, x, kind, bw)
            assert got.shape == ref.shape
            np.testing.assert_allclose(got, ref, rtol=0, atol=TOL)


def test_builtin_streams_equal_offline_bit_for_bit() -> None:
    builtin = BuiltinVocoder()
    g = torch.Generator().manual_seed(0)
    mels = [builtin.feature_extractor(0.2 * torch.randn(1, 256 * n, generator=g))[0] for n in (20, 33)]
    with StreamPool(builtin) as pool:
        handles = [pool.open(input="mel") for _ in mels]
        for h, m in zip(handles, mels, strict=True):
            for piece in pieces(m, random.Random(1), 7):
                h.push(piece)
            h.flush()
        for h, m in zip(handles, mels, strict=True):
            np.testing.assert_array_equal(joined(collect(h)), builtin.decode(m[None])[0].numpy())


def test_refused_push_changes_nothing_and_names_the_problem() -> None:
    vocos = tiny("mel")
    x = torch.randn(100, 30, generator=torch.Generator().manual_seed(3))
    with StreamPool(vocos) as pool:
        h = pool.open(input="mel")
        h.push(x[:, :10])
        with pytest.raises(ValueError, match="80 channels but this model takes 100"):
            h.push(torch.zeros(80, 4))
        with pytest.raises(ValueError, match="mono"):
            h.push(torch.zeros(2, 100, 4))
        with pytest.raises(ValueError, match="NaN or inf"):
            h.push(torch.full((100, 2), float("nan")))
        h.push(x[:, 10:])
        h.flush()
        np.testing.assert_allclose(joined(collect(h)), offline(vocos, x, "mel", None), atol=TOL)


def test_audio_flush_needs_enough_samples_and_leaves_the_stream_as_it_was() -> None:
    vocos = tiny("mel")
    audio = 0.3 * torch.randn(3000, generator=torch.Generator().manual_seed(4))
    with StreamPool(vocos) as pool:
        h = pool.open(input="audio")
        h.push(audio[:100])
        with pytest.raises(ValueError, match="needs at least 513"):
            h.flush()
        h.push(audio[100:])
        h.flush()
        np.testing.assert_allclose(joined(collect(h)), offline(vocos, audio, "audio", None), atol=TOL)


def test_clear_drops_the_utterance_and_the_next_one_is_exact() -> None:
    vocos = tiny("mel")
    g = torch.Generator().manual_seed(6)
    first, second = torch.randn(100, 80, generator=g), torch.randn(100, 25, generator=g)
    with StreamPool(vocos) as pool:
        h = pool.open(input="mel")
        h.push(first)
        chunk = h.get(timeout=30)
        assert chunk.utterance == 0 and not chunk.final
        delivered = h.clear()
        assert delivered == chunk.samples.shape[0]
        h.push(second)
        h.flush()
        chunks = collect(h)
        assert chunks[0].utterance == 1
        np.testing.assert_allclose(joined(chunks), offline(vocos, second, "mel", None), atol=TOL)


def test_backpressure_bounds_pending_input() -> None:
    vocos = tiny("mel")
    engine = GatedEngine(vocos)
    pool = StreamPool(vocos, engine=engine, max_pending_s=0.1)  # 2400 samples = 9 frames
    try:
        h = pool.open(input="mel")
        h.push(torch.zeros(100, 1))
        assert engine.entered.wait(30)  # the worker holds that frame in a step; the queue is empty again
        for _ in range(9):
            h.push(torch.zeros(100, 1), block=False)
        assert h.pending_samples == 9 * 256
        with pytest.raises(PendingFull, match="pending"):
            h.push(torch.zeros(100, 1), block=False)
        with pytest.raises(PendingFull):
            h.push(torch.zeros(100, 1), timeout=0.05)
        with pytest.raises(ValueError, match="exceeds this stream's pending bound"):
            h.push(torch.zeros(100, 10))
        assert h.pending_samples == 9 * 256  # refusals queued nothing
        blocked = threading.Thread(target=h.push, args=(torch.zeros(100, 1),))
        blocked.start()
        engine.gate.set()  # the worker takes the queue: the blocked push gets room
        blocked.join(30)
        assert not blocked.is_alive()
        h.flush()
        assert joined(collect(h)).shape[0] == (11 - 1) * 256  # 11 frames, center padding
    finally:
        engine.gate.set()
        pool.close()


def test_limits_close_and_metrics() -> None:
    vocos = tiny("mel")
    steps = []
    pool = StreamPool(vocos, max_streams=2, on_step=steps.append)
    a, b = pool.open(), pool.open()
    with pytest.raises(PoolFull, match="serves 2 streams"):
        pool.open()
    b.close()
    b.close()  # idempotent
    with pytest.raises(PoolClosed):
        b.push(torch.zeros(100, 1))
    c = pool.open()  # the slot is free again
    a.push(torch.zeros(100, 7))
    a.flush()
    c.push(torch.zeros(100, 5))
    c.flush()
    collect(a), collect(c)
    pool.close()
    assert sum(m.frames for m in steps) == pytest.approx(12)
    stats = pool.stats()
    assert stats.steps == len(steps) > 0 and stats.step_ms[0] > 0
    with pytest.raises(PoolClosed):
        pool.open()
    with pytest.raises(PoolClosed):
        a.push(torch.zeros(100, 1))


def test_an_engine_failure_is_answered_and_the_stream_restarts() -> None:
    vocos = tiny("mel")
    x = torch.randn(100, 12, generator=torch.Generator().manual_seed(8))
    with StreamPool(vocos, engine=FailingEngine(vocos)) as pool:
        h = pool.open()
        h.push(torch.ones(100, 3))
        chunk = h.get(timeout=30)
        assert isinstance(chunk.error, RuntimeError) and chunk.samples.shape == (0,)
        h.push(x)
        h.flush()
        np.testing.assert_allclose(joined(collect(h)), offline(vocos, x, "mel", None), atol=TOL)


def test_validate_queues_nothing_and_utterance_numbers_the_next_chunk() -> None:
    vocos = tiny("mel")
    with StreamPool(vocos) as pool:
        h = pool.open()
        assert h.utterance == 0
        assert tuple(h.validate(np.zeros((100, 3), np.float32)).shape) == (1, 100, 3)
        with pytest.raises(ValueError, match="80 channels"):
            h.validate(torch.zeros(80, 2))
        assert h.pending_samples == 0
        h.push(torch.zeros(100, 4))
        h.flush()
        assert {c.utterance for c in collect(h)} == {0}
        assert h.utterance == 1  # the flushed utterance has ended
        h.push(torch.zeros(100, 4))
        h.clear()
        assert h.utterance == 2  # chunks numbered below 2 (the cleared utterance 1) are stale
        h.push(torch.zeros(100, 5))
        h.flush()
        assert {c.utterance for c in collect(h)} == {2}
