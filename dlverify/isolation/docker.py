"""The Docker runner for GPU graders: the child in a locked-down container, one per grading.

    docker run --name dlverify-<id> --gpus device=N --network none --read-only
        --tmpfs /tmp (size-capped) --cap-drop ALL --security-opt no-new-privileges
        --pids-limit --memory --memory-swap --user 65534:65534 --ulimit ...
        -v <job folder>:ro -v <sandbox/>:ro -v <channel FIFO>   (graders/ is never mounted)

A container cannot inherit a pipe, so the result channel is a named pipe
(FIFO) made by the host and bind-mounted as a single file: the child can write
frames into it and nothing else. The host reads and clocks frames exactly as
for the local sandbox. The container is named so that it can be removed on
timeout (killing `docker run` leaves the container running). A fault of
Docker itself (no daemon, no image, no GPU runtime) is the grader's, raised as
RunnerFault, never blamed on the candidate.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

from ..launch.channel import FrameReader, StreamTail
from ..report.result import Layer
from .bwrap import PATH_MAP_ENV, RELOCATED, sandbox_path
from .launcher import LaunchSpec, RunEvidence, SandboxUnavailable, launch as launch_local, wait_until_exit

IMAGE = os.environ.get("DLVERIFY_DOCKER_IMAGE", "dlverify-cuda:latest")
CONTAINER_PYTHON = "/opt/venv/bin/python"
CONTAINER_PATH = "/opt/venv/bin:/usr/local/cuda/bin:/usr/local/bin:/usr/bin:/bin"
CHANNEL_IN_CONTAINER = "/run/dlverify-channel"
DOCKER_OWN_FAILURES = {125: "docker could not start the container", 126: "the container's command could not run",
                       127: "the container's command was not found"}


class RunnerFault(SandboxUnavailable):
    """Docker, the image or the GPU runtime failed: the grader's side."""


