"""Bad input gets a ValueError that says what was wrong, through both APIs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from checkpoints import write_charactr
from conftest import Golden

from vocos_stream import Vocos, VocosModel, VocosProcessor


@pytest.fixture(scope="module")
def mel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g = Golden("mel_tiny_center")
    return write_charactr(tmp_path_factory.mktemp("m") / "mel", g.config_yaml, g.state())


@pytest.fixture(scope="module")
def enc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g = Golden("encodec_tiny_center")
    return write_charactr(tmp_path_factory.mktemp("e") / "enc", g.config_yaml, g.state())


def test_mel_model_input_errors(mel: Path) -> None:
    v = Vocos.from_pretrained(mel)
    with pytest.raises(ValueError, match="80 channels but this model takes 100"):
        v.decode(torch.zeros(1, 80, 10))
    with pytest.raises(ValueError, match="shape"):
        v.decode(torch.zeros(100, 10))
    bad = torch.zeros(1, 100, 10)
    bad[0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        v.decode(bad)
    bad[0, 5, 5] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        v.decode(bad)
    with pytest.raises(ValueError, match=r"audio must be a tensor of shape \(batch, samples\)"):
        v(torch.zeros(1, 1, 4800))
    with pytest.raises(ValueError, match=r"audio must be a tensor of shape \(batch, samples\)"):
        v(torch.zeros(4800))
    with pytest.raises(ValueError, match="needs an EnCodec-variant model"):
        v.codes_to_features(torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="too short"):
        v(torch.zeros(1, 100))


def test_encodec_model_input_errors(enc: Path) -> None:
    v = Vocos.from_pretrained(enc)
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 1024\)"):
        v.codes_to_features(torch.full((2, 1, 5), 1024))
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 1024\)"):
        v.codes_to_features(torch.full((2, 1, 5), -1))
    with pytest.raises(ValueError, match="integers"):
        v.codes_to_features(torch.zeros(2, 1, 5))
    with pytest.raises(ValueError, match="got 17 codebooks"):
        v.codes_to_features(torch.zeros(17, 1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="uses 8 codebooks, but the codes have 4"):
        v.codes_to_features(torch.zeros(4, 1, 5, dtype=torch.long), bandwidth_id=2)
    with pytest.raises(ValueError, match="needs bandwidth_id"):
        v.decode(torch.zeros(1, 128, 5))
    with pytest.raises(ValueError, match=r"bandwidth_id must be in 0\.\.3"):
        v.decode(torch.zeros(1, 128, 5), bandwidth_id=torch.tensor([4]))


def test_transformers_api_errors(mel: Path, enc: Path) -> None:
    proc, model = VocosProcessor.from_pretrained(enc), VocosModel.from_pretrained(enc)
    codes = torch.zeros(8, 1, 5, dtype=torch.long)
    with pytest.raises(ValueError, match="unknown bandwidth 24"):
        proc(codes=codes, bandwidth=24.0)
    with pytest.raises(ValueError, match="needs bandwidth"):
        proc(codes=codes)
    # The transformers-style path embeds whatever codebooks it is given (as transformers and vocos 0.1.0 do) and
    # warns when their count is not the bandwidth's; Vocos.codes_to_features(..., bandwidth_id=...) refuses them.
    with pytest.warns(UserWarning, match="uses 4 codebooks, but the codes have 8"):
        proc(codes=codes, bandwidth=3.0)
    with pytest.warns(UserWarning, match="uses 4 codebooks, but the codes have 8"):
        model(codes=codes, bandwidth=3.0)
    with pytest.raises(ValueError, match="exactly one of"):
        model()
    mel_proc = VocosProcessor.from_pretrained(mel)
    with pytest.raises(ValueError, match="mel model"):
        mel_proc(audio=torch.zeros(4800), bandwidth=6.0)
    with pytest.raises(ValueError, match=r"shape \(samples,\) or \(batch, samples\)"):
        mel_proc(audio=torch.zeros(1, 1, 4800))
    with pytest.raises(ValueError, match="exactly one of"):
        mel_proc()
    # a list of unequal 1-D arrays is a zero-padded batch (to a multiple of the hop: 4800 -> 4864 samples)
    assert mel_proc(audio=[torch.zeros(4800).numpy(), torch.zeros(2560).numpy()]).features.shape == (2, 100, 20)
