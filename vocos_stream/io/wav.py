"""WAV files in and out (PCM 16/24/32-bit and float32), as float32 arrays in [-1, 1], plus resampling."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV file -> ``(audio (channels, samples) float32 in [-1, 1], sample_rate_hz)``."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate, n = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
            raw = f.readframes(n)
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{path} is not a PCM WAV file this reader supports (8/16/24/32-bit integer): {e}") from e
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8  # sign-extend 24 -> 32 bits
        data = ints.astype(np.float32) / 8388608.0
    else:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    return data.reshape(-1, channels).T.copy(), rate


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write ``audio`` ``(samples,)`` or ``(channels, samples)`` float in [-1, 1] as 16-bit PCM (clipped)."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    ints = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(audio.shape[0])
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(ints.T.tobytes())


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling along the last axis (scipy's ``resample_poly``, Kaiser-windowed FIR)."""
    if from_rate == to_rate:
        return audio
    from scipy.signal import resample_poly

    ratio = Fraction(to_rate, from_rate)
    return resample_poly(audio, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)
