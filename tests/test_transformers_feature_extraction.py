"""VocosFeatureExtractor: the scenarios of the Vocos PR's test_feature_extraction_vocos.py (and of transformers'
SequenceFeatureExtractionTestMixin it runs), ported. Reference values: the PR's documented shapes, and vocos
0.1.0's mel (golden files) for the frames that the transformers framing does not change."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import Golden

from vocos_stream.transformers import BatchFeature, VocosFeatureExtractor

# VocosFeatureExtractionTester of the PR
TESTER = {
    "feature_size": 10,
    "sampling_rate": 4000,
    "num_mel_bins": 10,
    "n_fft": 512,
    "hop_length": 128,
    "padding": "center",
    "padding_value": 0.0,
    "return_attention_mask": True,
}
BATCH, MIN_LEN, MAX_LEN = 7, 400, 2000
DIFF = (MAX_LEN - MIN_LEN) // (BATCH - 1)


def floats_list(shape: tuple[int, int], seed: int = 0) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.random() for _ in range(shape[1])] for _ in range(shape[0])]


def speech_inputs(numpify: bool = False) -> list:
    """prepare_inputs_for_common: increasing lengths 400, 666, ... of (length, feature_size) sequences."""
    inputs = [floats_list((n, TESTER["feature_size"]), seed=n) for n in range(MIN_LEN, MAX_LEN, DIFF)]
    return [np.asarray(x) for x in inputs] if numpify else inputs


@pytest.fixture
def fe() -> VocosFeatureExtractor:
    return VocosFeatureExtractor(**TESTER)


def test_common_properties_and_json_round_trips(fe: VocosFeatureExtractor, tmp_path: Path) -> None:
    assert (fe.feature_size, fe.sampling_rate, fe.padding_value) == (10, 4000, 0.0)
    saved = fe.save_pretrained(tmp_path / "saved")[0]
    assert Path(saved).name == "preprocessor_config.json"
    assert VocosFeatureExtractor.from_pretrained(tmp_path / "saved").to_dict() == fe.to_dict()
    fe.to_json_file(tmp_path / "feat_extract.json")
    assert VocosFeatureExtractor.from_json_file(tmp_path / "feat_extract.json").to_dict() == fe.to_dict()
    assert fe.to_dict()["feature_extractor_type"] == "VocosFeatureExtractor"
    VocosFeatureExtractor()  # init without params
    assert VocosFeatureExtractor.from_pretrained(tmp_path / "saved", sampling_rate=16000).sampling_rate == 16000


@pytest.mark.parametrize("numpify", [False, True])
def test_padding(fe: VocosFeatureExtractor, numpify: bool) -> None:
    inputs = speech_inputs(numpify)
    processed = BatchFeature({"input_features": inputs})
    pad_max = MAX_LEN + DIFF
    in1 = fe.pad(processed, padding=False)["input_features"]
    in2 = fe.pad(processed, padding="longest")["input_features"]
    in3 = fe.pad(processed, padding="max_length", max_length=len(inputs[-1]))["input_features"]
    in4 = fe.pad(processed, padding="longest", return_tensors="np")["input_features"]
    with pytest.raises(ValueError, match="max_length"):
        fe.pad(processed, padding="max_length")
    in5 = fe.pad(processed, padding="max_length", max_length=pad_max, return_tensors="np")["input_features"]
    assert len({len(x) for x in in1}) > 1
    assert len({len(x) for x in in2}) == 1 and len({len(x) for x in in3}) == 1
    assert all(np.allclose(a, b) for a, b in zip(in2, in3, strict=True))
    assert len(in1[0]) == MIN_LEN and len(in1[1]) == MIN_LEN + DIFF
    assert in4.shape == (BATCH, len(in3[0]), 10) and in5.shape == (BATCH, pad_max, 10)
    in6 = fe.pad(processed, pad_to_multiple_of=10)["input_features"]
    in7 = fe.pad(processed, padding="longest", pad_to_multiple_of=10)["input_features"]
    in8 = fe.pad(processed, padding="max_length", pad_to_multiple_of=10, max_length=pad_max)["input_features"]
    expected = -(-pad_max // 10) * 10
    assert all(len(x) % 10 == 0 for x in in6) and all(np.allclose(a, b) for a, b in zip(in6, in7, strict=True))
    assert all(len(x) == expected for x in in8)
    # padding value
    assert abs(np.asarray(in2[0])[MIN_LEN:].sum()) < 1e-3 and abs(in5[0, MIN_LEN:].sum()) < 1e-3


@pytest.mark.parametrize("numpify", [False, True])
def test_truncation(fe: VocosFeatureExtractor, numpify: bool) -> None:
    inputs = speech_inputs(numpify)
    processed = BatchFeature({"input_features": inputs})
    n0, n1 = len(inputs[0]), len(inputs[1])
    in1 = fe.pad(processed, padding="max_length", max_length=n0, truncation=True)["input_features"]
    in2 = fe.pad(processed, padding="max_length", max_length=n0)["input_features"]
    assert len({len(x) for x in in1}) == 1 and len({len(x) for x in in2}) > 1
    in3 = fe.pad(processed, padding="max_length", max_length=n0, return_tensors="np", truncation=True)
    assert in3["input_features"].shape[1] == n0
    in5 = fe.pad(processed, padding="max_length", max_length=n1, truncation=True, return_tensors="np")
    assert in5["input_features"].shape[1] == n1
    for bad in ({"truncation": True}, {"padding": "longest", "truncation": True}):
        with pytest.raises(ValueError, match="max_length"):
            fe.pad(processed, **bad)
    with pytest.raises(ValueError, match="max_length"):
        fe.pad(processed, padding="max_length", truncation=True)
    in8 = fe.pad(processed, padding="max_length", max_length=n0, pad_to_multiple_of=12, truncation=True)
    assert {len(x) for x in in8["input_features"]} == {-(-n0 // 12) * 12}


def test_attention_masks(fe: VocosFeatureExtractor) -> None:
    inputs = speech_inputs()
    lengths = [len(x) for x in inputs]
    processed = fe.pad(BatchFeature({"input_features": inputs}), padding="longest", return_tensors="np")
    assert list(processed.attention_mask.shape) == list(processed["input_features"].shape[:2])
    assert processed.attention_mask.sum(-1).tolist() == lengths
    truncated = fe.pad(
        BatchFeature({"input_features": inputs}),
        padding="max_length",
        max_length=min(lengths),
        truncation=True,
        return_tensors="np",
    )
    assert truncated.attention_mask.shape == (BATCH, min(lengths))
    assert truncated.attention_mask.sum(-1).tolist() == [min(lengths)] * BATCH
    pt = fe.pad(BatchFeature({"input_features": inputs}), padding="longest", return_tensors="pt")["input_features"]
    np_ = fe.pad(BatchFeature({"input_features": inputs}), padding="longest", return_tensors="np")["input_features"]
    assert abs(np_.astype(np.float32).sum() - pt.numpy().sum()) < 1e-2


def test_double_precision_pad(fe: VocosFeatureExtractor) -> None:
    array = np.random.default_rng(0).random((100, 32))
    for inputs in (array.tolist(), array):
        assert fe.pad([{"input_features": inputs}], return_tensors="np").input_features.dtype == np.float32
        assert fe.pad([{"input_features": inputs}], return_tensors="pt").input_features.dtype == torch.float32


def test_call_numpy_torch_and_batched_agree(fe: VocosFeatureExtractor) -> None:
    clips = [floats_list((1, n), seed=n)[0] for n in range(800, 1400, 200)]
    np_clips = [np.asarray(c) for c in clips]
    pt_clips = [torch.tensor(c) for c in clips]
    features = fe(np_clips, padding=True, return_tensors="np").input_features
    assert features.ndim == 3 and features.shape[1] == fe.feature_size
    one_pt = fe(pt_clips[0], sampling_rate=4000, return_tensors="np").input_features
    one_np = fe(np_clips[0], sampling_rate=4000, return_tensors="np").input_features
    assert np.allclose(one_pt, one_np, atol=1e-6)
    batch_pt = fe(pt_clips, sampling_rate=4000, return_tensors="np").input_features
    batch_np = fe(np_clips, sampling_rate=4000, return_tensors="np").input_features
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(batch_pt, batch_np, strict=True))
    assert isinstance(fe(clips[0], sampling_rate=4000).input_features, torch.Tensor)  # "pt" by default


def test_truncation_and_padding_shapes() -> None:
    """The PR's test_truncation_and_padding with its documented shapes: the first LibriSpeech sample (140520
    samples at 24 kHz) and a shorter second one."""
    rng = np.random.default_rng(0)
    audios = [rng.standard_normal(140520) * 0.1, rng.standard_normal(93680) * 0.1]
    fe = VocosFeatureExtractor()
    with pytest.raises(ValueError, match=r"Both padding and truncation were set\. Make sure you only set one\."):
        fe(audios, padding="max_length", truncation=True, sampling_rate=24000, return_tensors="pt")
    with pytest.raises(ValueError, match=r"Unable to convert output[\s\S]*padding=True"):
        fe(audios, padding=False, sampling_rate=24000, return_tensors="pt")
    out = fe(audios, padding=False, truncation=True, max_length=48000, sampling_rate=24000, return_tensors="pt")
    assert out.input_features.shape == (2, 100, 188)
    assert fe(audios, padding=True, sampling_rate=24000, return_tensors="pt").input_features.shape == (2, 100, 550)
    assert fe(audios[0], padding=False, sampling_rate=24000, return_tensors="pt").input_features.shape == (1, 100, 549)
    # the integration test's shape (the model doc's [1, 100, 550]): one clip, default padding
    single = fe(audios[0], sampling_rate=24000)
    assert single.input_features.shape == (1, 100, 550)
    assert single.attention_mask.shape == (1, 140544) and int(single.attention_mask.sum()) == 140520


def test_sampling_rate_is_checked(caplog: pytest.LogCaptureFixture) -> None:
    fe = VocosFeatureExtractor()
    clip = np.zeros(16000, dtype=np.float32)
    with pytest.raises(ValueError, match=r"24000 Hz .* 16000 Hz"):
        fe(clip, sampling_rate=16000)
    with caplog.at_level(logging.WARNING):
        fe(clip)
    assert "sampling_rate" in caplog.text


def test_options(fe: VocosFeatureExtractor) -> None:
    clip = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    out = fe(clip, sampling_rate=4000, return_attention_mask=False)
    assert "attention_mask" not in out
    # pad_to_multiple_of and max_length on the samples; the frames follow
    out = fe([clip, clip[:600]], sampling_rate=4000, pad_to_multiple_of=500)
    assert out.attention_mask.shape == (2, 1000) and out.input_features.shape[-1] == 1000 // 128 + 1
    out = fe(clip, sampling_rate=4000, padding="max_length", max_length=1500)
    assert out.attention_mask.shape == (1, -(-1500 // 128) * 128)
    # raw_speech=, the first revisions' name; stereo refused
    assert torch.equal(
        fe(raw_speech=clip, sampling_rate=4000).input_features, fe(clip, sampling_rate=4000).input_features
    )
    with pytest.raises(ValueError, match="mono"):
        fe([np.zeros((2, 1000))], sampling_rate=4000)
    with pytest.raises(TypeError, match="bogus"):
        fe(clip, sampling_rate=4000, bogus=1)


def test_batch_feature_to_device_and_dtype(fe: VocosFeatureExtractor) -> None:
    out = fe(np.zeros(1000, dtype=np.float32), sampling_rate=4000)
    moved = out.to(torch.float64)
    assert moved.input_features.dtype == torch.float64 and moved.attention_mask.dtype == torch.int32
    assert out.to("cpu").input_features.device.type == "cpu"
    assert out.to(device="cpu", dtype=torch.float16).input_features.dtype == torch.float16


@pytest.mark.parametrize("name", ["mel_tiny_center", "mel_tiny_same"])
def test_mel_equals_vocos_on_unpadded_frames(name: str) -> None:
    """The mel is vocos 0.1.0's: every frame whose window lies inside the clip equals the golden mel."""
    g = Golden(name)
    fe_args = g.config_yaml["feature_extractor"]["init_args"]
    fe = VocosFeatureExtractor(padding=fe_args["padding"])
    out = fe(g["audio"], sampling_rate=24000)
    n, hop, n_fft = g["audio"].shape[-1], 256, 1024
    pad = n_fft // 2 if fe.padding == "center" else (n_fft - hop) // 2
    inside = (n + pad - n_fft) // hop + 1
    err = (out.input_features[..., :inside] - g["mel"][..., :inside]).abs().max().item()
    assert err <= 1e-4
    # and with padding=False the framing is vocos 0.1.0's
    plain = fe(g["audio"], sampling_rate=24000, padding=False).input_features
    assert plain.shape == g["mel"].shape and (plain - g["mel"]).abs().max().item() <= 1e-4
