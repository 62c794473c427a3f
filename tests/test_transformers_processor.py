"""VocosProcessor / VocosEncodecProcessor: the scenarios of the Vocos PR's test_processing_vocos*.py, ported (the
audio tokenizer is an EnCodec 24 kHz network with random weights, saved in transformers' EncodecModel layout, in
place of facebook/encodec_24khz), and the seed doc's code as written."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from checkpoints import encodec_package_state_with, spread_codebooks, write_charactr, write_transformers_encodec
from conftest import Golden

from vocos_stream import Vocos
from vocos_stream.features.encodec_tokenizer import EncodecTokenizer
from vocos_stream.transformers import (
    VocosEncodecModel,
    VocosEncodecProcessor,
    VocosFeatureExtractor,
    VocosModel,
    VocosProcessor,
)

BANDWIDTHS = [1.5, 3.0, 6.0, 12.0]


@pytest.fixture(scope="module")
def encodec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_transformers_encodec(
        tmp_path_factory.mktemp("encodec"), encodec_package_state_with(spread_codebooks()), False
    )


@pytest.fixture(scope="module")
def tokenizer(encodec_dir: Path) -> EncodecTokenizer:
    return EncodecTokenizer.from_pretrained(encodec_dir)


@pytest.fixture
def processor(tokenizer: EncodecTokenizer) -> VocosEncodecProcessor:
    return VocosEncodecProcessor(feature_extractor=VocosFeatureExtractor(), audio_tokenizer=tokenizer)


def models_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_save_load_pretrained_default(processor: VocosEncodecProcessor, tmp_path: Path) -> None:
    processor.save_pretrained(tmp_path)
    loaded = VocosEncodecProcessor.from_pretrained(tmp_path)
    assert loaded.feature_extractor.to_json_string() == processor.feature_extractor.to_json_string()
    assert type(loaded.audio_tokenizer) is type(processor.audio_tokenizer)
    assert loaded.audio_tokenizer.name_or_path == processor.audio_tokenizer.name_or_path
    assert models_equal(loaded.audio_tokenizer, processor.audio_tokenizer)
    config = json.loads((tmp_path / "processor_config.json").read_text())
    assert config["audio_tokenizer"]["audio_tokenizer_class"] == "EncodecModel"


def test_save_load_pretrained_additional_features(processor: VocosEncodecProcessor, tmp_path: Path) -> None:
    processor.save_pretrained(tmp_path)
    loaded = VocosEncodecProcessor.from_pretrained(tmp_path, sampling_rate=16000)
    expected = VocosFeatureExtractor(sampling_rate=16000, processor_class="VocosEncodecProcessor")
    assert loaded.feature_extractor.to_json_string() == expected.to_json_string()
    assert models_equal(loaded.audio_tokenizer, processor.audio_tokenizer)


def test_a_tokenizer_without_a_name_is_saved_beside(tmp_path: Path) -> None:
    tokenizer = EncodecTokenizer(EncodecTokenizer.from_pretrained(_local(tmp_path)).model)  # no name_or_path
    processor = VocosEncodecProcessor(VocosFeatureExtractor(), tokenizer)
    processor.save_pretrained(tmp_path / "p")
    assert (tmp_path / "p" / "audio_tokenizer" / "model.safetensors").is_file()
    assert models_equal(VocosEncodecProcessor.from_pretrained(tmp_path / "p").audio_tokenizer, tokenizer)


def _local(tmp_path: Path) -> Path:
    return write_transformers_encodec(tmp_path / "enc", encodec_package_state_with(spread_codebooks(1)), True)


@pytest.mark.parametrize("bandwidth", BANDWIDTHS)
def test_encodec_audio_vs_codes_consistency(processor: VocosEncodecProcessor, bandwidth: float) -> None:
    audio = torch.randn(1, 1024, generator=torch.Generator().manual_seed(0))
    from_audio = processor(audio=audio, bandwidth=bandwidth, return_tensors="pt")["input_features"]
    tokenizer = processor.audio_tokenizer
    with torch.no_grad():
        codes = tokenizer.quantizer.encode(tokenizer.encoder(audio.unsqueeze(1)), bandwidth=bandwidth)
    assert len(set(codes[0].flatten().tolist())) > 1  # varied codes: the comparison is not between constants
    from_codes = processor(codes=codes, bandwidth=bandwidth, return_tensors="pt")["input_features"]
    torch.testing.assert_close(from_audio, from_codes)


@pytest.mark.parametrize("bandwidth", BANDWIDTHS)
def test_encodec_codes_inputs(processor: VocosEncodecProcessor, bandwidth: float) -> None:
    quantizer = processor.audio_tokenizer.quantizer
    codes = torch.randint(0, quantizer.codebook_size, (quantizer.get_num_quantizers_for_bandwidth(bandwidth), 200))
    outputs = processor(codes=codes, bandwidth=bandwidth, return_tensors="pt")
    assert "input_features" in outputs and "bandwidth" in outputs
    assert outputs["input_features"].shape[-1] == 200
    assert isinstance(outputs["bandwidth"], float)


def test_neither_audio_nor_codes_raises(processor: VocosEncodecProcessor) -> None:
    with pytest.raises(ValueError):
        processor()
    with pytest.raises(ValueError, match="needs bandwidth"):
        processor(codes=torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="exactly one of"):
        processor(audio=torch.zeros(800), codes=torch.zeros(2, 5, dtype=torch.long), bandwidth=1.5)


def test_batch_padding(processor: VocosEncodecProcessor) -> None:
    """The PR's test_and_batch_padding shapes: 140520 samples (and a shorter clip) -> 440 frames at 6 kbps."""
    rng = np.random.default_rng(0)
    audios = [rng.standard_normal(140520).astype(np.float32) * 0.1, rng.standard_normal(7000).astype(np.float32) * 0.1]
    batch = processor(audios, bandwidth=6.0, sampling_rate=24000, padding=True, return_tensors="pt")
    assert batch.input_features.shape == (2, 128, 440)
    assert batch.attention_mask.shape == (2, 140800) and batch.attention_mask.sum(1).tolist() == [140520, 7000]
    first = processor(audios[0], sampling_rate=24000, bandwidth=6.0, padding=False).input_features
    second = processor(audios[1], sampling_rate=24000, bandwidth=6.0, padding=False).input_features
    assert batch.input_features.shape[1] == first.shape[1]
    assert batch.input_features.shape[-1] == max(first.shape[-1], second.shape[-1]) == 440
    assert torch.equal(batch.input_features[0], first[0])  # each item is computed as it is alone
    assert torch.equal(batch.input_features[1, :, : second.shape[-1]], second[0])


