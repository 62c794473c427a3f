"""The websocket protocol, version 1 (``docs/protocol.md``): message types, encoding, decoding, validation.

Pure functions over bytes, strings and numpy arrays, shared by the server and the client; no websockets here.
Binary messages are one type byte and a little-endian payload; control messages are JSON objects with a
``"type"``. Everything that can be wrong with a message raises :class:`ProtocolError` with a machine code.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

import numpy as np

VERSION = 1
VERSIONS = (1,)

InputName = Literal["mel", "audio", "codes"]
FormatName = Literal["s16le", "f32le"]


class MessageType(IntEnum):
    """Byte 0 of a binary message."""

    CODES = 0x01  # uint16 (K, t)
    MEL_F32 = 0x02  # float32 (C, t)
    MEL_F16 = 0x03  # float16 (C, t)
    AUDIO_S16 = 0x04  # int16 (n,), value / 32768
    AUDIO_F32 = 0x05  # float32 (n,)
    PCM = 0x80  # server -> client: PCM_HEADER, then samples


#: Input message type -> (the session input it belongs to, payload dtype).
INPUT_TYPES: dict[int, tuple[InputName, str]] = {
    MessageType.CODES: ("codes", "<u2"),
    MessageType.MEL_F32: ("mel", "<f4"),
    MessageType.MEL_F16: ("mel", "<f2"),
    MessageType.AUDIO_S16: ("audio", "<i2"),
    MessageType.AUDIO_F32: ("audio", "<f4"),
}

#: Output format -> sample dtype.
FORMATS: dict[str, str] = {"s16le": "<i2", "f32le": "<f4"}

#: type u8, flags u8, reserved u16, seq u32, utterance u32, position u64 (docs/protocol.md).
PCM_HEADER = struct.Struct("<BBHIIQ")


class ErrorCode:
    """The ``code`` of an ``error`` message."""

    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    NOT_STARTED = "not_started"
    ALREADY_STARTED = "already_started"
    BAD_START = "bad_start"
    WRONG_INPUT = "wrong_input"
    BAD_SHAPE = "bad_shape"
    BAD_VALUE = "bad_value"
    TOO_SHORT = "too_short"
    INTERNAL = "internal"
    IDLE_TIMEOUT = "idle_timeout"
    SESSION_LIMIT = "session_limit"
    SHUTTING_DOWN = "shutting_down"


class CloseCode(IntEnum):
    NORMAL = 1000  # after "end"
    GOING_AWAY = 1001  # server shutting down
    POLICY = 1008  # a limit: idle, session length, not reading
    TOO_BIG = 1009  # message over max_message_bytes (websockets closes with it itself)
    INTERNAL = 1011
    TRY_AGAIN_LATER = 1013  # server full


class ProtocolError(ValueError):
    """A message the server refuses; ``code`` is one of :class:`ErrorCode`."""

    def __init__(self, code: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.fatal = fatal


# ---------------------------------------------------------------------------------------------------- control
def control(type: str, **fields: Any) -> str:
    """One control message as JSON text."""
    return json.dumps({"type": type, **fields}, separators=(",", ":"))


def error(code: str, message: str, *, fatal: bool = False) -> str:
    return control("error", code=code, message=message, fatal=fatal)


def parse_control(text: str) -> dict[str, Any]:
    """A text message -> its JSON object (``bad_json`` unless an object with a string ``type``)."""
    try:
        message = json.loads(text)
    except ValueError as e:  # JSONDecodeError, or bytes that are not UTF-8
        raise ProtocolError(ErrorCode.BAD_JSON, f"a text message must be a JSON object: {e}") from None
    except RecursionError:
        raise ProtocolError(ErrorCode.BAD_JSON, "a text message must be a JSON object: nested too deeply") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(ErrorCode.BAD_JSON, 'a text message must be a JSON object with a string "type"')
    return message


@dataclass(frozen=True)
class Start:
    """A validated ``start``."""

    input: InputName
    format: FormatName
    bandwidth_id: int | None
    lookahead: int | None


DEFAULT_BANDWIDTH = 6.0  # kbps: 8 codebooks


def parse_start(
    message: dict[str, Any], *, encodec: bool, model: str, bandwidths: tuple[float, ...] = (1.5, 3.0, 6.0, 12.0)
) -> Start:
    """Validate a ``start`` for a server whose model is an EnCodec one (``encodec``, with ``bandwidths`` in
    kbps) or a mel one. ``bandwidth_id`` is the index into ``bandwidths``."""

    def refuse(what: str) -> ProtocolError:
        return ProtocolError(ErrorCode.BAD_START, what)

    version = message.get("version", VERSION)
    if version not in VERSIONS or isinstance(version, bool):
        raise refuse(f"protocol version {version!r} is not spoken here; this server speaks {list(VERSIONS)}")
    asked = message.get("model", "default")
    if asked not in ("default", model):
        raise refuse(f"this server serves the model {model!r} only; ask for it or for 'default'")
    accepted: tuple[InputName, ...] = ("codes",) if encodec else ("mel", "audio")
    kind = message.get("input", accepted[0])
    if kind not in accepted:
        raise refuse(f"input {kind!r} is not served by this model ({model}); it takes {list(accepted)}")
    fmt = message.get("format", "s16le")
    if fmt not in FORMATS:
        raise refuse(f"format {fmt!r} is unknown; use one of {list(FORMATS)}")
    bandwidth_id = None
    if kind == "codes":
        kbps = message.get("bandwidth", DEFAULT_BANDWIDTH if DEFAULT_BANDWIDTH in bandwidths else bandwidths[0])
        if isinstance(kbps, bool) or not isinstance(kbps, (int, float)) or float(kbps) not in bandwidths:
            raise refuse(f"bandwidth {kbps!r} is not one of {list(bandwidths)} kbps")
        bandwidth_id = bandwidths.index(float(kbps))
    elif message.get("bandwidth") is not None:
        raise refuse("bandwidth applies to codes input only")
    lookahead = message.get("lookahead")
    if lookahead is not None and (isinstance(lookahead, bool) or not isinstance(lookahead, int) or lookahead < 0):
        raise refuse(f"lookahead must be null (exact) or an integer >= 0, got {lookahead!r}")
    return Start(kind, fmt, bandwidth_id, lookahead)


# ---------------------------------------------------------------------------------------------------- input
def decode_input(data: bytes, *, input: InputName, channels: int, num_codebooks: int | None) -> np.ndarray:
    """A binary input message -> its array: codes ``(K, t)`` int64, mel ``(C, t)`` float32, audio ``(n,)``
    float32. Checks the type and the shape; the values are the stream's to check (NaN, code range)."""
    if not data:
        raise ProtocolError(ErrorCode.BAD_SHAPE, "an empty binary message has no type byte")
    kind_dtype = INPUT_TYPES.get(data[0])
    if kind_dtype is None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"binary message type 0x{data[0]:02x} is unknown; input types are "
            + ", ".join(f"0x{t:02x} {MessageType(t).name}" for t in INPUT_TYPES),
        )
    kind, dtype = kind_dtype
    if kind != input:
        raise ProtocolError(
            ErrorCode.WRONG_INPUT,
            f"a {MessageType(data[0]).name} message carries {kind} input, but this session takes {input}",
        )
    item = np.dtype(dtype).itemsize
    rows = 1 if kind == "audio" else (num_codebooks or 0) if kind == "codes" else channels
    payload = memoryview(data)[1:]
    if len(payload) % (item * rows):
        what = {"codes": f"{rows} codebooks", "mel": f"{rows} channels", "audio": "1 channel"}[kind]
        raise ProtocolError(
            ErrorCode.BAD_SHAPE,
            f"a {MessageType(data[0]).name} payload of {len(payload)} bytes is not a whole number of "
            f"{item * rows}-byte frames ({what} of {item} bytes)",
        )
    array = np.frombuffer(payload, dtype=dtype)
    if kind == "codes":
        return array.reshape(rows, -1).astype(np.int64)
    if kind == "audio":
        return array.astype(np.float32) / (32768.0 if dtype == "<i2" else 1.0)
    return array.reshape(rows, -1).astype(np.float32)


