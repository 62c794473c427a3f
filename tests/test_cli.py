"""The command line: every user mistake is one ``error:`` line and exit status 2 (no traceback unless
``--debug``); the EnCodec path is streamed from codes without any download; start-up is reported apart from
the real-time factor."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from checkpoints import write_charactr
from conftest import Golden

from vocos_stream.cli import build_parser, main, resynth
from vocos_stream.cli.common import ENCODEC_WEIGHTS_NAME, UsageError
from vocos_stream.features.encodec_tokenizer import EncodecTokenizer
from vocos_stream.io.wav import read_wav, write_wav

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO / "data" / "speech" / "arctic_a0007_24k.wav"


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(args)`` as the console script runs it: argparse's own errors leave through SystemExit."""
    try:
        code = main(args)
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def wav_header(rate: int, channels: int = 1, bits: int = 16, data: bytes = b"") -> bytes:
    """A PCM WAV file written by hand (the wave module refuses to write a sample rate of 0)."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Inputs, models and weights for the bad-input table."""
    d = tmp_path_factory.mktemp("cli")
    (d / "a_file").write_text("not a directory")
    (d / "rate0.wav").write_bytes(wav_header(0, data=bytes(4800)))
    (d / "empty.wav").write_bytes(wav_header(24000))
    (d / "riff_only.wav").write_bytes(b"RIFF")
    (d / "noise.wav").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)))
    (d / "not_a_checkpoint").mkdir()
    g = Golden("encodec_tiny_center")
    write_charactr(d / "encodec_model", g.config_yaml, g.state())
    m = Golden("mel_tiny_center")
    write_charactr(d / "mel_model", m.config_yaml, m.state())
    broken = yaml.safe_load(yaml.safe_dump(m.config_yaml))
    broken["backbone"]["init_args"]["num_layers"] = "eight"
    write_charactr(d / "broken_config", broken, m.state())
    (d / "bad_encodec.th").write_bytes(b"\x00" * 100)
    return {p.name: p for p in d.iterdir()}


def resynth_args(out: Path, *more: str) -> list[str]:
    """``resynth`` of the shipped clip into ``out/x.wav``, plus ``more``."""
    return ["resynth", str(SPEECH), str(out / "x.wav"), *more]


