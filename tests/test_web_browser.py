"""The web app in a real browser: Debian's chromium driven by Playwright against a real server.

Staff creates an assessment and invites; a candidate answers the questionnaire, uploads a wrong
and a correct solution, watches them graded and reads the report; staff sees the verdict and
exports. Every page is screenshotted (DLVERIFY_SCREENSHOTS=DIR keeps them) and checked for
accessibility basics. Skipped, saying so, without chromium or Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import yaml

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="chromium is not installed (apt-get install chromium)")

from dlverify.batch.model import Options  # noqa: E402
from dlverify.verdict.answers import QUESTIONS  # noqa: E402
from dlverify.web import worker  # noqa: E402

from web_helpers import ROOT, STAFF, make_app  # noqa: E402

ANSWERS = yaml.safe_load((ROOT / "dlverify/verdict/samples/demo_answers.yaml").read_text())
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]

# Run in the page: what a screen-reader user and a keyboard user need at the least.
A11Y = """() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  if (!document.title) problems.push("no title");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.getAttribute("aria-label");
    if (!labelled) problems.push(`unlabelled ${el.tagName.toLowerCase()} ${el.name}`);
  }
  for (const el of document.querySelectorAll("[class^='s-']"))
    if (!el.textContent.trim()) problems.push("a status shown by colour alone");
  for (const b of document.querySelectorAll("button"))
    if (!b.textContent.trim() && !b.getAttribute("aria-label")) problems.push("a button with no name");
  return problems;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    import uvicorn

    app, book = make_app(tmp_path)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    web = threading.Thread(target=srv.run, daemon=True)
    web.start()
    stop = threading.Event()
    grading = threading.Thread(target=worker.run, daemon=True,
                               args=(book, worker.local_grader(Options(throughput=False))),
                               kwargs={"stop": stop, "idle": 0.2})
    grading.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    stop.set()
    srv.should_exit = True
    web.join(timeout=10)
    grading.join(timeout=60)


class Pages:
    """Screenshots every page it is shown and collects accessibility problems."""

    def __init__(self, folder: Path):
        self.folder, self.problems, self.shots = folder, [], []

    def look(self, page, name: str) -> None:
        path = self.folder / f"{len(self.shots):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        self.problems += [f"{name}: {p}" for p in page.evaluate(A11Y)]


def _value(v) -> str:
    return ("yes" if v else "no") if isinstance(v, bool) else ", ".join(v) if isinstance(v, list) else str(v)


def test_staff_and_candidate_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("DLVERIFY_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    pages = Pages(shots)
    wrong = sorted((ROOT / "graders/backprop_mlp/solutions/wrong").glob("*.py"))[0]
    right = ROOT / "graders/backprop_mlp/reference.py"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER, args=FLAGS)
        staff = browser.new_context(accept_downloads=True).new_page()
        staff.goto(server + "/")
        pages.look(staff, "sign-in")
        staff.get_by_label("Email").fill(STAFF[0])
        staff.get_by_label("Password").fill(STAFF[1])
        staff.get_by_role("button", name="Sign in").click()
        staff.get_by_role("link", name="Create an assessment").click()
        pages.look(staff, "new-assessment")
        staff.get_by_label("Name").fill("Spring hiring")
        staff.get_by_label("backprop_mlp", exact=False).check()
        staff.get_by_label("Due date", exact=False).fill("2099-12-31")
        staff.get_by_role("button", name="Create").click()
        staff.get_by_label("Name").fill("Grace Hopper")
        staff.get_by_label("Email").fill("grace@example.com")
        staff.get_by_role("button", name="Create invitation link").click()
        link = staff.locator("#new-link").inner_text()
        pages.look(staff, "dashboard-invited")

        cand = browser.new_context(accept_downloads=True).new_page()
        cand.goto(link)
        pages.look(cand, "candidate-home")
        cand.get_by_role("link", name="Continue").click()
        for number, q in enumerate(QUESTIONS, start=1):
            if number == 1:
                pages.look(cand, "question")
            for f in q.fields:
                box = cand.locator(f"#f-{f.name}")
                value = _value(ANSWERS[q.section][f.name])
                if box.evaluate("e => e.tagName") == "SELECT":
                    box.select_option(value)
                else:
                    box.fill(value)
            cand.get_by_role("button", name=re.compile("Save and")).click()
        assert "8 of 8 questions answered" in cand.content()
        with cand.expect_download() as readme:
            cand.get_by_role("link", name="README").click()
        assert "backprop" in Path(readme.value.path()).read_text().lower()

        for path, want in ((wrong, "failed"), (right, "passed")):
            cand.goto(server + "/assessment")
            cand.locator("#file-backprop_mlp").set_input_files(str(path))
            cand.get_by_role("button", name="Upload and grade").click()
            # the page refreshes itself (no JavaScript) until the worker has graded the upload
            cand.wait_for_selector(f"strong.s-{want}", timeout=120_000)
            pages.look(cand, f"upload-{want}")
        cand.goto(server + "/assessment")
        cand.get_by_role("button", name="Hand in").click()
        cand.get_by_role("link", name="See your report").click()
        assert cand.locator("svg").count() >= 1
        pages.look(cand, "candidate-report")

        staff.reload()
        assert "Grace Hopper" in staff.content() and "passed" in staff.content()
        pages.look(staff, "dashboard-graded")
        with staff.expect_download() as csv_file:
            staff.get_by_role("link", name="Export CSV").click()
        assert Path(csv_file.value.path()).read_text().splitlines()[1].startswith(
            "Grace Hopper <grace@example.com>,100.0,passed,")
        with staff.expect_download() as xml_file:
            staff.get_by_role("link", name="Export JUnit XML").click()
        assert '<testsuite name="Grace Hopper &lt;grace@example.com&gt;/backprop_mlp"' in \
            Path(xml_file.value.path()).read_text()
        staff.get_by_role("link", name="Grace Hopper").click()
        assert "Verdict recorded in the gradebook" in staff.content()
        with staff.expect_download() as results:
            staff.get_by_role("link", name="Gradescope results.json").click()
        assert '"status": "passed"' in Path(results.value.path()).read_text()
        pages.look(staff, "staff-candidate")
        browser.close()

    assert pages.problems == []
    assert len(pages.shots) == 10 and all(s.stat().st_size > 5000 for s in pages.shots)
