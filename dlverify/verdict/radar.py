"""An inline SVG radar chart: claimed against verified level per skill area.

Pure string building, no plotting library and no fonts or scripts fetched, so
the HTML report stays one self-contained file. The "verified" polygon is the
evidence-weighted level the match uses: verified levels where an exercise was
graded, discounted claims elsewhere; a filled marker means the area had graded
evidence, a hollow one that it rests on self-report only.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

CLAIMED = "#2563eb"    # blue
VERIFIED = "#ea580c"   # orange
GRID = "#cbd5e1"
INK = "#334155"


def _point(cx: float, cy: float, radius: float, index: int, count: int, level: float) -> tuple[float, float]:
    # axis 0 points straight up; the rest follow clockwise
    angle = -math.pi / 2 + 2 * math.pi * index / count
    return cx + radius * level * math.cos(angle), cy + radius * level * math.sin(angle)


def _fmt(x: float) -> str:
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def _polygon(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)


def radar_svg(areas: list[dict[str, Any]], width: int = 720, height: int = 500) -> str:
    """`areas`: the report's areas (id, title, claimed, evidence_weighted, checked)."""
    count = len(areas)
    if count < 3:
        raise ValueError("a radar chart needs at least three areas")
    cx, cy = width / 2, 245.0
    radius = 165.0                  # leaves room around it for two-line axis labels
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="radar-title" '
        f'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">',
        '<title id="radar-title">Claimed against verified level per skill area (0 at the centre, 10 at the edge)</title>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = [_point(cx, cy, radius, i, count, ring) for i in range(count)]
        out.append(f'<polygon points="{_polygon(pts)}" fill="none" stroke="{GRID}" stroke-width="1"/>')
        lx, ly = _point(cx, cy, radius, 0, count, ring)
        out.append(f'<text x="{_fmt(lx + 4)}" y="{_fmt(ly + 12)}" font-size="10" fill="#94a3b8">{ring * 10:g}</text>')
    for i, area in enumerate(areas):
        x, y = _point(cx, cy, radius, i, count, 1.0)
        out.append(f'<line x1="{_fmt(cx)}" y1="{_fmt(cy)}" x2="{_fmt(x)}" y2="{_fmt(y)}" stroke="{GRID}" stroke-width="1"/>')
        lx, ly = _point(cx, cy, radius + 18, i, count, 1.0)
        anchor = "middle" if abs(lx - cx) < 8 else ("start" if lx > cx else "end")
        ly += 14 if ly > cy + 8 else (-10 if ly < cy - 8 else 0)
        verified = "self-report only" if not area["checked"] else f"verified {area['evidence_weighted'] * 10:.1f}"
        out.append(
            f'<text x="{_fmt(lx)}" y="{_fmt(ly)}" text-anchor="{anchor}" font-size="13" fill="{INK}" font-weight="600">'
            f'{escape(area["title"])}'
            f'<tspan x="{_fmt(lx)}" dy="15" font-size="11" font-weight="400" fill="#64748b">'
            f'claimed {area["claimed"] * 10:.1f} · {verified}</tspan></text>'
        )
    claimed = [_point(cx, cy, radius, i, count, a["claimed"]) for i, a in enumerate(areas)]
    verified = [_point(cx, cy, radius, i, count, a["evidence_weighted"]) for i, a in enumerate(areas)]
    out.append(f'<polygon points="{_polygon(claimed)}" fill="{CLAIMED}" fill-opacity="0.14" '
               f'stroke="{CLAIMED}" stroke-width="3" stroke-linejoin="round"/>')
    out.append(f'<polygon points="{_polygon(verified)}" fill="{VERIFIED}" fill-opacity="0.22" '
               f'stroke="{VERIFIED}" stroke-width="3" stroke-linejoin="round"/>')
    for (x, y) in claimed:
        out.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="4.5" fill="{CLAIMED}"/>')
    for (x, y), area in zip(verified, areas):
        fill = VERIFIED if area["checked"] else "#ffffff"
        out.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="5" fill="{fill}" stroke="{VERIFIED}" stroke-width="2"/>')
    ly = height - 30
    out.append(f'<rect x="{_fmt(cx - 200)}" y="{ly}" width="14" height="14" fill="{CLAIMED}"/>'
               f'<text x="{_fmt(cx - 180)}" y="{ly + 12}" font-size="13" fill="{INK}">Claimed</text>')
    out.append(f'<rect x="{_fmt(cx - 100)}" y="{ly}" width="14" height="14" fill="{VERIFIED}"/>'
               f'<text x="{_fmt(cx - 80)}" y="{ly + 12}" font-size="13" fill="{INK}">'
               f'Verified (unchecked claims discounted)</text>')
    out.append("</svg>")
    return "\n".join(out)
