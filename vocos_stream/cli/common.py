"""What every subcommand shares: picking the vocoder a user named."""

from __future__ import annotations

from ..builtin.vocoder import BUILTIN_NAME, BuiltinVocoder
from ..model.vocos import Vocos


def load_model(name: str | None) -> tuple[Vocos | BuiltinVocoder, str]:
    """The vocoder a user named (the builtin one when none), and a line saying what it is."""
    if name is None or name == BUILTIN_NAME:
        vocoder = BuiltinVocoder()
        c = vocoder.config
        how = "no --model given, so" if name is None else "--model builtin:"
        return vocoder, (
            f"{how} using the builtin vocoder: streaming phase reconstruction (RTISI-LA, look-ahead "
            f"{c.lookahead} frames, {c.iterations} iterations, {c.init} initial phase) over vocos-mel-24khz's "
            "log-mel, no weights needed. "
            "Pass --model DIR_OR_HUB_ID for a Vocos checkpoint, e.g. charactr/vocos-mel-24khz."
        )
    vocos = Vocos.from_pretrained(name)
    return vocos, f"vocoder: Vocos {name} ({vocos.config.feature_kind} features, {vocos.config.sample_rate} Hz)"
