"""``vocos-stream client URL INPUT OUTPUT.wav``: send a file to a server, write the audio it sends back.

INPUT: a ``.wav`` (audio in, copy-synthesis; resampled to the server's rate, first channel), or ``.npy`` /
``.pt`` holding codes (integers, ``(K, t)``) or mel frames (floats, ``(C, t)``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .serve import TOKEN_ENV


def load_input(path: str) -> tuple[str, np.ndarray | None, tuple[np.ndarray, int] | None]:
    """(input kind, array for codes/mel, (audio, rate) for WAV)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".wav":
        from ..io.wav import read_wav

        audio, rate = read_wav(path)
        return "audio", None, (audio[0], rate)
    if suffix == ".npy":
        x = np.load(path, allow_pickle=False)
    elif suffix == ".pt":
        import torch

        x = torch.load(path, map_location="cpu", weights_only=True).numpy()
    else:
        raise ValueError(f"{path}: INPUT must be .wav (audio), or .npy / .pt (codes or mel)")
    x = np.squeeze(x)
    if x.ndim != 2:
        raise ValueError(f"{path}: expected codes (K, t) or mel (C, t), got shape {x.shape}")
    kind = "codes" if np.issubdtype(x.dtype, np.integer) else "mel"
    return kind, x, None


def cmd_client(args: argparse.Namespace) -> int:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

    from ..io.wav import resample, write_wav
    from ..serving.client import ServerError, stream_utterances

    kind, x, wav = load_input(args.input)
    if wav is not None:
        audio, rate = wav
        x = resample(audio, rate, args.rate)
    assert x is not None
    token = args.token or os.environ.get(TOKEN_ENV) or None
    options: dict[str, Any] = {}
    if kind == "codes":
        options["bandwidth"] = args.bandwidth or {2: 1.5, 4: 3.0, 8: 6.0, 16: 12.0}.get(x.shape[0])
    try:
        report = asyncio.run(
            stream_utterances(
                args.url,
                [x],
                input=kind,  # type: ignore[arg-type]
                token=token,
                format=args.format,
                lookahead=args.lookahead,
                chunk=args.chunk,
                pace=not args.flat_out,
                jitter_s=args.jitter_ms / 1000,
                **options,
            )
        )
    except InvalidStatus as e:
        body = e.response.body.decode(errors="replace").strip()
        print(f"error: the server refused the connection: HTTP {e.response.status_code}: {body}", file=sys.stderr)
        return 2
    except ConnectionClosed as e:
        rcvd = e.rcvd
        why = f"{rcvd.code} {rcvd.reason}" if rcvd is not None else "without a close frame"
        print(f"error: the server closed the connection: {why}", file=sys.stderr)
        return 2
    except ServerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OSError, InvalidHandshake, InvalidURI) as e:
        print(f"error: cannot connect to {args.url}: {e}", file=sys.stderr)
        return 2
    ready = report.ready
    sr = ready["sample_rate"]
    if ready["sample_rate"] != args.rate and wav is not None:
        print(f"note: the server runs at {sr} Hz; pass --rate {sr} to send audio at its rate", file=sys.stderr)
    for refused in report.errors:
        print(f"server error {refused['code']}: {refused['message']}", file=sys.stderr)
    out = np.concatenate(report.audio)
    write_wav(args.output, out, sr)
    first = report.first_audio_s[0]
    print(f"wrote {args.output}: {out.shape[0] / sr:.2f} s of audio from {ready['model']} ({kind} in)")
    print(
        f"time to first audio: {'none' if first is None else f'{1000 * first:.1f} ms'}; algorithmic latency "
        f"{1000 * ready['latency_samples'] / sr:.1f} ms ({ready['latency_samples']} samples)"
    )
    print(
        f"continuity: {report.underruns} underruns ({1000 * report.stall_s:.1f} ms stalled), longest gap "
        f"{1000 * report.max_gap_s:.1f} ms; wall {report.wall_s:.2f} s; closed with {report.close_code}"
    )
    return 0 if not report.errors else 1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("client", help="send a file to a vocos-stream server, write the audio it returns")
    p.add_argument("url", help="server address, e.g. ws://127.0.0.1:8765")
    p.add_argument("input", help=".wav (audio in), .npy/.pt codes (integers, (K, t)) or mel (floats, (C, t))")
    p.add_argument("output", help="output WAV file (16-bit at the server's rate)")
    p.add_argument("--token", help=f"bearer token (default ${TOKEN_ENV} if set)")
    p.add_argument("--format", choices=["s16le", "f32le"], default="s16le", help="PCM the server sends")
    p.add_argument("--bandwidth", type=float, help="EnCodec kbps for codes (default: from the codebook count)")
    p.add_argument("--lookahead", type=int, help="low-latency mode: frames of future context")
    p.add_argument("--chunk", type=int, default=4, help="frames per message (256 samples each for audio; default 4)")
    p.add_argument("--flat-out", action="store_true", help="send as fast as possible (default: real-time pace)")
    p.add_argument("--jitter-ms", type=float, default=0.0, help="delay each message by a random 0..J ms")
    p.add_argument("--rate", type=int, default=24000, help="sample rate to send WAV audio at (the server's)")
    p.set_defaults(func=cmd_client)
