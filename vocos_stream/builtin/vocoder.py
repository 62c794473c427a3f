"""The builtin vocoder: vocos-mel-24khz's log-mel -> magnitude -> streaming RTISI-LA phase. No weights.

Same contract as :class:`vocos_stream.Vocos`: ``decode(mel)``, copy-synthesis ``vocoder(audio)``,
``feature_extractor``, and ``stream(input="mel"|"audio")`` with ``push`` / ``flush`` / ``latency_samples``.
The streaming algorithm is defined frame by frame, so the offline ``decode`` is the stream run over the whole
input, and any chunking gives the same samples.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from ..engine.contract import StreamBase
from ..engine.mel_frontend import MelFrontendState, StreamingMelFrontend
from ..features.checks import check_audio, check_features
from ..features.mel import MelSpectrogramFeatures
from ..model.head import trim_for_padding
from .kernels import get_kernels
from .mel_inverse import MelInverter
from .rtisi import Rtisi, RtisiState

BUILTIN_NAME = "builtin"


@dataclass(frozen=True)
class BuiltinConfig:
    """Features exactly as vocos-mel-24khz; phase reconstruction settings (``lookahead`` in frames).

    Defaults chosen by ``benchmarks/builtin_quality.py`` (README): 2 frames of look-ahead (latency 4 frames),
    16 iterations, initial phase from the partial reconstruction (RTPGHI measured better only without
    look-ahead)."""

    sample_rate: int = 24000
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 100
    lookahead: int = 2
    iterations: int = 16
    momentum: float = 0.9
    nnls_iterations: int = 0
    backend: str = "auto"  # per-frame kernels: "numba" (if installed), "numpy"
    init: str = "rtisi"  # initial phase of a new frame: "rtisi" (overlap) or "rtpghi" (phase gradients)
    feature_kind: Literal["mel"] = "mel"
    padding: Literal["center"] = "center"

    def __post_init__(self) -> None:
        if self.lookahead < 0 or self.iterations < 0 or self.nnls_iterations < 0:
            raise ValueError("lookahead, iterations and nnls_iterations must be >= 0")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")

    def replace(self, **changes: Any) -> BuiltinConfig:
        return dataclasses.replace(self, **changes)


class BuiltinVocoder:
    """A classical streaming vocoder over the vocos-mel-24khz features: works offline, with no checkpoint."""

    def __init__(self, config: BuiltinConfig | None = None) -> None:
        self.config = config or BuiltinConfig()
        c = self.config
        self.feature_extractor = MelSpectrogramFeatures(c.sample_rate, c.n_fft, c.hop_length, c.n_mels, "center")
        self.inverter = MelInverter(c.sample_rate, c.n_fft, c.n_mels, nnls_iterations=c.nnls_iterations)
        self.trim = trim_for_padding(c.n_fft, c.hop_length, "center")

    @classmethod
    def from_pretrained(cls, name: str = BUILTIN_NAME, **settings: Any) -> BuiltinVocoder:
        """``"builtin"``, optionally with settings (``lookahead=3, iterations=16``, ...)."""
        if name != BUILTIN_NAME:
            raise ValueError(f"the builtin vocoder is named {BUILTIN_NAME!r}, not {name!r}")
        return cls(BuiltinConfig(**settings))

    def rtisi(self, lookahead: int | None = None) -> Rtisi:
        c = self.config
        return Rtisi(
            c.n_fft,
            c.hop_length,
            self.trim,
            lookahead=c.lookahead if lookahead is None else lookahead,
            iterations=c.iterations,
            momentum=c.momentum,
            kernels=get_kernels(c.backend),
            init=c.init,
        )

    def stream(self, input: Literal["mel", "features", "audio"] = "mel", lookahead: int | None = None) -> PhaseStream:
        """A new stream; ``lookahead`` (frames) overrides the config's."""
        return PhaseStream(self, input=input, lookahead=lookahead)

    def decode(self, features_input: torch.Tensor, **_: Any) -> torch.Tensor:
        """Log-mel ``(B, 100, T)`` -> audio ``(B, (T-1)*256)``."""
        stream = self.stream()
        return torch.cat([stream.push(features_input), stream.flush()], dim=1)

    def __call__(self, audio_input: torch.Tensor, **_: Any) -> torch.Tensor:
        """Copy-synthesis: audio ``(B, n)`` -> log-mel -> audio ``(B, (n // 256) * 256)``.

        Runs the streaming front-end, so that streamed and offline copy-synthesis give the same samples."""
        stream = self.stream(input="audio")
        return torch.cat([stream.push(audio_input), stream.flush()], dim=1)


