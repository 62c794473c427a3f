"""What every stream shares: one batch size per stream, reset, snapshot/restore, the end of stream.

:class:`~vocos_stream.engine.VocosStream` (neural) and :class:`~vocos_stream.builtin.PhaseStream` (builtin)
subclass :class:`StreamBase` and add ``push``, ``flush`` and ``latency_samples``.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class StreamStateLike(Protocol):
    ended: bool

    @property
    def batch(self) -> int: ...

    def copy(self: T) -> T: ...


S = TypeVar("S", bound=StreamStateLike)


class StreamBase(Generic[S]):
    def __init__(self) -> None:
        self.state: S | None = None

    def new_state(self, batch: int) -> S:
        """A fresh state for ``batch`` streams (subclasses build theirs)."""
        raise NotImplementedError

    @property
    def batch(self) -> int | None:
        return None if self.state is None else self.state.batch

    def reset(self) -> None:
        """Forget everything; the next push starts a new stream (any batch size)."""
        self.state = None

    def snapshot(self) -> S:
        """A copy of the current state; :meth:`restore` continues from it (e.g. to branch or retry)."""
        if self.state is None:
            raise ValueError("nothing to snapshot: push something first")
        return self.state.copy()

    def restore(self, state: S) -> None:
        self.state = state.copy()

    def started(self, batch: int) -> S:
        """The state to push into, created on the first push; checks the batch size and the end of stream."""
        if self.state is None:
            self.state = self.new_state(batch)
        elif batch != self.state.batch:
            raise ValueError(f"this stream has batch size {self.state.batch}; got an input with batch size {batch}")
        if self.state.ended:
            raise ValueError("this stream was flushed; call reset() to start a new one")
        return self.state

    def ending(self) -> S | None:
        """The state to flush (None if nothing was pushed), marked ended; refuses a second flush."""
        if self.state is None:
            return None
        if self.state.ended:
            raise ValueError("this stream was already flushed; call reset() to start a new one")
        self.state.ended = True
        return self.state
