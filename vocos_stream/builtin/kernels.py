"""The per-iteration kernels of RTISI-LA, in numpy and in numba, with the same signatures.

One iteration is ``segments -> rfft -> impose_magnitude -> irfft -> momentum``; the FFTs stay in numpy
(pocketfft), the three kernels around them are small element-wise loops where numpy's per-call overhead
dominates. ``benchmarks/builtin_kernels.py`` times both; :func:`get_kernels` picks numba when it is installed
and numpy otherwise. numba is imported and the kernels compiled on first use, never at import; the machine
code is cached on disk (:func:`kernel_cache_dir`), so only the first process on a machine pays the ~5 s of
compilation, later ones load it in a fraction of a second.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
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
    # where compiled kernels are cached on disk (numba with a writable cache), else None
    cache: str | None = None


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


# The numba kernels' Python sources, compiled by :func:`numba_kernels`. At module level (not closures) so that
# numba can cache the machine code on disk: a closure cannot be found again by a later process.
def _segments_loop(base, active, window, seg_weight, hop):  # type: ignore[no-untyped-def]
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


def _impose_magnitude_loop(spectrum, magnitude):  # type: ignore[no-untyped-def]
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


def _momentum_loop(projection, previous, alpha):  # type: ignore[no-untyped-def]
    return projection + alpha * (projection - previous), projection


def kernel_cache_dir() -> Path | None:
    """Where the compiled numba kernels are cached: ``$XDG_CACHE_HOME/vocos_stream/numba`` (``~/.cache/...``
    when unset), created if needed; ``None`` when that directory cannot be created or written."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(root) / "vocos_stream" / "numba"
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()  # writable? (numba's own test of a cache directory)
    except OSError:
        return None
    return path


@contextmanager
def _numba_cache_dir(path: Path | None) -> Iterator[None]:
    """Point numba's cache at ``path`` while our kernels are decorated (numba picks a function's cache location
    then), and restore the setting after, so that other numba users in the process are not affected. A
    NUMBA_CACHE_DIR the user set is respected."""
    import numba.core.config

    config: Any = numba.core.config
    saved = config.CACHE_DIR
    if path is not None and not saved:
        config.CACHE_DIR = str(path)
    try:
        yield
    finally:
        config.CACHE_DIR = saved


@cache
def numba_kernels() -> Kernels:
    """The numba versions, compiled now (on first call) or loaded from the on-disk cache
    (:func:`kernel_cache_dir`); without a writable cache they are compiled in every process.
    Raises ImportError without numba."""
    import numba

    user_dir = getattr(numba.config, "CACHE_DIR", "")  # NUMBA_CACHE_DIR, which numba then uses for ours too
    path = None if user_dir else kernel_cache_dir()
    location = user_dir or (None if path is None else str(path))
    kernels = None
    if location is not None:
        try:
            with _numba_cache_dir(path):
                njit: Any = numba.njit(cache=True, fastmath=False, nogil=True)
                kernels = Kernels(
                    "numba", njit(_segments_loop), njit(_impose_magnitude_loop), njit(_momentum_loop), location
                )
        except RuntimeError:  # numba found no writable cache location ("no locator available")
            kernels = None
    if kernels is None:
        njit = numba.njit(cache=False, fastmath=False, nogil=True)
        kernels = Kernels("numba", njit(_segments_loop), njit(_impose_magnitude_loop), njit(_momentum_loop))
    _warm_up(kernels)
    return kernels


def _warm_up(kernels: Kernels) -> None:
    """Compile for the array types RTISI uses, so the first audio frame does not pay for it."""
    active = np.zeros((1, 2, 8))
    kernels.segments(np.zeros((1, 12)), active, np.ones(8), np.ones((2, 8)), 4)
    kernels.impose_magnitude(np.zeros((1, 2, 5), np.complex128), np.zeros((1, 2, 5)))
    kernels.momentum(active, active, 0.5)


def describe(kernels: Kernels) -> str:
    """How ``kernels`` were obtained, for start-up reports: numpy, numba loaded from / compiled into its cache,
    or numba compiled without a cache."""
    if kernels.name != "numba":
        return f"{kernels.name} kernels"
    if kernels.cache is None:
        return "numba kernels compiled (no writable cache directory: set XDG_CACHE_HOME or NUMBA_CACHE_DIR)"
    dispatchers: list[Any] = [kernels.segments, kernels.impose_magnitude, kernels.momentum]
    compiled = any(sum(d.stats.cache_misses.values()) for d in dispatchers)
    how = "compiled into" if compiled else "loaded from"
    return f"numba kernels {how} the cache {kernels.cache}"


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
