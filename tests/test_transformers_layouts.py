"""Every checkpoint layout the transformers Vocos PR's conversion scripts produce loads, and decodes exactly as the
charactr layout of the same weights (and as vocos 0.1.0: the golden outputs).

Fixtures are written with the scripts' own key mappings (tests/checkpoints.py), from the golden weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from checkpoints import (
    encodec_package_state_with,
    original_state,
    transformers_encodec_keys,
    write_charactr,
    write_latest,
    write_mid_encodec,
    write_transformers_encodec,
)
from conftest import Golden

from vocos_stream import CheckpointError, Vocos
from vocos_stream.features.encodec_tokenizer import EncodecTokenizer
from vocos_stream.transformers import (
    VocosConfig,
    VocosEncodecConfig,
    VocosEncodecModel,
    VocosEncodecProcessor,
    VocosFeatureExtractor,
    VocosModel,
    VocosProcessor,
)

MEL = ["mel_tiny_center", "mel_tiny_same"]
ENCODEC = ["encodec_tiny_center", "encodec_full"]
TOL = 1e-4


def charactr(g: Golden, tmp_path: Path) -> Vocos:
    return Vocos.from_pretrained(write_charactr(tmp_path / "charactr", g.config_yaml, g.state()))


def encodec_dir(g: Golden, tmp_path: Path, parametrized: bool = False) -> Path:
    """A transformers EncodecModel directory whose codebooks are the golden model's."""
    codebooks = g.state()["feature_extractor.codebook_weights"]
    return write_transformers_encodec(tmp_path / "encodec", encodec_package_state_with(codebooks), parametrized)


def assert_same_decoding(model: VocosModel, reference: Vocos, g: Golden) -> None:
    if reference.config.feature_kind == "mel":
        expected = reference.decode(g["features"])
        assert torch.equal(model(input_features=g["features"]), expected)
        assert (model(input_features=g["features"]) - g["decoded"]).abs().max() <= TOL
        return
    for bw, kbps in enumerate([1.5, 3.0, 6.0, 12.0]):
        k = [2, 4, 8, 16][bw]
        expected = reference.decode(reference.codes_to_features(g["codes"][:k]), bandwidth_id=torch.tensor([bw]))
        assert torch.equal(model(codes=g["codes"][:k], bandwidth=kbps), expected)
        assert (model(input_features=g[f"features_bw{bw}"], bandwidth=kbps) - g[f"decoded_bw{bw}"]).abs().max() <= TOL


