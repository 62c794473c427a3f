"""Test doubles and tiny models shared by the pool and server tests."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping

import torch
from reference_weights import reference_state

from vocos_stream import BuiltinVocoder, Vocos, encodec_24khz_config, mel_24khz_config
from vocos_stream.engine.step import SequentialEngine, StreamWork

TINY = {"dim": 32, "intermediate_dim": 48, "num_layers": 2}


@functools.cache
def tiny(kind: str) -> Vocos:
    """A tiny random-weight Vocos, "mel" or "encodec": for the stream machinery, not the model."""
    config = (mel_24khz_config() if kind == "mel" else encodec_24khz_config()).replace(**TINY)
    vocos = Vocos(config)
    vocos.load_state_dict(reference_state({k: tuple(v.shape) for k, v in vocos.state_dict().items()}, seed=5))
    return vocos


class GatedEngine(SequentialEngine):
    """The reference engine, stopped at the start of each step until the test opens the gate."""

    def __init__(self, vocoder: Vocos | BuiltinVocoder) -> None:
        super().__init__(vocoder)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def step(self, work: Mapping[int, StreamWork]) -> dict[int, torch.Tensor]:
        self.entered.set()
        assert self.gate.wait(30)
        return super().step(work)


class FailingEngine(SequentialEngine):
    def __init__(self, vocoder: Vocos | BuiltinVocoder) -> None:
        super().__init__(vocoder)
        self.fail = True

    def step(self, work: Mapping[int, StreamWork]) -> dict[int, torch.Tensor]:
        if self.fail:
            self.fail = False
            raise RuntimeError("engine bug")
        return super().step(work)
