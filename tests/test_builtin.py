"""The builtin vocoder (RTISI-LA over vocos-mel-24khz's log-mel): contract, stability, chunking invariance."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vocos_stream import load
from vocos_stream.builtin import BuiltinConfig, BuiltinVocoder
from vocos_stream.io.wav import read_wav

SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"
FLOOR = float(np.log(1e-7))


@pytest.fixture(scope="module")
def speech() -> torch.Tensor:
    audio, rate = read_wav(SPEECH / "arctic_a0009_24k.wav")
    assert rate == 24000
    return torch.from_numpy(audio[:, :36000])


@pytest.fixture(scope="module")
def vocoder() -> BuiltinVocoder:
    return BuiltinVocoder()


def run(stream, pieces: list[torch.Tensor]) -> torch.Tensor:  # type: ignore[no-untyped-def]
    return torch.cat([*(stream.push(p) for p in pieces), stream.flush()], dim=1)


def cut(x: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    pieces, i = [], 0
    while i < x.shape[-1]:
        n = sizes[len(pieces) % len(sizes)]
        pieces.append(x[..., i : i + n])
        i += n
    return pieces


@settings(max_examples=6, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 30), min_size=1, max_size=8).filter(any), backend=st.sampled_from(["numba", "numpy"])
)
def test_mel_stream_is_chunking_invariant(speech: torch.Tensor, sizes: list[int], backend: str) -> None:
    vocoder = BuiltinVocoder(BuiltinConfig(backend=backend))
    mel = vocoder.feature_extractor(speech)
    whole = vocoder.decode(mel)
    assert whole.shape == (1, (mel.shape[-1] - 1) * 256)
    assert torch.equal(run(vocoder.stream(), cut(mel, sizes)), whole)  # bit for bit: the algorithm is chaotic


def test_audio_stream_is_chunking_invariant(speech: torch.Tensor, vocoder: BuiltinVocoder) -> None:
    whole = vocoder(speech)
    assert whole.shape == (1, (speech.shape[-1] // 256) * 256)
    rng = random.Random(0)
    for _ in range(2):
        sizes = [rng.choice([1, 37, 256, 480, 3000]) for _ in range(20)]
        assert torch.equal(run(vocoder.stream(input="audio"), cut(speech, sizes)), whole)


def test_numba_and_numpy_kernels_agree(speech: torch.Tensor) -> None:
    mel = BuiltinVocoder().feature_extractor(speech)[..., :60]
    outs = [BuiltinVocoder(BuiltinConfig(backend=b, init="rtisi")).decode(mel) for b in ("numba", "numpy")]
    assert torch.equal(outs[0], outs[1])


def test_resynthesis_keeps_the_speech(speech: torch.Tensor, vocoder: BuiltinVocoder) -> None:
    """Its log-mel matches the input's (the quality itself is measured by benchmarks/builtin_quality.py)."""
    out = vocoder(speech)
    mel_in = vocoder.feature_extractor(speech[:, : out.shape[1]])
    mel_out = vocoder.feature_extractor(out)
    loud = mel_in > mel_in.max() - 8  # compare where there is speech energy
    assert (mel_in - mel_out)[loud].abs().mean() < 0.5


@pytest.mark.parametrize("level", ["silence", "quiet", "loud"])
def test_stable_for_extreme_levels(vocoder: BuiltinVocoder, level: str) -> None:
    g = torch.Generator().manual_seed(0)
    mel = {
        "silence": torch.full((2, 100, 50), FLOOR),
        "quiet": FLOOR + 2 + torch.rand(2, 100, 50, generator=g),
        "loud": 8 + torch.rand(2, 100, 50, generator=g),
    }[level]
    out = vocoder.decode(mel)
    assert out.shape == (2, 49 * 256) and torch.isfinite(out).all()
    peak = float(out.abs().max())
    if level == "silence":
        assert peak < 1e-5
    if level == "quiet":
        assert peak < 1e-3
    if level == "loud":
        assert 1 < peak < 1e5  # loud, but bounded


