"""The protocol's encoding against docs/protocol.md, byte for byte, and its decoders against arbitrary input."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vocos_stream.serving.protocol import (
    ErrorCode,
    ProtocolError,
    Start,
    decode_input,
    decode_pcm,
    encode_input,
    parse_control,
    parse_start,
    pcm_header,
    pcm_payload,
)

CODES = {v for k, v in vars(ErrorCode).items() if k.isupper()}


def test_input_messages_are_one_type_byte_and_little_endian_row_major_arrays() -> None:
    codes = np.array([[1, 2, 3], [1023, 0, 7]])
    assert encode_input(codes, "codes") == b"\x01" + struct.pack("<6H", 1, 2, 3, 1023, 0, 7)
    mel = np.array([[0.5, -1.0], [2.0, 3.0]], np.float32)
    assert encode_input(mel, "mel") == b"\x02" + struct.pack("<4f", 0.5, -1.0, 2.0, 3.0)
    assert encode_input(mel, "mel", dtype="f16") == b"\x03" + struct.pack("<4e", 0.5, -1.0, 2.0, 3.0)
    audio = np.array([0.5, -1.0, 0.25], np.float32)
    assert encode_input(audio, "audio") == b"\x05" + struct.pack("<3f", 0.5, -1.0, 0.25)
    assert encode_input(audio, "audio", dtype="s16") == b"\x04" + struct.pack("<3h", 16384, -32768, 8192)

    np.testing.assert_array_equal(
        decode_input(encode_input(codes, "codes"), input="codes", channels=0, num_codebooks=2), codes
    )
    np.testing.assert_array_equal(
        decode_input(encode_input(mel, "mel"), input="mel", channels=2, num_codebooks=None), mel
    )
    got = decode_input(encode_input(mel, "mel", dtype="f16"), input="mel", channels=2, num_codebooks=None)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, mel)
    got = decode_input(encode_input(audio, "audio", dtype="s16"), input="audio", channels=100, num_codebooks=None)
    np.testing.assert_array_equal(got, audio)


def test_pcm_messages_have_the_documented_20_byte_header() -> None:
    header = pcm_header(seq=7, utterance=2, position=2**40 + 3)
    assert header == struct.pack("<BBHIIQ", 0x80, 0, 0, 7, 2, 2**40 + 3) and len(header) == 20
    samples = np.array([1.0, -1.0, 2.0, 0.5, 0.0], np.float32)
    assert pcm_payload(samples, "s16le") == struct.pack("<5h", 32767, -32767, 32767, 16384, 0)
    assert pcm_payload(samples, "f32le") == samples.astype("<f4").tobytes()
    pcm = decode_pcm(header + pcm_payload(samples, "s16le"), "s16le")
    assert (pcm.seq, pcm.utterance, pcm.position) == (7, 2, 2**40 + 3)
    np.testing.assert_array_equal(pcm.raw, [32767, -32767, 32767, 16384, 0])


def test_start_defaults_and_refusals() -> None:
    assert parse_start({"type": "start"}, encodec=False, model="m") == Start("mel", "s16le", None, None)
    assert parse_start({"type": "start"}, encodec=True, model="m") == Start("codes", "s16le", 2, None)
    full = {"type": "start", "version": 1, "input": "audio", "format": "f32le", "lookahead": 3, "model": "m", "x": 1}
    assert parse_start(full, encodec=False, model="m") == Start("audio", "f32le", None, 3)
    assert parse_start({"bandwidth": 12}, encodec=True, model="m").bandwidth_id == 3
    for bad in ({"input": "codes"}, {"format": "wav"}, {"version": 2}, {"version": True}, {"lookahead": -2},
                {"lookahead": 1.5}, {"model": "other"}, {"bandwidth": 6.0}):  # fmt: skip
        with pytest.raises(ProtocolError) as refused:
            parse_start(bad, encodec=False, model="m")
        assert refused.value.code == "bad_start"
    with pytest.raises(ProtocolError, match="bandwidth"):
        parse_start({"bandwidth": 5.0}, encodec=True, model="m")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000), kind=st.sampled_from(["codes", "mel", "audio"]), rows=st.integers(1, 16))
def test_any_bytes_decode_to_a_well_shaped_array_or_a_protocol_error(data: bytes, kind: str, rows: int) -> None:
    try:
        x = decode_input(data, input=kind, channels=rows, num_codebooks=rows)  # type: ignore[arg-type]
    except ProtocolError as e:
        assert e.code in CODES and str(e)
        return
    assert data[0] in {"codes": (1,), "mel": (2, 3), "audio": (4, 5)}[kind]
    if kind == "audio":
        assert x.ndim == 1 and x.dtype == np.float32
    else:
        assert x.shape[0] == rows and x.size * {1: 2, 2: 4, 3: 2}[data[0]] == len(data) - 1


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=200), st.builds(json.dumps, st.recursive(
    st.none() | st.booleans() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["type", "x"]), inner, max_size=3),
))))  # fmt: skip
def test_any_text_parses_to_a_typed_object_or_bad_json(text: str) -> None:
    try:
        message = parse_control(text)
    except ProtocolError as e:
        assert e.code == "bad_json"
        return
    assert isinstance(message, dict) and isinstance(message["type"], str)