def docker_available(timeout: float = 5.0) -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    if not shutil.which("docker"):
        return False
    try:
        done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                              capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def image_present(image: str = IMAGE, timeout: float = 10.0) -> bool:
    try:
        done = subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def docker_argv(spec: LaunchSpec, name: str, fifo: Path, *, gpu: str | None, image: str = IMAGE) -> list[str]:
    limits = spec.limits
    argv = ["docker", "run", "--name", name, "--init",
            "--network", "none", "--read-only",
            "--tmpfs", f"/tmp:rw,exec,nosuid,nodev,size={limits.scratch_mb}m,mode=1777",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--pids-limit", str(limits.processes),
            "--memory", f"{limits.memory_mb}m", "--memory-swap", f"{limits.memory_mb}m",
            "--user", "65534:65534", "--workdir", "/tmp",
            "--ulimit", f"cpu={int(limits.cpu_seconds)}:{int(limits.cpu_seconds) + 2}",
            "--ulimit", f"fsize={limits.file_mb << 20}:{limits.file_mb << 20}",
            "--ulimit", "core=0:0", "--ulimit", "nofile=1024:1024",
            "--stop-timeout", "1"]
    if gpu is not None:
        argv += ["--gpus", f"device={gpu}"]
    # Host folders under /tmp (the job folder) are mounted under /run/dlverify, as
    # bubblewrap does: inside, /tmp is the candidate's writable scratch.
    for path in spec.readable:
        argv += ["-v", f"{path}:{sandbox_path(path)}:ro"]
    argv += ["-v", f"{fifo}:{CHANNEL_IN_CONTAINER}"]
    # Inside the container the one GPU it was given is device 0: the host's
    # numbering (CUDA_VISIBLE_DEVICES for the local child) does not apply.
    env = {k: v for k, v in spec.env.items() if k not in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_HOME")}
    env[PATH_MAP_ENV] = RELOCATED
    if "PATH" in env:  # the image's programs (its venv's ninja, CUDA's nvcc), not the host's folders
        env["PATH"] = CONTAINER_PATH
    for key, value in sorted(env.items()):
        argv += ["--env", f"{key}={value}"]
    argv += [image, CONTAINER_PYTHON, "-I", "-B", sandbox_path(spec.child_script),
             sandbox_path(spec.argv[0]), *spec.argv[1:], CHANNEL_IN_CONTAINER]
    return argv


def _inspect_state(name: str) -> dict:
    done = subprocess.run(["docker", "inspect", "--format", "{{json .State}}", name],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        return {}
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {}


def remove_container(name: str) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def launch_docker(spec: LaunchSpec, *, gpu: str | None = None, image: str = IMAGE) -> RunEvidence:
    name = f"dlverify-{uuid.uuid4().hex[:16]}"
    folder = Path(tempfile.mkdtemp(prefix="dlverify-docker-"))
    fifo = folder / "channel"
    os.mkfifo(fifo, 0o622)
    os.chmod(fifo, 0o666)  # written by uid 65534 inside, read by the host
    # Open the read end without blocking, then hold a writer of our own so the
    # reader sees no end-of-stream before the child connects; dropping it once
    # the container is gone lets the reader finish.
    channel_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(channel_fd, True)
    keep_open = os.open(fifo, os.O_WRONLY)
    layers = [Layer("docker", True, f"image {image}, --network none, read-only root, uid 65534, no capabilities, "
                                    f"no-new-privileges, {spec.limits.memory_mb} MiB, {spec.limits.processes} "
                                    f"processes, {spec.limits.scratch_mb} MiB tmpfs"),
              Layer("seccomp", True, "Docker's default seccomp profile (no namespaces, ptrace or kernel modules)")]
    started = time.monotonic()
    proc = subprocess.Popen(docker_argv(spec, name, fifo, gpu=gpu, image=image), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = FrameReader(channel_fd, spec.limits.output_mb << 20, on_frame=spec.on_frame).start()
    cap = spec.limits.log_kb << 10
    out_tail = StreamTail(os.dup(proc.stdout.fileno()), cap).start()
    err_tail = StreamTail(os.dup(proc.stderr.fileno()), cap).start()
    proc.stdout.close()
    proc.stderr.close()
    timed_out = wait_until_exit(proc, reader, spec.deadline)
    wall = time.monotonic() - started
    state = _inspect_state(name)
    remove_container(name)   # on timeout this is what actually stops it
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    os.close(keep_open)  # the container is gone: no writer is left, the reader ends
    reader.join(5)
    out_tail.join(2)
    err_tail.join(2)
    shutil.rmtree(folder, ignore_errors=True)

    code = proc.returncode
    if not timed_out and code in DOCKER_OWN_FAILURES and not reader.frames:
        raise RunnerFault(f"{DOCKER_OWN_FAILURES[code]}: {err_tail.text().strip()[-400:]}")
    exit_code = state.get("ExitCode", code)
    signal_number = exit_code - 128 if isinstance(exit_code, int) and exit_code > 128 else None
    return RunEvidence(
        frames=list(reader.frames), channel_problem=reader.problem,
        returncode=None if signal_number else exit_code, signal=signal_number, wall_seconds=wall,
        cpu_seconds=None, oom_kills=1 if state.get("OOMKilled") else 0,
        memory_limit_hit=bool(state.get("OOMKilled")), peak_memory_bytes=None,
        timed_out=timed_out, left_running=0,
        stdout=out_tail.text(), stderr=err_tail.text(),
        stdout_bytes=out_tail.total, stderr_bytes=err_tail.total, layers=layers, started=started,
    )


def choose_launcher(sandbox: str, gpu: str | None) -> tuple[Callable[[LaunchSpec], RunEvidence], str]:
    """(launch function, kind): `auto` takes Docker when an engine answers, the local sandbox otherwise."""
    if sandbox not in ("auto", "local", "docker"):
        raise ValueError(f"--sandbox must be auto, local or docker, not {sandbox!r}")
    if sandbox == "local" or (sandbox == "auto" and not (docker_available() and image_present())):
        return launch_local, "local"
    if sandbox == "docker" and not docker_available():
        raise RunnerFault("--sandbox docker: no Docker engine answers on this machine")
    return (lambda spec: launch_docker(spec, gpu=gpu)), "docker"
