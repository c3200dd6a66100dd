"""The child's side of the result channel: length-prefixed frames on a pipe.

Frame = 12-byte header (header length u32, payload length u64, big-endian),
a JSON header, then the payload bytes. The host (dlverify/channel.py) reads
frames as data, caps their size, and timestamps each on arrival with its own
clock. Candidate code can write to this pipe too: that is fine, because the
host treats everything on it as untrusted data and builds every result itself.
"""

from __future__ import annotations

import json
import os
import struct

PREFIX = struct.Struct(">IQ")


class Channel:
    def __init__(self, fd: int):
        self._fd = fd

    def send(self, header: dict, payload: bytes = b"") -> None:
        head = json.dumps(header, separators=(",", ":")).encode()
        data = PREFIX.pack(len(head), len(payload)) + head
        self._write_all(data)
        if payload:
            self._write_all(payload)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
