from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from vocos_stream import ConfigError, VocosConfig, encodec_24khz_config, mel_24khz_config

# The two published charactr configs, verbatim.
MEL_YAML = """
feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args:
    sample_rate: 24000
    n_fft: 1024
    hop_length: 256
    n_mels: 100
    padding: center

backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: 100
    dim: 512
    intermediate_dim: 1536
    num_layers: 8

head:
  class_path: vocos.heads.ISTFTHead
  init_args:
    dim: 512
    n_fft: 1024
    hop_length: 256
    padding: center
"""

ENCODEC_YAML = """
feature_extractor:
  class_path: vocos.feature_extractors.EncodecFeatures
  init_args:
    encodec_model: encodec_24khz
    bandwidths: [1.5, 3.0, 6.0, 12.0]
    train_codebooks: false

backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: 128
    dim: 384
    intermediate_dim: 1152
    num_layers: 8
    adanorm_num_embeddings: 4

head:
  class_path: vocos.heads.ISTFTHead
  init_args:
    dim: 384
    n_fft: 1280
    hop_length: 320
    padding: same
"""


def test_published_yaml_configs_parse_to_the_published_architectures(tmp_path: Path) -> None:
    (tmp_path / "mel.yaml").write_text(MEL_YAML)
    (tmp_path / "enc.yaml").write_text(ENCODEC_YAML)
    assert VocosConfig.from_file(tmp_path / "mel.yaml") == mel_24khz_config()
    assert VocosConfig.from_file(tmp_path / "enc.yaml") == encodec_24khz_config()


@pytest.mark.parametrize(
    "fields",
    [
        {"input_channels": 128, "dim": 384, "intermediate_dim": 1152, "num_layers": 8, "use_adaptive_norm": True},
        {
            "n_mels": 128,
            "hidden_size": 384,
            "intermediate_size": 1152,
            "num_layers": 8,
            "model_type": "vocos_with_encodec",
        },
        {
            "input_channels": 128,
            "hidden_dim": 384,
            "intermediate_dim": 1152,
            "num_layers": 8,
            "adanorm_num_embeddings": 4,
            "sample_rate": 24000,
        },
    ],
)
def test_transformers_json_field_name_variants(tmp_path: Path, fields: dict[str, object]) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({**fields, "n_fft": 1280, "hop_length": 320, "istft_padding": "same"})
    )
    assert VocosConfig.from_file(tmp_path / "config.json") == encodec_24khz_config()


def test_transformers_mel_json(tmp_path: Path) -> None:
    d = {
        "model_type": "vocos",
        "input_channels": 100,
        "hidden_size": 512,
        "intermediate_size": 1536,
        "num_layers": 8,
        "kernel_size": 7,
        "padding": 3,
        "n_fft": 1024,
        "hop_length": 256,
        "istft_padding": "center",
        "sampling_rate": 24000,
    }
    (tmp_path / "config.json").write_text(json.dumps(d))
    assert VocosConfig.from_file(tmp_path / "config.json") == mel_24khz_config()


def test_round_trip_through_our_json(tmp_path: Path) -> None:
    for config in (mel_24khz_config(), encodec_24khz_config(), mel_24khz_config().replace(dim=64, padding="same")):
        config.save(tmp_path / "c.json")
        assert VocosConfig.from_file(tmp_path / "c.json") == config


def test_class_paths_are_never_imported(tmp_path: Path) -> None:
    data = yaml.safe_load(MEL_YAML)
    data["backbone"]["class_path"] = "os.system"
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="not supported"):
        VocosConfig.from_file(tmp_path / "evil.yaml")


def test_bandwidth_tables() -> None:
    c = encodec_24khz_config()
    assert [c.codebooks_for_bandwidth(b) for b in c.bandwidths] == [2, 4, 8, 16]
    assert [c.bandwidth_id(b) for b in (1.5, 3, 6, 12)] == [0, 1, 2, 3]
    assert c.num_codebooks == 16
    with pytest.raises(ValueError, match="unknown bandwidth 24"):
        c.bandwidth_id(24)


def test_bad_configs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="padding"):
        mel_24khz_config().replace(padding="valid")
    with pytest.raises(ConfigError, match="input channels"):
        mel_24khz_config().replace(n_mels=80)
    (tmp_path / "x.json").write_text('{"foo": 1}')
    with pytest.raises(ConfigError, match="does not look like a Vocos config"):
        VocosConfig.from_file(tmp_path / "x.json")
    (tmp_path / "y.yaml").write_text("backbone: [")
    with pytest.raises(ConfigError, match="cannot read"):
        VocosConfig.from_file(tmp_path / "y.yaml")