def encode_input(x: np.ndarray, input: InputName, *, dtype: Literal["f32", "f16", "s16"] = "f32") -> bytes:
    """An input array -> one binary message: codes ``(K, t)`` integers, mel ``(C, t)`` (``dtype`` f32 or f16),
    audio ``(n,)`` (``dtype`` f32 or s16)."""
    x = np.asarray(x)
    if input == "codes":
        if x.ndim != 2 or (x.size and (x.min() < 0 or x.max() > 0xFFFF)):
            raise ValueError(f"codes must be (codebooks, frames) in [0, 65535], got shape {x.shape}")
        return bytes([MessageType.CODES]) + x.astype("<u2").tobytes()
    if input == "mel":
        if x.ndim != 2:
            raise ValueError(f"mel must be (channels, frames), got shape {x.shape}")
        kind = MessageType.MEL_F16 if dtype == "f16" else MessageType.MEL_F32
        return bytes([kind]) + x.astype("<f2" if dtype == "f16" else "<f4").tobytes()
    if x.ndim != 1:
        raise ValueError(f"audio must be (samples,), got shape {x.shape}")
    if dtype == "s16":
        return bytes([MessageType.AUDIO_S16]) + to_s16(x, scale=32768.0).tobytes()
    return bytes([MessageType.AUDIO_F32]) + x.astype("<f4").tobytes()


def to_s16(x: np.ndarray, *, scale: float = 32767.0) -> np.ndarray:
    """Float samples in [-1, 1] -> int16, rounded and clipped."""
    return np.clip(np.round(np.asarray(x, dtype=np.float32) * scale), -32768, 32767).astype("<i2")


# ---------------------------------------------------------------------------------------------------- PCM
def pcm_payload(samples: np.ndarray, format: FormatName) -> bytes:
    """Float32 samples -> the sample bytes of a PCM message (s16le: ``round(clip(x, -1, 1) * 32767)``)."""
    if format == "s16le":
        return to_s16(np.clip(samples, -1.0, 1.0)).tobytes()
    return np.asarray(samples, dtype="<f4").tobytes()


def pcm_header(*, seq: int, utterance: int, position: int) -> bytes:
    return PCM_HEADER.pack(MessageType.PCM, 0, 0, seq & 0xFFFFFFFF, utterance & 0xFFFFFFFF, position)


@dataclass(frozen=True)
class Pcm:
    """A decoded PCM message: ``samples`` ``(n,)`` float32 (s16 scaled by 1/32767)."""

    seq: int
    utterance: int
    position: int
    samples: np.ndarray
    raw: np.ndarray  # the samples as sent: int16 or float32


def decode_pcm(data: bytes, format: FormatName) -> Pcm:
    if len(data) < PCM_HEADER.size or data[0] != MessageType.PCM:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "not a PCM message")
    _, _, _, seq, utterance, position = PCM_HEADER.unpack_from(data)
    raw = np.frombuffer(data, dtype=FORMATS[format], offset=PCM_HEADER.size)
    samples = raw.astype(np.float32) / 32767.0 if format == "s16le" else raw.astype(np.float32)
    return Pcm(seq, utterance, position, samples, raw)


def bytes_per_second(format: FormatName, sample_rate: int) -> int:
    return np.dtype(FORMATS[format]).itemsize * sample_rate
