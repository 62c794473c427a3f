"""Phase reconstruction from STFT magnitudes: streaming RTISI-LA and offline fast Griffin-Lim.

RTISI-LA (Zhu, Beauregard & Wyse, IEEE TASLP 2007): frames arrive one at a time; the newest ``lookahead + 1``
frames are *active*. Each new frame gets an initial phase from the partial reconstruction it overlaps, then
every active frame is refined ``iterations`` times by the Griffin-Lim projection (window the current signal
estimate, keep the phase, impose the target magnitude), with fast Griffin-Lim momentum. The oldest active
frame is then committed; the hop it completes is final and leaves. Cost per frame is constant.

Signal estimate: least-squares overlap-add, ``y = sum_m w x_m / sum_m w^2`` with the same periodic Hann window
for analysis and synthesis (as Vocos' ISTFT). Coordinates are *untrimmed* samples, frame m covering
``[m*hop, m*hop + n_fft)``; ``trim`` samples are dropped at both ends (``n_fft // 2`` for center padding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import Kernels, get_kernels
from .pghi import PhaseGradient, to_centered


@dataclass
class RtisiState:
    """Pending sums for untrimmed samples ``[start, start + n)`` and the active frames."""

    numerator: np.ndarray  # (B, n): sum of w * x over committed frames
    envelope: np.ndarray  # (n,): sum of w^2 over all frames added (committed and active)
    active: np.ndarray  # (B, A, n_fft): current estimates of the active frames
    previous: np.ndarray  # (B, A, n_fft): their last projections (momentum)
    magnitude: np.ndarray  # (B, A, bins): their target magnitudes
    start: int = 0
    frames: int = 0  # frames added
    newest: np.ndarray | None = None  # (B, n_fft): estimate of the newest frame (RTPGHI continues its phase)
    log_history: np.ndarray | None = None  # (B, <=2, bins): log-magnitudes of the newest frames

    @property
    def first_active(self) -> int:
        return self.frames - self.active.shape[1]

    def copy(self) -> RtisiState:
        return RtisiState(
            self.numerator.copy(),
            self.envelope.copy(),
            self.active.copy(),
            self.previous.copy(),
            self.magnitude.copy(),
            self.start,
            self.frames,
            None if self.newest is None else self.newest.copy(),
            None if self.log_history is None else self.log_history.copy(),
        )


class Rtisi:
    """The RTISI-LA algorithm for one STFT geometry; all state lives in :class:`RtisiState`."""

    def __init__(
        self,
        n_fft: int,
        hop: int,
        trim: int,
        *,
        lookahead: int = 2,
        iterations: int = 8,
        momentum: float = 0.9,
        kernels: Kernels | None = None,
        init: str = "rtisi",
    ) -> None:
        if lookahead < 0 or iterations < 0:
            raise ValueError("lookahead and iterations must be >= 0")
        self.n_fft, self.hop, self.trim = n_fft, hop, trim
        self.lookahead, self.iterations, self.momentum = lookahead, iterations, momentum
        self.kernels = kernels or get_kernels()
        if init not in ("rtisi", "rtpghi"):
            raise ValueError(f"init must be 'rtisi' or 'rtpghi', got {init!r}")
        self.init = init
        self.gradient = PhaseGradient(n_fft, hop) if init == "rtpghi" else None
        self.window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
        self.window_square = self.window**2

    def start(self, batch: int) -> RtisiState:
        bins = self.n_fft // 2 + 1
        empty = np.zeros((batch, 0, self.n_fft))
        return RtisiState(np.zeros((batch, 0)), np.zeros(0), empty, empty.copy(), np.zeros((batch, 0, bins)))

    # ------------------------------------------------------------------------------------------- steps
    def push(self, state: RtisiState, magnitude: np.ndarray) -> np.ndarray:
        """Add one frame's magnitude ``(B, bins)``; return the output samples that became final ``(B, n)``."""
        self._grow(state, state.frames * self.hop + self.n_fft)
        first = self._initial_frame(state, magnitude)
        offset = state.frames * self.hop - state.start
        state.envelope[offset : offset + self.n_fft] += self.window_square
        state.active = np.concatenate([state.active, first], axis=1)
        state.previous = np.concatenate([state.previous, first], axis=1)
        state.magnitude = np.concatenate([state.magnitude, magnitude[:, None]], axis=1)
        state.frames += 1
        self._iterate(state, self.iterations)
        state.newest = state.previous[:, -1]
        if state.active.shape[1] <= self.lookahead:
            return np.zeros((magnitude.shape[0], 0))
        self._commit_oldest(state)
        return self._emit(state, state.first_active * self.hop)

    def flush(self, state: RtisiState) -> np.ndarray:
        """Commit every active frame and return the rest of the output, up to the end of the signal."""
        batch = state.numerator.shape[0]
        if state.frames == 0:
            return np.zeros((batch, 0))
        while state.active.shape[1]:
            self._commit_oldest(state)
            self._iterate(state, self.iterations)
        end = max(self.trim, (state.frames - 1) * self.hop + self.n_fft - self.trim)
        return self._emit(state, end)

    # ------------------------------------------------------------------------------------------- parts
    def _initial_frame(self, state: RtisiState, magnitude: np.ndarray) -> np.ndarray:
        """Time frame ``(B, 1, n_fft)`` for a new frame's magnitude ``(B, bins)``."""
        if self.gradient is None or state.newest is None:
            # RTISI: the phase of the partial reconstruction the new frame overlaps (before its window counts).
            first = self._project(self._segments(state, [state.frames]), magnitude[:, None])
        else:
            previous = to_centered(np.angle(np.fft.rfft(state.newest, axis=-1)))
            assert state.log_history is not None
            phase = np.stack(
                [
                    to_centered(self.gradient.next_phase(list(state.log_history[b]), magnitude[b], previous[b]))
                    for b in range(magnitude.shape[0])
                ]
            )
            first = np.fft.irfft(magnitude * np.exp(1j * phase), n=self.n_fft, axis=-1)[:, None]
        if self.gradient is not None:
            logs = np.log(magnitude + 1e-300)[:, None]
            history = logs if state.log_history is None else np.concatenate([state.log_history, logs], axis=1)
            state.log_history = history[:, -2:]
        return first

    def _grow(self, state: RtisiState, end: int) -> None:
        have = state.start + state.envelope.shape[0]
        if end > have:
            state.numerator = np.pad(state.numerator, ((0, 0), (0, end - have)))
            state.envelope = np.pad(state.envelope, (0, end - have))

    def _estimate(self, state: RtisiState) -> tuple[np.ndarray, int]:
        """Current signal estimate over the active frames' span, and the span's untrimmed start."""
        first = state.first_active
        begin = first * self.hop - state.start
        count = state.active.shape[1]
        length = (count - 1) * self.hop + self.n_fft
        total = state.numerator[:, begin : begin + length].copy()
        windowed = state.active * self.window
        for a in range(count):
            total[:, a * self.hop : a * self.hop + self.n_fft] += windowed[:, a]
        envelope = state.envelope[begin : begin + length]
        return total / np.maximum(envelope, 1e-10), first * self.hop

    def _segments(self, state: RtisiState, frame_indices: list[int]) -> np.ndarray:
        """Windowed estimates ``(B, len(frame_indices), n_fft)`` at the given frames (for a new frame the
        estimate is the partial reconstruction of the frames it overlaps)."""
        if state.active.shape[1]:
            estimate, origin = self._estimate(state)
        else:
            begin = state.first_active * self.hop - state.start
            estimate = state.numerator[:, begin:] / np.maximum(state.envelope[begin:], 1e-10)
            origin = state.first_active * self.hop
        out = np.zeros((estimate.shape[0], len(frame_indices), self.n_fft))
        for i, m in enumerate(frame_indices):
            lo = m * self.hop - origin
            piece = estimate[:, max(lo, 0) : lo + self.n_fft]
            out[:, i, max(0, -lo) : max(0, -lo) + piece.shape[1]] = piece
        return out * self.window

    def _project(self, segments: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
        """Keep the phase of ``segments``' spectra, impose ``magnitude``; back to time frames."""
        spectrum = np.fft.rfft(segments, axis=-1)
        imposed = self.kernels.impose_magnitude(spectrum, np.ascontiguousarray(magnitude))
        return np.fft.irfft(imposed, n=self.n_fft, axis=-1)

    def _iterate(self, state: RtisiState, iterations: int) -> None:
        count = state.active.shape[1]
        if count == 0 or iterations == 0:
            return
        n, hop, k = self.n_fft, self.hop, self.kernels
        begin = state.first_active * self.hop - state.start
        length = (count - 1) * hop + n
        base = np.ascontiguousarray(state.numerator[:, begin : begin + length])
        inverse_envelope = 1.0 / np.maximum(state.envelope[begin : begin + length], 1e-10)
        index = np.arange(n)[None, :] + hop * np.arange(count)[:, None]
        seg_weight = np.ascontiguousarray(inverse_envelope[index] * self.window)
        active, previous = np.ascontiguousarray(state.active), np.ascontiguousarray(state.previous)
        magnitude = np.ascontiguousarray(state.magnitude)
        for _ in range(iterations):
            spectrum = np.fft.rfft(k.segments(base, active, self.window, seg_weight, hop), axis=-1)
            projection = np.fft.irfft(k.impose_magnitude(spectrum, magnitude), n=n, axis=-1)
            active, previous = k.momentum(projection, previous, self.momentum)
        state.active, state.previous = active, previous

    def _commit_oldest(self, state: RtisiState) -> None:
        offset = state.first_active * self.hop - state.start
        state.numerator[:, offset : offset + self.n_fft] += state.previous[:, 0] * self.window
        state.active, state.previous = state.active[:, 1:], state.previous[:, 1:]
        state.magnitude = state.magnitude[:, 1:]

    def _emit(self, state: RtisiState, until: int) -> np.ndarray:
        """Output untrimmed samples ``[start, until)`` (only those past ``trim``) and drop them."""
        take = max(0, until - state.start)
        numerator, envelope = state.numerator[:, :take], state.envelope[:take]
        first = max(0, self.trim - state.start)
        out = numerator[:, first:] / np.maximum(envelope[first:], 1e-10)
        state.numerator, state.envelope = state.numerator[:, take:], state.envelope[take:]
        state.start += take
        return out


def fast_griffin_lim(
    magnitude: np.ndarray, n_fft: int, hop: int, trim: int, *, iterations: int = 32, momentum: float = 0.99
) -> np.ndarray:
    """Offline fast Griffin-Lim (Perraudin et al. 2013) from magnitudes ``(B, bins, T)``, zero initial phase.

    Returns audio ``(B, (T-1)*hop + n_fft - 2*trim)``: the quality reference for the streaming method.
    """
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    batch, _, frames = magnitude.shape
    length = (frames - 1) * hop + n_fft
    envelope = np.zeros(length)
    for m in range(frames):
        envelope[m * hop : m * hop + n_fft] += window**2
    envelope = np.maximum(envelope, 1e-10)
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]  # (T, n_fft)

    def synthesize(spec: np.ndarray) -> np.ndarray:
        frames_td = np.fft.irfft(spec, n=n_fft, axis=1).transpose(0, 2, 1) * window  # (B, T, n_fft)
        signal = np.zeros((batch, length))
        for m in range(frames):
            signal[:, m * hop : m * hop + n_fft] += frames_td[:, m]
        return signal / envelope

    def analyse(signal: np.ndarray) -> np.ndarray:
        return np.fft.rfft(signal[:, index] * window, axis=-1).transpose(0, 2, 1)

    spec = magnitude.astype(np.complex128)
    previous = spec
    for _ in range(iterations):
        rebuilt = analyse(synthesize(spec))
        projection = magnitude * np.exp(1j * np.angle(rebuilt))
        spec = projection + momentum * (projection - previous)
        previous = projection
    return synthesize(previous)[:, trim : length - trim]
