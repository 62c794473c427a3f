"""``vocos-stream resynth IN.wav OUT.wav``: copy-synthesis of a file, streamed through the vocoder.

Mel models and the builtin vocoder stream the audio itself (``stream(input="audio")``); EnCodec models encode
the file to codes, then stream the codes (``stream(input="codes")``). Start-up (loading the model, compiling
or loading the builtin's kernels) is reported apart from the processing, whose time gives the real-time factor.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..builtin.vocoder import BuiltinVocoder, PhaseStream
from ..engine.stream import VocosStream
from ..features.codes import EncodecFeatures
from ..io.wav import read_wav, resample, write_wav
from ..model.vocos import Vocos
from .common import (
    ENCODEC_WEIGHTS_NAME,
    UsageError,
    encodec_weights,
    input_file,
    load_model,
    non_negative_int,
    output_file,
    positive_float,
    positive_int,
)


def _wav_declared_rate(path: Path) -> int | None:
    """The sample rate in a RIFF/WAVE file's ``fmt`` chunk, or None: only to explain a file that failed to
    read (readers report a rate of 0 in their own words, if at all)."""
    with path.open("rb") as f:
        data = f.read(1 << 16)
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    at = 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        if data[at : at + 4] == b"fmt " and at + 16 <= len(data):
            return int.from_bytes(data[at + 12 : at + 16], "little")
        at += 8 + size + (size & 1)
    return None


def read_input(path: Path) -> tuple[np.ndarray, int]:
    """The input file's audio ``(channels, samples)`` and rate, or a :class:`UsageError` saying what is wrong."""
    broken = f"input {path} declares a sample rate of 0 Hz; its header is broken (rewrite the file with its real rate)"
    try:
        audio, rate = read_wav(path)
    except (ValueError, OSError, RuntimeError, EOFError) as e:  # soundfile raises RuntimeError subclasses
        if _wav_declared_rate(path) == 0:
            raise UsageError(broken) from e
        raise UsageError(f"cannot read input {path}: {e}") from e
    if rate <= 0:
        raise UsageError(broken)
    if audio.shape[-1] == 0:
        raise UsageError(f"input {path} holds no audio samples")
    return audio, rate


def _set_encodec(vocos: Vocos, weights: Path) -> None:
    try:
        vocos.set_encodec(weights)
    except (RuntimeError, pickle.UnpicklingError, EOFError, KeyError) as e:
        raise UsageError(
            f"cannot load EnCodec weights from {weights}: {e}. Pass the published encodec_24khz-d7cc33bc.th"
        ) from e


def _stream(vocos: Vocos | BuiltinVocoder, args: argparse.Namespace) -> VocosStream | PhaseStream:
    """The stream the file goes through (created before timing: the builtin compiles its kernels here)."""
    if isinstance(vocos, Vocos) and vocos.config.feature_kind == "encodec":
        bandwidth_id = vocos.config.bandwidth_id(args.bandwidth)
        return vocos.stream(input="codes", bandwidth_id=bandwidth_id, lookahead=args.lookahead)
    return vocos.stream(input="audio", lookahead=args.lookahead)


def _describe(stream: VocosStream | PhaseStream, sr: int) -> str:
    latency = f"latency {1000 * stream.latency_samples / sr:.1f} ms"
    if isinstance(stream, PhaseStream):
        return f"builtin, look-ahead {stream.algorithm.lookahead} frames, {latency}"
    mode = "exact" if stream.lookahead is None else f"look-ahead {stream.lookahead} frames (inexact)"
    return f"{mode}, {latency}"


def _kernels(stream: VocosStream | PhaseStream) -> str:
    if isinstance(stream, PhaseStream):
        from ..builtin.kernels import describe

        return f"; {describe(stream.algorithm.kernels)}"
    return ""


#: Seconds of audio from which the builtin's numba kernels pay for their start-up: importing numba and
#: initialising its compiler take ~1 s even when the kernels come from the cache, and save 0.65 ms (README's
#: kernel table) to a few ms (a busy host) per 10.67 ms frame over numpy; benchmarks/startup.py prints the
#: break-even it measures (6 to 16 s of audio so far).
NUMBA_PAYS_OFF_SECONDS = 10.0


def _builtin_kernels(choice: str, seconds: float) -> str:
    """``--kernels auto``: numpy for a file too short for numba's start-up to pay off, else numba if installed.
    (Both give the same samples; a live stream, which runs for long, always prefers numba.)"""
    if choice != "auto":
        return choice
    return "auto" if seconds >= NUMBA_PAYS_OFF_SECONDS else "numpy"