# Each case: the arguments (given the files above and an output directory) and what the error line must say.
BAD: dict[str, tuple[Callable[[dict[str, Path], Path], list[str]], str]] = {
    "input is a directory": (lambda f, o: ["resynth", str(o), str(o / "x.wav")], "is a directory; give a file"),
    "output is a directory": (lambda f, o: ["resynth", str(SPEECH), str(o)], "is a directory; give a file name"),
    "output parent is a file": (
        lambda f, o: ["resynth", str(SPEECH), str(f["a_file"] / "x.wav")],
        "a_file is a file, not a directory",
    ),
    "sample rate 0": (lambda f, o: ["resynth", str(f["rate0.wav"]), str(o / "x.wav")], "sample rate of 0 Hz"),
    "no samples": (lambda f, o: ["resynth", str(f["empty.wav"]), str(o / "x.wav")], "holds no audio samples"),
    "missing input": (lambda f, o: ["resynth", str(o / "nope.wav"), str(o / "x.wav")], "nope.wav does not exist"),
    "truncated WAV": (lambda f, o: ["resynth", str(f["riff_only.wav"]), str(o / "x.wav")], "cannot read input"),
    "not a WAV": (lambda f, o: ["resynth", str(f["noise.wav"]), str(o / "x.wav")], "cannot read input"),
    "threads 0": (lambda f, o: resynth_args(o, "--threads", "0"), "--threads: must be a whole number >= 1"),
    "threads -1": (lambda f, o: resynth_args(o, "--threads", "-1"), "--threads: must be"),
    "threads two": (lambda f, o: resynth_args(o, "--threads", "two"), "--threads: must be"),
    "chunk inf": (lambda f, o: resynth_args(o, "--chunk-ms", "inf"), "--chunk-ms: must be a finite number > 0"),
    "chunk nan": (lambda f, o: resynth_args(o, "--chunk-ms", "nan"), "--chunk-ms: must be"),
    "chunk 0": (lambda f, o: resynth_args(o, "--chunk-ms", "0"), "--chunk-ms: must be"),
    "chunk -5": (lambda f, o: resynth_args(o, "--chunk-ms", "-5"), "--chunk-ms: must be"),
    "lookahead -1": (lambda f, o: resynth_args(o, "--lookahead", "-1"), "--lookahead: must be a whole number >= 0"),
    "lookahead 2.5": (lambda f, o: resynth_args(o, "--lookahead", "2.5"), "--lookahead: must be"),
    "lookahead offline": (lambda f, o: resynth_args(o, "--offline", "--lookahead", "2"), "applies to streaming"),
    "lookahead past the receptive field": (
        lambda f, o: resynth_args(o, "--model", str(f["mel_model"]), "--lookahead", "99"),
        "lookahead must be in 0..9",
    ),
    "model not a checkpoint": (
        lambda f, o: resynth_args(o, "--model", str(f["not_a_checkpoint"])),
        "is not a Vocos checkpoint",
    ),
    "model path missing": (
        lambda f, o: resynth_args(o, "--model", "./no/such/model"),
        "neither an existing directory nor a Hugging Face repo id",
    ),
    "model config broken": (
        lambda f, o: resynth_args(o, "--model", str(f["broken_config"])),
        "backbone.init_args.num_layers must be a whole number",
    ),
    "unknown bandwidth": (
        lambda f, o: resynth_args(o, "--model", str(f["encodec_model"]), "--bandwidth", "24"),
        "unknown bandwidth 24",
    ),
    "EnCodec weights missing": (
        lambda f, o: resynth_args(o, "--model", str(f["encodec_model"])),
        "pass --encodec-weights PATH",
    ),
    "EnCodec weights file missing": (
        lambda f, o: resynth_args(o, "--model", str(f["encodec_model"]), "--encodec-weights", str(o / "none.th")),
        "--encodec-weights",
    ),
    "EnCodec weights damaged": (
        lambda f, o: resynth_args(o, "--model", str(f["encodec_model"]), "--encodec-weights", str(f["bad_encodec.th"])),
        "cannot load EnCodec weights",
    ),
    "EnCodec weights for a mel model": (
        lambda f, o: resynth_args(o, "--encodec-weights", str(f["bad_encodec.th"])),
        "applies to EnCodec models only",
    ),
    "kernels for a Vocos model": (
        lambda f, o: resynth_args(o, "--model", str(f["mel_model"]), "--kernels", "numba"),
        "applies to the builtin vocoder only",
    ),
    "convert into a file": (lambda f, o: ["convert", str(f["mel_model"]), str(f["a_file"])], "is a file; give a dir"),
    "convert a missing model": (lambda f, o: ["convert", "./no/such/model", str(o / "c")], "neither an existing"),
    "no subcommand": (lambda f, o: [], "the following arguments are required"),
    "unknown subcommand": (lambda f, o: ["play"], "invalid choice"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_user_mistakes_are_one_error_line_with_exit_status_2(
    case: str,
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no EnCodec weights cached
    build, says = BAD[case]
    code, _, err = run_main(build(files, tmp_path), capsys)
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2, err
    assert len(errors) == 1 and says in errors[0], err
    assert "Traceback" not in err


def test_sample_rate_0_is_explained_whatever_the_reader(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """libsndfile (soundfile, which io/ moves to) refuses such a header with "SF_INFO struct incomplete"; the
    CLI still says what is wrong."""
    soundfile = pytest.importorskip("soundfile")

    def read_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
        data, rate = soundfile.read(str(path), always_2d=True, dtype="float32")
        return data.T, rate

    monkeypatch.setattr(resynth, "read_wav", read_with_soundfile)
    code, _, err = run_main(["resynth", str(files["rate0.wav"]), str(tmp_path / "x.wav")], capsys)
    assert code == 2 and err.strip() == f"error: input {files['rate0.wav']} declares a sample rate of 0 Hz; its " + (
        "header is broken (rewrite the file with its real rate)"
    )
    code, _, err = run_main(["resynth", str(files["noise.wav"]), str(tmp_path / "x.wav")], capsys)
    assert code == 2 and err.startswith(f"error: cannot read input {files['noise.wav']}: ") and err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_input_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked.wav"
    write_wav(locked, np.zeros(4800, np.float32), 24000)
    locked.chmod(0)
    code, _, err = run_main(["resynth", str(locked), str(tmp_path / "x.wav")], capsys)
    assert code == 2 and err.count("error:") == 1 and "cannot read input" in err


def test_debug_shows_the_traceback_instead(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        main(["--debug", "resynth", str(tmp_path / "nope.wav"), str(tmp_path / "x.wav")])
    with pytest.raises(UsageError, match="does not exist"):  # also after the subcommand
        main(["resynth", str(tmp_path / "nope.wav"), str(tmp_path / "x.wav"), "--debug"])
    r = subprocess.run(
        [sys.executable, "-m", "vocos_stream", "--debug", "resynth", str(tmp_path / "nope.wav"), "x.wav"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "Traceback" in r.stderr and "UsageError" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "vocos_stream", "resynth", str(tmp_path / "nope.wav"), "x.wav"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: input {tmp_path / 'nope.wav'} does not exist"
    ]


def test_a_bug_is_one_line_too_and_asks_for_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(resynth, "_process", broken)
    code, _, err = run_main(["resynth", str(SPEECH), str(tmp_path / "x.wav")], capsys)
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 1 and len(errors) == 1 and "Traceback" not in err
    assert "unexpected ZeroDivisionError: division by zero" in errors[0] and "--debug" in errors[0]


# ------------------------------------------------------------------------------------------ EnCodec path
@pytest.fixture(scope="module")
def encodec_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("encodec") / ENCODEC_WEIGHTS_NAME
    torch.save(EncodecTokenizer.random(seed=0).model.state_dict(), path)
    return path


def test_encodec_resynth_streams_codes_and_equals_offline(
    files: dict[str, Path], encodec_weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(files["encodec_model"])
    base = ["resynth", str(SPEECH), "--model", model, "--encodec-weights", str(encodec_weights), "--bandwidth", "6"]
    code, out, err = run_main([*base[:2], str(tmp_path / "s.wav"), *base[2:]], capsys)
    assert code == 0, err
    assert "streamed in 1-frame pushes of 8 codebooks (6 kbps), exact" in out and "real-time factor" in out
    code, out, err = run_main([*base[:2], str(tmp_path / "o.wav"), *base[2:], "--offline"], capsys)
    assert code == 0 and "offline, EnCodec codes" in out, err
    streamed, offline = read_wav(tmp_path / "s.wav")[0], read_wav(tmp_path / "o.wav")[0]
    assert streamed.shape == offline.shape and streamed.shape[1] > 24000 * 3
    assert np.abs(streamed).max() > 1e-3
    assert np.abs(streamed - offline).max() <= 1 / 32767  # equal up to one 16-bit step of rounding
    # --lookahead applies on this path too: earlier output, computed with less context.
    code, out, err = run_main([*base[:2], str(tmp_path / "l.wav"), *base[2:], "--lookahead", "2"], capsys)
    assert code == 0 and "look-ahead 2 frames (inexact)" in out, err
    lookahead = read_wav(tmp_path / "l.wav")[0]
    assert lookahead.shape == streamed.shape and np.abs(lookahead - streamed).max() > 1 / 32767


def test_encodec_weights_are_found_in_the_torch_hub_cache_and_never_downloaded(
    files: dict[str, Path],
    encodec_weights: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    downloads: list[str] = []
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda url, *a, **k: downloads.append(url))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    args = ["resynth", str(SPEECH), str(tmp_path / "x.wav"), "--model", str(files["encodec_model"])]
    code, _, err = run_main(args, capsys)
    assert code == 2 and "https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th" in err
    (tmp_path / "torch_home" / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "torch_home" / "hub" / "checkpoints" / ENCODEC_WEIGHTS_NAME).write_bytes(encodec_weights.read_bytes())
    code, out, err = run_main(args, capsys)
    assert code == 0 and "8 codebooks" in out, err
    assert downloads == []


# ------------------------------------------------------------------------------------------ reports and help
def test_resynth_reports_start_up_apart_from_the_real_time_factor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(["resynth", str(SPEECH), str(tmp_path / "x.wav"), "--kernels", "numpy"], capsys)
    assert code == 0, err
    startup, processing = out.strip().splitlines()[-1].split("; processing ")
    assert startup.startswith("start-up ") and "numpy kernels" in startup
    assert "real-time factor" in processing and "real-time factor" not in startup


def test_builtin_kernels_compile_only_at_start_up() -> None:
    """After the stream is made (start-up), decoding runs only the signatures compiled then (or loaded from
    the cache): no compilation lands in the processing time of a streamed or an --offline run."""
    from vocos_stream.builtin import BuiltinConfig, BuiltinVocoder

    vocoder = BuiltinVocoder(BuiltinConfig(backend="numba"))
    stream = vocoder.stream(input="audio")
    kernels = stream.algorithm.kernels
    compiled = {name: list(getattr(kernels, name).signatures) for name in ("segments", "impose_magnitude", "momentum")}
    audio = torch.from_numpy(read_wav(SPEECH)[0][:, :12000])
    torch.cat([stream.push(audio[:, :5000]), stream.push(audio[:, 5000:]), stream.flush()], dim=1)
    vocoder(torch.cat([audio, audio]))  # offline, batch of 2
    assert {name: list(getattr(kernels, name).signatures) for name in compiled} == compiled


def test_kernels_auto_picks_numpy_for_short_files_only() -> None:
    assert resynth._builtin_kernels("auto", 4.0) == "numpy"
    assert resynth._builtin_kernels("auto", 600.0) == "auto"  # numba where installed
    assert resynth._builtin_kernels("numba", 4.0) == "numba"


def test_help_has_no_rest_markup_and_explains_lookahead(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    texts = [parser.format_help()]
    texts += [p.format_help() for p in parser._subparsers._group_actions[0].choices.values()]  # type: ignore[union-attr]
    for text in texts:
        assert "``" not in text and ":class:" not in text and ":meth:" not in text
    resynth_help = " ".join(texts[1].split())
    assert "exact for Vocos models" in resynth_help and "2 for the builtin vocoder" in resynth_help
    assert "--debug" in texts[0]


def test_python_dash_m_and_version() -> None:
    from vocos_stream import __version__

    for module in ("vocos_stream", "vocos_stream.cli"):
        r = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and r.stdout.strip() == f"vocos-stream {__version__}", r.stderr
