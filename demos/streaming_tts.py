"""Streaming TTS, vocoder side: mel frames arrive in bursts, as a TTS model emits them; audio leaves at once.

    python demos/streaming_tts.py                         # builtin vocoder (no weights needed)
    python demos/streaming_tts.py --model DIR_OR_HUB_ID   # a Vocos mel checkpoint
    python demos/streaming_tts.py --burst 4 --lookahead 2 --out out/tts.wav

The "TTS" here replays the log-mel of a shipped speech clip, ``--burst`` frames at a time, paced in real time
(``--no-pace`` to run flat out). For every burst it prints how much audio became final and how long the
vocoder took; at the end: time to first audio, the stream's algorithmic latency and the real-time factor.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from vocos_stream.cli import load_model
from vocos_stream.io.wav import read_wav, resample, write_wav

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="'builtin' (default) or a Vocos mel checkpoint directory / hub id")
    p.add_argument(
        "--text-audio",
        default=str(ROOT / "data/speech/arctic_a0007_24k.wav"),
        help="speech whose mel plays the part of the TTS output",
    )
    p.add_argument("--burst", type=int, default=4, help="frames per TTS burst (default 4 = 43 ms)")
    p.add_argument("--lookahead", type=int, help="low-latency mode (frames of future context)")
    p.add_argument("--no-pace", action="store_true", help="do not wait for real time between bursts")
    p.add_argument("--out", default="out/streaming_tts.wav")
    args = p.parse_args()

    vocoder, banner = load_model(args.model)
    print(banner, file=sys.stderr)
    if vocoder.config.feature_kind != "mel":
        p.error("this demo feeds mel frames: use a mel model (EnCodec models take codes)")
    torch.set_num_threads(1)
    sr, hop = vocoder.config.sample_rate, vocoder.config.hop_length
    audio, rate = read_wav(args.text_audio)
    mel = vocoder.feature_extractor(torch.from_numpy(resample(audio[:1], rate, sr)))
    stream = vocoder.stream(input="mel", lookahead=args.lookahead)

    pieces, busy = [], 0.0
    start = time.perf_counter()
    first_audio: float | None = None
    for i in range(0, mel.shape[-1], args.burst):
        arrival = start + i * hop / sr  # when a real-time TTS would have produced frame i
        if not args.no_pace and (wait := arrival - time.perf_counter()) > 0:
            time.sleep(wait)
        t = time.perf_counter()
        out = stream.push(mel[..., i : i + args.burst])
        busy += time.perf_counter() - t
        if out.shape[1] and first_audio is None:
            first_audio = time.perf_counter() - start
        pieces.append(out)
        print(
            f"frames {i:4d}-{min(i + args.burst, mel.shape[-1]) - 1:4d} in -> {out.shape[1]:5d} samples out "
            f"({1000 * (time.perf_counter() - t):.2f} ms)"
        )
    t = time.perf_counter()
    pieces.append(stream.flush())
    busy += time.perf_counter() - t
    result = torch.cat(pieces, dim=1)
    write_wav(args.out, result.numpy(), sr)
    seconds = result.shape[1] / sr
    print(f"\nwrote {args.out}: {seconds:.2f} s")
    print(
        f"time to first audio: {1000 * (first_audio or 0):.1f} ms after the first frame "
        f"(algorithmic latency {1000 * stream.latency_samples / sr:.1f} ms = {stream.latency_samples} samples)"
    )
    print(f"vocoder busy {busy:.3f} s for {seconds:.2f} s of audio: real-time factor {busy / seconds:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
