"""The isolation layers one at a time: Landlock, the package allow-list, seccomp, the uid drop, bubblewrap's view."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from dlverify import paths
from dlverify.isolation import landlock_rules
from dlverify.isolation.bwrap import RELOCATED, bwrap_argv, python_roots, sandbox_path
from dlverify.isolation.privileges import Drop
from dlverify.isolation.seccomp_filter import build_filter
from dlverify.packs.manifest import Limits

landlock = landlock_rules.sandbox_module(paths.sandbox_dir(), "landlock")
allowlist = landlock_rules.sandbox_module(paths.sandbox_dir(), "allowlist")
needs_landlock = pytest.mark.skipif(landlock.abi_version() < 1, reason="no Landlock in this kernel")


def in_child(fn) -> list[str]:
    """Run fn in a forked child (so what it restricts stays there); its lines come back."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            lines = fn()
        except BaseException as exc:  # noqa: BLE001
            lines = [f"error {type(exc).__name__}: {exc}"]
        os.write(w, "\n".join(lines).encode())
        os._exit(0)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode().splitlines()


def _try(label, action) -> str:
    try:
        action()
        return f"{label} allowed"
    except OSError:
        return f"{label} denied"


@needs_landlock
def test_landlock_confines_reads_writes_tcp_and_signals(tmp_path):
    readable, writable, secret = tmp_path / "r", tmp_path / "w", tmp_path / "secret"
    for folder in (readable, writable, secret):
        folder.mkdir()
    (readable / "f").write_text("ok")
    (secret / "f").write_text("no")
    parent = os.getpid()

    def confined():
        landlock.confine([str(readable)] + [str(p) for p in python_roots()], [str(writable)])
        return [
            _try("read", lambda: open(readable / "f").read()),
            _try("write-readable", lambda: open(readable / "g", "w").close()),
            _try("write", lambda: open(writable / "g", "w").close()),
            _try("secret", lambda: open(secret / "f").read()),
            _try("etc", lambda: open("/etc/hostname").read()),
            _try("tcp", lambda: socket.create_connection(("127.0.0.1", 9), timeout=0.5)),
            _try("signal", lambda: os.kill(parent, 0)),
        ]

    lines = in_child(confined)
    assert lines[:5] == ["read allowed", "write-readable denied", "write allowed", "secret denied", "etc denied"]
    if landlock.abi_version() >= 4:
        assert "tcp denied" in lines
    if landlock.abi_version() >= 6:
        assert "signal denied" in lines


def test_a_numpy_exercise_sees_no_torch():
    numpy_sites = allowlist.site_entries("numpy")
    kept = {name for names in numpy_sites.values() for name in names}
    assert "numpy" in kept
    assert not any(name.startswith(("torch", "triton", "scipy", "jax")) for name in kept), kept
    torch_kept = {name for names in allowlist.site_entries("torch").values() for name in names}
    assert {"torch", "numpy", "sympy"} <= torch_kept and "triton" not in torch_kept
    readable = allowlist.readable_python("numpy")
    assert not any("/torch" in p or p.endswith("-packages") for p in readable), readable
    assert any(p.endswith("/numpy") for p in readable)


def _unshare_user():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        raise OSError(ctypes.get_errno(), "unshare")


