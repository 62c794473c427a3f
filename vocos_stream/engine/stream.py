"""``VocosStream``: push mel frames, EnCodec codes or audio; get back the samples that became final.

Exact mode (``lookahead=None``): every sample leaves as soon as no future input can change it, computed once
(no re-decoding), and the concatenation of all pushes and the flush equals the offline output for any
chunking. Low-latency mode (``lookahead=k`` frames, 0..receptive field): a sample leaves once k frames beyond
the frame that makes it are in; the frames the backbone has not seen yet are treated as the end of the stream
(each layer zero-padded as at flush). Every sample is computed with exactly k frames of future context, so the
output does not depend on the chunking either; only its timing does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import torch

from ..features.codes import EncodecFeatures
from ..features.mel import MelSpectrogramFeatures
from .backbone import BackboneState, backbone_step
from .contract import StreamBase
from .mel_frontend import MelFrontendState, StreamingMelFrontend
from .overlap_add import OverlapAddState, StreamingISTFT

if TYPE_CHECKING:
    from ..model.vocos import Vocos

InputKind = Literal["mel", "features", "codes", "audio"]


@dataclass
class StreamState:
    """Everything a stream carries between pushes; :meth:`VocosStream.snapshot` returns a copy."""

    backbone: BackboneState
    ola: OverlapAddState
    frontend: MelFrontendState | None
    frames: int = 0  # feature frames pushed into the backbone
    ended: bool = False

    @property
    def batch(self) -> int:
        return int(self.ola.numerator.shape[0])

    def copy(self) -> StreamState:
        return replace(
            self,
            backbone=self.backbone.copy(),
            ola=self.ola.copy(),
            frontend=None if self.frontend is None else self.frontend.copy(),
        )


class VocosStream(StreamBase[StreamState]):
    """One stream of a :class:`~vocos_stream.Vocos` model. Create it with ``vocos.stream(...)``.

    Inputs are shaped like the offline API: mel/features ``(B, C, t)``, codes ``(K, B, t)`` or ``(K, t)``,
    audio ``(B, n)``. :meth:`push` and :meth:`flush` return float32 audio ``(B, n)``.
    """

    def __init__(
        self,
        vocos: Vocos,
        *,
        input: InputKind = "mel",
        bandwidth_id: int | torch.Tensor | None = None,
        lookahead: int | None = None,
    ) -> None:
        super().__init__()
        config = vocos.config
        self.vocos = vocos
        self.input: InputKind = input
        if input not in ("mel", "features", "codes", "audio"):
            raise ValueError(f"input must be 'mel', 'features', 'codes' or 'audio', got {input!r}")
        is_encodec = isinstance(vocos.feature_extractor, EncodecFeatures)
        if input in ("mel", "audio") and is_encodec:
            raise ValueError(f"input={input!r} needs a mel model; this EnCodec model takes input='codes' or 'features'")
        if input == "codes" and not is_encodec:
            raise ValueError("input='codes' needs an EnCodec-variant model; this is a mel model")
        self.cond = vocos.check_bandwidth_id(bandwidth_id)
        if self.cond is not None and self.cond.numel() != 1:
            raise ValueError("a stream has one bandwidth: pass a single bandwidth_id")
        self.num_codebooks = (
            config.codebooks_for_bandwidth(config.bandwidths[int(self.cond[0])]) if self.cond is not None else None
        )
        self.receptive_field = vocos.backbone.receptive_field
        if lookahead is not None and not 0 <= lookahead <= self.receptive_field:
            raise ValueError(
                f"lookahead must be in 0..{self.receptive_field} frames (or None for exact), got {lookahead}"
            )
        self.lookahead = lookahead
        self.istft = StreamingISTFT(vocos.head.istft)
        mel = vocos.feature_extractor if input == "audio" else None
        self.frontend = StreamingMelFrontend(mel) if isinstance(mel, MelSpectrogramFeatures) else None

    # ----------------------------------------------------------------------------------------------- timing
    @property
    def latency_samples(self) -> int:
        """Algorithmic delay in samples: input worth N samples yields N - latency_samples output samples.

        Feature frames are worth ``hop`` samples each. Exact mode: 27 backbone frames plus the ISTFT overlap
        (7423 for vocos-mel-24khz, 9119 for vocos-encodec-24khz); audio input adds the mel front-end's
        look-ahead (+256). ``lookahead=k`` removes ``27 - k`` frames.
        """
        hop = self.istft.hop
        frames = self.receptive_field if self.lookahead is None else self.lookahead
        # After frames 0..j are in, backbone frames 0..j-frames are known and untrimmed samples below
        # (j - frames + 1) * hop + z are final: output = (j + 1) * hop - latency.
        latency = frames * hop + self.istft.trim - self.istft.leading_zeros
        if self.frontend is not None:  # frame j is complete at input sample j*hop - pad + n_fft - 1
            latency += self.frontend.n_fft - self.frontend.pad - hop
        return latency

    # ----------------------------------------------------------------------------------------------- state
    def new_state(self, batch: int) -> StreamState:
        fe = self.frontend.start(batch) if self.frontend is not None else None
        return StreamState(BackboneState.start(self.vocos.backbone, batch), self.istft.start(batch), fe)

    # ----------------------------------------------------------------------------------------------- input
    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """Validate one push and turn it into features ``(B, C, t)`` (audio may yield 0 frames)."""
        vocos = self.vocos
        if self.input == "codes":
            assert self.num_codebooks is not None and isinstance(vocos.feature_extractor, EncodecFeatures)
            if not isinstance(x, torch.Tensor) or x.dim() not in (2, 3):
                raise ValueError("codes must have shape (codebooks, frames) or (codebooks, batch, frames)")
            codes = x if x.dim() == 3 else x.unsqueeze(1)
            if codes.shape[0] != self.num_codebooks:
                raise ValueError(
                    f"this stream's bandwidth uses {self.num_codebooks} codebooks, but the codes have {codes.shape[0]}"
                )
            self.started(codes.shape[1])
            return vocos.feature_extractor.embed(codes)
        if self.input == "audio":
            audio = vocos.check_audio(x)
            state = self.started(audio.shape[0])
            assert self.frontend is not None and state.frontend is not None
            return self.frontend.push(state.frontend, audio)
        features = vocos.check_features(x, allow_empty=True)
        self.started(features.shape[0])
        return features

    # ----------------------------------------------------------------------------------------------- run
    @torch.inference_mode()
    def push(self, x: torch.Tensor) -> torch.Tensor:
        """Push input; return the output samples that became final, ``(B, n)`` (n may be 0)."""
        features = self._features(x)
        state = self.state
        assert state is not None
        if self.lookahead is None or self.lookahead == self.receptive_field:
            self._advance(state, features)
            return self.istft.emit(state.ola, self.istft.final_until(state.ola.frames))
        outputs = [self._emit_with_lookahead(state, features[..., i : i + 1]) for i in range(features.shape[-1])]
        if not outputs:
            return state.ola.numerator.new_zeros(state.batch, 0)
        return torch.cat(outputs, dim=1)

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:
        """End the stream: emit every remaining sample. Afterwards call :meth:`reset` to reuse the stream."""
        state = self.ending()
        if state is None:
            return self.vocos.head.out.weight.new_zeros(1, 0)
        tail = self.frontend.flush(state.frontend) if self.frontend is not None and state.frontend else None
        if tail is not None:
            self._advance(state, tail)
        self._advance(state, None)
        return self.istft.emit(state.ola, self.istft.end_until(state.frames))

    def _advance(self, state: StreamState, features: torch.Tensor | None) -> None:
        """Run features (or the end of stream, for None) through the backbone into the overlap-add."""
        vocos = self.vocos
        if features is None:
            empty = vocos.head.out.weight.new_zeros(state.batch, vocos.config.input_channels, 0)
            hidden = backbone_step(vocos.backbone, state.backbone, empty, self.cond, end=True)
        else:
            state.frames += features.shape[-1]
            hidden = backbone_step(vocos.backbone, state.backbone, features, self.cond)
        if hidden.shape[1]:
            self.istft.add(state.ola, vocos.head.spectrogram(hidden))

    def _emit_with_lookahead(self, state: StreamState, frame: torch.Tensor) -> torch.Tensor:
        """Push one frame exactly, then emit what ``lookahead`` frames of context allow, taking the frames
        not seen yet as the end of the stream."""
        assert self.lookahead is not None
        self._advance(state, frame)
        known = state.frames - self.lookahead  # spectrum frames 0..known-1 are used for this emission
        until = self.istft.final_until(known)
        if until <= state.ola.start:
            return state.ola.numerator.new_zeros(state.batch, 0)
        guess = state.backbone.copy()
        empty = frame.new_zeros(frame.shape[0], frame.shape[1], 0)
        hidden = backbone_step(self.vocos.backbone, guess, empty, self.cond, end=True)
        needed = known - state.ola.frames  # speculative frames beyond the exact ones
        ola = state.ola.copy()
        if needed > 0:
            self.istft.add(ola, self.vocos.head.spectrogram(hidden[:, :needed]))
        out = self.istft.emit(ola, until)
        # The exact sums stay; only the samples that left are dropped from them.
        self.istft.discard(state.ola, until)
        return out
