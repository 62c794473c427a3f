"""The streaming engine equals offline decoding for any chunking (property tests), at the lowest latency.

Models have random weights (tests/reference_weights.py) at tiny configs and at the full published configs.
"""

from __future__ import annotations

import functools

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_weights import reference_state

from vocos_stream import Vocos, VocosConfig, encodec_24khz_config, mel_24khz_config

TOL = 1e-5
TINY = {"dim": 32, "intermediate_dim": 48, "num_layers": 2}


@functools.cache
def model(kind: str, size: str, padding: str | None = None) -> Vocos:
    config: VocosConfig = mel_24khz_config() if kind == "mel" else encodec_24khz_config()
    if size == "tiny":
        config = config.replace(**TINY)
    if padding is not None:
        config = config.replace(padding=padding)
    vocos = Vocos(config)
    shapes = {k: tuple(v.shape) for k, v in vocos.state_dict().items()}
    vocos.load_state_dict(reference_state(shapes, seed=11))
    return vocos


def run_stream(stream, pieces: list[torch.Tensor]) -> tuple[torch.Tensor, list[int]]:  # type: ignore[no-untyped-def]
    outs = [stream.push(p) for p in pieces]
    outs.append(stream.flush())
    for o in outs:
        assert o.dim() == 2 and torch.isfinite(o).all()
    return torch.cat(outs, dim=1), [o.shape[1] for o in outs]


def split(x: torch.Tensor, sizes: list[int], axis: int = -1) -> list[torch.Tensor]:
    """Cut x along axis into pieces of the given sizes (empty pieces kept); the rest is one last piece."""
    pieces, i = [], 0
    for n in sizes:
        pieces.append(x.narrow(axis, i, min(n, x.shape[axis] - i)))
        i = min(i + n, x.shape[axis])
    if i < x.shape[axis]:
        pieces.append(x.narrow(axis, i, x.shape[axis] - i))
    return pieces


def assert_equal_offline(out: torch.Tensor, ref: torch.Tensor) -> None:
    assert out.shape == ref.shape, (out.shape, ref.shape)
    if ref.numel():
        err = (out - ref).abs().max().item()
        assert err <= TOL, f"max abs error {err:.3g}"


chunkings = st.lists(st.integers(0, 64), min_size=1, max_size=12)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    kind=st.sampled_from(["mel", "encodec"]),
    padding=st.sampled_from(["center", "same"]),
    frames=st.integers(1, 90),
    batch=st.integers(1, 3),
    sizes=chunkings,
    seed=st.integers(0, 2**16),
)
def test_features_stream_equals_decode_tiny(
    kind: str, padding: str, frames: int, batch: int, sizes: list[int], seed: int
) -> None:
    vocos = model(kind, "tiny", padding)
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(batch, vocos.config.input_channels, frames, generator=g)
    bw = torch.tensor([seed % 4]) if kind == "encodec" else None
    out, _ = run_stream(vocos.stream(input="features", bandwidth_id=bw), split(feats, sizes))
    assert_equal_offline(out, vocos.decode(feats, bandwidth_id=bw))


@SETTINGS
@given(frames=st.integers(1, 80), sizes=chunkings, bandwidth_id=st.integers(0, 3), two_d=st.booleans())
def test_codes_stream_equals_decode_every_bandwidth(
    frames: int, sizes: list[int], bandwidth_id: int, two_d: bool
) -> None:
    vocos = model("encodec", "tiny")
    k = [2, 4, 8, 16][bandwidth_id]
    codes = torch.randint(0, 1024, (k, 2, frames), generator=torch.Generator().manual_seed(frames))
    if two_d:
        codes = codes[:, 0]
    bw = torch.tensor([bandwidth_id])
    out, _ = run_stream(vocos.stream(input="codes", bandwidth_id=bw), split(codes, sizes))
    assert_equal_offline(out, vocos.decode(vocos.codes_to_features(codes), bandwidth_id=bw))


@SETTINGS
@given(
    samples=st.integers(513, 9000),
    sizes=st.lists(st.sampled_from([0, 1, 2, 37, 255, 256, 257, 480, 1000, 3000]), min_size=1, max_size=30),
    mel_padding=st.sampled_from(["center", "same"]),
)
def test_audio_stream_equals_copy_synthesis(samples: int, sizes: list[int], mel_padding: str) -> None:
    vocos = model("mel", "tiny")
    if mel_padding == "same":
        vocos = Vocos(vocos.config.replace(mel_padding="same", padding="same"))
        vocos.load_state_dict(model("mel", "tiny").state_dict())
    audio = torch.randn(2, samples, generator=torch.Generator().manual_seed(samples)) * 0.3
    out, _ = run_stream(vocos.stream(input="audio"), split(audio, sizes))
    assert_equal_offline(out, vocos(audio))


