"""The per-iteration kernels of RTISI-LA, in numpy and in numba, with the same signatures.

One iteration is ``segments -> rfft -> impose_magnitude -> irfft -> momentum``; the FFTs stay in numpy
(pocketfft), the three kernels around them are small element-wise loops where numpy's per-call overhead
dominates. ``benchmarks/builtin_kernels.py`` times both; :func:`get_kernels` picks numba when it is installed
(compiled on first use, never at import) and numpy otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

import numpy as np


class Kernels(NamedTuple):
    name: str
    # (base (B, L), active (B, A, N), window (N,), seg_weight (A, N), hop) -> windowed segments (B, A, N)
    segments: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]
    # (spectrum (B, A, F) complex, magnitude (B, A, F)) -> magnitude * spectrum / |spectrum|
    impose_magnitude: Callable[[np.ndarray, np.ndarray], np.ndarray]
    # (projection, previous, alpha) -> (new active, new previous)
    momentum: Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]


def segments_numpy(
    base: np.ndarray, active: np.ndarray, window: np.ndarray, seg_weight: np.ndarray, hop: int
) -> np.ndarray:
    """Overlap-add the windowed active frames onto the committed sums ``base``, then cut each active frame's
    span out again, times ``seg_weight`` (the analysis window over the envelope)."""
    n = window.shape[0]
    total = base.copy()
    windowed = active * window
    for a in range(active.shape[1]):
        total[:, a * hop : a * hop + n] += windowed[:, a]
    index = np.arange(n)[None, :] + hop * np.arange(active.shape[1])[:, None]
    return total[:, index] * seg_weight


def impose_magnitude_numpy(spectrum: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    power = spectrum.real**2 + spectrum.imag**2
    scale = magnitude / np.sqrt(np.maximum(power, 1e-24))
    return np.where(power > 1e-24, spectrum * scale, magnitude + 0j)


def momentum_numpy(projection: np.ndarray, previous: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    return projection + alpha * (projection - previous), projection


NUMPY_KERNELS = Kernels("numpy", segments_numpy, impose_magnitude_numpy, momentum_numpy)


@cache
def numba_kernels() -> Kernels:
    """The numba versions (compiled now, on first call). Raises ImportError without numba."""
    import numba

    njit: Any = numba.njit(cache=False, fastmath=False, nogil=True)

    @njit
    def segments(base, active, window, seg_weight, hop):  # type: ignore[no-untyped-def]
        batch, count, n = active.shape
        total = base.copy()
        for b in range(batch):
            for a in range(count):
                for i in range(n):
                    total[b, a * hop + i] += active[b, a, i] * window[i]
        out = np.empty_like(active)
        for b in range(batch):
            for a in range(count):
                for i in range(n):
                    out[b, a, i] = total[b, a * hop + i] * seg_weight[a, i]
        return out

    @njit
    def impose_magnitude(spectrum, magnitude):  # type: ignore[no-untyped-def]
        # Real arithmetic (one square root, no complex division): several times faster than abs() and "/".
        out = np.empty_like(spectrum)
        flat_s, flat_m, flat_o = spectrum.ravel(), magnitude.ravel(), out.ravel()
        for i in range(flat_s.shape[0]):
            re, im = flat_s[i].real, flat_s[i].imag
            power = re * re + im * im
            if power > 1e-24:
                scale = flat_m[i] / np.sqrt(power)
                flat_o[i] = complex(re * scale, im * scale)
            else:
                flat_o[i] = flat_m[i]
        return out

    @njit
    def momentum(projection, previous, alpha):  # type: ignore[no-untyped-def]
        return projection + alpha * (projection - previous), projection

    kernels = Kernels("numba", segments, impose_magnitude, momentum)
    _warm_up(kernels)
    return kernels


def _warm_up(kernels: Kernels) -> None:
    """Compile for the array types RTISI uses, so the first audio frame does not pay for it."""
    active = np.zeros((1, 2, 8))
    kernels.segments(np.zeros((1, 12)), active, np.ones(8), np.ones((2, 8)), 4)
    kernels.impose_magnitude(np.zeros((1, 2, 5), np.complex128), np.zeros((1, 2, 5)))
    kernels.momentum(active, active, 0.5)


def get_kernels(backend: str = "auto") -> Kernels:
    """``"numpy"``, ``"numba"``, or ``"auto"`` (numba if installed)."""
    if backend == "numpy":
        return NUMPY_KERNELS
    if backend == "numba":
        return numba_kernels()
    if backend != "auto":
        raise ValueError(f"backend must be 'auto', 'numpy' or 'numba', got {backend!r}")
    try:
        return numba_kernels()
    except ImportError:
        return NUMPY_KERNELS
