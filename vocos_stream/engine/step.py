"""The synchronous multi-stream step: what :class:`~vocos_stream.engine.pool.StreamPool` asks of an engine.

An engine holds many mono streams of one vocoder, each with its own input kind, bandwidth and look-ahead.
``step(work)`` advances any subset of them by whatever input each has pending and returns, per stream, the
samples that became final. Over an utterance a stream's samples equal its own offline decode, whatever the
step boundaries and whichever other streams share the steps.

:class:`SequentialEngine` is the reference: one :class:`~vocos_stream.engine.VocosStream` (or builtin
``PhaseStream``) per stream, run one after another. Faster engines implement the same :class:`StepEngine`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from ..features.checks import check_audio, check_features
from ..features.codes import check_codes
from .stream import InputKind

if TYPE_CHECKING:
    from ..builtin.vocoder import BuiltinVocoder
    from ..model.vocos import Vocos


@dataclass(frozen=True)
class StreamSpec:
    """What a stream is: its input kind, EnCodec bandwidth id (0..3, EnCodec models) and look-ahead
    (``None``: exact; ``k``: k frames of future context)."""

    input: InputKind = "mel"
    bandwidth_id: int | None = None
    lookahead: int | None = None


@dataclass(frozen=True)
class StreamInfo:
    """What a producer needs to know about a stream it opened."""

    input: InputKind
    latency_samples: int  # algorithmic delay: input worth N samples has produced N - latency samples
    sample_rate: int  # Hz, of the output (and of audio input)
    hop_length: int  # samples per feature frame
    channels: int  # feature channels of "mel"/"features" input (100 for vocos-mel-24khz)
    num_codebooks: int | None  # codebooks of "codes" input at this stream's bandwidth, else None
    min_flush_samples: int  # audio input: an utterance must hold at least this many samples to be flushed


@dataclass
class StreamWork:
    """One stream's share of a step: canonical inputs (see :func:`canonical_input`), then optionally the end.

    ``restart`` drops the stream's state before the inputs (barge-in: nothing is emitted for what was
    dropped); ``end`` flushes the utterance after them, and the next work starts a fresh one.
    """

    inputs: list[torch.Tensor] = field(default_factory=list)
    end: bool = False
    restart: bool = False


class StepEngine(Protocol):
    """A synchronous multi-stream engine. ``add``/``remove``/``step`` are called from one thread at a time;
    ``validate`` may be called from any thread at any time."""

    def add(self, stream_id: int, spec: StreamSpec) -> StreamInfo: ...

    def remove(self, stream_id: int) -> None: ...

    def validate(self, stream_id: int, x: Any) -> torch.Tensor: ...

    def step(self, work: Mapping[int, StreamWork]) -> dict[int, torch.Tensor]: ...


def input_samples(info: StreamInfo, x: torch.Tensor) -> int:
    """How many samples of output time a canonical input is worth (a frame is worth a hop)."""
    return int(x.shape[-1]) * (1 if info.input == "audio" else info.hop_length)


def canonical_input(x: Any, info: StreamInfo, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Validate one push of a mono stream and return it in the engine's layout, without touching any state.

    Accepts a tensor or numpy array: features ``(C, t)`` or ``(1, C, t)`` -> ``(1, C, t)`` ``dtype``; codes
    ``(K, t)`` or ``(K, 1, t)`` -> ``(K, 1, t)`` int64; audio ``(n,)`` or ``(1, n)`` -> ``(1, n)`` ``dtype``.
    Raises ``ValueError`` saying what was wrong.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"a push must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if info.input == "codes":
        assert info.num_codebooks is not None
        codes = check_codes(x, info.num_codebooks)
        if codes.shape[0] != info.num_codebooks:
            raise ValueError(
                f"this stream's bandwidth uses {info.num_codebooks} codebooks, but the codes have {codes.shape[0]}"
            )
        if codes.shape[1] != 1:
            raise ValueError(f"a pooled stream is mono: codes must be (codebooks, frames), got {tuple(x.shape)}")
        return codes
    if info.input == "audio":
        audio = check_audio(x.unsqueeze(0) if x.dim() == 1 else x, dtype)
        if audio.shape[0] != 1:
            raise ValueError(f"a pooled stream is mono: audio must be (samples,) or (1, samples), got {tuple(x.shape)}")
        return audio
    features = check_features(x.unsqueeze(0) if x.dim() == 2 else x, info.channels, allow_empty=True, dtype=dtype)
    if features.shape[0] != 1:
        raise ValueError(
            f"a pooled stream is mono: features must be ({info.channels}, frames) or (1, {info.channels}, frames), "
            f"got {tuple(x.shape)}"
        )
    return features


def stream_info(stream: Any, vocoder: Vocos | BuiltinVocoder, spec: StreamSpec) -> StreamInfo:
    """The :class:`StreamInfo` of a single-stream object made by ``vocoder.stream(...)``."""
    config = vocoder.config
    frontend = getattr(stream, "frontend", None)
    return StreamInfo(
        input=spec.input,
        latency_samples=int(stream.latency_samples),
        sample_rate=int(config.sample_rate),
        hop_length=int(config.hop_length),
        channels=int(getattr(config, "input_channels", getattr(config, "n_mels", 0))),
        num_codebooks=getattr(stream, "num_codebooks", None),
        min_flush_samples=int(frontend.pad) + 1 if frontend is not None else 0,
    )


def open_stream(vocoder: Vocos | BuiltinVocoder, spec: StreamSpec) -> Any:
    """``vocoder.stream(...)`` for a spec (the builtin vocoder takes no bandwidth)."""
    if spec.bandwidth_id is not None:
        from ..model.vocos import Vocos

        if not isinstance(vocoder, Vocos):
            raise ValueError("bandwidth_id applies to EnCodec-variant Vocos models only")
        return vocoder.stream(input=spec.input, bandwidth_id=spec.bandwidth_id, lookahead=spec.lookahead)
    return vocoder.stream(input=spec.input, lookahead=spec.lookahead)  # type: ignore[arg-type]


class SequentialEngine:
    """The reference :class:`StepEngine`: one single-stream object per stream, stepped one after another.

    Works for any vocoder with ``stream(...)`` (Vocos and the builtin). Its output is by construction each
    stream's own streamed output, which equals offline decoding (``tests/test_stream.py``).
    """

    def __init__(self, vocoder: Vocos | BuiltinVocoder) -> None:
        self.vocoder = vocoder
        self._streams: dict[int, Any] = {}
        self._info: dict[int, StreamInfo] = {}

    def add(self, stream_id: int, spec: StreamSpec) -> StreamInfo:
        if stream_id in self._streams:
            raise ValueError(f"stream {stream_id} exists already")
        stream = open_stream(self.vocoder, spec)
        info = stream_info(stream, self.vocoder, spec)
        self._streams[stream_id], self._info[stream_id] = stream, info
        return info

    def remove(self, stream_id: int) -> None:
        self._streams.pop(stream_id, None)
        self._info.pop(stream_id, None)

    def validate(self, stream_id: int, x: Any) -> torch.Tensor:
        return canonical_input(x, self._info[stream_id])

    @torch.inference_mode()
    def step(self, work: Mapping[int, StreamWork]) -> dict[int, torch.Tensor]:
        out: dict[int, torch.Tensor] = {}
        for stream_id, w in work.items():
            stream = self._streams[stream_id]
            if w.restart:
                stream.reset()
            pieces = [stream.push(x) for x in w.inputs]
            if w.end:
                pieces.append(stream.flush())
                stream.reset()
            out[stream_id] = torch.cat([p.reshape(-1) for p in pieces]) if pieces else torch.zeros(0)
        return out
