"""Command line: ``vocos-stream resynth IN.wav OUT.wav`` and ``vocos-stream convert SRC DIR``.

Run ``vocos-stream --help`` (or ``python -m vocos_stream.cli --help``) for the options.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import torch

from .builtin.vocoder import BUILTIN_NAME, BuiltinVocoder, PhaseStream
from .checkpoint.files import CheckpointError
from .config import ConfigError
from .io.wav import read_wav, resample, write_wav
from .model.vocos import Vocos


def load_model(name: str | None) -> tuple[Vocos | BuiltinVocoder, str]:
    """The vocoder a user named (the builtin one when none), and a line saying what it is."""
    if name is None or name == BUILTIN_NAME:
        vocoder = BuiltinVocoder()
        c = vocoder.config
        how = "no --model given, so" if name is None else "--model builtin:"
        return vocoder, (
            f"{how} using the builtin vocoder: streaming phase reconstruction (RTISI-LA, look-ahead "
            f"{c.lookahead} frames, {c.iterations} iterations, {c.init} initial phase) over vocos-mel-24khz's "
            "log-mel, no weights needed. "
            "Pass --model DIR_OR_HUB_ID for a Vocos checkpoint, e.g. charactr/vocos-mel-24khz."
        )
    vocos = Vocos.from_pretrained(name)
    return vocos, f"vocoder: Vocos {name} ({vocos.config.feature_kind} features, {vocos.config.sample_rate} Hz)"


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


def cmd_convert(args: argparse.Namespace) -> int:
    vocos = Vocos.from_pretrained(args.source, revision=args.revision)
    path = vocos.save_pretrained(args.directory)
    print(f"saved {args.source} to {path} (config.json + model.safetensors)")
    print(f"load it offline with Vocos.from_pretrained({str(path)!r})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vocos-stream", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

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

    p = sub.add_parser("convert", help="save a checkpoint as config.json + model.safetensors for offline use")
    p.add_argument("source", help="checkpoint directory or Hugging Face repo id")
    p.add_argument("directory", help="output directory")
    p.add_argument("--revision", help="hub revision (branch, tag or commit)")
    p.set_defaults(func=cmd_convert)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (CheckpointError, ConfigError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
