"""``StreamPool``: many live streams of one vocoder, served by one compute worker.

Producers on any thread open streams and push input; a single worker thread takes everything pending at once
(dynamic batching: it steps as soon as there is work, and takes all of it), runs one engine step over it, and
hands each stream the samples that became final, in order::

    pool = StreamPool(vocos_stream.load("builtin"))
    h = pool.open(input="mel", on_audio=play)    # play(chunk) runs on the worker: keep it short
    h.push(mel)                                  # (100, t) log-mel; validated here, ValueError if bad
    h.flush()                                    # end of utterance: the tail arrives with chunk.final
    h.close(); pool.close()

Without ``on_audio`` the chunks queue up on the handle: ``h.get(timeout)``. Each stream has a bound on its
pending input: ``push`` blocks until there is room (backpressure), or raises :class:`PendingFull` with
``block=False`` or when its ``timeout`` passes. A push is validated completely before anything is queued, so
a refused push changes nothing.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .step import SequentialEngine, StepEngine, StreamInfo, StreamSpec, StreamWork, input_samples
from .stream import InputKind

if TYPE_CHECKING:
    from ..builtin.vocoder import BuiltinVocoder
    from ..model.vocos import Vocos


class PoolError(RuntimeError):
    """Base class of the pool's refusals that are not about the input's content."""


class PoolFull(PoolError):
    """``open()`` on a pool that serves ``max_streams`` streams already."""


class PendingFull(PoolError):
    """A push that does not fit the stream's pending-input bound (the consumer is behind real time)."""


class PoolClosed(PoolError):
    """The pool, or this stream, was closed."""


@dataclass(frozen=True)
class AudioChunk:
    """Samples that became final in one step, for one stream.

    One chunk per step that carried work of the stream (``samples`` may be empty), so each push is answered.
    ``position`` is the index of ``samples[0]`` in the utterance; ``final`` marks its last chunk (after
    ``flush``). ``submitted`` / ``ready`` are ``time.perf_counter()`` stamps of the oldest input this step
    took and of the samples being ready. ``error`` is set (and ``samples`` empty) if the step failed.
    """

    samples: np.ndarray  # (n,) float32 at the stream's sample rate
    position: int
    utterance: int
    final: bool
    submitted: float
    ready: float
    error: BaseException | None = None

    @property
    def latency_s(self) -> float:
        """Submit to ready: queueing plus compute."""
        return self.ready - self.submitted


@dataclass(frozen=True)
class StepMetrics:
    """One step of the worker: how many streams and frames it carried and where the time went."""

    streams: int
    frames: float  # input frames (audio counted in hops)
    samples_out: int
    step_s: float  # engine compute
    wait_s: float  # queueing delay: from the oldest input submitted to the step's start


@dataclass(frozen=True)
class PoolStats:
    streams: int
    free_slots: int
    steps: int
    step_ms: tuple[float, float, float]  # p50, p95, p99 over the recent steps
    wait_ms: tuple[float, float, float]
    frames_per_step: float  # mean over the recent steps


@dataclass
class _Pending:
    """A stream's queue between producers and the worker (guarded by the pool's lock)."""

    inputs: deque[tuple[torch.Tensor, float, int]] = field(default_factory=deque)  # (x, submitted, samples)
    flush_after: list[int] = field(default_factory=list)  # input counts after which an utterance ends
    restart: bool = False
    samples: int = 0  # pending input in output samples
    utterance_samples: int = 0  # input pushed into the current utterance (audio flush needs enough)


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (0.0, 0.0, 0.0)
    p = np.percentile(np.asarray(values) * 1000, [50, 95, 99])
    return (float(p[0]), float(p[1]), float(p[2]))


def make_engine(vocoder: Vocos | BuiltinVocoder) -> StepEngine:
    """The best engine for a vocoder."""
    return SequentialEngine(vocoder)


