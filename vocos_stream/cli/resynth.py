"""``vocos-stream resynth IN.wav OUT.wav``: copy-synthesis of a file, streamed through the vocoder."""

from __future__ import annotations

import argparse
import sys
import time

import torch

from ..builtin.vocoder import PhaseStream
from ..io.wav import read_wav, resample, write_wav
from .common import load_model


def cmd_resynth(args: argparse.Namespace) -> int:
    vocos, banner = load_model(args.model)
    print(banner, file=sys.stderr)
    audio, rate = read_wav(args.input)
    sr = vocos.config.sample_rate
    batch = torch.from_numpy(resample(audio, rate, sr))  # channels are processed as a batch
    torch.set_num_threads(args.threads)
    if vocos.config.feature_kind == "encodec" or args.offline:
        kwargs = {}
        if vocos.config.feature_kind == "encodec":
            kwargs["bandwidth_id"] = torch.tensor([vocos.config.bandwidth_id(args.bandwidth)])
        start = time.perf_counter()
        out = vocos(batch, **kwargs)
        elapsed, how = time.perf_counter() - start, "offline"
    else:
        chunk = max(1, round(args.chunk_ms * sr / 1000))
        stream = vocos.stream(input="audio", lookahead=args.lookahead)
        pieces, start = [], time.perf_counter()
        for i in range(0, batch.shape[1], chunk):  # as a live source would deliver it
            pieces.append(stream.push(batch[:, i : i + chunk]))
        pieces.append(stream.flush())
        elapsed = time.perf_counter() - start
        out = torch.cat(pieces, dim=1)
        if isinstance(stream, PhaseStream):
            mode = f"builtin, look-ahead {stream.algorithm.lookahead} frames"
        else:
            mode = "exact" if args.lookahead is None else f"lookahead {args.lookahead} frames"
        how = f"streamed in {chunk}-sample pushes, {mode}, latency {1000 * stream.latency_samples / sr:.1f} ms"
    write_wav(args.output, out.numpy(), sr)
    seconds = out.shape[-1] / sr
    print(
        f"wrote {args.output}: {seconds:.2f} s of audio in {elapsed:.3f} s ({how}; "
        f"real-time factor {elapsed / max(seconds, 1e-9):.4f}, {args.threads} thread(s))"
    )
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("resynth", help="copy-synthesis of a WAV file, streamed through the vocoder")
    p.add_argument("input", help="input WAV file (any rate; resampled to the model's)")
    p.add_argument("output", help="output WAV file (16-bit PCM at the model's rate)")
    p.add_argument("--model", help="'builtin' (default: no weights) or a Vocos checkpoint directory / hub repo id")
    p.add_argument("--bandwidth", type=float, default=6.0, help="EnCodec bandwidth in kbps (EnCodec models)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--chunk-ms", type=float, default=10.0, help="audio per push when streaming (default 10 ms)")
    p.add_argument("--lookahead", type=int, help="low-latency mode: frames of future context (default: exact)")
    p.add_argument("--offline", action="store_true", help="decode the whole file at once instead of streaming")
    p.set_defaults(func=cmd_resynth)