@pytest.mark.parametrize("kind", ["mel", "encodec"])
def test_full_size_stream_equals_decode(kind: str) -> None:
    vocos = model(kind, "full")
    feats = torch.randn(2, vocos.config.input_channels, 70, generator=torch.Generator().manual_seed(3))
    bw = torch.tensor([2]) if kind == "encodec" else None
    ref = vocos.decode(feats, bandwidth_id=bw)
    for sizes in ([1] * 70, [5, 0, 17, 1, 40], [70]):
        out, _ = run_stream(vocos.stream(input="features", bandwidth_id=bw), split(feats, sizes))
        assert_equal_offline(out, ref)


def test_full_size_audio_stream_equals_copy_synthesis() -> None:
    vocos = model("mel", "full")
    audio = torch.randn(1, 24000, generator=torch.Generator().manual_seed(5)) * 0.2
    out, _ = run_stream(vocos.stream(input="audio"), split(audio, [37, 480, 1, 5000, 256] * 5))
    assert_equal_offline(out, vocos(audio))


@pytest.mark.parametrize("frames", [1, 2, 5, 27, 28])
@pytest.mark.parametrize("kind", ["mel", "encodec"])
def test_short_and_single_frame_streams(kind: str, frames: int) -> None:
    vocos = model(kind, "full")
    feats = torch.randn(1, vocos.config.input_channels, frames, generator=torch.Generator().manual_seed(frames))
    bw = torch.tensor([0]) if kind == "encodec" else None
    ref = vocos.decode(feats, bandwidth_id=bw)
    for lookahead in (None, 0, 5):
        out, _ = run_stream(
            vocos.stream(input="features", bandwidth_id=bw, lookahead=lookahead), split(feats, [1] * frames)
        )
        if lookahead is None or frames <= lookahead:  # stream shorter than the lookahead: everything waits for flush
            assert_equal_offline(out, ref)
        assert out.shape == ref.shape


def test_reset_reuse_and_snapshot_restore() -> None:
    vocos = model("mel", "tiny")
    a, b = torch.randn(1, 100, 50), torch.randn(3, 100, 20)
    s = vocos.stream()
    first = torch.cat([s.push(a[..., :30]), s.push(a[..., 30:]), s.flush()], 1)
    assert_equal_offline(first, vocos.decode(a))
    with pytest.raises(ValueError, match="flushed"):
        s.push(a)
    s.reset()  # a new stream, another batch size
    assert_equal_offline(torch.cat([s.push(b), s.flush()], 1), vocos.decode(b))
    # snapshot mid-stream, finish, restore, finish differently: each branch equals its offline decode
    s.reset()
    head = s.push(a[..., :25])
    snap = s.snapshot()
    tail_a = torch.cat([s.push(a[..., 25:]), s.flush()], 1)
    s.restore(snap)
    other = torch.randn(1, 100, 10)
    tail_b = torch.cat([s.push(other), s.flush()], 1)
    assert_equal_offline(torch.cat([head, tail_a], 1), vocos.decode(a))
    assert_equal_offline(torch.cat([head, tail_b], 1), vocos.decode(torch.cat([a[..., :25], other], -1)))


def test_streams_are_independent() -> None:
    vocos = model("mel", "tiny")
    a, b = torch.randn(1, 100, 40), torch.randn(1, 100, 40)
    s1, s2 = vocos.stream(), vocos.stream()
    out1, out2 = [], []
    for i in range(0, 40, 3):
        out1.append(s1.push(a[..., i : i + 3]))
        out2.append(s2.push(b[..., i : i + 3]))
    assert_equal_offline(torch.cat([*out1, s1.flush()], 1), vocos.decode(a))
    assert_equal_offline(torch.cat([*out2, s2.flush()], 1), vocos.decode(b))


def test_stream_input_errors() -> None:
    mel, enc = model("mel", "tiny"), model("encodec", "tiny")
    with pytest.raises(ValueError, match="needs an EnCodec-variant model"):
        mel.stream(input="codes")
    with pytest.raises(ValueError, match="needs a mel model"):
        enc.stream(input="audio", bandwidth_id=0)
    with pytest.raises(ValueError, match="needs bandwidth_id"):
        enc.stream(input="codes")
    with pytest.raises(ValueError, match=r"lookahead must be in 0\.\.9"):
        mel.stream(lookahead=10)
    s = mel.stream()
    s.push(torch.randn(2, 100, 3))
    with pytest.raises(ValueError, match="batch size 2"):
        s.push(torch.randn(1, 100, 3))
    with pytest.raises(ValueError, match=r"shape \(batch, 100, frames\)"):
        s.push(torch.randn(2, 80, 3))
    with pytest.raises(ValueError, match="NaN"):
        s.push(torch.full((2, 100, 3), float("nan")))
    c = enc.stream(input="codes", bandwidth_id=torch.tensor([1]))
    with pytest.raises(ValueError, match="uses 4 codebooks, but the codes have 8"):
        c.push(torch.zeros(8, 1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 1024\)"):
        c.push(torch.full((4, 1, 3), 5000))
    a = mel.stream(input="audio")
    a.push(torch.randn(1, 100))
    with pytest.raises(ValueError, match="ended after 100 samples"):
        a.flush()
