"""The host's side of the result channel (the child's side is sandbox/channel.py).

A thread reads frames off the pipe as they come, stamps each with the host's
own monotonic clock, and stops reading (and says why) when the child sends a
malformed frame or more bytes than the exercise allows. Everything read here is
untrusted data.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

PREFIX = struct.Struct(">IQ")
MAX_HEADER = 64 * 1024
MAX_FRAMES = 20_000          # a run sends a few per case; more is a flood, not a report
MAX_HEADER_BYTES = 16 << 20  # all headers together


@dataclass
class Frame:
    header: dict
    payload: bytes
    arrived: float  # time.monotonic() when the frame's last byte arrived


@dataclass
class FrameReader:
    fd: int
    max_payload_bytes: int
    frames: list[Frame] = field(default_factory=list)
    problem: str = ""          # set when the stream was cut off for cause
    total_bytes: int = 0
    header_bytes: int = 0
    on_frame: Callable[[dict], None] | None = None  # shown as progress; never decides anything

    def start(self) -> "FrameReader":
        self._thread = threading.Thread(target=self._run, daemon=True, name="dlverify-channel")
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _read_exact(self, n: int) -> bytes | None:
        chunks, got = [], 0
        while got < n:
            chunk = os.read(self.fd, min(n - got, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _run(self) -> None:
        try:
            while True:
                prefix = self._read_exact(PREFIX.size)
                if prefix is None:
                    return
                head_len, payload_len = PREFIX.unpack(prefix)
                if head_len > MAX_HEADER:
                    self.problem = f"malformed result frame (header of {head_len} bytes)"
                    return
                if self.total_bytes + payload_len > self.max_payload_bytes:
                    self.problem = (f"the submission sent more than {self.max_payload_bytes // (1 << 20)} MiB "
                                    "of outputs")
                    return
                self.header_bytes += head_len
                if len(self.frames) >= MAX_FRAMES or self.header_bytes > MAX_HEADER_BYTES:
                    self.problem = "the result stream carried far more frames than a run sends"
                    return
                head = self._read_exact(head_len)
                payload = self._read_exact(payload_len) if payload_len else b""
                if head is None or payload is None:
                    self.problem = "the result stream ended mid-frame"
                    return
                self.total_bytes += payload_len
                try:
                    header = json.loads(head)
                except ValueError:
                    self.problem = "malformed result frame (header is not JSON)"
                    return
                if not isinstance(header, dict) or not isinstance(header.get("event"), str):
                    self.problem = "malformed result frame (no event)"
                    return
                self.frames.append(Frame(header, payload, time.monotonic()))
                if self.on_frame is not None:
                    try:
                        self.on_frame(header)
                    except Exception:  # noqa: BLE001 - a progress display must never cut the stream
                        self.on_frame = None
        finally:
            os.close(self.fd)


@dataclass
class StreamTail:
    """Keeps the first `cap` bytes of a stream and counts the rest, reading it all.

    Reading everything (and dropping what is over the cap) keeps a child that
    floods its output from blocking on a full pipe, without growing memory.
    """

    fd: int
    cap: int
    kept: bytearray = field(default_factory=bytearray)
    total: int = 0

    def start(self) -> "StreamTail":
        self._thread = threading.Thread(target=self._run, daemon=True, name="dlverify-stream")
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    return
                self.total += len(chunk)
                room = self.cap - len(self.kept)
                if room > 0:
                    self.kept += chunk[:room]
        finally:
            os.close(self.fd)

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        if self.total > len(self.kept):
            text += f"\n[... {self.total - len(self.kept)} more bytes not kept]"
        return text
