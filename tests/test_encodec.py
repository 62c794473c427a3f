"""Audio -> EnCodec codes through the encodec package (random weights), and the torchaudio-free import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from checkpoints import write_charactr
from conftest import Golden

from vocos_stream import Vocos, VocosModel, VocosProcessor
from vocos_stream.features.encodec_tokenizer import EncodecTokenizer


@pytest.fixture(scope="module")
def tokenizer() -> EncodecTokenizer:
    return EncodecTokenizer.random(seed=0)


def test_codes_equal_encodec_public_encode(tokenizer: EncodecTokenizer) -> None:
    audio = torch.randn(2, 4000) * 0.1
    for bandwidth, k in [(1.5, 2), (3.0, 4), (6.0, 8), (12.0, 16)]:
        codes = tokenizer.encode(audio, bandwidth)
        assert codes.shape == (k, 2, 13)  # ceil(4000 / 320) frames
        tokenizer.model.set_target_bandwidth(bandwidth)
        (frame_codes, scale), *rest = tokenizer.model.encode(audio.unsqueeze(1))
        assert not rest and scale is None
        assert torch.equal(codes, frame_codes.transpose(0, 1))


def test_encodec_copy_synthesis_is_codes_then_decode(tokenizer: EncodecTokenizer, tmp_path: Path) -> None:
    g = Golden("encodec_tiny_center")
    vocos = Vocos.from_pretrained(write_charactr(tmp_path / "e", g.config_yaml, g.state()), encodec=tokenizer)
    audio = torch.randn(1, 6400) * 0.1
    codes = tokenizer.encode(audio, 6.0)
    expected = vocos.decode(vocos.codes_to_features(codes), bandwidth_id=torch.tensor([2]))
    assert torch.equal(vocos(audio, bandwidth_id=torch.tensor([2])), expected)
    proc, model = VocosProcessor(vocos), VocosModel(vocos)
    inputs = proc(audio=audio[0], bandwidth=6.0)
    assert torch.equal(model(**inputs), expected)


def test_tokenizer_loads_a_local_encodec_checkpoint(tokenizer: EncodecTokenizer, tmp_path: Path) -> None:
    torch.save(tokenizer.model.state_dict(), tmp_path / "encodec_24khz-d7cc33bc.th")
    other = EncodecTokenizer.from_pretrained(tmp_path / "encodec_24khz-d7cc33bc.th")
    audio = torch.randn(1, 3200) * 0.1
    assert torch.equal(other.encode(audio, 3.0), tokenizer.encode(audio, 3.0))
    with pytest.raises(FileNotFoundError):
        EncodecTokenizer.from_pretrained(tmp_path / "missing.th")


def run(code: str, tmp_path: Path, extra_path: Path | None = None) -> str:
    env_path = [str(extra_path)] if extra_path else []
    script = f"import sys; sys.path[:0] = {env_path!r}\n" + textwrap.dedent(code)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_encodec_imports_without_torchaudio_and_leaves_no_placeholder(tmp_path: Path) -> None:
    out = run(
        """
        import importlib.util, sys
        from vocos_stream.features.encodec_tokenizer import import_encodec
        print(importlib.util.find_spec("torchaudio") is None, end=" ")
        import_encodec()
        print("torchaudio" in sys.modules)
        """,
        tmp_path,
    )
    assert out == "True False"


def site_with_torchaudio(tmp_path: Path, init: str) -> Path:
    """A folder for sys.path holding a stand-in torchaudio package whose __init__ is ``init``."""
    site = tmp_path / "site"
    (site / "torchaudio").mkdir(parents=True)
    (site / "torchaudio" / "__init__.py").write_text(init)
    return site


def test_a_real_torchaudio_is_not_shadowed(tmp_path: Path) -> None:
    fake = site_with_torchaudio(tmp_path, "REAL = True\n")
    out = run(
        """
        import sys
        from vocos_stream.features.encodec_tokenizer import import_encodec
        enc = import_encodec()
        import encodec.utils
        print(encodec.utils.torchaudio.REAL, sys.modules["torchaudio"].REAL)
        """,
        tmp_path,
        fake,
    )
    assert out == "True True"


def test_a_broken_torchaudio_is_bypassed(tmp_path: Path) -> None:
    fake = site_with_torchaudio(tmp_path, "raise OSError('undefined symbol: _ZN3c10...')\n")
    out = run(
        """
        import sys
        from vocos_stream.features.encodec_tokenizer import import_encodec
        import_encodec()
        import encodec.utils
        try:
            encodec.utils.torchaudio.load
        except ImportError as e:
            print("clear error:", "torchaudio is not installed" in str(e), "torchaudio" in sys.modules)
        """,
        tmp_path,
        fake,
    )
    assert out == "clear error: True False"
