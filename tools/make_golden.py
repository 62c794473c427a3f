"""Compute golden outputs with the ORIGINAL vocos 0.1.0 implementation (not vocos_stream).

Run inside the reference environment that ``tools/golden_env.sh`` builds::

    bash tools/golden_env.sh /tmp/vocos_golden_env
    PYTHONPATH=/tmp/vocos_golden_env python tools/make_golden.py

For each model (tiny and full published configs, mel and EnCodec variants) it builds the original
``vocos.Vocos`` from a charactr-style config, fills every parameter with ``tests/reference_weights.py`` and
writes ``tests/golden/<name>.npz`` (inputs and outputs) and ``<name>.json`` (config, parameter shapes,
versions). The tests rebuild the same weights, save them as a charactr checkpoint, load it with
``vocos_stream.Vocos.from_pretrained`` and compare.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import vocos  # noqa: E402  (the original package, from the reference environment)
from reference_weights import reference_state  # noqa: E402

if "vocos_stream" in sys.modules or Path(vocos.__file__).resolve().is_relative_to(ROOT):
    raise SystemExit("this must run the original vocos package, not vocos_stream")

from encodec import EncodecModel  # noqa: E402
from vocos.pretrained import Vocos  # noqa: E402

OUT = ROOT / "tests" / "golden"
BANDWIDTHS = [1.5, 3.0, 6.0, 12.0]


def mel_config(dim: int, inter: int, layers: int, head_padding: str, mel_padding: str = "center") -> dict[str, Any]:
    return {
        "feature_extractor": {
            "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
            "init_args": {
                "sample_rate": 24000,
                "n_fft": 1024,
                "hop_length": 256,
                "n_mels": 100,
                "padding": mel_padding,
            },
        },
        "backbone": {
            "class_path": "vocos.models.VocosBackbone",
            "init_args": {"input_channels": 100, "dim": dim, "intermediate_dim": inter, "num_layers": layers},
        },
        "head": {
            "class_path": "vocos.heads.ISTFTHead",
            "init_args": {"dim": dim, "n_fft": 1024, "hop_length": 256, "padding": head_padding},
        },
    }


def encodec_config(dim: int, inter: int, layers: int, n_fft: int, hop: int, head_padding: str) -> dict[str, Any]:
    return {
        "feature_extractor": {
            "class_path": "vocos.feature_extractors.EncodecFeatures",
            "init_args": {"encodec_model": "encodec_24khz", "bandwidths": BANDWIDTHS, "train_codebooks": False},
        },
        "backbone": {
            "class_path": "vocos.models.VocosBackbone",
            "init_args": {
                "input_channels": 128,
                "dim": dim,
                "intermediate_dim": inter,
                "num_layers": layers,
                "adanorm_num_embeddings": 4,
            },
        },
        "head": {
            "class_path": "vocos.heads.ISTFTHead",
            "init_args": {"dim": dim, "n_fft": n_fft, "hop_length": hop, "padding": head_padding},
        },
    }


MODELS: dict[str, dict[str, Any]] = {
    "mel_tiny_center": mel_config(32, 48, 2, "center"),
    "mel_tiny_same": mel_config(32, 48, 2, "same", mel_padding="same"),
    "mel_full": mel_config(512, 1536, 8, "center"),
    "encodec_tiny_center": encodec_config(32, 48, 2, 1280, 320, "center"),
    "encodec_full": encodec_config(384, 1152, 8, 1280, 320, "same"),
}


def build_original(config: dict[str, Any], seed: int) -> tuple[Vocos, dict[str, list[int]]]:
    path = OUT / "_config.yaml"
    path.write_text(yaml.safe_dump(config))
    # EncodecFeatures downloads EnCodec in its constructor; its network is irrelevant to decode and
    # codes_to_features (the codebooks are overwritten below), so build it untrained.
    original = EncodecModel.encodec_model_24khz
    EncodecModel.encodec_model_24khz = staticmethod(lambda pretrained=True, repository=None: original(pretrained=False))  # type: ignore[method-assign]
    try:
        model = Vocos.from_hparams(str(path))
    finally:
        EncodecModel.encodec_model_24khz = original  # type: ignore[method-assign]
        path.unlink()
    shapes = {k: list(p.shape) for k, p in model.named_parameters() if not k.startswith("feature_extractor.encodec.")}
    state = reference_state({k: tuple(s) for k, s in shapes.items()}, seed)
    missing, unexpected = model.load_state_dict(state, strict=False)
    buffers = {k for k, _ in model.named_buffers()}
    assert not unexpected and all(k in buffers or k.startswith("feature_extractor.encodec.") for k in missing)
    return model.eval(), shapes


def test_audio(seed: int, n: int) -> torch.Tensor:
    """Two 'voiced' test signals: harmonics with a wobbling pitch, plus noise and an onset."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / 24000
    out = []
    for f0 in (140.0, 230.0):
        pitch = f0 * (1 + 0.05 * torch.sin(2 * torch.pi * 3 * t))
        phase = 2 * torch.pi * torch.cumsum(pitch, 0) / 24000
        x = sum(torch.sin(k * phase) / k for k in range(1, 12))
        x = 0.3 * x * (t > 0.05) + 0.02 * torch.randn(n, generator=g)
        out.append(x)
    return torch.stack(out).float()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    for i, (name, config) in enumerate(MODELS.items()):
        seed = 1000 + i
        model, shapes = build_original(config, seed)
        arrays: dict[str, np.ndarray] = {}
        g = torch.Generator().manual_seed(seed)
        with torch.inference_mode():
            if name.startswith("mel"):
                audio = test_audio(seed, 12000 + 77)  # not a multiple of the hop: exercises the last frame
                features = model.feature_extractor(audio)
                arrays |= {"audio": audio, "mel": features, "copy_synthesis": model(audio)}
                feats = torch.randn(2, 100, 41, generator=g) * 2 - 6  # log-mel-like levels
                arrays |= {"features": feats, "decoded": model.decode(feats)}
            else:
                codes = torch.randint(0, 1024, (16, 2, 33), generator=g)
                arrays["codes"] = codes
                for bw_id, k in enumerate([2, 4, 8, 16]):  # codebooks at 1.5/3/6/12 kbps
                    feats = model.codes_to_features(codes[:k])
                    arrays[f"features_bw{bw_id}"] = feats
                    arrays[f"decoded_bw{bw_id}"] = model.decode(feats, bandwidth_id=torch.tensor([bw_id]))
        np.savez_compressed(OUT / f"{name}.npz", **{k: v.numpy() for k, v in arrays.items()})
        meta = {
            "config_yaml": config,
            "seed": seed,
            "parameter_shapes": shapes,
            "made_by": "tools/make_golden.py with the original vocos package",
            "versions": {
                "vocos": vocos.__version__,
                "torch": torch.__version__,
                "torchaudio": __import__("torchaudio").__version__,
            },
        }
        (OUT / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
        print(f"{name}: {', '.join(f'{k}{tuple(v.shape)}' for k, v in arrays.items())}")


if __name__ == "__main__":
    main()
