"""Damaged weight files and wrong config values: a CheckpointError / ConfigError naming the file and the field,
refused before any model is built (no parameter is ever registered), with a message that says what to do."""

from __future__ import annotations

import json
import os
import stat
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from checkpoints import write_charactr, write_transformers
from conftest import Golden

from vocos_stream import CheckpointError, ConfigError, Vocos, VocosConfig, encodec_24khz_config, mel_24khz_config
from vocos_stream.checkpoint.files import safetensors_shapes


@pytest.fixture(scope="module")
def golden() -> Golden:
    return Golden("mel_tiny_center")


@pytest.fixture
def built_parameters() -> Iterator[list[str]]:
    """The name of every nn.Parameter registered on any module while the test runs (torch's global hook)."""
    names: list[str] = []
    handle = torch.nn.modules.module.register_module_parameter_registration_hook(
        lambda module, name, param: names.append(f"{type(module).__name__}.{name}")
    )
    yield names
    handle.remove()


# ------------------------------------------------------------------------------------------ the derived shapes
@pytest.mark.parametrize(
    "config",
    [
        mel_24khz_config(),
        encodec_24khz_config(),
        mel_24khz_config().replace(dim=32, intermediate_dim=48, num_layers=3, padding="same"),
        mel_24khz_config().replace(layer_scale_init_value=-1.0),  # no layer scale: no gamma
        encodec_24khz_config().replace(bandwidths=(1.5, 3.0), adanorm_num_embeddings=2, num_layers=1),
    ],
)
def test_parameter_shapes_are_those_of_the_built_model(config: VocosConfig) -> None:
    with torch.device("meta"):
        model = Vocos(config)
    assert config.parameter_shapes() == {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ------------------------------------------------------------------------------------------ damaged weights
def _valid_safetensors(golden: Golden, directory: Path) -> bytes:
    write_transformers(directory, golden.config_yaml, golden.state())
    return (directory / "model.safetensors").read_bytes()


def _header(tensors: dict[str, Any], data: bytes) -> bytes:
    header = json.dumps(tensors).encode()
    return struct.pack("<Q", len(header)) + header + data


SAFETENSORS_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda ok: b"",
    "5 bytes": lambda ok: ok[:5],
    "truncated header": lambda ok: ok[:200],
    "truncated data": lambda ok: ok[: len(ok) // 2],
    "random bytes": lambda ok: (
        torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(1)).to(torch.uint8).numpy().tobytes()
    ),
    "huge header length": lambda ok: struct.pack("<Q", 2**62) + b"{}",
    "header not JSON": lambda ok: struct.pack("<Q", 10) + b"not json!!",
    "header a list": lambda ok: _header([], b""),  # type: ignore[arg-type]
    "offsets past the end": lambda ok: _header(
        {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"12345678"
    ),
    "offsets not the shape": lambda ok: _header(
        {"x": {"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}}, bytes(16)
    ),
    "negative shape": lambda ok: _header({"x": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, bytes(16)),
    "unknown dtype": lambda ok: _header({"x": {"dtype": "Q9", "shape": [4], "data_offsets": [0, 16]}}, bytes(16)),
}


@pytest.mark.parametrize("damage", sorted(SAFETENSORS_DAMAGE))
def test_damaged_safetensors_name_the_file_and_say_what_to_do(
    golden: Golden, tmp_path: Path, damage: str, built_parameters: list[str]
) -> None:
    ok = _valid_safetensors(golden, tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(SAFETENSORS_DAMAGE[damage](ok))
    with pytest.raises(CheckpointError) as e:
        Vocos.from_pretrained(tmp_path / "m")
    message = str(e.value)
    assert "model.safetensors" in message and "again" in message, message
    assert "\n" not in message and len(message) < 600
    assert built_parameters == []  # refused before the model was built


BIN_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda ok: b"",
    "3 bytes": lambda ok: ok[:3],
    "truncated": lambda ok: ok[: len(ok) // 2],
    "random bytes": lambda ok: (
        torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(2)).to(torch.uint8).numpy().tobytes()
    ),
    "a pickle of text": lambda ok: b"\x80\x02X\x05\x00\x00\x00helloq\x00.",
}


@pytest.mark.parametrize("damage", sorted(BIN_DAMAGE))
def test_damaged_pytorch_bin_names_the_file(golden: Golden, tmp_path: Path, damage: str) -> None:
    directory = write_charactr(tmp_path / "m", golden.config_yaml, golden.state())
    ok = (directory / "pytorch_model.bin").read_bytes()
    (directory / "pytorch_model.bin").write_bytes(BIN_DAMAGE[damage](ok))
    with pytest.raises(CheckpointError) as e:
        Vocos.from_pretrained(directory)
    message = str(e.value)
    assert "pytorch_model.bin" in message and "\n" not in message, message
    assert "again" in message or "tensors" in message  # what to do: get the file again / it is not a state dict


def test_safetensors_shapes_come_from_the_header(golden: Golden, tmp_path: Path, built_parameters: list[str]) -> None:
    _valid_safetensors(golden, tmp_path / "m")
    shapes = safetensors_shapes(tmp_path / "m" / "model.safetensors")
    assert shapes["backbone.embed.weight"] == (32, 100, 7) and shapes["head.out_proj.weight"] == (1026, 32)
    assert built_parameters == []
    Vocos.from_pretrained(tmp_path / "m")  # the hook the other tests rely on does see a model being built
    assert "Conv1d.weight" in built_parameters and "Linear.weight" in built_parameters


def test_a_key_mismatch_is_summarised(tmp_path: Path) -> None:
    g = Golden("mel_tiny_center")
    cfg = yaml.safe_load(yaml.safe_dump(g.config_yaml))
    cfg["backbone"]["init_args"]["num_layers"] = 40  # the weights have 2 layers: 38 * 9 keys missing
    directory = write_charactr(tmp_path / "m", cfg, g.state())
    with pytest.raises(CheckpointError) as e:
        Vocos.from_pretrained(directory)
    message = str(e.value)
    assert "342 missing keys (backbone.convnext.10.dwconv.bias" in message and "and 339 more" in message
    assert "pytorch_model.bin" in message and "same checkpoint" in message
    assert len(message) < 500


# ------------------------------------------------------------------------------------------ config values
BAD_VALUES: list[tuple[str, Any, str]] = [
    ("512", "str", "whole number"),
    ([512], "list", "whole number"),
    (None, "NoneType", "whole number"),
    (512.5, "float", "whole number"),
    (512.0, "float", "whole number"),
    (True, "bool", "whole number"),
    ({"a": 1}, "dict", "whole number"),
]


def _charactr_yaml(golden: Golden, section: str, key: str, value: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = yaml.safe_load(yaml.safe_dump(golden.config_yaml))
    cfg[section]["init_args"][key] = value
    return cfg


@pytest.mark.parametrize("value,type_name,says", BAD_VALUES)
@pytest.mark.parametrize(
    "section,key",
    [("backbone", "dim"), ("backbone", "num_layers"), ("head", "n_fft"), ("feature_extractor", "sample_rate")],
)
def test_wrong_types_in_config_yaml_name_field_and_file(
    golden: Golden, tmp_path: Path, section: str, key: str, value: Any, type_name: str, says: str
) -> None:
    cfg = _charactr_yaml(golden, section, key, value)
    if key == "dim":
        cfg["head"]["init_args"]["dim"] = value  # both copies of dim: the type is what is wrong
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError) as e:
        VocosConfig.from_file(tmp_path / "config.yaml")
    message = str(e.value)
    assert f"{section}.init_args.{key}" in message and "config.yaml" in message, message
    assert says in message and type_name in message


TRANSFORMERS_JSON = {
    "model_type": "vocos",
    "input_channels": 100,
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_layers": 2,
    "n_fft": 1024,
    "hop_length": 256,
    "istft_padding": "center",
    "sampling_rate": 24000,
}


@pytest.mark.parametrize("value,type_name,says", BAD_VALUES)
@pytest.mark.parametrize("key", ["hidden_size", "intermediate_size", "num_layers", "hop_length", "sampling_rate"])
def test_wrong_types_in_config_json_name_field_and_file(
    tmp_path: Path, key: str, value: Any, type_name: str, says: str
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({**TRANSFORMERS_JSON, key: value}))
    with pytest.raises(ConfigError) as e:
        VocosConfig.from_file(tmp_path / "config.json")
    message = str(e.value)
    if value is None and key == "hidden_size":  # null dim: the config lacks it
        assert "hidden_size" in message and "config.json" in message
        return
    assert key in message and "config.json" in message and says in message and type_name in message, message


@pytest.mark.parametrize(
    "changes,says",
    [
        ({"istft_padding": "valid"}, "istft_padding must be one of"),
        ({"istft_padding": 3}, "istft_padding must be one of"),
        ({"bandwidths": "6.0"}, "bandwidths must be a list"),
        ({"bandwidths": 6, "use_adaptive_norm": True}, "bandwidths must be a list"),
        ({"bandwidths": [1.5, "3"]}, "bandwidths[1] must be a finite number"),
        ({"bandwidths": [1.5, float("nan")]}, "bandwidths[1] must be a finite number"),
        ({"bandwidths": [100.0]}, "bandwidths must lie in (0, 24]"),
        ({"layer_scale_init_value": "0.1"}, "layer_scale_init_value must be a finite number"),
        ({"use_adaptive_norm": "false"}, "use_adaptive_norm must be true or false"),
        ({"kernel_size": 8}, "kernel_size must be odd"),
        ({"kernel_size": 99}, "kernel_size must be in 1..63"),
        ({"kernel_size": 9, "padding": 3}, "would change the number of frames"),
        ({"layer_norm_eps": "1e-6"}, "layer_norm_eps must be a finite number"),
        ({"hidden_act": "relu"}, "hidden_act 'relu' is not supported"),
        ({"hop_length": 2048}, "hop_length must be at most n_fft"),
        ({"input_channels": 0}, "input_channels must be in 1..1024"),
    ],
)
def test_other_wrong_values_in_config_json(tmp_path: Path, changes: dict[str, Any], says: str) -> None:
    (tmp_path / "config.json").write_text(json.dumps({**TRANSFORMERS_JSON, **changes}))
    with pytest.raises(ConfigError) as e:
        VocosConfig.from_file(tmp_path / "config.json")
    assert says in str(e.value) and "config.json" in str(e.value), str(e.value)


def test_our_own_format_checks_types_too(tmp_path: Path) -> None:
    d = mel_24khz_config().to_dict()
    (tmp_path / "config.json").write_text(json.dumps({**d, "num_layers": "8"}))
    with pytest.raises(ConfigError, match=r"config\.json: num_layers must be a whole number, got '8' \(str\)"):
        VocosConfig.from_file(tmp_path / "config.json")
    with pytest.raises(ConfigError, match="dim must be a whole number"):
        VocosConfig(dim="512")  # type: ignore[arg-type]


def test_zero_layers_is_refused_before_any_division(golden: Golden, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"num_layers must be in 1\.\.64, got 0"):
        mel_24khz_config().replace(num_layers=0)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_charactr_yaml(golden, "backbone", "num_layers", 0)))
    with pytest.raises(ConfigError, match=r"config\.yaml: backbone\.init_args\.num_layers must be in 1\.\.64"):
        VocosConfig.from_file(tmp_path / "config.yaml")


# ------------------------------------------------------------------------------------------ absurd sizes
ABSURD: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("dim 1e9 (a float)", {"hidden_size": 1e9}, ConfigError, "hidden_size must be a whole number"),
    ("dim 10^9", {"hidden_size": 10**9}, ConfigError, "hidden_size must be in 1..4096"),
    ("100000 layers", {"num_layers": 100_000}, ConfigError, "num_layers must be in 1..64"),
    ("n_fft 2^31", {"n_fft": 2**31}, ConfigError, "n_fft must be in 2..16384"),
    (
        "every size at its bound",
        {"hidden_size": 4096, "intermediate_size": 16384, "num_layers": 64},
        ConfigError,
        "M parameters",
    ),
    # Within every bound, but not what the weights file holds: refused from the file's shapes, before building.
    (
        "sizes that the weights do not have",
        {"hidden_size": 1024, "intermediate_size": 4096, "num_layers": 20},
        CheckpointError,
        "do not fit",
    ),
]


@pytest.mark.parametrize("layout", ["safetensors", "bin"])
@pytest.mark.parametrize("case", [c[0] for c in ABSURD], ids=[c[0] for c in ABSURD])
def test_absurd_configs_fail_before_building_anything(
    golden: Golden, tmp_path: Path, case: str, layout: str, built_parameters: list[str]
) -> None:
    _, changes, error, says = next(c for c in ABSURD if c[0] == case)
    directory = write_transformers(tmp_path / "m", golden.config_yaml, golden.state())
    if layout == "bin":
        from safetensors.torch import load_file

        torch.save(load_file(directory / "model.safetensors"), directory / "pytorch_model.bin")
        (directory / "model.safetensors").unlink()
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, **changes}))
    with pytest.raises(error) as e:
        Vocos.from_pretrained(directory)
    assert says in str(e.value) and str(directory) in str(e.value), str(e.value)
    assert built_parameters == []  # no module with parameters was constructed: nothing of that size allocated


def test_absurd_sizes_are_refused_by_from_hparams_too(tmp_path: Path, built_parameters: list[str]) -> None:
    (tmp_path / "config.json").write_text(json.dumps({**TRANSFORMERS_JSON, "num_layers": 100_000}))
    with pytest.raises(ConfigError, match=r"num_layers must be in 1\.\.64"):
        Vocos.from_hparams(tmp_path / "config.json")
    assert built_parameters == []


# ------------------------------------------------------------------------------------------ writing
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_save_pretrained_writes_files_with_the_usual_permissions(
    golden: Golden, tmp_path: Path, umask: int, mode: int
) -> None:
    model = Vocos.from_pretrained(write_charactr(tmp_path / "m", golden.config_yaml, golden.state()))
    previous = os.umask(umask)
    try:
        saved = model.save_pretrained(tmp_path / "saved")
    finally:
        os.umask(previous)
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors"]
    for name in ("config.json", "model.safetensors"):
        assert stat.S_IMODE((saved / name).stat().st_mode) == mode, name
    assert Vocos.from_pretrained(saved).config == model.config
