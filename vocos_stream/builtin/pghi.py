"""Real-time phase gradient heap integration (RTPGHI, Prusa & Holighaus 2017): a phase for a new frame.

For a Gaussian-like window, the phase derivatives follow from the log-magnitude: along time (per hop)
``(a M / 2 gamma) (s[m+1] - s[m-1]) + 2 pi a m / M``, along frequency (per bin) ``-gamma / (2 a M)`` times the
causal time difference ``3 s_n - 4 s_n-1 + s_n-2``, with ``gamma = 0.25645 * n_fft^2`` for a Hann window.
Starting from the previous frame's phase, the new frame's phase is integrated from the loudest coefficients
outwards (a max-heap over both frames), so the phase of strong components is propagated first. Coefficients
below ``tolerance`` relative to the loudest get a fixed pseudo-random phase.

Phases here refer to frames windowed around sample 0 (the usual convention of these formulas); our frames
are windowed around ``n_fft / 2``, which multiplies bin m by ``(-1)^m``: :func:`to_centered` converts.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

HANN_GAMMA = 0.25645


def to_centered(phase: np.ndarray) -> np.ndarray:
    """Phase of frames windowed around ``n_fft/2`` <-> around 0 (the same map both ways)."""
    return phase + np.pi * (np.arange(phase.shape[-1]) % 2)


@cache
def _integrate_kernel() -> Any:
    import numba

    @numba.njit(cache=False, nogil=True)
    def integrate(slog_prev, slog_now, tgrad_prev, tgrad_now, fgrad, phase_prev, logtol, random_phase):  # type: ignore[no-untyped-def]
        bins = slog_now.shape[0]
        phase = random_phase.copy()
        done = np.zeros(bins, np.int8)
        remaining = bins
        top = max(slog_prev.max(), slog_now.max()) + logtol
        for m in range(bins):
            if slog_now[m] <= top:
                done[m] = -1
                phase[m] = random_phase[m]
                remaining -= 1
        # Max-heap of indices into [previous frame (0..bins-1), new frame (bins..2*bins-1)] keyed by log-magnitude.
        heap = np.empty(2 * bins, np.int64)
        size = 0

        def key(i: int) -> float:
            return slog_prev[i] if i < bins else slog_now[i - bins]

        def push(i: int, size: int) -> int:
            heap[size] = i
            child = size
            while child > 0:
                parent = (child - 1) // 2
                if key(heap[parent]) >= key(heap[child]):
                    break
                heap[parent], heap[child] = heap[child], heap[parent]
                child = parent
            return size + 1

        def pop(size: int) -> tuple[int, int]:
            best = heap[0]
            size -= 1
            heap[0] = heap[size]
            parent = 0
            while True:
                left, right, largest = 2 * parent + 1, 2 * parent + 2, parent
                if left < size and key(heap[left]) > key(heap[largest]):
                    largest = left
                if right < size and key(heap[right]) > key(heap[largest]):
                    largest = right
                if largest == parent:
                    break
                heap[parent], heap[largest] = heap[largest], heap[parent]
                parent = largest
            return best, size

        for m in range(bins):
            if slog_prev[m] > top and done[m] == 0:
                size = push(m, size)
        while remaining > 0:
            if size == 0:
                # Nothing loud left to start from (e.g. an onset after silence): begin a new island at the
                # loudest unfinished bin, continuing its own phase along time.
                loudest = -1
                for m in range(bins):
                    if done[m] == 0 and (loudest < 0 or slog_now[m] > slog_now[loudest]):
                        loudest = m
                phase[loudest] = phase_prev[loudest] + 0.5 * (tgrad_prev[loudest] + tgrad_now[loudest])
                done[loudest] = 1
                remaining -= 1
                size = push(loudest + bins, size)
                continue
            w, size = pop(size)
            if w < bins:  # previous frame -> same bin of the new frame, along time
                if done[w] == 0:
                    phase[w] = phase_prev[w] + 0.5 * (tgrad_prev[w] + tgrad_now[w])
                    done[w] = 1
                    remaining -= 1
                    size = push(w + bins, size)
            else:  # new frame -> neighbouring bins, along frequency
                m = w - bins
                if m + 1 < bins and done[m + 1] == 0:
                    phase[m + 1] = phase[m] + 0.5 * (fgrad[m] + fgrad[m + 1])
                    done[m + 1] = 1
                    remaining -= 1
                    size = push(w + 1, size)
                if m > 0 and done[m - 1] == 0:
                    phase[m - 1] = phase[m] - 0.5 * (fgrad[m] + fgrad[m - 1])
                    done[m - 1] = 1
                    remaining -= 1
                    size = push(w - 1, size)
        return phase

    return integrate


class PhaseGradient:
    """Per-stream RTPGHI helper: remembers the last two log-magnitudes and time gradients."""

    def __init__(self, n_fft: int, hop: int, *, tolerance: float = 1e-5, seed: int = 0) -> None:
        self.n_fft, self.hop = n_fft, hop
        self.gamma = HANN_GAMMA * n_fft**2
        self.logtol = float(np.log(tolerance))
        bins = n_fft // 2 + 1
        self.random_phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, bins)
        self.bin_advance = 2 * np.pi * hop * np.arange(bins) / n_fft
        self.integrate = _integrate_kernel()

    def time_gradient(self, slog: np.ndarray) -> np.ndarray:
        grad = np.zeros_like(slog)
        grad[1:-1] = (self.hop * self.n_fft / (2 * self.gamma)) * (slog[2:] - slog[:-2])
        grad[1:-1] += self.bin_advance[1:-1]
        return grad

    def next_phase(self, history: list[np.ndarray], magnitude: np.ndarray, previous_phase: np.ndarray) -> np.ndarray:
        """Phase (windowed-around-0 convention) of a new frame of one batch item.

        ``history``: log-magnitudes of up to two earlier frames (oldest first); ``previous_phase``: the phase
        of the frame before, same convention.
        """
        slog = np.log(magnitude + 1e-300)
        if not history:
            return self.random_phase.copy()
        prev = history[-1]
        older = history[-2] if len(history) > 1 else prev
        fgrad = (-self.gamma / (2 * self.hop * self.n_fft)) * (3 * slog - 4 * prev + older)
        return np.asarray(
            self.integrate(
                prev,
                slog,
                self.time_gradient(prev),
                self.time_gradient(slog),
                fgrad,
                previous_phase,
                self.logtol,
                self.random_phase,
            )
        )
