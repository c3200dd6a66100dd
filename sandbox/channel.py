"""Length-prefixed frames on a pipe: the child's result channel, and the runner <-> worker pipes.

Frame = 12-byte prefix (header length u32, payload length u64, big-endian),
a JSON header, then the payload bytes. The host (dlverify/launch/channel.py) reads the
result channel as untrusted data, caps it, and timestamps each frame on
arrival with its own clock. Only the runner holds the result channel; the
worker that runs candidate code talks to the runner over its own pipes, and the
runner reads what the worker sends with the same caution as the host does.
"""

from __future__ import annotations

import json
import os
import struct
import threading

PREFIX = struct.Struct(">IQ")
MAX_HEADER = 64 * 1024


class ProtocolError(Exception):
    """What came down a pipe is not a well-formed frame."""


class Channel:
    def __init__(self, fd: int):
        self._fd = fd
        self._lock = threading.Lock()  # violations may be reported from any thread

    @property
    def fd(self) -> int:
        return self._fd

    def send(self, header: dict, payload: bytes = b"") -> None:
        head = json.dumps(header, separators=(",", ":")).encode()
        with self._lock:
            self._write_all(PREFIX.pack(len(head), len(payload)) + head)
            if payload:
                self._write_all(payload)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]


class FrameBuffer:
    """Bytes in, whole frames out; refuses anything malformed or over the caps."""

    def __init__(self, max_payload: int):
        self.max_payload = max_payload
        self._data = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[dict, bytes]]:
        self._data += chunk
        frames = []
        while len(self._data) >= PREFIX.size:
            head_len, payload_len = PREFIX.unpack_from(self._data)
            if head_len > MAX_HEADER or payload_len > self.max_payload:
                raise ProtocolError(f"frame too large (header {head_len} bytes, payload {payload_len} bytes)")
            end = PREFIX.size + head_len + payload_len
            if len(self._data) < end:
                break
            try:
                header = json.loads(bytes(self._data[PREFIX.size:PREFIX.size + head_len]))
            except ValueError:
                raise ProtocolError("frame header is not JSON") from None
            if not isinstance(header, dict):
                raise ProtocolError("frame header is not an object")
            frames.append((header, bytes(self._data[PREFIX.size + head_len:end])))
            del self._data[:end]
        return frames

    @property
    def pending(self) -> int:
        return len(self._data)


def read_frame(fd: int, max_payload: int) -> tuple[dict, bytes] | None:
    """One whole frame from a blocking fd, or None at a clean end of stream."""
    prefix = _read_exact(fd, PREFIX.size)
    if prefix is None:
        return None
    head_len, payload_len = PREFIX.unpack(prefix)
    if head_len > MAX_HEADER or payload_len > max_payload:
        raise ProtocolError(f"frame too large (header {head_len} bytes, payload {payload_len} bytes)")
    head = _read_exact(fd, head_len)
    payload = _read_exact(fd, payload_len) if payload_len else b""
    if head is None or payload is None:
        raise ProtocolError("stream ended mid-frame")
    try:
        header = json.loads(head)
    except ValueError:
        raise ProtocolError("frame header is not JSON") from None
    if not isinstance(header, dict):
        raise ProtocolError("frame header is not an object")
    return header, payload


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
