"""Audio -> log-mel frames, incrementally, equal to :class:`MelSpectrogramFeatures` on the whole signal.

Offline, the signal is reflect-padded by ``pad`` samples at both ends (``pad = n_fft // 2`` for center) and
frame j covers padded samples ``[j*hop, j*hop + n_fft)``, i.e. input samples ``[j*hop - pad, j*hop - pad +
n_fft)``. Streaming, frame j leaves as soon as its last input sample has arrived; the left reflection needs
the first ``pad + 1`` samples, the right one is built at the end of the stream, giving the same last frames.
Any number of samples per push works (1, 37, 480, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..features.mel import MelSpectrogramFeatures


@dataclass
class MelFrontendState:
    """Input samples still needed: ``buffer`` holds samples ``[offset, received)`` of the stream."""

    buffer: torch.Tensor  # (B, n)
    offset: int = 0
    received: int = 0
    frames: int = 0  # frames emitted so far
    head: torch.Tensor | None = None  # the first pad + 1 samples, kept for the left reflection

    def copy(self) -> MelFrontendState:
        return MelFrontendState(self.buffer, self.offset, self.received, self.frames, self.head)


class StreamingMelFrontend:
    """``per_frame=True`` computes each frame on its own, so its bits do not depend on how many frames a push
    completes (batched matrix products may round differently); the phase-reconstruction vocoder needs that."""

    def __init__(self, mel: MelSpectrogramFeatures, *, per_frame: bool = False) -> None:
        self.mel = mel
        self.per_frame = per_frame
        self.pad, self.n_fft, self.hop = mel.pad, mel.n_fft, mel.hop_length

    def start(self, batch: int) -> MelFrontendState:
        return MelFrontendState(self.mel.window.new_zeros(batch, 0))

    def push(self, state: MelFrontendState, audio: torch.Tensor) -> torch.Tensor:
        """Append audio ``(B, n)``; return the log-mel frames that became complete, ``(B, n_mels, m)``."""
        state.buffer = torch.cat([state.buffer, audio], dim=1)
        state.received += audio.shape[1]
        if state.head is None and state.received >= self.pad + 1:
            state.head = state.buffer[:, : self.pad + 1]  # offset is still 0 here
        # frame j is complete when input sample j*hop - pad + n_fft - 1 has arrived
        available = (state.received + self.pad - self.n_fft) // self.hop + 1
        if state.head is None:
            available = 0
        return self._frames(state, max(available, state.frames), right=None)

    def flush(self, state: MelFrontendState) -> torch.Tensor:
        """The last frames, over the right reflect padding (as offline)."""
        if state.received <= self.pad:
            raise ValueError(
                f"the audio stream ended after {state.received} samples; the mel front-end needs more than "
                f"{self.pad} (its reflect padding), as the offline front-end does"
            )
        total = self.mel.num_frames(state.received)
        tail = state.buffer[:, -(self.pad + 1) :]
        right = tail[:, :-1].flip(1)  # reflection without the edge sample
        return self._frames(state, total, right=right)

    def _frames(self, state: MelFrontendState, until: int, right: torch.Tensor | None) -> torch.Tensor:
        count = until - state.frames
        if count <= 0:
            return state.buffer.new_zeros(state.buffer.shape[0], self.mel.n_mels, 0)
        # Input span of the new frames, in stream sample indices.
        first = state.frames * self.hop - self.pad
        last = (until - 1) * self.hop - self.pad + self.n_fft  # exclusive
        pieces = []
        if first < 0:  # left reflect padding: padded[i] = x[pad - i] for i < pad
            assert state.head is not None
            pieces.append(state.head[:, 1:].flip(1)[:, first + self.pad : self.pad])
            first_real = 0
        else:
            first_real = first
        pieces.append(state.buffer[:, first_real - state.offset : min(last, state.received) - state.offset])
        if last > state.received:
            assert right is not None
            pieces.append(right[:, : last - state.received])
        span = torch.cat(pieces, dim=1)
        frames = span.unfold(1, self.n_fft, self.hop)  # (B, count, n_fft)
        state.frames = until
        # Drop samples no later frame needs.
        keep_from = max(0, state.frames * self.hop - self.pad)
        if keep_from > state.offset:
            drop = min(keep_from, state.received) - state.offset
            state.buffer = state.buffer[:, drop:]
            state.offset += drop
        if self.per_frame:
            return torch.cat([self.mel.frames_to_log_mel(frames[:, i : i + 1]) for i in range(count)], dim=2)
        return self.mel.frames_to_log_mel(frames)