class StreamHandle:
    """One stream of a :class:`StreamPool`; made by :meth:`StreamPool.open`. Thread-safe."""

    def __init__(
        self, pool: StreamPool, stream_id: int, info: StreamInfo, on_audio: Callable[[AudioChunk], None] | None
    ) -> None:
        self.pool = pool
        self.id = stream_id
        self.info = info
        self._on_audio = on_audio
        self._queue: queue.SimpleQueue[AudioChunk] | None = None if on_audio is not None else queue.SimpleQueue()
        self._pending = _Pending()
        self._closed = False
        self._utterance = 0  # worker side: the utterance being produced, and the samples it has produced
        self._position = 0
        self._epoch = 0  # bumped by clear(): results of steps taken before it are dropped

    @property
    def latency_samples(self) -> int:
        return self.info.latency_samples

    @property
    def pending_samples(self) -> int:
        """Input queued and not yet computed, in output samples."""
        return self._pending.samples

    @property
    def utterance(self) -> int:
        """The number the stream's next chunk will carry: chunks with a smaller one belong to utterances that
        ended (flushed, failed or cleared). Read right after :meth:`clear` to discard chunks of the cleared
        utterance that were delivered before it (a consumer that queues chunks elsewhere, e.g. on an event loop)."""
        with self.pool._lock:
            return self._utterance

    def validate(self, x: Any) -> torch.Tensor:
        """Check one input as :meth:`push` would and return it in the engine's layout, queueing nothing
        (``ValueError`` if bad, :class:`PoolClosed` after close). For a caller that checks a whole message
        before pushing it in pieces."""
        self.pool._check_open(self)
        try:
            return self.pool.engine.validate(self.id, x)
        except KeyError:
            if self._closed:  # closed meanwhile, and the worker removed the stream from the engine
                raise PoolClosed(f"stream {self.id} is closed") from None
            raise

    def push(self, x: Any, *, block: bool = True, timeout: float | None = None) -> None:
        """Queue one push (shapes: see :func:`~vocos_stream.engine.step.canonical_input`).

        Raises ``ValueError`` for bad input, :class:`PendingFull` when the stream's pending bound is reached and
        ``block`` is false or ``timeout`` (seconds) passes, :class:`PoolClosed` after close.
        """
        tensor = self.validate(x)
        self.pool._enqueue(self, tensor, block=block, timeout=timeout)

    def flush(self) -> None:
        """End the utterance: its remaining samples arrive with ``final=True``; the next push starts a new one."""
        self.pool._flush(self)

    def clear(self) -> int:
        """Drop the pending input and the utterance's state at once (barge-in). Returns the number of samples
        of the utterance delivered before the clear; the next push starts a new utterance."""
        return self.pool._clear(self)

    def close(self) -> None:
        """Remove the stream; pending input is dropped. Idempotent."""
        self.pool._close_stream(self)

    def get(self, timeout: float | None = None) -> AudioChunk:
        """The next chunk (streams opened without ``on_audio``); raises ``queue.Empty`` on timeout."""
        if self._queue is None:
            raise PoolError("this stream delivers its chunks to its on_audio callback")
        return self._queue.get(timeout=timeout)

    def _deliver(self, chunk: AudioChunk) -> None:
        if self._on_audio is not None:
            self._on_audio(chunk)
        else:
            assert self._queue is not None
            self._queue.put(chunk)


