"""Hostile submissions: each one graded for real, its status checked, and none of its side effects found.

The known-bad `attack_*.py` files of every pack, and the slow ones kept in
tests/hostile/ (run here under a wall-clock limit of a few seconds), go
through `dlverify.engine.grade` in-process. Around each run the host watches
for what must never happen:

- a connection on a loopback listener (port 47321, the one the attacks aim at);
- a file named `dlvh-*` anywhere the host can see (its /tmp, /var/tmp,
  /dev/shm, the repository, the home folder);
- a host secret (an environment variable set by the test) anywhere in the result;
- a process left running whose name or command line carries the `dlvh` mark;
- a result bloated by the candidate's output.

The same attacks that matter most (network, writes outside scratch, reading
graders/) run again without bubblewrap, where Landlock, seccomp and rlimits
must hold on their own.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from dlverify import engine, paths
from dlverify.engine import grade
from dlverify.packs.registry import get_exercise

HERE = Path(__file__).resolve().parent
PORT = 47321
MARK = "dlvh"   # attacks name their processes and files dlvh-*; each test run swaps in a mark of its own
HEADER = re.compile(r"#\s*(?:WRONG|HOSTILE)\((?:(?P<exercise>[a-z_]+),\s*)?(?P<statuses>[a-z_|]+)"
                    r"(?:,\s*(?P<throughput>throughput))?\):")


@dataclasses.dataclass(frozen=True)
class Attack:
    exercise: str
    path: Path
    statuses: tuple[str, ...]
    throughput: bool = False

    @property
    def id(self) -> str:
        return f"{self.exercise}/{self.path.stem}"


def _read(path: Path, exercise: str | None) -> Attack:
    match = HEADER.match(path.read_text().splitlines()[0])
    assert match, f"{path}: the first line must say what the grader must report"
    return Attack(match["exercise"] or exercise, path, tuple(match["statuses"].split("|")), bool(match["throughput"]))


def pack_attacks() -> list[Attack]:
    found = sorted(paths.graders_dir().glob("*/solutions/wrong/attack_*.py"))
    return [_read(p, p.parents[2].name) for p in found]


def slow_attacks() -> list[Attack]:
    return [_read(p, None) for p in sorted((HERE / "hostile").glob("*.py"))]


# ----------------------------------------------------------------------------- the host's watch

class Listener:
    """Loopback TCP listeners (IPv4 and IPv6) on the port the attacks aim at; they must stay silent."""

    def __init__(self):
        self.connections: list[str] = []
        self.sockets = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                s = socket.socket(family, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, PORT))
                s.listen(8)
                s.settimeout(0.1)
                self.sockets.append(s)
            except OSError:
                pass
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            for s in self.sockets:
                try:
                    conn, addr = s.accept()
                except (TimeoutError, OSError):
                    continue
                self.connections.append(str(addr))
                conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        for s in self.sockets:
            s.close()


def _marked_processes(mark: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rpartition(")")[2].split()[0] in ("Z", "X"):
                continue  # dead already, waiting for its parent to reap it
            seen = (entry / "cmdline").read_bytes() + b" " + (entry / "comm").read_bytes()
        except (OSError, IndexError):
            continue
        if mark.encode() in seen:
            found.append(f"{entry.name}: {seen[:120]!r}")
    return found


def _marker_files(mark: str, extra: list[Path]) -> list[str]:
    places = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/"), Path.home(), paths.data_root(),
              paths.graders_dir(), paths.graders_dir() / "backprop_mlp", paths.sandbox_dir(), HERE, Path.cwd()]
    found = []
    for place in places + extra:
        try:
            found += [str(p) for p in place.glob(f"{mark}*")]
        except OSError:
            pass
    return found


@pytest.fixture
def watch(monkeypatch, tmp_path):
    """Everything an attack must not reach, set up before and checked after each grading."""
    token = uuid.uuid4().hex
    mark = f"{MARK}{token[:6]}"                       # fits a 15-character process name with room to spare
    secret = f"secret-{token}"
    monkeypatch.setenv("DLVERIFY_HOSTILE_SECRET", secret)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    listener = Listener()
    state = {"secret": secret, "mark": mark, "folder": tmp_path}
    yield state
    listener.close()
    assert listener.connections == [], f"the loopback listener was reached: {listener.connections}"
    leftovers = _wait_for(lambda: _marked_processes(mark), seconds=3)
    assert leftovers == [], f"processes still running after grading: {leftovers}"
    planted = _marker_files(mark, [tmp_path])
    assert not planted, f"files written outside scratch: {planted}"


def marked(attack: "Attack", state: dict) -> Path:
    """A copy of the attack whose process and file names carry this test's own mark."""
    copy = state["folder"] / attack.path.name
    copy.write_text(attack.path.read_text().replace(MARK + "-", state["mark"] + "-"))
    return copy


