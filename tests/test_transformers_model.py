"""VocosModel / VocosEncodecModel: the scenarios of the Vocos PR's test_modeling_vocos*.py, ported; outputs,
transformers conventions, and streaming from the transformers-style objects."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
from checkpoints import write_charactr
from conftest import Golden
from test_transformers_config import ENCODEC_KWARGS, MEL_KWARGS

from vocos_stream import Vocos
from vocos_stream import VocosConfig as InternalConfig
from vocos_stream.transformers import (
    VocosConfig,
    VocosEncodecConfig,
    VocosEncodecModel,
    VocosModel,
    VocosOutput,
)

BATCH, SEQ = 2, 10


def floats(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


def expected_length(config: VocosConfig | VocosEncodecConfig) -> int:
    """The PR's create_and_check_model."""
    if config.istft_padding == "center":
        return (SEQ - 1) * config.hop_length
    pad = (config.n_fft - config.hop_length) // 2
    return (SEQ - 1) * config.hop_length + config.n_fft - 2 * pad


def test_model_output_shapes() -> None:
    for padding in ("center", "same"):
        config = VocosConfig(**{**MEL_KWARGS, "istft_padding": padding})
        out = VocosModel(config=config).eval()(floats(BATCH, 100, SEQ))
        assert out.audio.shape == (BATCH, expected_length(config))
        econfig = VocosEncodecConfig(**{**ENCODEC_KWARGS, "istft_padding": padding})
        eout = VocosEncodecModel(config=econfig)(floats(BATCH, 128, SEQ), bandwidth=torch.tensor(1.5))
        assert eout.audio.shape == (BATCH, expected_length(econfig))


def test_forward_signatures() -> None:
    assert list(inspect.signature(VocosModel(VocosConfig(**MEL_KWARGS)).forward).parameters) == [
        "input_features",
        "attention_mask",
        "kwargs",
    ]
    assert list(inspect.signature(VocosEncodecModel(VocosEncodecConfig(**ENCODEC_KWARGS)).forward).parameters) == [
        "input_features",
        "attention_mask",
        "bandwidth",
        "kwargs",
    ]


@pytest.mark.parametrize("cls,config", [(VocosModel, VocosConfig), (VocosEncodecModel, VocosEncodecConfig)])
def test_initialization(cls: type, config: type) -> None:
    """test_initialization with _config_zero_init (layer_scale_init_value -> 1e-10)."""
    kwargs = {**(MEL_KWARGS if config is VocosConfig else ENCODEC_KWARGS), "layer_scale_init_value": 1e-10}
    model = cls(config=config(**kwargs))
    uniform = ["embed.weight", "dwconv.weight", "pwconv1.weight", "pwconv2.weight", "out.weight"]
    for name, param in model.named_parameters():
        mean = ((param.data.mean() * 1e9).round() / 1e9).item()
        if any(x in name for x in uniform):
            assert -1.0 <= mean <= 1.0, name
        elif param.requires_grad:
            assert mean in [0.0, 1.0], name


@pytest.mark.parametrize("cls,config", [(VocosModel, VocosConfig), (VocosEncodecModel, VocosEncodecConfig)])
def test_save_load_strict(cls: type, config: type, tmp_path: Path) -> None:
    model = cls(config(**(MEL_KWARGS if config is VocosConfig else ENCODEC_KWARGS)))
    model.save_pretrained(tmp_path)
    loaded, info = cls.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == set()
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    )


def test_batching_equivalence() -> None:
    """Each row of a batch decodes as that row alone (the PR's test_batching_equivalence, atol 1e-5)."""
    model = VocosEncodecModel(VocosEncodecConfig(**ENCODEC_KWARGS))
    features = floats(BATCH, 128, SEQ)
    batched = model(input_features=features, bandwidth=torch.tensor(1.5))
    single = model(input_features=features[:1], bandwidth=torch.tensor(1.5))
    torch.testing.assert_close(batched[:1], single, atol=1e-5, rtol=1e-5)
    mel = VocosModel(VocosConfig(**MEL_KWARGS))
    torch.testing.assert_close(mel(floats(BATCH, 100, SEQ))[:1], mel(floats(BATCH, 100, SEQ)[:1]), atol=1e-5, rtol=1e-5)


def test_output_conventions() -> None:
    model = VocosModel(VocosConfig(**MEL_KWARGS))
    features = floats(BATCH, 100, SEQ)
    out = model(features)
    assert isinstance(out, VocosOutput) and isinstance(out, torch.Tensor)
    assert torch.equal(out.audio, out) and torch.equal(out["audio"], out) and out.attention_mask is None
    assert out.keys() == ["audio"] and len(out.to_tuple()) == 1
    assert out[0].shape == (expected_length(model.config),)  # the seed doc's audio[0]: the first item
    plain = model(features, return_dict=False)
    assert isinstance(plain, tuple) and len(plain) == 1 and torch.equal(plain[0], out)
    mask = torch.ones(BATCH, 72, dtype=torch.int32)
    with_mask = model(features, attention_mask=mask)
    assert with_mask.keys() == ["audio", "attention_mask"] and with_mask.attention_mask.shape == out.shape
    assert len(model(features, attention_mask=mask, return_dict=False)) == 2
    # seed-era input names
    assert torch.equal(model(features=features), out) and torch.equal(model(audio_spectrogram=features), out)


