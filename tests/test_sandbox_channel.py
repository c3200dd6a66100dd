"""The result channel: the host reads frames as untrusted data and stops, saying why, at a flood."""

from __future__ import annotations

import json
import os
import struct
import threading

import pytest

from dlverify.launch import channel as host_channel
from dlverify import paths
from dlverify.launch.channel import FrameReader, StreamTail
from dlverify.isolation.landlock_rules import sandbox_module

sandbox_channel = sandbox_module(paths.sandbox_dir(), "channel")


def _frame(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">IQ", len(head), len(payload)) + head + payload


def _read(data: bytes, max_payload: int = 1 << 20) -> FrameReader:
    r, w = os.pipe()

    def write():
        try:
            os.write(w, data) if len(data) < 60_000 else [os.write(w, data[i:i + 60_000])
                                                         for i in range(0, len(data), 60_000)]
        except BrokenPipeError:
            pass
        finally:
            os.close(w)

    writer = threading.Thread(target=write)
    writer.start()
    reader = FrameReader(r, max_payload).start()
    reader.join(10)
    writer.join(10)
    return reader


def test_frames_come_through_in_order():
    reader = _read(_frame({"event": "case_start", "name": "a"}) + _frame({"event": "case_end", "name": "a"}, b"xyz"))
    assert reader.problem == ""
    assert [f.header["event"] for f in reader.frames] == ["case_start", "case_end"]
    assert reader.frames[1].payload == b"xyz"


@pytest.mark.parametrize("data, why", [
    (struct.pack(">IQ", 10 << 20, 0), "header of"),
    (struct.pack(">IQ", 2, 0) + b"{]", "not JSON"),
    (_frame({"no": "event"}), "no event"),
    (_frame({"event": "case_end"}, b"x" * 2048), "more than"),
    (_frame({"event": "case_end"})[:-3], ""),
])
def test_malformed_or_oversized_streams_stop_the_reader(data, why):
    reader = _read(data, max_payload=1024)
    if why:
        assert why in reader.problem
    assert not any(f.header.get("event") == "case_end" for f in reader.frames)


def test_a_flood_of_small_frames_is_cut_off(monkeypatch):
    monkeypatch.setattr(host_channel, "MAX_FRAMES", 500)
    reader = _read(_frame({"event": "violation", "rule": "x", "detail": "y"}) * 2000)
    assert "far more frames" in reader.problem
    assert len(reader.frames) <= 500


def test_stream_tail_keeps_the_head_and_counts_the_rest():
    r, w = os.pipe()
    tail = StreamTail(r, 100).start()
    for _ in range(50):
        os.write(w, b"y" * 10_000)
    os.close(w)
    tail.join(5)
    assert tail.total == 500_000 and len(tail.kept) == 100
    assert "499900 more bytes not kept" in tail.text()


def test_the_runner_reads_the_worker_with_the_same_caution():
    buffer = sandbox_channel.FrameBuffer(max_payload=16)
    data = _frame({"type": "result"}, b"12345")
    assert buffer.feed(data[:7]) == []                 # a frame arrives in pieces
    assert buffer.feed(data[7:]) == [({"type": "result"}, b"12345")]
    with pytest.raises(sandbox_channel.ProtocolError):
        buffer.feed(_frame({"type": "result"}, b"x" * 17))
    with pytest.raises(sandbox_channel.ProtocolError):
        sandbox_channel.FrameBuffer(16).feed(struct.pack(">IQ", 3, 0) + b"[1]")
