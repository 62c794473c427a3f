"""Our implementation equals the original vocos 0.1.0 (golden files from tools/make_golden.py), <= 1e-4."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from checkpoints import write_charactr, write_transformers
from conftest import Golden

from vocos_stream import Vocos, VocosModel, VocosProcessor

TOL = 1e-4


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = (actual.float() - expected.float()).abs().max().item()
    assert err <= TOL, f"max abs error {err:.3g} > {TOL}"
    assert expected.abs().max() > 1e-3  # the comparison is not between two silent signals


@pytest.fixture(params=["charactr", "transformers"])
def loaded(request: pytest.FixtureRequest, golden: Golden, tmp_path: Path) -> tuple[Vocos, Golden]:
    if request.param == "charactr":
        directory = write_charactr(tmp_path / golden.name, golden.config_yaml, golden.state())
    else:
        directory = write_transformers(tmp_path / golden.name, golden.config_yaml, golden.state())
    return Vocos.from_pretrained(directory), golden


def test_decode_equals_original(loaded: tuple[Vocos, Golden]) -> None:
    vocos, g = loaded
    if vocos.config.feature_kind == "mel":
        assert_close(vocos.decode(g["features"]), g["decoded"])
    else:
        for bw in range(4):
            assert_close(vocos.decode(g[f"features_bw{bw}"], bandwidth_id=torch.tensor([bw])), g[f"decoded_bw{bw}"])


def test_front_end_equals_original(loaded: tuple[Vocos, Golden]) -> None:
    vocos, g = loaded
    if vocos.config.feature_kind == "mel":
        assert_close(vocos.feature_extractor(g["audio"]), g["mel"])
        assert_close(vocos(g["audio"]), g["copy_synthesis"])
    else:
        for bw, k in enumerate([2, 4, 8, 16]):
            assert_close(vocos.codes_to_features(g["codes"][:k]), g[f"features_bw{bw}"])
            # the (K, L) form is one batch item
            assert_close(vocos.codes_to_features(g["codes"][:k, 1]), g[f"features_bw{bw}"][1:])


def test_transformers_api_equals_original(golden: Golden, tmp_path: Path) -> None:
    directory = write_transformers(tmp_path / golden.name, golden.config_yaml, golden.state())
    processor = VocosProcessor.from_pretrained(directory)
    model = VocosModel.from_pretrained(directory)
    if model.config.feature_kind == "mel":
        # Decoding: features in, the original's audio out.
        assert_close(model(input_features=golden["features"]), golden["decoded"])
        assert_close(model(**{"features": golden["mel"]}), golden["copy_synthesis"])
        # The processor frames as transformers does: the clip is zero-padded to a multiple of the hop, so there is
        # one frame more than vocos 0.1.0 makes; every frame whose window ends inside the clip is the original's.
        inputs = processor(audio=golden["audio"])
        head = golden.config_yaml["head"]["init_args"]
        hop, n_fft, n = head["hop_length"], head["n_fft"], golden["audio"].shape[-1]
        center = head["padding"] == "center"
        padded = -(-n // hop) * hop
        assert inputs.features.shape == (2, 100, padded // hop + (1 if center else 0))
        assert golden["mel"].shape[-1] == inputs.features.shape[-1] - 1
        pad = n_fft // 2 if center else (n_fft - hop) // 2
        inside = (n + pad - n_fft) // hop + 1  # frames t with t*hop - pad + n_fft <= n
        assert_close(inputs.features[..., :inside], golden["mel"][..., :inside])
        # one 1-D array is a batch of one
        assert_close(processor(audio=golden["audio"][0].numpy()).features[..., :inside], golden["mel"][:1, :, :inside])
        # Copy-synthesis covers the clip (attention_mask: its real samples); far enough from the end it is the
        # original's: an output sample depends on the frames within n_fft/2 of it plus the backbone's receptive field.
        out = model(**inputs)
        assert out.shape == (2, (inputs.features.shape[-1] - (1 if center else 0)) * hop)
        assert out.attention_mask.sum(dim=1).tolist() == [n, n]
        reach = 3 * (1 + golden.config_yaml["backbone"]["init_args"]["num_layers"])
        safe = (inside - 1 - reach) * hop - n_fft // 2 - (0 if center else pad)
        assert_close(out[:, :safe], golden["copy_synthesis"][:, :safe])
    else:
        for bw, (kbps, k) in enumerate(zip([1.5, 3.0, 6.0, 12.0], [2, 4, 8, 16], strict=True)):
            inputs = processor(codes=golden["codes"][:k], bandwidth=kbps)
            assert inputs.bandwidth == kbps
            assert_close(inputs.features, golden[f"features_bw{bw}"])
            assert_close(model(**inputs), golden[f"decoded_bw{bw}"])
            assert_close(model(codes=golden["codes"][:k], bandwidth=kbps), golden[f"decoded_bw{bw}"])
