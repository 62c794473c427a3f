"""The streaming engine: push frames, codes or audio, get back the samples that became final.

Layout: ``conv`` (one zero-padded convolution with its input history), ``backbone`` (the stack of them with
delayed residuals), ``overlap_add`` (the incremental inverse STFT), ``mel_frontend`` (audio -> log-mel frames),
``contract`` (what every stream shares: batch size, reset, snapshot/restore, end of stream) and ``stream``
(the public :class:`VocosStream`, created by ``Vocos.stream``).
"""

from .stream import StreamState, VocosStream

__all__ = ["StreamState", "VocosStream"]