@pytest.mark.parametrize("name", MEL)
def test_latest_mel_layout(name: str, tmp_path: Path) -> None:
    g = Golden(name)
    directory = write_latest(tmp_path / "hf", g.config_yaml, g.state())
    keys = set(torch.load(directory / "pytorch_model.bin", weights_only=True))
    assert {"embed.weight", "norm.weight", "layers.0.dwconv.weight", "final_layer_norm.bias"} <= keys
    assert {"decoder.out.weight", "decoder.window", "layers.1.layer_scale_parameter"} <= keys
    reference = charactr(g, tmp_path)
    model, info = VocosModel.from_pretrained(directory, output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert isinstance(model.config, VocosConfig) and model.config.n_mels == 100
    assert_same_decoding(model, reference, g)
    assert torch.equal(Vocos.from_pretrained(directory).decode(g["features"]), reference.decode(g["features"]))
    fe = VocosFeatureExtractor.from_pretrained(directory)
    assert (fe.n_fft, fe.hop_length, fe.num_mel_bins, fe.sampling_rate) == (1024, 256, 100, 24000)


@pytest.mark.parametrize("name", ENCODEC)
def test_latest_encodec_layout(name: str, tmp_path: Path) -> None:
    """vocos_encodec: flat keys, codebook_weights as a buffer, config keyed by codebook_dim / num_quantizers."""
    g = Golden(name)
    tokenizer_dir = encodec_dir(g, tmp_path)
    directory = write_latest(tmp_path / "hf", g.config_yaml, g.state(), audio_tokenizer=str(tokenizer_dir))
    config = json.loads((directory / "config.json").read_text())
    assert (
        config["model_type"] == "vocos_encodec" and config["codebook_dim"] == 128 and config["num_quantizers"] == 16384
    )
    reference = charactr(g, tmp_path)
    for cls in (VocosEncodecModel, VocosModel):
        model = cls.from_pretrained(directory)
        assert isinstance(model.config, VocosEncodecConfig)
        assert_same_decoding(model, reference, g)
    processor = VocosEncodecProcessor.from_pretrained(directory)
    inputs = processor(codes=g["codes"][:8], bandwidth=6.0)
    assert torch.equal(inputs.input_features, reference.codes_to_features(g["codes"][:8]))


@pytest.mark.parametrize("parametrized", [False, True])
def test_codebooks_in_the_encodec_model(parametrized: bool, tmp_path: Path) -> None:
    """The 2025 revisions: the vocoder holds no codebooks; processor_config.json names the EnCodec model (here a
    local transformers-layout copy standing in for facebook/encodec_24khz) that holds them."""
    g = Golden("encodec_tiny_center")
    tokenizer_dir = encodec_dir(g, tmp_path, parametrized)
    directory = write_mid_encodec(tmp_path / "mid", g.config_yaml, g.state(), str(tokenizer_dir))
    assert not any("codebook" in k for k in json.loads((directory / "config.json").read_text()))
    reference = charactr(g, tmp_path)
    model = VocosModel.from_pretrained(directory)
    assert_same_decoding(model, reference, g)
    assert torch.equal(
        Vocos.from_pretrained(directory).codes_to_features(g["codes"]), reference.codes_to_features(g["codes"])
    )
    processor = VocosProcessor.from_pretrained(directory)
    assert torch.equal(
        processor(codes=g["codes"][:4], bandwidth=3.0).features, reference.codes_to_features(g["codes"][:4])
    )
    # the EnCodec network itself loads from that directory: audio -> codes equals the same network's
    audio = torch.randn(1, 3200) * 0.1
    loaded = EncodecTokenizer.from_pretrained(tokenizer_dir)
    expected = encodec_package_state_with(g.state()["feature_extractor.codebook_weights"])
    assert all(torch.equal(v, expected[k]) for k, v in loaded.model.state_dict().items())
    assert set(loaded.model.state_dict()) == set(expected)
    codes = loaded.encode(audio, 6.0)
    assert codes.shape == (8, 1, 10)


def test_encodec_model_inside_the_checkpoint(tmp_path: Path) -> None:
    """VocosWithEncodecModel revisions: an ``encodec_model.`` submodule in the weights; without codebook_weights,
    its quantizer's codebooks are used."""
    from safetensors.torch import save_file

    g = Golden("encodec_tiny_center")
    state = g.state()
    codebooks = state.pop("feature_extractor.codebook_weights")
    encodec = transformers_encodec_keys(encodec_package_state_with(codebooks), parametrized=False)
    weights = {f"encodec_model.{k}": v for k, v in encodec.items()} | dict(original_state(g.config_yaml, state))
    directory = tmp_path / "with_encodec"
    directory.mkdir()
    save_file({k: v.contiguous() for k, v in weights.items()}, str(directory / "model.safetensors"))
    bb, head = g.config_yaml["backbone"]["init_args"], g.config_yaml["head"]["init_args"]
    config = {
        "model_type": "vocos_with_encodec",
        "input_channels": 128,
        "hidden_size": bb["dim"],
        "intermediate_size": bb["intermediate_dim"],
        "num_layers": bb["num_layers"],
        "n_fft": head["n_fft"],
        "hop_length": head["hop_length"],
        "istft_padding": head["padding"],
    }
    (directory / "config.json").write_text(json.dumps(config))
    model, info = VocosModel.from_pretrained(directory, output_loading_info=True)
    assert_same_decoding(model, charactr(g, tmp_path), g)
    assert info["missing_keys"] == set()
    assert "encodec_model.encoder.layers.0.conv.weight_v" in info["unexpected_keys"]


def test_missing_codebooks_say_where_to_find_them(tmp_path: Path) -> None:
    g = Golden("encodec_tiny_center")
    directory = write_mid_encodec(tmp_path / "mid", g.config_yaml, g.state(), str(tmp_path / "nowhere"))
    (directory / "processor_config.json").unlink()
    with pytest.raises(CheckpointError, match=r"holds no EnCodec codebooks.*encodec="):
        VocosModel.from_pretrained(directory)
    # given explicitly, they load
    model = VocosModel.from_pretrained(directory, encodec=encodec_dir(g, tmp_path))
    assert_same_decoding(model, charactr(g, tmp_path), g)


@pytest.mark.parametrize("name", ["mel_tiny_center", "encodec_tiny_center"])
def test_save_pretrained_writes_the_latest_layout(name: str, tmp_path: Path) -> None:
    g = Golden(name)
    reference = charactr(g, tmp_path)
    model = VocosModel.from_pretrained(tmp_path / "charactr")
    for safe in (True, False):
        out = model.save_pretrained(tmp_path / f"saved{safe}", safe_serialization=safe)
        weights = out / ("model.safetensors" if safe else "pytorch_model.bin")
        if safe:
            from safetensors.torch import load_file

            keys = set(load_file(str(weights)))
        else:
            keys = set(torch.load(weights, weights_only=True))
        expected = set(latest_keys(g))
        assert keys == expected
        config = json.loads((out / "config.json").read_text())
        assert config["architectures"] == ["VocosModel"]
        again, info = VocosModel.from_pretrained(out, output_loading_info=True)
        assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
        assert again.config == model.config
        assert_same_decoding(again, reference, g)


def latest_keys(g: Golden) -> dict[str, torch.Tensor]:
    from checkpoints import latest_encodec_keys, latest_mel_keys

    original = original_state(g.config_yaml, g.state())
    return latest_encodec_keys(original) if "codebook_weights" in str(list(original)) else latest_mel_keys(original)