def test_sampling_rate_mismatch_is_an_error(processor: VocosEncodecProcessor, tmp_path: Path) -> None:
    clip16k = np.zeros(16000, dtype=np.float32)
    with pytest.raises(ValueError, match=r"24000 Hz .* 16000 Hz"):
        processor(audio=clip16k, sampling_rate=16000, bandwidth=6.0)
    g = Golden("mel_tiny_center")
    mel = VocosProcessor.from_pretrained(write_charactr(tmp_path / "m", g.config_yaml, g.state()))
    with pytest.raises(ValueError, match=r"24000 Hz .* 16000 Hz"):
        mel(audio=clip16k, sampling_rate=16000)


def test_codebook_count_policy(processor: VocosEncodecProcessor) -> None:
    codes = torch.randint(0, 1024, (8, 1, 20), generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match="3.0 kbps uses 4 codebooks, but the codes have 8"):
        mismatched = processor(codes=codes, bandwidth=3.0).input_features
    assert torch.equal(mismatched, processor(codes=codes, bandwidth=6.0).input_features)  # all 8 embedded
    with pytest.raises(ValueError, match=r"got 17 codebooks; this model has 1\.\.16"):
        processor(codes=torch.zeros(17, 5, dtype=torch.long), bandwidth=12.0)


