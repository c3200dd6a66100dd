"""The Docker runner: the exact command line, fault mapping from Docker's own failures, and `auto`.

There is no Docker engine on CI machines, so the real path runs only where one
answers (marker `docker`); the rest drives a fake `docker` on PATH.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from dlverify import paths
from dlverify.isolation import docker
from dlverify.isolation.launcher import LaunchSpec, launch
from dlverify.packs.manifest import Limits

LIMITS = Limits(wall_seconds=5, cpu_seconds=10, memory_mb=1024, processes=32, scratch_mb=64)


def _spec(tmp_path: Path, deadline: float = 5.0) -> LaunchSpec:
    job = tmp_path / "job"
    job.mkdir(exist_ok=True)
    return LaunchSpec(child_script=paths.sandbox_dir() / "child.py", argv=[str(job / "job.json"), "0", "1"],
                      readable=[paths.sandbox_dir(), job], limits=LIMITS,
                      env={"HOME": "/tmp", "SECRET_FREE": "1"}, deadline=time.monotonic() + deadline,
                      device="cuda")


def _flag(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == name]


def test_argv_has_every_isolation_flag(tmp_path):
    spec = _spec(tmp_path)
    argv = docker.docker_argv(spec, "dlverify-test", tmp_path / "fifo", gpu=1)
    assert argv[:4] == ["docker", "run", "--name", "dlverify-test"]
    assert _flag(argv, "--gpus") == ["device=1"]
    assert _flag(argv, "--network") == ["none"]
    assert "--read-only" in argv
    assert _flag(argv, "--cap-drop") == ["ALL"]
    assert _flag(argv, "--security-opt") == ["no-new-privileges"]
    assert _flag(argv, "--pids-limit") == ["32"]
    assert _flag(argv, "--memory") == ["1024m"] and _flag(argv, "--memory-swap") == ["1024m"]
    assert _flag(argv, "--user") == ["65534:65534"]
    assert any(t.startswith("/tmp:") and "size=64m" in t for t in _flag(argv, "--tmpfs"))
    mounts = _flag(argv, "-v")
    # Host folders under /tmp move under /run/dlverify: inside, /tmp is the candidate's scratch.
    for host in (paths.sandbox_dir(), tmp_path / "job"):
        inside = f"/run/dlverify{host}" if str(host).startswith("/tmp/") else str(host)
        assert f"{host}:{inside}:ro" in mounts
        assert not inside.startswith("/tmp/")
    assert not any(str(paths.graders_dir()) in m for m in mounts)
    assert all(m.endswith(":ro") or m.endswith(docker.CHANNEL_IN_CONTAINER) for m in mounts)
    assert "--rm" not in argv  # removed by name afterwards, so its state can be inspected first
    assert _flag(argv, "--env") == ["DLVERIFY_PATH_PREFIX=/run/dlverify", "HOME=/tmp", "SECRET_FREE=1"]
    assert argv[-1] == docker.CHANNEL_IN_CONTAINER


def test_no_gpu_flag_without_a_gpu(tmp_path):
    argv = docker.docker_argv(_spec(tmp_path), "n", tmp_path / "fifo", gpu=None)
    assert "--gpus" not in argv


def _fake_docker(tmp_path: Path, monkeypatch, script: str) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "docker.log"
    fake = bindir / "docker"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n{script}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return log


def test_docker_own_failure_is_a_runner_fault(tmp_path, monkeypatch):
    _fake_docker(tmp_path, monkeypatch, 'case "$1" in run) echo "docker: Error response from daemon: '
                                        'could not select device driver" >&2; exit 125;; esac; exit 0')
    with pytest.raises(docker.RunnerFault, match="could not select device driver"):
        docker.launch_docker(_spec(tmp_path), gpu=0)


def test_oom_killed_container_is_memory(tmp_path, monkeypatch):
    _fake_docker(tmp_path, monkeypatch, 'case "$1" in run) exit 137;; '
                                        'inspect) echo \'{"OOMKilled": true, "ExitCode": 137}\';; esac; exit 0')
    evidence = docker.launch_docker(_spec(tmp_path), gpu=0)
    from dlverify.judging.evidence import death

    status, message = death(evidence, LIMITS)
    assert status.value == "memory" and "1024 MiB" in message


def test_timeout_removes_the_container_by_name(tmp_path, monkeypatch):
    log = _fake_docker(tmp_path, monkeypatch, 'case "$1" in run) sleep 30;; esac; exit 0')
    started = time.monotonic()
    evidence = docker.launch_docker(_spec(tmp_path, deadline=1.0), gpu=0)
    assert evidence.timed_out
    assert time.monotonic() - started < 10
    calls = log.read_text().splitlines()
    name = calls[0].split()[2]
    assert name.startswith("dlverify-")
    assert f"rm -f {name}" in calls


def test_auto_falls_back_to_local_without_an_engine(tmp_path, monkeypatch):
    _fake_docker(tmp_path, monkeypatch, 'echo "Cannot connect to the Docker daemon" >&2; exit 1')
    launcher, kind = docker.choose_launcher("auto", None)
    assert kind == "local" and launcher is launch
    with pytest.raises(docker.RunnerFault, match="no Docker engine"):
        docker.choose_launcher("docker", 0)


def test_grade_records_the_runner_it_used(write, backprop_reference, tmp_path, monkeypatch):
    from dlverify.engine import grade

    _fake_docker(tmp_path, monkeypatch, "exit 1")
    result = grade("backprop_mlp", write("ok.py", backprop_reference), sandbox="auto", throughput=False)
    assert result.sandbox["kind"] == "local" and result.passed
    forced = grade("backprop_mlp", write("ok2.py", backprop_reference), sandbox="docker", throughput=False)
    assert forced.status.value == "error" and "no Docker engine" in forced.summary


@pytest.mark.docker
@pytest.mark.skipif(not docker.docker_available() or not docker.image_present(),
                    reason="needs a Docker engine and the dlverify-cuda image (docker build -f Dockerfile.cuda)")
def test_real_docker_run_grades_the_reference(write, backprop_reference):
    from dlverify.engine import grade

    result = grade("backprop_mlp", write("ok.py", backprop_reference), sandbox="docker", throughput=False)
    assert result.sandbox["kind"] == "docker" and result.passed, result.summary


def test_the_container_numbers_its_one_gpu_from_zero(tmp_path):
    spec = _spec(tmp_path)
    spec.env = dict(spec.env, CUDA_VISIBLE_DEVICES="3", CUDA_DEVICE_ORDER="PCI_BUS_ID")
    argv = docker.docker_argv(spec, "n", tmp_path / "fifo", gpu="3")
    assert _flag(argv, "--gpus") == ["device=3"]
    # The host's numbering would point the child at a GPU the container does not have.
    assert not any(e.startswith("CUDA_VISIBLE_DEVICES=") for e in _flag(argv, "--env"))


def test_the_image_carries_nothing_of_the_project():
    # The packs (references, case definitions) must never be inside a candidate's container:
    # the sandbox code comes in as a read-only mount, the job folder likewise.
    dockerfile = (Path(__file__).parent.parent / "Dockerfile.cuda").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line and not line[0].isspace()
                    and not line.startswith("#") and line.split()[0].isupper()]
    assert "FROM" in instructions and "USER" in instructions
    assert "COPY" not in instructions and "ADD" not in instructions
    assert "USER 65534:65534" in dockerfile


def test_the_container_uses_its_own_programs_not_the_host_s(tmp_path):
    spec = _spec(tmp_path)
    spec.env = dict(spec.env, PATH="/home/grader/venv/bin:/usr/bin", CUDA_HOME="/opt/cuda-host")
    env = _flag(docker.docker_argv(spec, "n", tmp_path / "fifo", gpu="0"), "--env")
    assert f"PATH={docker.CONTAINER_PATH}" in env and docker.CONTAINER_PATH.startswith("/opt/venv/bin")
    assert not any(e.startswith("CUDA_HOME=") for e in env)