def _process(
    vocos: Vocos | BuiltinVocoder, stream: VocosStream | PhaseStream, audio: torch.Tensor, args: argparse.Namespace
) -> tuple[torch.Tensor, str]:
    """Copy-synthesis of ``audio`` ``(channels, samples)`` at the model's rate; returns it and how it was made."""
    sr = vocos.config.sample_rate
    if isinstance(vocos, Vocos) and isinstance(vocos.feature_extractor, EncodecFeatures):
        assert vocos.feature_extractor.tokenizer is not None
        data = vocos.feature_extractor.tokenizer.encode(audio, args.bandwidth)  # codes (K, B, frames)
        step = max(1, round(args.chunk_ms * vocos.config.frame_rate / 1000))
        unit = f"{step}-frame pushes of {data.shape[0]} codebooks ({args.bandwidth:g} kbps)"
        if args.offline:
            bandwidth_id = torch.tensor([vocos.config.bandwidth_id(args.bandwidth)])
            return vocos.decode(vocos.codes_to_features(data), bandwidth_id=bandwidth_id), "offline, EnCodec codes"
    else:
        data, step = audio, max(1, round(args.chunk_ms * sr / 1000))
        unit = f"{step}-sample pushes"
        if args.offline:
            return vocos(audio), "offline, the whole file at once"
    outs = [stream.push(data[..., i : i + step]) for i in range(0, data.shape[-1], step)]  # as a live source would
    return torch.cat([*outs, stream.flush()], dim=1), f"streamed in {unit}, {_describe(stream, sr)}"


def cmd_resynth(args: argparse.Namespace) -> int:
    if args.offline and args.lookahead is not None:
        raise UsageError("--lookahead applies to streaming; --offline decodes the whole file at once, exactly")
    source, target = input_file(args.input), output_file(args.output)
    audio, rate = read_input(source)  # before loading the model: a bad file fails at once
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    vocos, banner = load_model(args.model, kernels=_builtin_kernels(args.kernels, audio.shape[-1] / rate))
    print(banner, file=sys.stderr)
    if args.kernels != "auto" and not isinstance(vocos, BuiltinVocoder):
        raise UsageError("--kernels applies to the builtin vocoder only")
    if args.encodec_weights is not None and not (isinstance(vocos, Vocos) and vocos.config.feature_kind == "encodec"):
        raise UsageError("--encodec-weights applies to EnCodec models only; this vocoder takes log-mel")
    loaded = time.perf_counter()
    stream = _stream(vocos, args)  # checks --bandwidth and --lookahead; the builtin compiles its kernels here
    prepare = time.perf_counter() - loaded
    if isinstance(vocos, Vocos) and vocos.config.feature_kind == "encodec":
        _set_encodec(vocos, encodec_weights(args.encodec_weights))
    startup = time.perf_counter() - start

    sr = vocos.config.sample_rate
    batch = torch.from_numpy(resample(audio, rate, sr))  # channels are processed as a batch
    begin = time.perf_counter()
    out, how = _process(vocos, stream, batch, args)
    elapsed = time.perf_counter() - begin

    write_wav(target, out.numpy(), sr)
    seconds = out.shape[-1] / sr
    speed = f"real-time factor {elapsed / seconds:.4f}" if seconds > 0 else "real-time factor n/a: no audio out"
    print(f"wrote {target}: {seconds:.2f} s of audio ({how})")
    print(
        f"start-up {startup:.3f} s (model {startup - prepare:.3f} s, stream {prepare:.3f} s{_kernels(stream)}); "
        f"processing {elapsed:.3f} s, {speed} ({args.threads} thread(s))"
    )
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("resynth", help="copy-synthesis of a WAV file, streamed through the vocoder")
    p.add_argument("input", help="input WAV file (any rate; resampled to the model's)")
    p.add_argument("output", help="output WAV file (16-bit PCM at the model's rate)")
    p.add_argument("--model", help="'builtin' (default: no weights) or a Vocos checkpoint directory / hub repo id")
    p.add_argument("--bandwidth", type=float, default=6.0, help="EnCodec bandwidth in kbps (EnCodec models)")
    p.add_argument(
        "--encodec-weights",
        metavar="PATH",
        help=f"EnCodec models: Meta's {ENCODEC_WEIGHTS_NAME} used to encode the audio (never downloaded; "
        "default: the encodec package's copy in the torch.hub cache)",
    )
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--chunk-ms", type=positive_float, default=10.0, help="audio per push when streaming (default 10 ms)"
    )
    p.add_argument(
        "--lookahead",
        type=non_negative_int,
        metavar="FRAMES",
        help="frames of future context each output sample waits for; fewer means lower latency. Default: exact "
        "for Vocos models (the whole receptive field); 2 for the builtin vocoder (its config's look-ahead; "
        "more raises its latency and quality)",
    )
    p.add_argument(
        "--kernels",
        choices=("auto", "numba", "numpy"),
        default="auto",
        help="builtin vocoder: per-frame kernels (same output). auto: numpy for files shorter than "
        f"{NUMBA_PAYS_OFF_SECONDS:g} s, where numba's ~1 s start-up costs more than it saves; numba otherwise",
    )
    p.add_argument("--offline", action="store_true", help="decode the whole file at once instead of streaming")
    p.set_defaults(func=cmd_resynth)
