"""numpy vs numba for the builtin vocoder's per-frame kernels: time per frame and equal output.

    python benchmarks/builtin_kernels.py

Runs the default streaming RTISI-LA over the mel of a shipped clip with each backend, one thread, alternating
runs, and reports the median time per frame (as a fraction of the 10.67 ms a frame lasts).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from vocos_stream.builtin import BuiltinConfig, BuiltinVocoder
from vocos_stream.io.wav import read_wav

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    torch.set_num_threads(1)
    audio, _ = read_wav(ROOT / "data" / "speech" / "arctic_a0007_24k.wav")
    vocoders = {b: BuiltinVocoder(BuiltinConfig(backend=b)) for b in ("numpy", "numba")}
    mel = vocoders["numpy"].feature_extractor(torch.from_numpy(audio))
    frames = mel.shape[-1]
    outputs = {b: v.decode(mel) for b, v in vocoders.items()}  # also compiles numba
    times: dict[str, list[float]] = {b: [] for b in vocoders}
    for _ in range(5):
        for b, v in vocoders.items():
            start = time.perf_counter()
            v.decode(mel)
            times[b].append((time.perf_counter() - start) / frames)
    config = vocoders["numpy"].config
    print(f"# RTISI-LA look-ahead {config.lookahead}, {config.iterations} iterations, {frames} frames, 1 thread")
    print("| backend | ms per frame | real-time factor |")
    print("|---|---:|---:|")
    for b, t in times.items():
        ms = 1000 * statistics.median(t)
        print(f"| {b} | {ms:.3f} | {ms / (1000 * 256 / 24000):.3f} |")
    diff = float((outputs["numpy"] - outputs["numba"]).abs().max())
    print(f"\nmax abs difference between the backends' outputs: {diff:.2e}")


if __name__ == "__main__":
    main()
