"""Loading: both hub layouts at full size, strict errors, save_pretrained round trip, hub cache resolution."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from checkpoints import transformers_keys, write_charactr, write_transformers
from conftest import Golden
from test_config import ENCODEC_YAML, MEL_YAML

from vocos_stream import CheckpointError, Vocos, encodec_24khz_config, mel_24khz_config


def random_state(config_yaml: str, seed: int) -> tuple[dict, dict[str, torch.Tensor]]:
    """A full-size random checkpoint: shapes from the config, values from a seed (not from our model)."""
    cfg = yaml.safe_load(config_yaml)
    bb, head = cfg["backbone"]["init_args"], cfg["head"]["init_args"]
    dim, inter, c = bb["dim"], bb["intermediate_dim"], bb["input_channels"]
    g = torch.Generator().manual_seed(seed)
    shapes: dict[str, tuple[int, ...]] = {"backbone.embed.weight": (dim, c, 7), "backbone.embed.bias": (dim,)}

    def norm(prefix: str) -> None:
        if "adanorm_num_embeddings" in bb:
            shapes[f"{prefix}.scale.weight"] = (4, dim)
            shapes[f"{prefix}.shift.weight"] = (4, dim)
        else:
            shapes[f"{prefix}.weight"] = (dim,)
            shapes[f"{prefix}.bias"] = (dim,)

    norm("backbone.norm")
    for i in range(bb["num_layers"]):
        p = f"backbone.convnext.{i}"
        shapes |= {
            f"{p}.dwconv.weight": (dim, 1, 7),
            f"{p}.dwconv.bias": (dim,),
            f"{p}.gamma": (dim,),
            f"{p}.pwconv1.weight": (inter, dim),
            f"{p}.pwconv1.bias": (inter,),
            f"{p}.pwconv2.weight": (dim, inter),
            f"{p}.pwconv2.bias": (dim,),
        }
        norm(f"{p}.norm")
    shapes |= {
        "backbone.final_layer_norm.weight": (dim,),
        "backbone.final_layer_norm.bias": (dim,),
        "head.out.weight": (head["n_fft"] + 2, dim),
        "head.out.bias": (head["n_fft"] + 2,),
    }
    if "adanorm_num_embeddings" in bb:
        shapes["feature_extractor.codebook_weights"] = (16 * 1024, 128)
    return cfg, {k: torch.randn(s, generator=g) * 0.02 for k, s in shapes.items()}


@pytest.mark.parametrize("yaml_text,expected", [(MEL_YAML, mel_24khz_config()), (ENCODEC_YAML, encodec_24khz_config())])
@pytest.mark.parametrize("layout", ["charactr", "transformers", "transformers-prefixed"])
def test_full_size_checkpoints_load_every_tensor(tmp_path: Path, yaml_text: str, expected: object, layout: str) -> None:
    cfg, state = random_state(yaml_text, seed=7)
    if layout == "charactr":
        directory = write_charactr(tmp_path / "repo", cfg, state)
    else:
        directory = write_transformers(tmp_path / "repo", cfg, state, prefix="decoder." if "prefixed" in layout else "")
    vocos = Vocos.from_pretrained(directory)
    assert vocos.config == expected
    loaded = vocos.state_dict()
    assert set(loaded) == set(state)
    for k, v in state.items():
        assert torch.equal(loaded[k], v), k
    n = 12
    feats = torch.randn(1, vocos.config.input_channels, n)
    bw = torch.tensor([3]) if vocos.config.feature_kind == "encodec" else None
    hop = vocos.config.hop_length
    assert vocos.decode(feats, bandwidth_id=bw).shape == (
        1,
        (n - 1) * hop if vocos.config.padding == "center" else n * hop,
    )


def test_save_pretrained_round_trip(tmp_path: Path) -> None:
    g = Golden("encodec_tiny_center")
    original = Vocos.from_pretrained(write_charactr(tmp_path / "orig", g.config_yaml, g.state()))
    saved = original.save_pretrained(tmp_path / "converted")
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors"]
    again = Vocos.from_pretrained(saved)
    assert again.config == original.config
    feats = g["features_bw2"]
    assert torch.equal(
        again.decode(feats, bandwidth_id=torch.tensor([2])), original.decode(feats, bandwidth_id=torch.tensor([2]))
    )


def test_strict_loading_names_keys_and_file(tmp_path: Path) -> None:
    cfg, state = random_state(MEL_YAML, seed=1)
    del state["backbone.convnext.3.gamma"]
    state["backbone.convnext.9.gamma"] = torch.zeros(512)
    state["head.out.bias"] = torch.zeros(7)
    directory = write_charactr(tmp_path / "bad", cfg, state)
    with pytest.raises(CheckpointError) as e:
        Vocos.from_pretrained(directory)
    msg = str(e.value)
    for needle in (
        "backbone.convnext.3.gamma",
        "backbone.convnext.9.gamma",
        "head.out.bias",
        "(7,)",
        "pytorch_model.bin",
    ):
        assert needle in msg


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    cfg, state = random_state(MEL_YAML, seed=1)
    directory = write_charactr(tmp_path / "evil", cfg, state)

    class Boom:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, ("echo pwned",))

    torch.save({"x": Boom()}, directory / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="cannot read weights"):
        Vocos.from_pretrained(directory)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(MEL_YAML)
    with pytest.raises(CheckpointError, match=r"pytorch_model\.bin"):
        Vocos.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="neither an existing directory nor"):
        Vocos.from_pretrained("no/such/dir/here")


def test_hub_repo_id_is_resolved_from_the_hub_cache_offline(tmp_path: Path) -> None:
    """A repo id goes through huggingface_hub (cache layout, revision, HF_HUB_OFFLINE), never the network."""
    cfg, state = random_state(MEL_YAML, seed=3)
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--charactr--vocos-mel-24khz"
    write_charactr(repo / "snapshots" / commit, cfg, state)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    code = (
        "import torch, vocos_stream as vs;"
        f"v = vs.Vocos.from_pretrained('charactr/vocos-mel-24khz', cache_dir={str(tmp_path / 'hub')!r});"
        "w = v.state_dict()['backbone.embed.weight'];"
        "print(v.config.dim, float(w.sum()));"
        f"vs.Vocos.from_pretrained('charactr/vocos-encodec-24khz', cache_dir={str(tmp_path / 'hub')!r})"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    dim, total = r.stdout.split()
    assert dim == "512" and abs(float(total) - float(state["backbone.embed.weight"].sum())) < 1e-3
    assert "CheckpointError" in r.stderr and "not in the Hugging Face cache" in r.stderr


def test_transformers_keys_helper_really_renames() -> None:
    """Guard for the test helper itself: the transformers layout must differ from the original."""
    _, state = random_state(ENCODEC_YAML, seed=0)
    keys = set(transformers_keys(state))
    assert "backbone.layers.0.layer_scale_parameter" in keys and "head.out_proj.weight" in keys
    assert "backbone.norm.weight" in keys and "codebook_weights" in keys
    assert not any("convnext" in k or "gamma" in k or "scale.weight" in k for k in keys)
