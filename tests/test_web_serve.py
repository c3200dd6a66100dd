"""`dlverify serve` as a user starts it: a real server and its worker, and its one-line errors."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from dlverify.cli import Env, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_prints_the_first_staff_password_once_and_stops_its_workers(tmp_path):
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, XDG_DATA_HOME=str(tmp_path / "data"), DLVERIFY_DB="")
    cmd = [sys.executable, "-m", "dlverify", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        first = proc.stdout.readline()
        password = re.search(r"password: (\S+)", first).group(1)
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in banner and "1 grading worker" in banner
        assert str(tmp_path / "data" / "dlverify" / "gradebook.db") in banner   # the embedded default
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/staff/sign-in", timeout=2)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        assert page.status_code == 200 and "Staff sign-in" in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        signed = httpx.post(f"http://127.0.0.1:{port}/staff/sign-in", cookies=page.cookies,
                            data={"email": "admin@localhost", "password": password, "csrf": token})
        assert signed.status_code == 303 and signed.headers["location"] == "/staff"
        assert signed.headers["content-security-policy"].startswith("default-src 'self'")
        # its worker runs in serve's process group; the database reaches it in its environment,
        # never on its command line (where `ps` would show a PostgreSQL password to everyone)
        (worker,) = _workers(proc.pid)
        cmdline = open(f"/proc/{worker}/cmdline", "rb").read().decode()
        environ = open(f"/proc/{worker}/environ", "rb").read().decode().split("\0")
        assert "gradebook.db" not in cmdline and "sqlite" not in cmdline
        assert f"DLVERIFY_DB=sqlite:///{tmp_path / 'data' / 'dlverify' / 'gradebook.db'}" in environ
    finally:
        _interrupt(proc)
    assert _workers(proc.pid) == [], "a grading worker outlived `dlverify serve`"

    again = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        assert "password" not in again.stdout.readline()   # shown once: the account exists now
    finally:
        _interrupt(again)   # as soon as its first line is read: during the banner, often
    assert _workers(again.pid) == [], "a grading worker outlived `dlverify serve` stopped at start"


def _interrupt(proc: subprocess.Popen) -> None:
    """Ctrl-C, as a user stops it; if it does not stop, its whole group is killed before the
    test fails, so a failing run leaves no server or worker behind on the machine."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def _workers(group: int) -> list[int]:
    """The grading workers in that process group."""
    found = subprocess.run(["pgrep", "-g", str(group), "-f", "dlverify.web.worker"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def _run(argv, capsys):
    from io import StringIO

    out, err = StringIO(), StringIO()
    code = main(argv, Env(stdout=out, stderr=err))
    return code, out.getvalue(), err.getvalue()


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, _, err = _run(["serve", "--port", str(busy.getsockname()[1]), "--db", f"sqlite:///{tmp_path}/x.db"],
                            capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot listen on 127.0.0.1" in err


@pytest.mark.parametrize("command", ["serve", "serve-worker"])
@pytest.mark.parametrize("db, words", [
    ("nosuchdb://x", "--db nosuchdb://x: nosuchdb is not supported"),
    ("postgresql://staff:hunter2@127.0.0.1:{port}/web", "Connection refused"),
    ("{tmp}/not-a-folder/x.db", "cannot create its folder"),
])
def test_serve_with_an_unusable_database_says_so_in_one_line(tmp_path, capsys, command, db, words):
    (tmp_path / "not-a-folder").write_text("a file where a folder should be\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    code, out, err = _run([command, "--db", db.format(port=closed, tmp=tmp_path), "--port", str(_free_port())]
                          if command == "serve" else [command, "--db", db.format(port=closed, tmp=tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and words in err, err
    assert "hunter2" not in err + out and "Traceback" not in err


def test_ctrl_c_just_after_the_banner_still_stops_the_workers(tmp_path, monkeypatch):
    """Ctrl-C can land while the banner is being written, before the server runs: the workers
    started by then must be stopped, not left running without their server (seen in 1 of 6
    real starts interrupted as soon as the banner was read)."""
    from dlverify.commands import serve as serve_command

    started: list[FakeWorker] = []

    class FakeWorker:
        def __init__(self, command, env=None):
            self.command, self.stopped = command, False
            started.append(self)

        def terminate(self):
            self.stopped = True

        def wait(self, timeout=None):
            return 0

        def kill(self):
            self.stopped = True

    class InterruptedOut:
        """stdout as the signal finds it: the banner's line is where KeyboardInterrupt is raised."""
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text
            if "grading worker" in text:
                raise KeyboardInterrupt

        def flush(self):
            pass

    monkeypatch.setattr(serve_command.subprocess, "Popen", FakeWorker)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("the server must not start"))
    monkeypatch.setenv("DLVERIFY_STAFF_PASSWORD", "a-long-enough-password")
    out, err = InterruptedOut(), __import__("io").StringIO()
    code = main(["serve", "--port", str(_free_port()), "--workers", "2", "--db", f"sqlite:///{tmp_path}/g.db"],
                Env(stdout=out, stderr=err))
    assert code == 130 and err.getvalue() == "dlverify: interrupted\n"
    assert len(started) == 2 and all(w.stopped for w in started), "a worker outlived an interrupted `dlverify serve`"
