"""Streaming speed, as ratios measured in one run: ours vs offline decode and vs windowed re-decoding.

    python benchmarks/stream_speed.py                    # vocos-mel-24khz architecture, random weights
    python benchmarks/stream_speed.py --model DIR_OR_ID  # a real checkpoint (speed does not depend on weights)

For each thread count (1 and 2) and chunk size (1, 2, 4, 8, 16 frames) it times, interleaved and repeated
(median of --repeats):

* offline ``vocos.decode`` of the whole clip's mel (the reference throughput);
* our exact stream, pushing ``chunk`` frames at a time: throughput = offline time / stream time;
* the windowed re-decode baseline (the streaming-vocos method, re-implemented here): for every chunk, decode the
  chunk with ``--pad`` frames of context on each side and keep the chunk's samples; speedup = its time / ours;
* per-push compute at 1 frame as a fraction of the audio the push produces (10.67 ms at 24 kHz, hop 256).

It also times 8 streams batched into one (B = 8, 1 frame each): the way to serve many streams, since a 1-frame
push is bound by reading the pointwise weights (about 50 MB) from memory, whatever the batch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from vocos_stream import Vocos, mel_24khz_config
from vocos_stream.io.wav import read_wav, resample

ROOT = Path(__file__).resolve().parents[1]


def load(name: str | None) -> Vocos:
    if name:
        return Vocos.from_pretrained(name)
    torch.manual_seed(0)
    return Vocos(mel_24khz_config())


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def stream_all(vocos: Vocos, feats: torch.Tensor, chunk: int, push_times: list[float] | None = None) -> None:
    s = vocos.stream()
    for i in range(0, feats.shape[-1], chunk):
        t = time.perf_counter()
        s.push(feats[..., i : i + chunk])
        if push_times is not None:
            push_times.append(time.perf_counter() - t)
    s.flush()


def redecode_all(vocos: Vocos, feats: torch.Tensor, chunk: int, pad: int) -> torch.Tensor:
    """streaming-vocos: decode each chunk inside a window of +-pad frames, keep the chunk's samples."""
    hop, frames, outs = vocos.config.hop_length, feats.shape[-1], []
    for i in range(0, frames, chunk):
        lo, hi = max(0, i - pad), min(frames, i + chunk + pad)
        audio = vocos.decode(feats[..., lo:hi])
        outs.append(audio[:, (i - lo) * hop : (min(i + chunk, frames) - lo) * hop])
    return torch.cat(outs, dim=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="checkpoint directory or hub id (default: random weights)")
    p.add_argument("--input", default=str(ROOT / "data/speech/arctic_a0007_24k.wav"))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--pad", type=int, default=29, help="context frames of the re-decode baseline (29 = exact)")
    p.add_argument("--chunks", default="1,2,4,8,16")
    p.add_argument("--threads", default="1,2")
    args = p.parse_args()

    vocos = load(args.model)
    audio, rate = read_wav(args.input)
    mel = vocos.feature_extractor(torch.from_numpy(resample(audio[:1], rate, vocos.config.sample_rate)))
    frames = mel.shape[-1]
    hop_ms = 1000 * vocos.config.hop_length / vocos.config.sample_rate
    chunks = [int(c) for c in args.chunks.split(",")]
    print(f"# {frames} frames ({frames * hop_ms / 1000:.2f} s), torch {torch.__version__}, {args.repeats} repeats")
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        offline, ours, base, push_times = [], {c: [] for c in chunks}, {c: [] for c in chunks}, []
        batched: list[float] = []
        feats8 = mel.repeat(8, 1, 1)
        with torch.inference_mode():
            for _ in range(args.repeats):
                offline.append(timed(partial(vocos.decode, mel)))
                for c in chunks:
                    ours[c].append(timed(partial(stream_all, vocos, mel, c, push_times if c == 1 else None)))
                    base[c].append(timed(partial(redecode_all, vocos, mel, c, args.pad)))
                batched.append(timed(partial(stream_all, vocos, feats8, 1)))
        off = statistics.median(offline)
        print(
            f"\n## {threads} thread(s): offline decode {1000 * off / frames:.3f} ms/frame "
            f"(real-time factor {off / (frames * hop_ms / 1000):.4f})"
        )
        print(f"| chunk (frames) | ms per push | throughput vs offline | speedup vs re-decode (pad {args.pad}) |")
        print("|---:|---:|---:|---:|")
        for c in chunks:
            t = statistics.median(ours[c])
            pushes = -(-frames // c)
            print(f"| {c} | {1000 * t / pushes:.2f} | {off / t:.3f}x | {statistics.median(base[c]) / t:.1f}x |")
        per_push = sorted(push_times)
        med, p95 = statistics.median(per_push), per_push[int(0.95 * (len(per_push) - 1))]
        print(
            f"\n1-frame push: median {1000 * med:.2f} ms = {1000 * med / hop_ms:.2f} of the {hop_ms:.2f} ms it "
            f"produces (p95 {1000 * p95 / hop_ms:.2f})"
        )
        b = statistics.median(batched)
        print(
            f"8 streams batched, 1 frame each: {1000 * b / frames:.2f} ms per push of 8 frames = "
            f"{off * 8 / b:.3f}x offline throughput per stream-frame"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
