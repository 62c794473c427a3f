"""vocos_stream: the Vocos neural vocoder, offline and as an exact low-latency stream.

Importing this package loads torch and the model code only; optional back-ends (encodec, sounddevice,
websockets) are imported where they are used.
"""

from .builtin import BuiltinConfig, BuiltinVocoder
from .checkpoint.files import CheckpointError
from .config import ConfigError, VocosConfig, encodec_24khz_config, mel_24khz_config
from .engine.pool import StreamPool
from .loading import load
from .model.vocos import Vocos
from .transformers import VocosModel, VocosProcessor

__version__ = "0.1.0"

__all__ = [
    "BuiltinConfig",
    "BuiltinVocoder",
    "CheckpointError",
    "ConfigError",
    "StreamPool",
    "Vocos",
    "VocosConfig",
    "VocosModel",
    "VocosProcessor",
    "__version__",
    "encodec_24khz_config",
    "load",
    "mel_24khz_config",
]
