"""Quality and speed of the builtin vocoder: PESQ-wb and STOI against the original speech, real-time factor.

    pip install -e ".[eval]"              # pesq, pystoi
    python benchmarks/builtin_quality.py  # table for README

Reference: the shipped CMU ARCTIC clips at their original 16 kHz. Each method resynthesises the 24 kHz copy
from its vocos-mel-24khz log-mel; output is resampled to 16 kHz for PESQ (wide band) and STOI.
Methods: offline fast Griffin-Lim (momentum 0.99, 32 iterations, zero initial phase) from the same
magnitudes, and the streaming RTISI-LA at several look-aheads and iteration counts. Real-time factor:
compute time / audio duration on one thread (mel -> audio, the front-end excluded).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from vocos_stream.builtin import BuiltinConfig, BuiltinVocoder
from vocos_stream.builtin.rtisi import fast_griffin_lim
from vocos_stream.io.wav import read_wav, resample

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ["arctic_a0007", "arctic_a0009"]


def scores(reference16: np.ndarray, output24: np.ndarray) -> tuple[float, float]:
    from pesq import pesq
    from pystoi import stoi

    out16 = resample(output24, 24000, 16000)
    n = min(len(reference16), len(out16))
    return float(pesq(16000, reference16[:n], out16[:n], "wb")), float(stoi(reference16[:n], out16[:n], 16000))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lookaheads", default="0,1,2,3,5")
    p.add_argument("--iterations", default="4,8,16")
    p.add_argument("--nnls", type=int, default=0, help="NNLS refinement iterations of the mel inversion")
    p.add_argument("--init", default="rtisi", help="initial phase of new frames: rtisi or rtpghi")
    args = p.parse_args()
    torch.set_num_threads(1)
    data = []
    for name in CLIPS:
        ref16, rate16 = read_wav(ROOT / "data" / "speech" / f"{name}.wav")
        audio24, _ = read_wav(ROOT / "data" / "speech" / f"{name}_24k.wav")
        assert rate16 == 16000
        data.append((ref16[0], torch.from_numpy(audio24[:1])))

    def evaluate(label: str, run: object) -> None:
        pesqs, stois, seconds, audio_seconds = [], [], 0.0, 0.0
        for ref16, audio in data:
            vocoder = BuiltinVocoder()
            mel = vocoder.feature_extractor(audio)
            start = time.perf_counter()
            out = run(vocoder, mel)  # type: ignore[operator]
            seconds += time.perf_counter() - start
            audio_seconds += out.shape[-1] / 24000
            pq, st = scores(ref16, np.asarray(out[0], dtype=np.float64))
            pesqs.append(pq)
            stois.append(st)
        print(f"| {label} | {np.mean(pesqs):.2f} | {np.mean(stois):.3f} | {seconds / audio_seconds:.3f} |")

    # Compile the numba kernels before anything is timed.
    for init in ("rtisi", "rtpghi"):
        BuiltinVocoder(BuiltinConfig(init=init)).decode(torch.zeros(1, 100, 8))
    print(f"# clips: {', '.join(CLIPS)} (CMU ARCTIC); mean over clips; NNLS iterations {args.nnls}, init {args.init}")
    print("| method | PESQ-wb | STOI | real-time factor (1 thread) |")
    print("|---|---:|---:|---:|")

    def fgla(vocoder: BuiltinVocoder, mel: torch.Tensor) -> np.ndarray:
        magnitude = vocoder.inverter(mel.double().numpy().transpose(0, 2, 1)).transpose(0, 2, 1)
        return fast_griffin_lim(magnitude, 1024, 256, 512, iterations=32, momentum=0.99)

    evaluate("offline fast Griffin-Lim, 32 iterations", fgla)
    for k in [int(x) for x in args.lookaheads.split(",")]:
        for iters in [int(x) for x in args.iterations.split(",")]:

            def rtisi(vocoder: BuiltinVocoder, mel: torch.Tensor, k: int = k, iters: int = iters) -> torch.Tensor:
                v = BuiltinVocoder(
                    vocoder.config.replace(lookahead=k, iterations=iters, nnls_iterations=args.nnls, init=args.init)
                )
                return v.decode(mel)

            latency = BuiltinVocoder().stream(lookahead=k).latency_samples
            evaluate(f"RTISI-LA look-ahead {k} ({latency} samples latency), {iters} iterations", rtisi)


if __name__ == "__main__":
    main()