def mel_band_spacing(freq: float) -> float:
    """Distance in Hz between neighbouring HTK mel bands at ``freq`` (100 bands up to 12 kHz)."""
    step = 2595 * np.log10(1 + 12000 / 700) / 101
    return (700 + freq) * np.log(10) / 2595 * step


@pytest.mark.parametrize("freq", [220.0, 440.0, 1000.0, 2000.0, 3150.0, 5000.0])
def test_pure_tone_comes_back_at_its_frequency(vocoder: BuiltinVocoder, freq: float) -> None:
    """Within half a mel band: the features cannot place a tone more finely (offline Griffin-Lim from the
    same features lands as far off)."""
    t = torch.arange(24000) / 24000
    out = vocoder(0.5 * torch.sin(2 * torch.pi * freq * t)[None])[0, 2400:21600].numpy()
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.shape[0])))
    peak_hz = np.argmax(spectrum) * 24000 / out.shape[0]
    assert abs(peak_hz - freq) < mel_band_spacing(freq) / 2, (freq, peak_hz)
    assert spectrum.max() > 30 * np.median(spectrum)  # a tone, not noise
    assert 0.1 < float(np.abs(out).max()) < 1.0


def test_constant_state_per_frame(vocoder: BuiltinVocoder) -> None:
    """No growth with stream length: the pending state stays the same size after thousands of frames."""
    s = vocoder.stream()
    mel = torch.randn(1, 100, 50)
    sizes = []
    for i in range(60):
        out = s.push(mel)
        assert out.shape[1] == 50 * 256 or i == 0
        assert s.state is not None
        st_ = s.state.rtisi
        sizes.append((st_.numerator.shape[1], st_.envelope.shape[0], st_.active.shape[1]))
    assert len(set(sizes[1:])) == 1 and sizes[-1][0] <= 1024 + 3 * 256


@pytest.mark.parametrize("lookahead", [0, 1, 2, 5])
def test_latency_matches_emission(lookahead: int) -> None:
    vocoder = BuiltinVocoder(BuiltinConfig(lookahead=lookahead, iterations=2))
    s = vocoder.stream()
    mel = torch.randn(1, 100, 30)
    total = 0
    for j in range(30):
        total += s.push(mel[..., j : j + 1]).shape[1]
        if j > lookahead + 2:
            assert (j + 1) * 256 - total == s.latency_samples
    assert s.latency_samples == lookahead * 256 + 512
    assert vocoder.stream(input="audio").latency_samples == s.latency_samples + 256


def test_contract_errors_and_reuse(vocoder: BuiltinVocoder) -> None:
    s = vocoder.stream()
    with pytest.raises(ValueError, match=r"shape \(batch, 100, frames\)"):
        s.push(torch.zeros(1, 80, 3))
    with pytest.raises(ValueError, match="NaN"):
        s.push(torch.full((1, 100, 3), float("nan")))
    a = torch.randn(1, 100, 12)
    first = run(s, [a])
    with pytest.raises(ValueError, match="flushed"):
        s.push(a)
    s.reset()
    assert torch.equal(run(s, [a[..., :5], a[..., 5:]]), first)
    s.reset()
    head = s.push(a[..., :6])
    snap = s.snapshot()
    tail = torch.cat([s.push(a[..., 6:]), s.flush()], 1)
    s.restore(snap)
    assert torch.equal(torch.cat([s.push(a[..., 6:]), s.flush()], 1), tail)
    assert torch.equal(torch.cat([head, tail], 1), first)
    with pytest.raises(ValueError, match="input='mel' or 'audio'"):
        vocoder.stream(input="codes")  # type: ignore[arg-type]


def test_selectable_by_name() -> None:
    from vocos_stream import CheckpointError, Vocos

    with pytest.raises(CheckpointError, match=r"vocos_stream\.load\('builtin'\)"):
        Vocos.from_pretrained("builtin")
    v = load("builtin")
    assert isinstance(v, BuiltinVocoder)
    assert load("builtin", lookahead=3).stream().latency_samples == 3 * 256 + 512
    with pytest.raises(ValueError, match="builtin"):
        BuiltinVocoder.from_pretrained("charactr/vocos-mel-24khz")