def test_seccomp_refuses_network_sockets_but_not_unix_ones():
    def filtered():
        build_filter().load()
        return [_try("inet", lambda: socket.socket(socket.AF_INET)), _try("inet6", lambda: socket.socket(socket.AF_INET6)),
                _try("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW)),
                _try("unix", lambda: socket.socketpair()), _try("unshare", _unshare_user)]

    assert in_child(filtered) == ["inet denied", "inet6 denied", "packet denied", "unix allowed", "unshare denied"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop is what a root grader does")
def test_a_root_grader_drops_to_nobody_and_can_still_reach_the_interpreter(tmp_path):
    drop = Drop.plan(python_roots() + [Path(sys.executable), paths.sandbox_dir()])

    def dropped():
        drop.reopen_folders()
        drop.become_nobody()
        return [str(os.getuid()), str(os.getgid()), str(os.getgroups()),
                _try("python", lambda: os.stat(os.path.realpath(sys.executable))),
                _try("root's home", lambda: os.listdir("/root/..") and open("/etc/shadow").read())]

    lines = in_child(dropped)
    assert lines[:3] == ["65534", "65534", "[]"]
    assert lines[3] == "python allowed"
    assert lines[4] == "root's home denied"


def test_bubblewrap_view_is_read_only_hides_packages_and_moves_the_job_out_of_scratch(tmp_path):
    job = Path("/tmp/dlverify-job-example")
    keep = allowlist.site_entries("numpy")
    argv = bwrap_argv("bwrap", limits=Limits(), readable=[paths.sandbox_dir(), job], site_keep=keep,
                      env={"PATH": "/usr/bin"}, passwd=tmp_path / "passwd", device="cpu", seccomp_fd=5, status_fd=6)
    text = " ".join(argv)
    assert "--remount-ro / " in text + " " and "--remount-ro /dev" in text
    assert "--unshare-all" in argv and "--die-with-parent" in argv and "--cap-drop ALL" in text
    assert f"--ro-bind {job} {RELOCATED}{job}" in text and sandbox_path(job).startswith(RELOCATED)
    for folder, names in keep.items():
        if any(folder.startswith(str(r)) for r in python_roots()):
            assert f"--tmpfs {folder}" in text and f"--remount-ro {folder}" in text
    assert "/torch " not in text
    assert "--ro-bind / /" not in text


def test_guards_block_forbidden_ops_in_every_thread_and_report_tampering(tmp_path):
    """In a fresh interpreter: the guards as the worker installs them, then an attacker's moves."""
    script = tmp_path / "probe.py"
    script.write_text(f"""
import sys, threading, gc, builtins, json
sys.path.insert(0, {str(paths.sandbox_dir())!r})
import torch, torch.nn.functional as F
from guards import Guards
seen = []
g = Guards({{"forbidden_ops": ["scaled_dot_product_attention", "_scaled_dot_product_flash_attention_for_cpu",
                               "_fused_sdp_choice", "_scaled_dot_product_attention_math"]}},
           lambda rule, detail: seen.append(rule))
g.install()
q = torch.randn(1, 1, 4, 8)
out = {{}}
def in_thread():
    try:
        F.scaled_dot_product_attention(q, q, q); out["thread"] = "ran"
    except RuntimeError:
        out["thread"] = "blocked"
t = threading.Thread(target=in_thread); t.start(); t.join()
try:
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, q, q); out["aten"] = "ran"
except RuntimeError:
    out["aten"] = "blocked"
out["handle_visible"] = any(type(o).__name__ == "_DispatchModule" for o in gc.get_objects())
out["matmul"] = float((q @ q.transpose(-1, -2)).softmax(-1).sum())
import importlib; builtins.__import__ = importlib._bootstrap.__import__
g.check_intact("in the test")
out["seen"] = seen
print(json.dumps(out))
""")
    import subprocess

    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["thread"] == "blocked" and out["aten"] == "blocked"
    assert out["handle_visible"] is False
    assert out["matmul"] == pytest.approx(4.0)        # allowed ops untouched
    assert "forbidden-op" in out["seen"] and out["seen"][-1] == "tampering"


def test_import_guard_tells_the_candidate_from_the_standard_library(tmp_path):
    script = tmp_path / "probe.py"
    candidate = "/not/a/trusted/place/submission.py"
    script.write_text(f"""
import sys, json
sys.path.insert(0, {str(paths.sandbox_dir())!r})
sys.modules.pop("copy", None)
from guards import Guards
seen = []
g = Guards({{"allowed_imports": ["numpy"]}}, lambda rule, detail: seen.append(detail))
g.install_import_hook()
scope = {{"__name__": "importlib.fake"}}   # a __name__ that claims to be the import machinery
code = compile("import copy\\ntry:\\n    import runpy; runpy.run_module('pytest')\\nexcept ImportError:\\n    pass\\n"
               "try:\\n    import pytest\\nexcept ImportError:\\n    pass\\n", {candidate!r}, "exec")
exec(code, scope)
print(json.dumps(seen))
""")
    import json
    import subprocess

    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen and all("pytest" in s for s in seen), seen    # copy's own `import org...` is nobody's violation
    assert len(seen) >= 2                                     # through runpy too, not only the direct import


def test_bubblewrap_gives_a_cuda_child_the_gpu_nodes_and_a_read_only_sys(tmp_path):
    def argv_for(device):
        return " ".join(bwrap_argv("bwrap", limits=Limits(), readable=[paths.sandbox_dir()], site_keep={},
                                   env={}, passwd=tmp_path / "passwd", device=device, seccomp_fd=None, status_fd=6))

    assert "--ro-bind-try /sys /sys" in argv_for("cuda")
    assert "/sys" not in argv_for("cpu")


def test_without_bubblewrap_every_cache_under_tmp_moves_to_scratch(tmp_path):
    from dlverify.isolation.launcher import scratch_env

    env = scratch_env({"PATH": "/usr/bin", "HOME": "/tmp", "TRITON_CACHE_DIR": "/tmp/.triton",
                       "TORCH_EXTENSIONS_DIR": "/tmp/torch_extensions", "LANG": "C.UTF-8",
                       "NOT_A_PATH": "/tmpfoo"}, tmp_path)
    assert env["HOME"] == env["TMPDIR"] == str(tmp_path)
    assert env["TRITON_CACHE_DIR"] == f"{tmp_path}/.triton"
    assert env["TORCH_EXTENSIONS_DIR"] == f"{tmp_path}/torch_extensions"
    assert env["PATH"] == "/usr/bin" and env["LANG"] == "C.UTF-8" and env["NOT_A_PATH"] == "/tmpfoo"


def test_the_child_finds_the_interpreter_s_own_programs_first():
    import os

    from dlverify.launch.environment import child_env
    from dlverify.packs.registry import get_exercise

    path = child_env(get_exercise("cuda_matmul"), "cuda").get("PATH").split(os.pathsep)
    assert path[0] == os.path.dirname(sys.executable) and "/usr/bin" in path


def _confined_worker(job: dict):
    """worker.confine for this job (call it in a forked child: sandbox/ stays on its path)."""
    sys.path.insert(0, str(paths.sandbox_dir()))
    import worker

    return worker.confine(job, str(paths.sandbox_dir()))


def _rewrite(path: str, data: bytes) -> None:
    """Open an existing file as the CUDA driver does, fopen(path, "w"): create and truncate flags."""
    with open(path, "wb") as f:
        f.write(data)


def _name_a_thread_through_proc() -> None:
    """What the CUDA driver does at cuInit: another thread's name written through /proc/<pid>/task."""
    import threading

    ready, done = threading.Event(), threading.Event()
    thread = threading.Thread(target=lambda: (ready.set(), done.wait(5)))
    thread.start()
    ready.wait(5)
    try:
        _rewrite(f"/proc/self/task/{thread.native_id}/comm", b"cuda-EvtHandlr")
    finally:
        done.set()
        thread.join()


@needs_landlock
def test_a_cuda_worker_can_name_its_threads_and_run_the_interpreter_s_programs():
    # On a real GPU, a worker refused these failed every submission: cuInit gave error 304 (the
    # driver names its threads through /proc), and load_inline found no ninja.
    bin_dir = os.path.dirname(sys.executable)

    def confined():
        _confined_worker({"framework": "cuda", "device": "cuda"})
        return [_try("thread name", _name_a_thread_through_proc),
                _try("interpreter bin", lambda: os.listdir(bin_dir)),
                _try("own oom_score_adj", lambda: _rewrite("/proc/self/oom_score_adj", b"0")),
                _try("create in task", lambda: open("/proc/self/task/new", "w").close()),
                _try("etc", lambda: open("/etc/hostname").read())]

    assert in_child(confined) == ["thread name allowed", "interpreter bin allowed", "own oom_score_adj denied",
                                  "create in task denied", "etc denied"]


@needs_landlock
def test_a_cpu_worker_cannot_write_its_proc_entry():
    def confined():
        _confined_worker({"framework": "torch", "device": "cpu"})
        return [_try("thread name", _name_a_thread_through_proc)]

    assert in_child(confined) == ["thread name denied"]


def test_swapping_the_guards_own_methods_or_rules_is_tampering(tmp_path):
    """A red team reached the Guards class (through sys.modules) and replaced its judging method:
    the hooks stayed in place, so nothing noticed. The guards' own code and rules count too."""
    script = tmp_path / "probe.py"
    script.write_text(f"""
import sys, json
sys.path.insert(0, {str(paths.sandbox_dir())!r})
import torch
from guards import Guards
seen = []
g = Guards({{"forbidden_ops": ["softmax"], "allowed_ops": ["empty_like"]}}, lambda rule, detail: seen.append(detail))
g.install()
g.check_intact("before")
untouched = list(seen)
Guards._judge_op = lambda *a: None
g.check_intact("after a method swap")
g.allowed_ops = None
g.check_intact("after a rule swap")
print(json.dumps({{"untouched": untouched, "seen": seen}}))
""")
    import json
    import subprocess

    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["untouched"] == []
    assert len(out["seen"]) == 2
    assert "the guards' own _judge_op" in out["seen"][0] and "the guards' own allowed_ops" in out["seen"][1]


def test_swapping_a_method_the_guards_inherit_is_tampering_too(tmp_path):
    """The import rule lives in a base class of Guards (sandbox/import_guard.py): swapping its
    method on that class must be seen as surely as swapping one of Guards' own."""
    script = tmp_path / "probe.py"
    script.write_text(f"""
import sys, json
sys.path.insert(0, {str(paths.sandbox_dir())!r})
import guards
seen = []
g = guards.Guards({{"forbidden_imports": ["json.decoder"]}}, lambda rule, detail: seen.append(detail))
g.install()
g.check_intact("before")
untouched = list(seen)
base = [c for c in type(g).__mro__ if "_check_import" in vars(c)][0]
base._check_import = lambda *a: None
g.check_intact("after a base-class swap")
print(json.dumps({{"untouched": untouched, "seen": seen, "base": base.__name__}}))
""")
    import json
    import subprocess

    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["untouched"] == []
    assert len(out["seen"]) == 1 and "_check_import" in out["seen"][0], out
