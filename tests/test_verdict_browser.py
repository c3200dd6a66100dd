"""The HTML report as a person sees it: rendered by a real headless Chromium,
screenshot decoded, and the radar chart's two polygons found by their colours.

Needs Debian's `chromium` package (CI installs it); skipped, saying so, without it.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone

import numpy as np
import pytest

from dlverify.verdict.answers import Answers
from dlverify.verdict.engine import build_report
from dlverify.verdict.radar import CLAIMED, VERIFIED
from dlverify.verdict.report_html import BAND_COLOURS, render_html
from dlverify.verdict.results import results_from_dicts

from verdict_helpers import answers_dict, result_doc
from verdict_png import read_png

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
WIDTH, HEIGHT = 1100, 1400


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)


def _mask(pixels: np.ndarray, colour: str, tolerance: int = 12) -> np.ndarray:
    return (np.abs(pixels[:, :, :3].astype(np.int16) - _rgb(colour)) <= tolerance).all(axis=2)


def screenshot(html_path, png_path, profile) -> np.ndarray:
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
           "--force-device-scale-factor=1", f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
           f"--screenshot={png_path}", f"file://{html_path}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert png_path.exists(), f"no screenshot (exit {done.returncode}): {done.stderr[-1500:]}"
    return read_png(png_path.read_bytes())


@pytest.mark.skipif(BROWSER is None, reason="chromium is not installed (apt-get install chromium)")
def test_html_report_renders_the_radar_in_a_real_browser(tmp_path):
    docs = [result_doc("backprop_mlp"), result_doc("attention"), result_doc("mixed_precision", "failed", passed=2)]
    report = build_report(Answers.from_dict(answers_dict()), results_from_dicts([(d["exercise"], d) for d in docs]),
                          "engineer", now=datetime(2025, 1, 1, tzinfo=timezone.utc))
    html = tmp_path / "report.html"
    html.write_text(render_html(report), encoding="utf-8")
    pixels = screenshot(html, tmp_path / "shot.png", tmp_path / "profile")
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 50   # not a blank page

    for colour in (CLAIMED, VERIFIED):   # each polygon's outline and markers, spread like a polygon
        ys, xs = np.nonzero(_mask(pixels, colour))
        assert len(xs) > 400, f"{colour}: only {len(xs)} pixels"
        assert xs.max() - xs.min() > 150 and ys.max() - ys.min() > 150, f"{colour}: drawn too small"
    # the claimed polygon reaches further out than the evidence-weighted one for this over-claimer
    claimed_ys, claimed_xs = np.nonzero(_mask(pixels, CLAIMED))
    verified_ys, verified_xs = np.nonzero(_mask(pixels, VERIFIED))
    legend_top = max(claimed_ys.max(), verified_ys.max()) - 30    # ignore the legend swatches below the chart
    c = claimed_ys < legend_top
    v = verified_ys < legend_top
    assert np.ptp(claimed_ys[c]) * np.ptp(claimed_xs[c]) > np.ptp(verified_ys[v]) * np.ptp(verified_xs[v])
    # the verdict badge, in its band colour, at the top of the page
    badge_ys, _ = np.nonzero(_mask(pixels, BAND_COLOURS[report["verdict"]], tolerance=6))
    assert len(badge_ys) > 500 and badge_ys.min() < 200
