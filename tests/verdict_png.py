"""A tiny PNG reader/writer (zlib + numpy) so tests can look at screenshots
without an imaging library. 8-bit RGB/RGBA/grey, non-interlaced: what Chromium writes.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}   # colour type -> samples per pixel


def read_png(data: bytes) -> np.ndarray:
    """Decode to an (H, W, C) uint8 array."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, ctype, _, _, interlace = header
    if depth != 8 or interlace or ctype not in _CHANNELS:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = _CHANNELS[ctype]
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:                      # None
            cur = line.copy()
        elif kind == 2:                    # Up
            cur = line + prev
        elif kind == 1:                    # Sub: a running sum per channel, mod 256
            cur = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(stride)
        elif kind == 3:                    # Average: sequential, done in Python ints
            cur_l = [0] * stride
            pl = prev.tolist()
            ll = line.tolist()
            for x in range(stride):
                left = cur_l[x - bpp] if x >= bpp else 0
                cur_l[x] = (ll[x] + ((left + pl[x]) >> 1)) & 0xFF
            cur = np.array(cur_l, dtype=np.uint8)
        elif kind == 4:                    # Paeth: sequential
            cur_l = [0] * stride
            pl = prev.tolist()
            ll = line.tolist()
            for x in range(stride):
                a = cur_l[x - bpp] if x >= bpp else 0
                b = pl[x]
                c = pl[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur_l[x] = (ll[x] + pred) & 0xFF
            cur = np.array(cur_l, dtype=np.uint8)
        else:
            raise ValueError(f"bad PNG filter {kind}")
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)


def write_png(pixels: np.ndarray) -> bytes:
    """Encode an (H, W, 3) uint8 array (filter None; fine for tests and crops)."""
    height, width, channels = pixels.shape
    ctype = {3: 2, 4: 6}[channels]
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
