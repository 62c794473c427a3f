"""Websocket server under load: N concurrent real-time TTS-like clients, time to first audio and continuity.

    python benchmarks/server_load.py                       # builtin vocoder, 1, 4, 16 clients
    python benchmarks/server_load.py --model DIR --clients 1,8,32
    python benchmarks/server_load.py --quick               # 1 and 4 clients, 2 s each

Starts ``vocos-stream serve --port 0`` (a separate process, as deployed) and, per client count, runs that many
sessions at once from this process. Each client sends the log-mel of a shipped speech clip (codes at 75 Hz for
an EnCodec model: random codes, the speed does not depend on them) in bursts of ``--burst`` frames paced in
real time, starts staggered over 0.5 s, and plays what comes back from its first audio (``--prebuffer-ms``).
Per client count: time to first audio (client side: first input sent -> first audio received) p50/p95 against
the algorithmic latency, underruns summed over the clients, the server's step time p50/p95/p99 and its
real-time factor (compute time / audio produced, all sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vocos_stream.features.mel import MelSpectrogramFeatures  # noqa: E402
from vocos_stream.io.wav import read_wav, resample  # noqa: E402
from vocos_stream.serving.client import Client, StreamReport, stream_utterances  # noqa: E402
from vocos_stream.serving.server import spawn_server  # noqa: E402


def get_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url.replace("ws://", "http://", 1) + "/stats", timeout=30) as response:
        stats: dict[str, Any] = json.load(response)
    return stats


def inputs(ready: dict[str, Any], seconds: float) -> np.ndarray:
    frames = round(seconds * ready["frame_rate"])
    if ready["input"] == "codes":
        return np.random.default_rng(0).integers(0, 1024, (ready["num_codebooks"], frames))
    audio, sr = read_wav(ROOT / "data/speech/arctic_a0007_24k.wav")
    audio = torch.from_numpy(resample(audio[:1], sr, ready["sample_rate"]))
    mel = MelSpectrogramFeatures(ready["sample_rate"], 1024, ready["hop_length"], ready["channels"], "center")
    x: np.ndarray = mel(audio)[0].numpy()
    return np.concatenate([x] * (1 + frames // x.shape[1]), axis=1)[:, :frames]


async def one_client(url: str, x: np.ndarray, args: argparse.Namespace, seed: int) -> StreamReport:
    await asyncio.sleep(random.Random(seed).uniform(0, 0.5))
    return await stream_utterances(
        url,
        [x],
        chunk=args.burst,
        jitter_s=args.jitter_ms / 1000,
        prebuffer_s=args.prebuffer_ms / 1000,
        seed=seed,
    )


async def run(url: str, args: argparse.Namespace) -> None:
    async with await Client.connect(url) as probe:
        ready = probe.ready
    x = inputs(ready, args.seconds)
    latency_ms = 1000 * ready["latency_samples"] / ready["sample_rate"]
    print(
        f"model {ready['model']}, {ready['input']} in, bursts of {args.burst} frames "
        f"({1000 * args.burst / ready['frame_rate']:.1f} ms) with up to {args.jitter_ms:g} ms jitter, "
        f"{args.seconds:g} s per client; algorithmic latency {latency_ms:.1f} ms\n"
    )
    print("| clients | first audio p50 (ms) | p95 (ms) | underruns (all) | step p50/p95/p99 (ms) | server RTF |")
    print("|---:|---:|---:|---:|---|---:|")
    for n in args.clients:
        before = get_stats(url)
        reports = await asyncio.gather(*(one_client(url, x, args, seed) for seed in range(n)))
        after = get_stats(url)
        firsts = [1000 * r.first_audio_s[0] for r in reports if r.first_audio_s[0] is not None]
        audio_s = sum(r.audio_s for r in reports)
        rtf = (after["busy_s"] - before["busy_s"]) / audio_s
        step = after["step_ms"]  # over the server's recent steps: mostly this round's
        p50, p95 = np.percentile(firsts, [50, 95])
        underruns = sum(r.underruns for r in reports)
        print(
            f"| {n} | {p50:.1f} | {p95:.1f} | {underruns} | "
            f"{step['p50']:.1f} / {step['p95']:.1f} / {step['p99']:.1f} | {rtf:.3f} |"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="'builtin' (default) or a Vocos checkpoint directory / hub id")
    p.add_argument("--clients", default="1,4,16", help="comma-separated client counts (default 1,4,16)")
    p.add_argument("--seconds", type=float, default=4.0, help="audio per client (default 4)")
    p.add_argument("--burst", type=int, default=4, help="frames per message (default 4)")
    p.add_argument("--jitter-ms", type=float, default=10.0)
    p.add_argument("--prebuffer-ms", type=float, default=50.0)
    p.add_argument("--threads", type=int, default=1, help="the server's compute threads")
    p.add_argument("--quick", action="store_true", help="1 and 4 clients, 2 s each")
    args = p.parse_args()
    if args.quick:
        args.clients, args.seconds = "1,4", 2.0
    args.clients = [int(n) for n in args.clients.split(",")]
    server_args = ["--threads", str(args.threads), "--max-sessions", str(max(64, max(args.clients) + 1))]
    if args.model:
        server_args += ["--model", args.model]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    child, url = spawn_server(*server_args, env=env)
    try:
        asyncio.run(run(url, args))
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
