"""The streaming engine: push frames, codes or audio, get back the samples that became final.

Layout: ``conv`` (one zero-padded convolution with its input history), ``backbone`` (the stack of them with
delayed residuals), ``overlap_add`` (the incremental inverse STFT), ``mel_frontend`` (audio -> log-mel frames),
``contract`` (what every stream shares: batch size, reset, snapshot/restore, end of stream) and ``stream``
(the public :class:`VocosStream`, created by ``Vocos.stream``).

Many streams: ``step`` (the synchronous multi-stream interface and its reference engine) and ``pool``
(:class:`StreamPool`: thread-safe handles, one compute worker, dynamic batching, backpressure, metrics).
"""

from .pool import AudioChunk, PendingFull, PoolClosed, PoolError, PoolFull, StreamHandle, StreamPool
from .stream import StreamState, VocosStream

__all__ = [
    "AudioChunk",
    "PendingFull",
    "PoolClosed",
    "PoolError",
    "PoolFull",
    "StreamHandle",
    "StreamPool",
    "StreamState",
    "VocosStream",
]
