"""transformers-style configs: the scenarios of the Vocos PR's ConfigTester runs (tests/models/vocos*/), ported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_config import ENCODEC_YAML, MEL_YAML

from vocos_stream import ConfigError, encodec_24khz_config, mel_24khz_config
from vocos_stream import VocosConfig as InternalConfig
from vocos_stream.transformers import VocosConfig, VocosEncodecConfig, config_from_internal

# The model testers' configs of the PR (VocosModelTester.get_config / VocosEncodecModelTester.get_config).
MEL_KWARGS = {
    "n_mels": 100,
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_layers": 2,
    "kernel_size": 3,
    "padding": 1,
    "layer_scale_init_value": 0.1,
    "use_adaptive_norm": False,
    "num_bandwidths": 1,
    "layer_norm_eps": 1e-6,
    "n_fft": 16,
    "hop_length": 8,
    "istft_padding": "center",
    "hidden_act": "gelu",
}
ENCODEC_KWARGS = {
    "codebook_dim": 128,
    **{k: v for k, v in MEL_KWARGS.items() if k not in ("n_mels", "hidden_act")},
    "istft_padding": "same",
}
CASES = [(VocosConfig, MEL_KWARGS), (VocosEncodecConfig, ENCODEC_KWARGS)]


@pytest.mark.parametrize("cls,kwargs", CASES)
def test_to_json_string_holds_the_inputs(cls: type, kwargs: dict) -> None:
    config = cls(**kwargs)
    data = json.loads(config.to_json_string())
    for key, value in kwargs.items():
        assert data[key] == value
    assert data["model_type"] == cls.model_type


@pytest.mark.parametrize("cls,kwargs", CASES)
def test_json_file_and_pretrained_round_trips(cls: type, kwargs: dict, tmp_path: Path) -> None:
    config = cls(**kwargs)
    config.to_json_file(tmp_path / "config.json")
    assert cls.from_json_file(tmp_path / "config.json").to_dict() == config.to_dict()
    config.save_pretrained(tmp_path / "saved")
    assert cls.from_pretrained(tmp_path / "saved").to_dict() == config.to_dict()
    config.save_pretrained(tmp_path / "top" / "subfolder")
    assert cls.from_pretrained(tmp_path / "top", subfolder="subfolder").to_dict() == config.to_dict()
    assert cls.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("cls", [VocosConfig, VocosEncodecConfig])
def test_init_without_params_is_the_published_model(cls: type) -> None:
    expected = mel_24khz_config() if cls is VocosConfig else encodec_24khz_config()
    internal = cls().to_internal()
    # the default layer scale (1/8) is only an initial value; the architecture is the published one
    assert internal.replace(layer_scale_init_value=None) == expected.replace(layer_scale_init_value=None)


def test_common_kwargs_are_kept_as_attributes() -> None:
    common = {"return_dict": False, "output_hidden_states": True, "torchscript": True, "dtype": "float16"}
    config = VocosConfig(**common)
    for key, value in common.items():
        assert getattr(config, key) == value
    again = VocosConfig.from_dict(config.to_dict())
    assert all(getattr(again, k) == v for k, v in common.items())


def test_from_pretrained_overrides_and_unused_kwargs(tmp_path: Path) -> None:
    VocosConfig(hidden_size=16).save_pretrained(tmp_path)
    config, unused = VocosConfig.from_pretrained(tmp_path, hidden_size=32, foo=1, return_unused_kwargs=True)
    assert config.hidden_size == 32 and unused == {"foo": 1}
    with pytest.raises(TypeError, match="foo"):
        VocosConfig.from_pretrained(tmp_path, foo=1)
    with pytest.raises(ConfigError, match=r"VocosConfig\.from_pretrained"):
        VocosEncodecConfig.from_pretrained(tmp_path)


def test_earlier_revisions_names_are_aliases() -> None:
    """The seed doc's revision: input_channels / hidden_dim / spec_padding / sampling_rate, and use_adaptive_norm
    with bandwidths describing the EnCodec variant."""
    config = VocosConfig(
        input_channels=128,
        hidden_dim=384,
        intermediate_dim=1152,
        n_fft=1280,
        hop_length=320,
        spec_padding="same",
        use_adaptive_norm=True,
        bandwidths=[1.5, 3.0, 6.0, 12.0],
    )
    assert (config.n_mels, config.hidden_size, config.istft_padding) == (128, 384, "same")
    assert config.input_channels == 128 and config.sampling_rate == 24000
    assert config.feature_kind == "encodec"
    assert config.to_internal().replace(layer_scale_init_value=None) == encodec_24khz_config().replace(
        layer_scale_init_value=None
    )


@pytest.mark.parametrize("text", [MEL_YAML, ENCODEC_YAML])
def test_internal_round_trip(text: str, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(text)
    internal = InternalConfig.from_file(tmp_path / "config.yaml")
    config = config_from_internal(internal)
    assert config.to_internal() == internal
    assert type(config).from_pretrained(tmp_path).to_dict() == config.to_dict()  # a charactr config.yaml, converted
    assert yaml.safe_load(text)  # the fixture is the published one


def test_other_kernel_sizes_build_and_bad_ones_are_refused() -> None:
    assert VocosConfig(kernel_size=3, padding=1).to_internal().kernel_size == 3
    with pytest.raises(ConfigError, match="use padding 1"):
        VocosConfig(kernel_size=3, padding=3).to_internal()
    with pytest.raises(ConfigError, match="odd"):
        VocosConfig(kernel_size=4, padding=1).to_internal()
    with pytest.raises(ConfigError, match="gelu"):
        VocosConfig(hidden_act="relu").to_internal()
    with pytest.raises(ConfigError, match="num_quantizers 1000"):
        VocosEncodecConfig(num_quantizers=1000).to_internal()