def _wait_for(probe, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def small_limits(monkeypatch, **changes):
    """Grade with smaller limits than the manifest's (test-only): quick timeouts, quick OOMs."""
    real = get_exercise

    def patched(exercise_id):
        exercise = real(exercise_id)
        return dataclasses.replace(exercise, limits=dataclasses.replace(exercise.limits, **changes))

    monkeypatch.setattr(engine, "get_exercise", patched)


@pytest.fixture(autouse=True)
def runtime_layers_only(monkeypatch):
    """These tests check what the sandbox contains at run time. The static introspection
    rule (tests/test_introspection.py) would reject many attacks before they ever ran."""
    monkeypatch.setattr(engine, "introspection_violations", lambda source: [])


def check_result(result, attack: Attack, secret: str) -> None:
    assert result.status.value in attack.statuses, (result.status.value, result.summary)
    assert result.status.value != "passed" or attack.statuses == ("passed",)
    text = result.to_json()
    assert secret not in text and secret[7:] not in text, "a host secret reached the result"
    assert len(text) < 200_000, f"result of {len(text)} bytes: the candidate's output was not capped"


# ----------------------------------------------------------------------------- the attacks

@pytest.mark.parametrize("attack", pack_attacks(), ids=lambda a: a.id)
def test_pack_attack_is_contained(attack, watch, monkeypatch):
    small_limits(monkeypatch, wall_seconds=30, memory_mb=1024)
    result = grade(attack.exercise, marked(attack, watch), device="cpu", throughput=attack.throughput)
    check_result(result, attack, watch["secret"])


@pytest.mark.parametrize("attack", slow_attacks(), ids=lambda a: a.id)
def test_slow_attack_is_contained(attack, watch, monkeypatch):
    wall = 4 if "timeout" in attack.statuses else 30
    small_limits(monkeypatch, wall_seconds=wall, memory_mb=1024, output_mb=8, processes=32)
    started = time.monotonic()
    result = grade(attack.exercise, marked(attack, watch), device="cpu", throughput=attack.throughput)
    check_result(result, attack, watch["secret"])
    # The wall-clock limit holds: the grader goes on a few seconds after it, whatever the child does.
    assert result.process["wall_seconds"] < wall + 5, result.process
    assert time.monotonic() - started < 60
    if result.status.value == "timeout":
        assert any(c.status.value == "timeout" for c in result.cases)


def test_patched_timers_do_not_change_the_host_clock(watch, monkeypatch):
    attack = next(a for a in slow_attacks() if a.path.stem == "patched_timers")
    small_limits(monkeypatch, wall_seconds=30)
    result = grade(attack.exercise, marked(attack, watch), device="cpu", throughput=True)
    assert result.status.value == "passed", result.summary
    # every timed call sleeps 0.2 s, whatever the patched clocks in the sandbox say
    assert result.throughput.submission_seconds >= 0.2, result.throughput
    assert result.throughput.speedup < 1.0


def test_sandboxed_process_is_nobody_on_the_host_too(watch, monkeypatch):
    """While the sleeper sleeps, the host looks at it: uid 65534 from outside, no capabilities."""
    attack = next(a for a in slow_attacks() if a.path.stem == "sleep_forever")
    small_limits(monkeypatch, wall_seconds=4)
    seen: dict[str, str] = {}

    def look():
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not seen:
            for entry in Path("/proc").iterdir():
                try:
                    if entry.name.isdigit() and (entry / "comm").read_text().strip() == f"{watch['mark']}-sleeper"[:15]:
                        status = (entry / "status").read_text()
                        seen.update(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
                        break
                except OSError:
                    continue
            time.sleep(0.05)

    looker = threading.Thread(target=look)
    looker.start()
    result = grade(attack.exercise, marked(attack, watch), device="cpu", throughput=False)
    looker.join()
    assert result.status.value == "timeout"
    assert seen, "the sandboxed process was never seen from the host"
    assert seen["CapEff"].strip() == "0000000000000000"
    assert seen["CapPrm"].strip() == "0000000000000000"
    assert seen["NoNewPrivs"].strip() == "1"
    assert seen["Seccomp"].strip() == "2"
    if os.geteuid() == 0:
        assert seen["Uid"].split() == ["65534"] * 4, seen["Uid"]
        assert seen["Gid"].split() == ["65534"] * 4, seen["Gid"]
        assert seen["Groups"].strip() == ""


# ----------------------------------------------------------------------------- without bubblewrap

FALLBACK = ("attack_network", "attack_write_outside_scratch", "attack_read_reference", "attack_read_hidden_cases",
            "attack_proc_snoop", "attack_env_snoop", "attack_forbidden_import_routes", "attack_daemon_grandchild",
            "attack_fill_disk", "attack_forge_channel")


@pytest.mark.parametrize("attack", [a for a in pack_attacks() if a.path.stem in FALLBACK and
                                    a.exercise == "backprop_mlp"], ids=lambda a: a.id)
def test_attack_is_contained_without_bubblewrap(attack, watch, monkeypatch):
    from dlverify.isolation import docker, landlock_rules
    from dlverify.isolation.launcher import launch

    if landlock_rules.available(paths.sandbox_dir()):
        pytest.skip("no Landlock in this kernel: without bubblewrap there is no filesystem allow-list")
    monkeypatch.setattr(docker, "launch_local", functools.partial(launch, use_bwrap=False))
    small_limits(monkeypatch, wall_seconds=30, memory_mb=1024)
    result = grade(attack.exercise, marked(attack, watch), device="cpu", throughput=False, sandbox="local")
    layers = {layer["name"]: layer["applied"] for layer in result.sandbox["layers"]}
    assert layers["bubblewrap"] is False and layers["landlock"] and layers["seccomp"], result.sandbox
    check_result(result, attack, watch["secret"])
