"""Batched audio of different lengths with attention masks: every item's output, cut by the returned mask, is
exactly (bit for bit) the output of that item processed alone, for the mel and the EnCodec paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from checkpoints import encodec_package_state_with, spread_codebooks, write_charactr, write_transformers_encodec
from conftest import Golden
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vocos_stream.transformers import (
    VocosEncodecModel,
    VocosEncodecProcessor,
    VocosFeatureExtractor,
    VocosModel,
    VocosProcessor,
)

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
lengths = st.lists(st.integers(min_value=600, max_value=6000), min_size=1, max_size=4)


def clips(ns: list[int], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in ns]


def masked(output: torch.Tensor, i: int) -> torch.Tensor:
    return output[i][output.attention_mask[i].bool()]


@pytest.fixture(scope="module", params=["mel_tiny_center", "mel_tiny_same"])
def mel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, VocosModel]:
    g = Golden(request.param)
    directory = write_charactr(tmp_path_factory.mktemp("mel"), g.config_yaml, g.state())
    return directory, VocosModel.from_pretrained(directory)


@SETTINGS
@given(ns=lengths, seed=st.integers(0, 2**16))
def test_mel_batch_equals_each_item_alone(mel: tuple[Path, VocosModel], ns: list[int], seed: int) -> None:
    directory, model = mel
    fe = VocosFeatureExtractor.from_pretrained(directory)
    audio = clips(ns, seed)
    out = model(**fe(audio, sampling_rate=24000))
    assert out.attention_mask.sum(dim=1).tolist() == ns  # the mask marks exactly the real samples
    for i, clip in enumerate(audio):
        alone = model(**fe(clip, sampling_rate=24000))
        assert torch.equal(masked(out, i), masked(alone, 0))
        assert masked(alone, 0).shape == (len(clip),)  # the output covers the whole clip


def test_mel_seed_processor_batch(mel: tuple[Path, VocosModel]) -> None:
    directory, model = mel
    processor = VocosProcessor.from_pretrained(directory)
    audio = clips([4800, 2560, 3001], seed=3)
    out = model(**processor(audio=audio))
    for i, clip in enumerate(audio):
        assert torch.equal(masked(out, i), masked(model(**processor(audio=clip)), 0))


def test_without_mask_the_batch_is_decoded_as_transformers_does(mel: tuple[Path, VocosModel]) -> None:
    """Dropping the mask decodes the zero-padded batch as a whole (transformers' behaviour); the padded items'
    ends then differ from their output alone, which is what the mask is for."""
    directory, model = mel
    fe = VocosFeatureExtractor.from_pretrained(directory)
    audio = clips([6000, 3000], seed=4)
    inputs = fe(audio, sampling_rate=24000)
    whole = model(input_features=inputs.input_features)
    assert whole.attention_mask is None
    assert torch.equal(whole, model.vocos.decode(inputs.input_features))
    alone = masked(model(**fe(audio[1], sampling_rate=24000)), 0)
    assert not torch.equal(whole[1, :3000], alone)


@pytest.fixture(scope="module")
def encodec(tmp_path_factory: pytest.TempPathFactory) -> tuple[VocosEncodecProcessor, VocosEncodecModel]:
    g = Golden("encodec_tiny_center")
    root = tmp_path_factory.mktemp("encodec")
    tokenizer = write_transformers_encodec(root / "tokenizer", encodec_package_state_with(spread_codebooks()), False)
    directory = write_charactr(root / "vocos", g.config_yaml, g.state())
    return VocosEncodecProcessor.from_pretrained(
        directory, audio_tokenizer=tokenizer
    ), VocosEncodecModel.from_pretrained(directory)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ns=st.lists(st.integers(min_value=400, max_value=3000), min_size=2, max_size=3),
    seed=st.integers(0, 2**16),
    bandwidth=st.sampled_from([1.5, 3.0, 6.0, 12.0]),
)
@example(ns=[3000, 1000, 2345], seed=0, bandwidth=6.0)
def test_encodec_batch_equals_each_item_alone(
    encodec: tuple[VocosEncodecProcessor, VocosEncodecModel], ns: list[int], seed: int, bandwidth: float
) -> None:
    processor, model = encodec
    audio = clips(ns, seed)
    inputs = processor(audio=audio, bandwidth=bandwidth, sampling_rate=24000)
    assert inputs.attention_mask.shape[1] % 320 == 0  # a batch is padded to whole EnCodec frames
    out = model(**inputs)
    for i, clip in enumerate(audio):
        alone = model(**processor(audio=clip, bandwidth=bandwidth, sampling_rate=24000))
        assert torch.equal(masked(out, i), masked(alone, 0))
    if ns == [3000, 1000, 2345]:  # long enough for varied codes: the items' outputs differ
        assert not torch.equal(out[1, :1000], out[0, :1000])