class StreamPool:
    """Many streams of one vocoder behind one worker thread. See the module docstring.

    Options: ``threads`` (torch intra-op threads for the worker; torch applies it process-wide),
    ``max_streams`` (``open()`` beyond it raises :class:`PoolFull`), ``max_pending_s`` (per-stream bound on
    queued input, in seconds of audio), ``history`` (steps kept for :meth:`stats`), ``on_step`` (called on the
    worker with each step's :class:`StepMetrics`), ``engine`` (a :class:`StepEngine`; default: the best for
    the vocoder).
    """

    def __init__(
        self,
        vocoder: Vocos | BuiltinVocoder,
        *,
        threads: int = 1,
        max_streams: int = 64,
        max_pending_s: float = 2.0,
        history: int = 1000,
        on_step: Callable[[StepMetrics], None] | None = None,
        engine: StepEngine | None = None,
    ) -> None:
        if threads < 1 or max_streams < 1 or not max_pending_s > 0 or history < 1:
            raise ValueError("threads, max_streams, max_pending_s and history must be positive")
        self.vocoder = vocoder
        self.engine = engine if engine is not None else make_engine(vocoder)
        self.threads = threads
        self.max_streams = max_streams
        self.max_pending_s = max_pending_s
        self.on_step = on_step
        self._lock = threading.Condition()
        self._engine_lock = threading.Lock()  # add/remove/step never overlap
        self._handles: dict[int, StreamHandle] = {}
        self._removed: list[int] = []  # closed streams the worker still has to remove from the engine
        self._ids = itertools.count()
        self._metrics: deque[StepMetrics] = deque(maxlen=history)
        self._steps = 0
        self._closing = False
        self._worker = threading.Thread(target=self._run, name="vocos-stream-pool", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------------------------------ streams
    def open(
        self,
        *,
        input: InputKind = "mel",
        bandwidth_id: int | None = None,
        lookahead: int | None = None,
        on_audio: Callable[[AudioChunk], None] | None = None,
    ) -> StreamHandle:
        """A new stream. Raises ``ValueError`` for a bad spec, :class:`PoolFull` or :class:`PoolClosed`."""
        with self._lock:
            if self._closing:
                raise PoolClosed("this pool is closed")
            if len(self._handles) >= self.max_streams:
                raise PoolFull(f"this pool serves {self.max_streams} streams already; close one or try later")
            stream_id = next(self._ids)
        with self._engine_lock:
            info = self.engine.add(stream_id, StreamSpec(input, bandwidth_id, lookahead))
        handle = StreamHandle(self, stream_id, info, on_audio)
        with self._lock:
            if self._closing or len(self._handles) >= self.max_streams:  # lost a race with close() or open()
                self._removed.append(stream_id)
                raise PoolClosed("this pool is closed") if self._closing else PoolFull("this pool is full")
            self._handles[stream_id] = handle
        return handle

    @property
    def streams(self) -> int:
        return len(self._handles)

    def stats(self) -> PoolStats:
        with self._lock:
            recent = list(self._metrics)
            streams, steps = len(self._handles), self._steps
        return PoolStats(
            streams=streams,
            free_slots=self.max_streams - streams,
            steps=steps,
            step_ms=_percentiles([m.step_s for m in recent]),
            wait_ms=_percentiles([m.wait_s for m in recent]),
            frames_per_step=float(np.mean([m.frames for m in recent])) if recent else 0.0,
        )

    def close(self, *, drain: bool = True, timeout: float | None = 10.0) -> None:
        """Stop the worker; with ``drain`` it first finishes the input already queued. Idempotent."""
        with self._lock:
            if drain:
                deadline = None if timeout is None else time.monotonic() + timeout
                while any(self._has_work(h) for h in self._handles.values()) and self._worker.is_alive():
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._lock.wait(left)
            self._closing = True
            for handle in self._handles.values():
                handle._closed = True
            self._lock.notify_all()
        self._worker.join(timeout)

    def __enter__(self) -> StreamPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ producers
    def _check_open(self, handle: StreamHandle) -> None:
        if handle._closed:
            raise PoolClosed(f"stream {handle.id} is closed")

    def _enqueue(self, handle: StreamHandle, x: torch.Tensor, *, block: bool, timeout: float | None) -> None:
        samples = input_samples(handle.info, x)
        bound = round(self.max_pending_s * handle.info.sample_rate)
        if samples > bound:
            raise ValueError(
                f"one push of {samples} samples' worth exceeds this stream's pending bound of {bound} "
                f"({self.max_pending_s} s); push smaller pieces or raise max_pending_s"
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._check_open(handle)
            pending = handle._pending
            while pending.samples + samples > bound:
                left = None if deadline is None else deadline - time.monotonic()
                if not block or (left is not None and left <= 0):
                    raise PendingFull(
                        f"stream {handle.id} has {pending.samples} samples' worth of input pending (bound {bound}); "
                        "the worker is behind: wait, push less often, or raise max_pending_s"
                    )
                self._lock.wait(left)
                self._check_open(handle)
            pending.inputs.append((x, time.perf_counter(), samples))
            pending.samples += samples
            pending.utterance_samples += samples
            self._lock.notify_all()

    def _flush(self, handle: StreamHandle) -> None:
        with self._lock:
            self._check_open(handle)
            pending = handle._pending
            if 0 < pending.utterance_samples < handle.info.min_flush_samples:
                raise ValueError(
                    f"this audio utterance holds {pending.utterance_samples} samples; the mel front-end needs at "
                    f"least {handle.info.min_flush_samples} to end it (as offline): push more audio, or clear()"
                )
            pending.flush_after.append(len(pending.inputs))
            pending.utterance_samples = 0
            self._lock.notify_all()

    def _clear(self, handle: StreamHandle) -> int:
        with self._lock:
            self._check_open(handle)
            pending = handle._pending
            pending.inputs.clear()
            pending.flush_after.clear()
            pending.samples = pending.utterance_samples = 0
            pending.restart = True
            delivered = handle._position
            handle._epoch += 1
            handle._utterance += 1
            handle._position = 0
            self._lock.notify_all()
            return delivered

    def _close_stream(self, handle: StreamHandle) -> None:
        with self._lock:
            if handle._closed and handle.id not in self._handles:
                return
            handle._closed = True
            if self._handles.pop(handle.id, None) is not None:
                self._removed.append(handle.id)
            self._lock.notify_all()

    # ------------------------------------------------------------------------------------------ worker
    @staticmethod
    def _has_work(handle: StreamHandle) -> bool:
        p = handle._pending
        return bool(p.inputs or p.flush_after or p.restart)

    def _take(self) -> dict[int, tuple[StreamWork, float, float, int]]:
        """Everything pending, per stream: (work, oldest submit time, frames, epoch). Called under the lock."""
        taken = {}
        for handle in self._handles.values():
            p = handle._pending
            if not self._has_work(handle):
                continue
            # Up to the first end of utterance (a step ends at most one); the rest waits for the next step.
            end = bool(p.flush_after)
            count = p.flush_after.pop(0) if end else len(p.inputs)
            items = [p.inputs.popleft() for _ in range(count)]
            p.flush_after = [n - count for n in p.flush_after]
            work = StreamWork([x for x, _, _ in items], end=end, restart=p.restart)
            p.restart = False
            p.samples -= sum(n for _, _, n in items)
            submitted = min((t for _, t, _ in items), default=time.perf_counter())
            frames = sum(n for _, _, n in items) / handle.info.hop_length
            taken[handle.id] = (work, submitted, frames, handle._epoch)
        return taken

    def _run(self) -> None:
        torch.set_num_threads(self.threads)
        while True:
            with self._lock:
                while not self._closing and not self._removed and not any(map(self._has_work, self._handles.values())):
                    self._lock.wait()
                if self._closing:
                    return
                removed, self._removed = self._removed, []
                taken = self._take()
                self._lock.notify_all()  # room for producers blocked on the bound
            with self._engine_lock:
                for stream_id in removed:
                    self.engine.remove(stream_id)
                if taken:
                    self._step(taken)

    def _step(self, taken: dict[int, tuple[StreamWork, float, float, int]]) -> None:
        start = time.perf_counter()
        error: BaseException | None = None
        try:
            outputs = self.engine.step({sid: work for sid, (work, _, _, _) in taken.items()})
        except Exception as e:  # noqa: BLE001 - an engine bug must not kill the worker: answer every stream of the step, restart them
            error, outputs = e, {}
        ready = time.perf_counter()
        samples_out = 0
        for stream_id, (work, submitted, _, epoch) in taken.items():
            with self._lock:
                handle = self._handles.get(stream_id)
                if handle is None or handle._epoch != epoch:
                    continue  # closed or cleared while the step ran
                if error is not None:
                    handle._pending.restart = True
                samples = outputs.get(stream_id, torch.zeros(0)).detach().to(torch.float32).numpy()
                chunk = AudioChunk(samples, handle._position, handle._utterance, work.end, submitted, ready, error)
                samples_out += samples.shape[0]
                handle._position += samples.shape[0]
                if work.end or error is not None:
                    handle._utterance += 1
                    handle._position = 0
            try:
                handle._deliver(chunk)
            except Exception:  # noqa: BLE001 - a failing consumer callback loses its stream, not the pool
                handle.close()
        metrics = StepMetrics(
            streams=len(taken),
            frames=sum(frames for _, _, frames, _ in taken.values()),
            samples_out=samples_out,
            step_s=ready - start,
            wait_s=start - min(submitted for _, submitted, _, _ in taken.values()),
        )
        with self._lock:
            self._metrics.append(metrics)
            self._steps += 1
        if self.on_step is not None:
            self.on_step(metrics)
