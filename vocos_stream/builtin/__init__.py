"""The builtin vocoder: streaming phase reconstruction (RTISI-LA) over vocos-mel-24khz's log-mel; no weights."""

from .vocoder import BUILTIN_NAME, BuiltinConfig, BuiltinVocoder, PhaseStream

__all__ = ["BUILTIN_NAME", "BuiltinConfig", "BuiltinVocoder", "PhaseStream"]
