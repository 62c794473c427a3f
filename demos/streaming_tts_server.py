"""Streaming TTS token-to-audio through the websocket server: a simulated TTS emits codes (or mel frames) in
bursts at its frame rate with jitter; the server turns them into audio as they arrive.

    python demos/streaming_tts_server.py                                  # starts a server itself (builtin: mel)
    vocos-stream serve & python demos/streaming_tts_server.py --url ws://127.0.0.1:8765
    python tools/make_random_checkpoint.py encodec out/enc
    python demos/streaming_tts_server.py --model out/enc                  # EnCodec codes at 75 Hz

Without ``--url`` it starts ``vocos-stream serve --port 0`` (with ``--model`` if given) and stops it at the end.
The "TTS" replays two shipped speech clips as two utterances (``flush`` between them, one socket):

- mel models (the builtin, no weights): their log-mel frames, 93.75 per second;
- EnCodec models: codes at 75 per second, from ``--codes FILE.npy`` ``(K, t)``, or from the EnCodec encoder
  over the clips with ``--encodec`` (needs the encodec package and its downloadable weights), else random
  codes (random-weight checkpoints make noise anyway; the demo says which it used).

Each burst of ``--burst`` frames leaves when a real-time TTS would have produced it, late by a random
0..``--jitter-ms``. It prints time to first audio per utterance, the stream's algorithmic latency, continuity
at the receiver (underruns of a player that starts at the first audio plus ``--prebuffer-ms``) and the
server's real-time factor (its compute time over the audio's duration; server-wide on a shared server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
from vocos_stream.io.wav import read_wav, resample, write_wav  # noqa: E402
from vocos_stream.serving.client import stream_utterances  # noqa: E402
from vocos_stream.serving.server import spawn_server  # noqa: E402

CLIPS = [ROOT / "data/speech/arctic_a0007_24k.wav", ROOT / "data/speech/arctic_a0009_24k.wav"]


def server_stats(url: str, token: str | None) -> dict[str, Any]:
    request = urllib.request.Request(url.replace("ws://", "http://", 1) + "/stats")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        stats: dict[str, Any] = json.load(response)
    return stats


def clips_audio(rate: int) -> list[torch.Tensor]:
    out = []
    for path in CLIPS:
        audio, sr = read_wav(path)
        out.append(torch.from_numpy(resample(audio[:1], sr, rate)))
    return out


def tts_mel(info: dict[str, Any]) -> list[np.ndarray]:
    """The clips' log-mel (vocos-mel-24khz front-end, which the builtin shares)."""
    mel = MelSpectrogramFeatures(info["sample_rate"], 1024, info["hop_length"], info["channels"], "center")
    return [mel(a)[0].numpy() for a in clips_audio(info["sample_rate"])]


def tts_codes(args: argparse.Namespace, info: dict[str, Any]) -> tuple[list[np.ndarray], str]:
    k = info["num_codebooks"]
    if args.codes:
        codes = np.load(args.codes).astype(np.int64)
        codes = codes.reshape(codes.shape[0], -1)[:k]
        half = codes.shape[1] // 2
        return [codes[:, :half], codes[:, half:]], f"codes from {args.codes}"
    if args.encodec:
        from vocos_stream.features.encodec_tokenizer import EncodecTokenizer

        tokenizer = EncodecTokenizer.from_pretrained()
        out = [tokenizer.encode(a, info["bandwidth"])[:, 0].numpy() for a in clips_audio(info["sample_rate"])]
        return out, "codes from the EnCodec encoder over the shipped clips"
    rng = np.random.default_rng(0)
    lengths = [round(info["frame_rate"] * s) for s in (2.5, 1.5)]
    return [rng.integers(0, 1024, (k, n)) for n in lengths], "random codes (pass --codes FILE.npy or --encodec)"