def test_pretrained_model_surface(tmp_path: Path) -> None:
    model = VocosModel(VocosConfig(**MEL_KWARGS))
    assert model.main_input_name == "input_features" and model.base_model_prefix == "vocos"
    assert model.device == torch.device("cpu") and model.dtype == torch.float32
    model.save_pretrained(tmp_path)
    half = VocosModel.from_pretrained(tmp_path, dtype=torch.float64, device_map="cpu")
    assert half.dtype == torch.float64 and half.device.type == "cpu"
    assert VocosModel.from_pretrained(tmp_path, torch_dtype="float64").dtype == torch.float64
    assert VocosModel.from_pretrained(tmp_path, device_map="auto").device.type in ("cpu", "cuda")
    assert VocosModel.from_pretrained(tmp_path, layer_norm_eps=1e-5).config.layer_norm_eps == 1e-5
    with pytest.raises(TypeError, match="bogus"):
        VocosModel.from_pretrained(tmp_path, bogus=1)
    # the constructors: a transformers config, the library's config, a loaded Vocos
    internal = InternalConfig(num_layers=1, dim=16, intermediate_dim=32)
    assert isinstance(VocosModel(internal).config, VocosConfig)
    vocos = Vocos(internal)
    assert VocosModel(vocos).vocos is vocos
    with pytest.raises(ValueError, match="EnCodec-variant"):
        VocosEncodecModel(VocosConfig(**MEL_KWARGS))
    with pytest.raises(TypeError, match="VocosConfig"):
        VocosModel("nope")  # type: ignore[arg-type]


def test_forward_errors() -> None:
    model = VocosEncodecModel(VocosEncodecConfig(**ENCODEC_KWARGS))
    features = floats(1, 128, SEQ)
    with pytest.raises(ValueError, match="needs bandwidth"):
        model(features)
    with pytest.raises(ValueError, match="unknown bandwidth 24"):
        model(features, bandwidth=24.0)
    with pytest.raises(ValueError, match="exactly one of"):
        model(bandwidth=1.5)
    with pytest.raises(TypeError, match="bogus"):
        model(features, bandwidth=1.5, bogus=True)
    mel = VocosModel(VocosConfig(**MEL_KWARGS))
    with pytest.raises(ValueError, match="mel model"):
        mel(floats(1, 100, SEQ), bandwidth=6.0)
    with pytest.raises(ValueError, match="ones then zeros"):
        mel(floats(1, 100, SEQ), attention_mask=torch.tensor([[0, 1, 1]]))
    with pytest.raises(ValueError, match="batch=1"):
        mel(floats(1, 100, SEQ), attention_mask=torch.ones(2, 3))


def test_codes_input_and_codebook_policy(tmp_path: Path) -> None:
    g = Golden("encodec_tiny_center")
    directory = write_charactr(tmp_path / "e", g.config_yaml, g.state())
    vocos, model = Vocos.from_pretrained(directory), VocosEncodecModel.from_pretrained(directory)
    codes = g["codes"]
    expected = vocos.decode(vocos.codes_to_features(codes[:8]), bandwidth_id=torch.tensor([2]))
    assert torch.equal(model(codes=codes[:8], bandwidth=6.0), expected)
    # a codebook count other than the bandwidth's: embedded as given (as transformers does), with a warning
    with pytest.warns(UserWarning, match="6.0 kbps uses 8 codebooks, but the codes have 4"):
        out = model(codes=codes[:4], bandwidth=6.0)
    assert torch.equal(out, vocos.decode(vocos.codes_to_features(codes[:4]), bandwidth_id=torch.tensor([2])))
    with pytest.raises(ValueError, match="uses 8 codebooks, but the codes have 4"):
        vocos.codes_to_features(codes[:4], bandwidth_id=2)  # the Vocos API stays strict


@pytest.mark.parametrize("name", ["mel_tiny_center", "encodec_tiny_center"])
def test_stream_reaches_the_engine(name: str, tmp_path: Path) -> None:
    """VocosModel.stream(...) is Vocos.stream on the same weights: pushed chunks equal offline decoding."""
    g = Golden(name)
    directory = write_charactr(tmp_path / "m", g.config_yaml, g.state())
    model, vocos = VocosModel.from_pretrained(directory), Vocos.from_pretrained(directory)
    if vocos.config.feature_kind == "mel":
        s, features, offline = model.stream(input="mel"), g["features"], model(g["features"])
        reference = vocos.stream(input="mel")
    else:
        features = g["features_bw2"]
        s, offline = model.stream(input="features", bandwidth=6.0), model(features, bandwidth=6.0)
        reference = vocos.stream(input="features", bandwidth_id=2)
    assert type(s) is type(reference)
    chunks = [s.push(features[..., i : i + 7]) for i in range(0, features.shape[-1], 7)] + [s.flush()]
    streamed = torch.cat(chunks, dim=-1)
    assert streamed.shape == offline.shape
    assert (streamed - offline).abs().max().item() <= 1e-5
    assert s.latency_samples == reference.latency_samples


def test_stream_with_another_kernel_size() -> None:
    """The PR testers' kernel 3 (padding 1): the engine streams it exactly too (its receptive field is 1 frame per
    layer)."""
    model = VocosModel(VocosConfig(**MEL_KWARGS))
    features = floats(1, 100, 23)
    s = model.stream(input="mel")
    assert s.receptive_field == 1 + MEL_KWARGS["num_layers"]
    streamed = torch.cat([s.push(features[..., i : i + 3]) for i in range(0, 23, 3)] + [s.flush()], dim=-1)
    offline = model(features)
    assert streamed.shape == offline.shape and (streamed - offline).abs().max().item() <= 1e-5
