"""The inverse STFT as an incremental overlap-add with an explicit window-square envelope.

Coordinates: the *untrimmed* signal is what overlap-adding all T frames gives, frame m covering samples
``[m*hop, m*hop + n_fft)``; the output is that signal without ``trim`` samples at each end, divided by the
summed squared window (the envelope). Both sums are kept for the samples not yet emitted. Once frames
``0..M-1`` are in, no later frame reaches below ``M*hop + z``, where ``z`` is the number of leading exact zeros
of the window (1 for a periodic Hann window): those samples are final and leave at once. At the end of the
stream the tail leaves with its true partial envelope.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..model.head import ISTFT, NOLA_EPS, overlap_add, trim_for_padding


@dataclass
class OverlapAddState:
    """Pending sums for the untrimmed samples ``[start, start + n)``; everything before ``start`` has left."""

    numerator: torch.Tensor  # (B, n)
    envelope: torch.Tensor  # (n,)
    start: int = 0
    frames: int = 0  # frames added so far

    def copy(self) -> OverlapAddState:
        return OverlapAddState(self.numerator.clone(), self.envelope.clone(), self.start, self.frames)


class StreamingISTFT:
    """Incremental form of :class:`vocos_stream.model.head.ISTFT` (both paddings)."""

    def __init__(self, istft: ISTFT) -> None:
        self.n_fft = istft.n_fft
        self.hop = istft.hop_length
        self.istft = istft
        self.trim = trim_for_padding(self.n_fft, self.hop, istft.padding)
        window = istft.window
        nonzero = torch.nonzero(window != 0)
        self.leading_zeros = int(nonzero[0]) if len(nonzero) else 0
        self.window_square = window.square()
        self._envelopes: dict[int, torch.Tensor] = {}  # summed squared windows of m frames, by m

    def _envelope(self, m: int) -> torch.Tensor:
        if m not in self._envelopes:
            square = self.window_square[None, :, None].expand(1, self.n_fft, m)
            self._envelopes[m] = overlap_add(square, self.hop)[0]
        return self._envelopes[m]

    def start(self, batch: int) -> OverlapAddState:
        w = self.istft.window
        return OverlapAddState(w.new_zeros(batch, 0), w.new_zeros(0))

    def final_until(self, frames: int) -> int:
        """Untrimmed samples below this index are final once ``frames`` frames are in."""
        return frames * self.hop + self.leading_zeros if frames > 0 else 0

    def end_until(self, frames: int) -> int:
        """Untrimmed index where the output ends for a stream of ``frames`` frames."""
        return max(self.trim, (frames - 1) * self.hop + self.n_fft - self.trim) if frames > 0 else 0

    def add(self, state: OverlapAddState, spec: torch.Tensor) -> None:
        """Accumulate complex frames ``(B, n_fft//2+1, m)`` after the ones already added."""
        m = spec.shape[-1]
        if m == 0:
            return
        frames = self.istft.frames(spec)
        # (B, (m-1)*hop + n_fft), starting at untrimmed sample state.frames * hop
        chunk = frames[:, :, 0] if m == 1 else overlap_add(frames, self.hop)
        chunk_env = self._envelope(m)
        begin = state.frames * self.hop
        end = begin + chunk.shape[-1]
        state.frames += m
        if end <= state.start:
            return
        have_end = state.start + state.numerator.shape[-1]
        if end > have_end:  # grow the pending buffers to cover the new frames
            grow = end - have_end
            state.numerator = torch.cat([state.numerator, state.numerator.new_zeros(state.numerator.shape[0], grow)], 1)
            state.envelope = torch.cat([state.envelope, state.envelope.new_zeros(grow)])
        skip = max(0, state.start - begin)  # parts that reach samples which already left (lookahead mode)
        offset = begin + skip - state.start
        state.numerator[:, offset : offset + chunk.shape[-1] - skip] += chunk[:, skip:]
        state.envelope[offset : offset + chunk.shape[-1] - skip] += chunk_env[skip:]

    def discard(self, state: OverlapAddState, until: int) -> None:
        """Drop the pending sums below ``until`` (they left by another route); later frames skip them."""
        if until <= state.start:
            return
        take = min(until - state.start, state.numerator.shape[-1])
        state.numerator, state.envelope = state.numerator[:, take:], state.envelope[take:]
        if state.numerator.shape[-1] == 0:
            state.numerator = state.numerator.new_zeros(state.numerator.shape[0], 0)
        state.start = until

    def emit(self, state: OverlapAddState, until: int) -> torch.Tensor:
        """Remove untrimmed samples ``[start, until)`` from the state; return the output samples among them
        (those at or after ``trim``), ``(B, n)``, divided by their envelope."""
        until = max(until, state.start)
        take = until - state.start
        if take > state.numerator.shape[-1]:
            raise AssertionError("emit() past the frames added")  # an engine bug, not a user error
        numerator, envelope = state.numerator[:, :take], state.envelope[:take]
        state.numerator, state.envelope = state.numerator[:, take:], state.envelope[take:]
        first = max(0, self.trim - state.start)
        state.start = until
        numerator, envelope = numerator[:, first:], envelope[first:]
        if bool((envelope <= NOLA_EPS).any()):
            raise ValueError("window overlap-add is zero somewhere (NOLA fails): check n_fft and hop_length")
        return numerator / envelope
