from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))

from reference_weights import reference_state  # noqa: E402

GOLDEN = TESTS / "golden"


class Golden:
    """One golden case made by tools/make_golden.py with the original vocos: config, weights, arrays."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.meta: dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text())
        with np.load(GOLDEN / f"{name}.npz") as data:
            self.arrays = {k: torch.from_numpy(data[k]) for k in data.files}
        self.config_yaml: dict[str, Any] = self.meta["config_yaml"]

    def state(self) -> dict[str, torch.Tensor]:
        shapes = {k: tuple(v) for k, v in self.meta["parameter_shapes"].items()}
        return reference_state(shapes, self.meta["seed"])

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.arrays[key]


GOLDEN_NAMES = sorted(p.stem for p in GOLDEN.glob("*.npz"))


@pytest.fixture(params=GOLDEN_NAMES)
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(request.param)