@dataclass
class PhaseStreamState:
    rtisi: RtisiState
    frontend: MelFrontendState | None
    ended: bool = False

    @property
    def batch(self) -> int:
        return int(self.rtisi.numerator.shape[0])

    def copy(self) -> PhaseStreamState:
        return PhaseStreamState(self.rtisi.copy(), None if self.frontend is None else self.frontend.copy(), self.ended)


class PhaseStream(StreamBase[PhaseStreamState]):
    """One stream of the builtin vocoder (same contract as :class:`vocos_stream.engine.VocosStream`)."""

    def __init__(self, vocoder: BuiltinVocoder, *, input: str = "mel", lookahead: int | None = None) -> None:
        super().__init__()
        if input not in ("mel", "features", "audio"):
            raise ValueError(f"the builtin vocoder takes input='mel' or 'audio', got {input!r}")
        if lookahead is not None and lookahead < 0:
            raise ValueError(f"lookahead must be >= 0, got {lookahead}")
        self.vocoder = vocoder
        self.input = input
        self.algorithm = vocoder.rtisi(lookahead)
        # Phase retrieval is chaotic (a 1e-12 change of the input changes the output phases), so every input
        # frame is computed on its own: the same bits whatever the chunking.
        self.frontend = StreamingMelFrontend(vocoder.feature_extractor, per_frame=True) if input == "audio" else None

    @property
    def latency_samples(self) -> int:
        """Input worth N samples (a mel frame is worth a hop) has produced N - latency output samples:
        ``lookahead`` frames, plus the half window that center padding trims (+256 for audio input)."""
        hop = self.algorithm.hop
        latency = self.algorithm.lookahead * hop + self.algorithm.trim
        if self.frontend is not None:
            latency += self.frontend.n_fft - self.frontend.pad - hop
        return latency

    def new_state(self, batch: int) -> PhaseStreamState:
        fe = self.frontend.start(batch) if self.frontend is not None else None
        return PhaseStreamState(self.algorithm.start(batch), fe)

    @torch.inference_mode()
    def push(self, x: torch.Tensor) -> torch.Tensor:
        """Push log-mel ``(B, 100, t)`` or audio ``(B, n)``; return the final samples ``(B, n)``."""
        if self.frontend is not None:
            audio = check_audio(x)
            state = self.started(audio.shape[0])
            assert state.frontend is not None
            mel = self.frontend.push(state.frontend, audio)
        else:
            mel = check_features(x, self.vocoder.config.n_mels, allow_empty=True)
            state = self.started(mel.shape[0])
        return self._frames(state, mel)

    def _frames(self, state: PhaseStreamState, mel: torch.Tensor) -> torch.Tensor:
        frames = mel.detach().double().cpu().numpy()  # (B, n_mels, t)
        outs = [
            self.algorithm.push(state.rtisi, self.vocoder.inverter(frames[:, :, i])) for i in range(frames.shape[2])
        ]
        return torch.from_numpy(np.concatenate([np.zeros((state.batch, 0)), *outs], axis=1).astype(np.float32))

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:
        state = self.ending()
        if state is None:
            return torch.zeros(1, 0)
        head = torch.zeros(state.batch, 0)
        if self.frontend is not None and state.frontend is not None:
            head = self._frames(state, self.frontend.flush(state.frontend))
        tail = torch.from_numpy(self.algorithm.flush(state.rtisi).astype(np.float32))
        return torch.cat([head, tail], dim=1)