async def run(args: argparse.Namespace, url: str) -> int:
    from vocos_stream.serving.client import Client

    # One short session to learn what the server serves, then the real run.
    async with await Client.connect(url, token=args.token) as probe:
        info = probe.ready
    if info["input"] == "codes":
        probe_k = {1.5: 2, 3.0: 4, 6.0: 8, 12.0: 16}[args.bandwidth]
        info = {**info, "num_codebooks": probe_k, "bandwidth": args.bandwidth}
        utterances, source = tts_codes(args, info)
    else:
        utterances, source = tts_mel(info), "log-mel frames of two shipped speech clips"
        if info["model"] == "builtin":
            print("no weights: the server runs the builtin vocoder, so the TTS sends mel frames", file=sys.stderr)
    rate = info["frame_rate"]
    print(f"server {url}: model {info['model']}, {info['input']} in at {rate:g} frames/s; TTS: {source}")
    before = server_stats(url, args.token)
    report = await stream_utterances(
        url,
        utterances,
        input=info["input"],
        token=args.token,
        bandwidth=args.bandwidth if info["input"] == "codes" else None,
        lookahead=args.lookahead,
        chunk=args.burst,
        pace=not args.no_pace,
        jitter_s=args.jitter_ms / 1000,
        prebuffer_s=args.prebuffer_ms / 1000,
        dtype="f16" if info["input"] == "mel" else "f32",
    )
    after = server_stats(url, args.token)
    ready, sr = report.ready, report.ready["sample_rate"]
    audio = np.concatenate(report.audio)
    write_wav(args.out, audio, sr)
    for e in report.errors:
        print(f"server error {e['code']}: {e['message']}")
    print(f"\nwrote {args.out}: {audio.shape[0] / sr:.2f} s of audio, {len(utterances)} utterances on one socket")
    for i, first in enumerate(report.first_audio_s):
        print(f"utterance {i}: time to first audio {'none' if first is None else f'{1000 * first:.1f} ms'}")
    latency = ready["latency_samples"]
    print(
        f"algorithmic latency {1000 * latency / sr:.1f} ms ({latency} samples); bursts of {args.burst} frames = "
        f"{1000 * args.burst / rate:.1f} ms, jitter up to {args.jitter_ms:g} ms"
    )
    print(
        f"continuity: {report.underruns} underruns at the receiver ({1000 * report.stall_s:.1f} ms stalled in all, "
        f"player prebuffer {args.prebuffer_ms:g} ms); longest gap between audio messages "
        f"{1000 * report.max_gap_s:.1f} ms"
    )
    busy = after["busy_s"] - before["busy_s"]
    seconds = report.audio_s
    print(f"server compute {busy:.3f} s for {seconds:.2f} s of audio: real-time factor {busy / seconds:.3f}")
    return 1 if report.errors else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", help="a running server (default: start one on port 0)")
    p.add_argument("--model", help="when starting a server: 'builtin' (default) or a Vocos mel/EnCodec checkpoint")
    p.add_argument("--token", default=os.environ.get("VOCOS_STREAM_TOKEN"), help="the server's bearer token")
    p.add_argument("--codes", help="EnCodec codes (K, t) .npy to replay (EnCodec models)")
    p.add_argument("--encodec", action="store_true", help="encode the clips with EnCodec (needs its weights)")
    p.add_argument("--bandwidth", type=float, default=6.0, choices=[1.5, 3.0, 6.0, 12.0], help="kbps (codes)")
    p.add_argument("--lookahead", type=int, help="low-latency mode: frames of future context")
    p.add_argument("--burst", type=int, default=6, help="frames per TTS burst (default 6: 80 ms of codes)")
    p.add_argument("--jitter-ms", type=float, default=20.0, help="each burst late by a random 0..J ms")
    p.add_argument("--prebuffer-ms", type=float, default=50.0, help="the receiving player's start-up buffer")
    p.add_argument("--no-pace", action="store_true", help="send flat out instead of at the TTS's pace")
    p.add_argument("--out", default="out/streaming_tts_server.wav")
    args = p.parse_args()
    child = None
    url = args.url
    if url is None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        if args.token:
            env["VOCOS_STREAM_TOKEN"] = args.token
        child, url = spawn_server(*(["--model", args.model] if args.model else []), env=env)
    try:
        return asyncio.run(run(args, url))
    finally:
        if child is not None:
            child.send_signal(signal.SIGTERM)
            child.wait(30)


if __name__ == "__main__":
    raise SystemExit(main())
