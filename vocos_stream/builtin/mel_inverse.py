"""Log-mel (the vocos-mel-24khz features) -> linear STFT magnitude, frame by frame.

The mel front-end is linear in the magnitude: ``mel = F^T |X|`` with the HTK filterbank ``F`` of shape
``(n_fft//2+1, n_mels)``, then ``log(max(mel, 1e-7))``. Inverting it is underdetermined (100 equations for
513 unknowns); the minimum-norm solution ``pinv(F^T) mel`` clamped at 0 is the default. ``nnls_iterations``
refines it by projected gradient on ``||F^T m - mel||^2`` with ``m >= 0`` (librosa's ``mel_to_stft`` does the
same with L-BFGS-B); ``benchmarks/builtin_quality.py`` measures whether that helps.
"""

from __future__ import annotations

import numpy as np

from ..features.mel import LOG_FLOOR, htk_mel_filterbank


class MelInverter:
    """``log_mel (..., n_mels)`` -> magnitude ``(..., n_fft//2+1)``, float64, non-negative."""

    def __init__(self, sample_rate: int, n_fft: int, n_mels: int, *, nnls_iterations: int = 0) -> None:
        fb = htk_mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate).double().numpy()  # (bins, mels)
        self.filterbank = fb
        self.pinv = np.linalg.pinv(fb.T)  # (bins, mels): minimum-norm inverse of mel = fb.T @ magnitude
        self.nnls_iterations = nnls_iterations
        # Step size 1 / L for the gradient fb (fb.T m - mel), L = largest eigenvalue of fb fb.T.
        self.step = 1.0 / float(np.linalg.norm(fb, 2) ** 2)

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        mel = np.exp(np.asarray(log_mel, dtype=np.float64))
        mel = np.where(mel <= LOG_FLOOR * 1.0000001, 0.0, mel)  # the floor stands for "nothing here"
        magnitude = np.maximum(mel @ self.pinv.T, 0.0)
        for _ in range(self.nnls_iterations):
            residual = magnitude @ self.filterbank - mel
            magnitude = np.maximum(magnitude - self.step * (residual @ self.filterbank.T), 0.0)
        return magnitude
