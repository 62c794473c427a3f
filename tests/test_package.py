"""Import hygiene, the CLI and WAV I/O."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from checkpoints import write_charactr
from conftest import Golden

from vocos_stream.cli import main
from vocos_stream.io.wav import read_wav, resample, write_wav

REPO = Path(__file__).resolve().parents[1]


def test_import_has_no_optional_backends_or_side_effects(tmp_path: Path) -> None:
    code = (
        "import sys, vocos_stream, vocos_stream.cli;"
        "print(sorted(m for m in ('sounddevice', 'websockets', 'encodec', 'torchaudio', 'huggingface_hub', "
        "'safetensors', 'scipy', 'numba', 'yaml') if m in sys.modules))"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}  # where the builtin caches its kernels
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_wav_round_trip_and_resample(tmp_path: Path) -> None:
    t = np.arange(24000) / 24000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    write_wav(tmp_path / "a.wav", np.stack([tone, -tone]), 24000)
    audio, rate = read_wav(tmp_path / "a.wav")
    assert rate == 24000 and audio.shape == (2, 24000)
    assert np.abs(audio[0] - tone).max() < 1 / 32767 + 1e-6
    down = resample(audio, 24000, 16000)
    assert down.shape == (2, 16000)
    spectrum = np.abs(np.fft.rfft(down[0]))
    assert abs(np.argmax(spectrum) - 440) <= 1  # 1 Hz bins over one second


def test_cli_resynth_with_a_local_model(tmp_path: Path, capsys: object) -> None:
    g = Golden("mel_tiny_center")
    model = write_charactr(tmp_path / "m", g.config_yaml, g.state())
    speech = REPO / "data" / "speech" / "arctic_a0009.wav"  # 16 kHz: resampled on the way in
    assert main(["resynth", str(speech), str(tmp_path / "out.wav"), "--model", str(model)]) == 0
    audio, rate = read_wav(tmp_path / "out.wav")
    assert rate == 24000 and audio.shape[0] == 1
    assert abs(audio.shape[1] - 74280) < 256  # 3.095 s at 24 kHz, to a hop
    assert "real-time factor" in capsys.readouterr().out  # type: ignore[attr-defined]


def test_cli_convert_then_load_offline(tmp_path: Path) -> None:
    g = Golden("encodec_tiny_center")
    src = write_charactr(tmp_path / "src", g.config_yaml, g.state())
    assert main(["convert", str(src), str(tmp_path / "dst")]) == 0
    assert (tmp_path / "dst" / "model.safetensors").is_file()


def test_cli_reports_errors_without_traceback(tmp_path: Path, capsys: object) -> None:
    assert main(["resynth", "missing.wav", "out.wav", "--model", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err  # type: ignore[attr-defined]


def test_cli_streamed_resynth_equals_offline(tmp_path: Path) -> None:
    g = Golden("mel_tiny_center")
    model = str(write_charactr(tmp_path / "m", g.config_yaml, g.state()))
    speech = str(REPO / "data" / "speech" / "arctic_a0007_24k.wav")
    assert main(["resynth", speech, str(tmp_path / "s.wav"), "--model", model, "--chunk-ms", "7"]) == 0
    assert main(["resynth", speech, str(tmp_path / "o.wav"), "--model", model, "--offline"]) == 0
    streamed, offline = read_wav(tmp_path / "s.wav")[0], read_wav(tmp_path / "o.wav")[0]
    assert streamed.shape == offline.shape
    assert np.abs(streamed - offline).max() <= 1 / 32767  # equal up to one 16-bit step of rounding


def test_cli_default_is_the_builtin_vocoder_and_keeps_the_speech(tmp_path: Path, capsys: object) -> None:
    speech = REPO / "data" / "speech" / "arctic_a0009.wav"
    assert main(["resynth", str(speech), str(tmp_path / "b.wav")]) == 0
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    assert "builtin vocoder" in captured.err and "real-time factor" in captured.out
    import torch

    from vocos_stream.features.mel import MelSpectrogramFeatures

    mel = MelSpectrogramFeatures()
    original, _ = read_wav(REPO / "data" / "speech" / "arctic_a0009_24k.wav")
    out, rate = read_wav(tmp_path / "b.wav")
    n = min(original.shape[1], out.shape[1])
    mel_in, mel_out = mel(torch.from_numpy(original[:, :n])), mel(torch.from_numpy(out[:, :n]))
    loud = mel_in > mel_in.max() - 8
    assert rate == 24000 and (mel_in - mel_out)[loud].abs().mean() < 0.5


def test_streaming_tts_demo_runs(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(REPO / "demos" / "streaming_tts.py"), "--no-pace", "--out", str(tmp_path / "t.wav")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "builtin vocoder" in r.stderr and "time to first audio" in r.stdout
    audio, rate = read_wav(tmp_path / "t.wav")
    assert rate == 24000 and audio.shape[1] > 24000


def test_random_checkpoint_tool_writes_a_loadable_hub_layout(tmp_path: Path) -> None:
    for kind in ("mel", "encodec"):
        r = subprocess.run(
            [sys.executable, str(REPO / "tools" / "make_random_checkpoint.py"), kind, str(tmp_path / kind)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        assert sorted(p.name for p in (tmp_path / kind).iterdir()) == ["config.yaml", "pytorch_model.bin"]
        from vocos_stream import Vocos

        assert Vocos.from_pretrained(tmp_path / kind).config.feature_kind == kind
