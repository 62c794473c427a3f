"""Latency by impulse: the stream emits each sample exactly when the last input it depends on has arrived.

Dependence is measured on the offline model by perturbing one input (frame or audio sample) at a time and
seeing which output samples change; nothing here restates the latency formula.
"""

from __future__ import annotations

import pytest
import torch
from test_stream import model

from vocos_stream import Vocos

# At the edge of the 27-frame receptive field the influence of a frame runs along a single path through every
# block's convolution branch, each scaled by its layer scale (~0.1), and then meets the Hann window's first
# values (~1e-5): with ordinary weights that is below float resolution. Which samples depend on which inputs
# does not depend on the weight values, so the tests use weights that make every path strong (layer scales 1,
# large depthwise taps), and read dependence on a float64 copy as any change against an unperturbed copy
# decoded in the same batch. The stream under test runs in float32.
BUMP = 3.0


def strong(kind: str, size: str) -> Vocos:
    vocos = Vocos(model(kind, size).config)
    vocos.load_state_dict(model(kind, size).state_dict())
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for block in vocos.backbone.convnext:
            assert block.gamma is not None
            block.gamma.fill_(1.0)
            w = block.dwconv.weight
            w.copy_((0.3 + 0.3 * torch.rand(w.shape, generator=g)) * torch.randn(w.shape, generator=g).sign())
    return vocos


def float64(vocos: Vocos) -> Vocos:
    twin = Vocos(vocos.config)
    twin.load_state_dict(vocos.state_dict())
    return twin.double()


def changed(outputs: torch.Tensor) -> torch.Tensor:
    """Rows 1.. of a batch whose row 0 is the unperturbed input: which samples differ at all."""
    return outputs[1:] != outputs[:1]


def first_affected_by_frame(vocos: Vocos, feats: torch.Tensor, bw: torch.Tensor | None) -> list[int]:
    """For each frame j: the first output sample whose value depends on frame j."""
    frames, vocos = feats.shape[-1], float64(vocos)
    bumped = feats.double().repeat(frames + 1, 1, 1)
    noise = torch.randn(frames, feats.shape[1], generator=torch.Generator().manual_seed(0)) * BUMP
    bumped[torch.arange(1, frames + 1), :, torch.arange(frames)] += noise
    diff = changed(vocos.decode(bumped, bandwidth_id=bw))
    return [int(torch.nonzero(row)[0]) if row.any() else diff.shape[-1] for row in diff]


def emitted_counts(stream, pieces: list[torch.Tensor]) -> list[int]:  # type: ignore[no-untyped-def]
    """Total samples emitted after each push."""
    total, counts = 0, []
    for p in pieces:
        total += stream.push(p).shape[1]
        counts.append(total)
    return counts


@pytest.mark.parametrize(
    "kind,size,published",
    [("mel", "full", 7423), ("encodec", "full", 9119), ("mel", "tiny", None), ("encodec", "tiny", None)],
)
def test_frames_leave_at_the_lowest_latency(kind: str, size: str, published: int | None) -> None:
    vocos = strong(kind, size)
    hop = vocos.config.hop_length
    frames = 2 * vocos.backbone.receptive_field + 12
    feats = torch.randn(1, vocos.config.input_channels, frames, generator=torch.Generator().manual_seed(1))
    bw = torch.tensor([1]) if kind == "encodec" else None
    first = first_affected_by_frame(vocos, feats, bw)
    stream = vocos.stream(input="features", bandwidth_id=bw)
    counts = emitted_counts(stream, [feats[..., j : j + 1] for j in range(frames)])
    # After frame j, exactly the samples that no later frame can change have left: not one more, not one fewer.
    for j in range(frames - 1):
        assert counts[j] == max(0, min(first[j + 1 :])), j
    # The steady-state delay between input (hop samples per frame) and output is the reported latency.
    steady = {(j + 1) * hop - counts[j] for j in range(vocos.backbone.receptive_field + 4, frames - 1)}
    assert steady == {stream.latency_samples}
    if published is not None:
        assert stream.latency_samples == published
    assert counts[0] == 0 and 0 < counts[vocos.backbone.receptive_field + 3]  # first audio as soon as final


@pytest.mark.parametrize("lookahead", [0, 2, 4])
def test_lookahead_latency(lookahead: int) -> None:
    vocos = model("mel", "full")
    frames = 40
    feats = torch.randn(1, 100, frames, generator=torch.Generator().manual_seed(2))
    stream = vocos.stream(lookahead=lookahead)
    counts = emitted_counts(stream, [feats[..., j : j + 1] for j in range(frames)])
    exact = vocos.stream().latency_samples
    assert stream.latency_samples == exact - (vocos.backbone.receptive_field - lookahead) * 256
    assert {(j + 1) * 256 - counts[j] for j in range(lookahead + 3, frames)} == {stream.latency_samples}


def test_audio_samples_leave_at_the_lowest_latency() -> None:
    vocos = strong("mel", "tiny")
    n, window = 6000, range(3500, 4300)
    audio = torch.randn(1, n, generator=torch.Generator().manual_seed(3)) * 0.3
    positions = torch.tensor(list(window))
    bumped = audio.double().repeat(len(positions) + 1, 1)
    bumped[torch.arange(1, len(positions) + 1), positions] += 0.9
    diff = changed(float64(vocos)(bumped))
    first = [int(torch.nonzero(row)[0]) for row in diff]
    stream = vocos.stream(input="audio")
    before = stream.push(audio[:, : window.start]).shape[1]
    counts = [before + c for c in emitted_counts(stream, [audio[:, p : p + 1] for p in window])]
    lags = []
    for i, p in enumerate(window[:-300]):  # after sample p, nothing a later sample can change is held back
        assert counts[i] == min(first[i + 1 :]), p
        lags.append(p + 1 - counts[i])
    # the delay depends on where the last push ended within a hop; its minimum is the reported latency
    assert min(lags) == stream.latency_samples
    assert max(lags) == stream.latency_samples + vocos.config.hop_length - 1
    assert vocos.stream(input="audio").latency_samples - vocos.stream().latency_samples == 256