def same_head(g: Golden) -> dict:
    """The tiny EnCodec golden architecture with the published model's "same" ISTFT head (the doc's shapes)."""
    config = copy.deepcopy(g.config_yaml)
    config["head"]["init_args"]["padding"] = "same"
    return config


def test_seed_doc_code_runs_as_written(encodec_dir: Path, tmp_path: Path) -> None:
    """The model doc of the first revisions (the seed doc of this library), with its documented shapes, on
    checkpoints with random weights in place of the published ones."""
    g = Golden("mel_tiny_center")
    model_id = write_charactr(tmp_path / "vocos-mel-24khz", g.config_yaml, g.state())
    processor = VocosProcessor.from_pretrained(model_id)
    model = VocosModel.from_pretrained(model_id)
    audio = np.random.default_rng(0).standard_normal(140520).astype(np.float32) * 0.1  # ds[0]["audio"]["array"]
    inputs = processor(audio=audio)
    assert list(inputs.features.shape) == [1, 100, 550]
    audio = model(**inputs)
    assert list(audio.shape) == [1, 140544]
    assert audio[0].detach().cpu().numpy().shape == (140544,)  # write_wav(..., audio[0]...)

    e = Golden("encodec_tiny_center")
    model_id = write_charactr(tmp_path / "vocos-encodec-24khz", same_head(e), e.state())
    processor = VocosProcessor.from_pretrained(model_id, encodec=encodec_dir)
    model = VocosModel.from_pretrained(model_id)
    inputs = processor(audio=np.random.default_rng(1).standard_normal(140520).astype(np.float32) * 0.1, bandwidth=6.0)
    assert list(inputs.features.shape) == [1, 128, 440]
    assert list(model(**inputs).shape) == [1, 140800]
    audio_codes = torch.randint(low=0, high=1024, size=(8, 200))
    inputs = processor(codes=audio_codes, bandwidth=6.0)
    assert list(inputs.features.shape) == [1, 128, 200]
    audio = model(**inputs)
    assert list(audio.shape) == [1, 64000]
    assert torch.equal(model(codes=audio_codes, bandwidth=6.0), audio)  # the README's form
    vocos = Vocos.from_pretrained(model_id)
    assert torch.equal(audio, vocos.decode(vocos.codes_to_features(audio_codes), bandwidth_id=torch.tensor([2])))
    # and vocos 0.1.0's output for these weights (the golden run used a "center" head; the features are the same)
    golden = Golden("encodec_tiny_center")
    features = processor(codes=golden["codes"][:8], bandwidth=6.0).features
    assert (features - golden["features_bw2"]).abs().max().item() <= 1e-5


def test_latest_doc_code_runs_as_written(encodec_dir: Path, tmp_path: Path) -> None:
    """The latest revision's vocos_encodec model doc: VocosEncodecProcessor + VocosEncodecModel."""
    e = Golden("encodec_tiny_center")
    model_id = write_charactr(tmp_path / "vocos-encodec-24khz", same_head(e), e.state())
    processor = VocosEncodecProcessor.from_pretrained(model_id, audio_tokenizer=encodec_dir)
    model = VocosEncodecModel.from_pretrained(model_id, device_map="auto")
    sampling_rate = processor.feature_extractor.sampling_rate
    audio = np.random.default_rng(2).standard_normal(24010).astype(np.float32) * 0.1
    inputs = processor(audio=audio, bandwidth=6.0, sampling_rate=sampling_rate).to(model.device)
    assert inputs.input_features.shape == (1, 128, 76)  # ceil(24010 / 320)
    outputs = model(**inputs)
    assert outputs.audio.shape == (1, 76 * 320)
    assert outputs.attention_mask.shape == (1, 76 * 320) and int(outputs.attention_mask.sum()) == 24010
    audio_codes = torch.randint(low=0, high=1024, size=(8, 200))
    assert model(**processor(codes=audio_codes, bandwidth=6.0)).audio.shape == (1, 64000)
