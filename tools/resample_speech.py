"""Resample a PCM WAV file to a new rate and write it as mono 16-bit PCM.

Used to derive the ``*_24k.wav`` clips in ``data/speech/`` (the vocoder runs at 24000 Hz) from the 16 kHz
CMU ARCTIC originals::

    python tools/resample_speech.py data/speech/arctic_a0007.wav data/speech/arctic_a0007_24k.wav --rate 24000

The input is read with the stdlib ``wave`` module (8-, 16- or 32-bit integer PCM), multi-channel input is
averaged to mono, the signal is resampled with ``scipy.signal.resample_poly`` by the exact rational factor
``rate / input_rate`` (default Kaiser-windowed FIR), clipped to [-1, 1] and written as 16-bit PCM.
"""

from __future__ import annotations

import argparse
import math
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read an integer PCM WAV file; return (mono float64 samples in [-1, 1), sample rate)."""
    with wave.open(str(path), "rb") as f:
        rate = f.getframerate()
        channels = f.getnchannels()
        width = f.getsampwidth()
        raw = f.readframes(f.getnframes())
    if width == 1:  # 8-bit WAV is unsigned
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0
    else:
        raise ValueError(f"{path}: unsupported sample width {width} bytes")
    x = x.reshape(-1, channels).mean(axis=1)
    return x, rate


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample ``x`` from ``rate_in`` to ``rate_out`` Hz with a polyphase filter (exact rational ratio)."""
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    if up == down:
        return x.copy()
    return np.asarray(resample_poly(x, up, down), dtype=np.float64)


def write_wav_pcm16(path: Path, x: np.ndarray, rate: int) -> None:
    """Write mono float samples as 16-bit PCM, clipping to [-1, 1] first."""
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="input WAV file (integer PCM)")
    parser.add_argument("output", type=Path, help="output WAV file (mono, 16-bit PCM)")
    parser.add_argument("--rate", type=int, default=24000, help="output sample rate in Hz (default: 24000)")
    args = parser.parse_args(argv)
    x, rate_in = read_wav(args.input)
    y = resample(x, rate_in, args.rate)
    write_wav_pcm16(args.output, y, args.rate)
    print(f"{args.input} ({rate_in} Hz, {len(x)} samples) -> {args.output} ({args.rate} Hz, {len(y)} samples)")


if __name__ == "__main__":
    main()
