"""Write a directory laid out exactly like a published hub repo, holding random weights.

    python tools/make_random_checkpoint.py mel out/vocos-mel-24khz          # like charactr/vocos-mel-24khz
    python tools/make_random_checkpoint.py encodec out/vocos-encodec-24khz  # like charactr/vocos-encodec-24khz

Layout: ``config.yaml`` (the published LightningCLI config) + ``pytorch_model.bin`` (original key names).
For trying the loading path offline (no weights can be downloaded here); the audio it makes is noise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml

from vocos_stream import Vocos, encodec_24khz_config, mel_24khz_config

FEATURES = {
    "mel": {
        "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
        "init_args": {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "n_mels": 100, "padding": "center"},
    },
    "encodec": {
        "class_path": "vocos.feature_extractors.EncodecFeatures",
        "init_args": {"encodec_model": "encodec_24khz", "bandwidths": [1.5, 3.0, 6.0, 12.0], "train_codebooks": False},
    },
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("kind", choices=["mel", "encodec"])
    p.add_argument("directory")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    config = mel_24khz_config() if args.kind == "mel" else encodec_24khz_config()
    torch.manual_seed(args.seed)
    vocos = Vocos(config)
    if args.kind == "encodec":
        torch.nn.init.normal_(vocos.feature_extractor.codebook_weights)
    backbone = {
        "input_channels": config.input_channels,
        "dim": config.dim,
        "intermediate_dim": config.intermediate_dim,
        "num_layers": config.num_layers,
    }
    if config.adanorm_num_embeddings:
        backbone["adanorm_num_embeddings"] = config.adanorm_num_embeddings
    yaml_config = {
        "feature_extractor": FEATURES[args.kind],
        "backbone": {"class_path": "vocos.models.VocosBackbone", "init_args": backbone},
        "head": {
            "class_path": "vocos.heads.ISTFTHead",
            "init_args": {
                "dim": config.dim,
                "n_fft": config.n_fft,
                "hop_length": config.hop_length,
                "padding": config.padding,
            },
        },
    }
    out = Path(args.directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(yaml_config, sort_keys=False))
    state = dict(vocos.state_dict())
    state["head.istft.window"] = torch.hann_window(config.n_fft)  # the original saves this buffer too
    torch.save(state, out / "pytorch_model.bin")
    print(
        f"wrote {out}/config.yaml and pytorch_model.bin ({sum(v.numel() for v in state.values()) / 1e6:.2f} M values)"
    )


if __name__ == "__main__":
    main()
