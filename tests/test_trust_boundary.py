"""The host never executes candidate code, and the child never sees the grader's secrets."""

from __future__ import annotations

import os
import sys

from dlverify.engine import grade
from dlverify.outcome import Status


def test_host_never_executes_the_submission(write, backprop_reference, tmp_path):
    marker = tmp_path / "host-ran-it"
    sub = write("sub.py", backprop_reference + f"\nopen({str(marker)!r}, 'w').write('x')\n")
    executed = []

    def audit(event, args):
        # exec() of a code object compiled from the submission's file name would mean the host ran it.
        if event == "exec" and args and getattr(args[0], "co_filename", "").endswith("sub.py"):
            executed.append(args[0].co_filename)

    sys.addaudithook(audit)
    result = grade("backprop_mlp", sub, device="cpu", throughput=False)
    assert executed == []
    assert "submission" not in sys.modules
    assert not any(getattr(m, "__file__", None) == str(sub) for m in list(sys.modules.values()))
    # It did run somewhere (in the child), and the child could not write into the host's folder.
    assert result.status is Status.CRASHED or result.status is Status.FAILED
    assert not marker.exists()


def test_child_sees_no_graders_no_secret_and_no_host_env(write, monkeypatch):
    from dlverify import paths

    monkeypatch.setenv("DLVERIFY_TEST_HOST_SECRET", "hunter2-host-secret")
    graders = paths.graders_dir()
    probe = (
        "import os, glob\n"
        f"seen = [p for p in [{str(graders)!r}, {str(graders / 'backprop_mlp' / 'cases.toml')!r}] if os.path.exists(p)]\n"
        f"seen += sorted(glob.glob({str(graders.parent.parent)!r} + '/**/cases.toml', recursive=True))[:5]\n"
        "envs = dict(os.environ)\n"
        "def mlp_loss_and_grads(params, x, y):\n"
        "    raise RuntimeError(f'SEEN={seen} ENV={sorted(envs)} SECRET={(\"hun\" + \"ter2\") in str(envs)}')\n"
    )
    result = grade("backprop_mlp", write("probe.py", probe), device="cpu", throughput=False)
    message = result.cases[0].message
    assert "SEEN=[]" in message, message
    assert "SECRET=False" in message
    assert "DLVERIFY_TEST_HOST_SECRET" not in message
    assert "hunter2" not in result.to_json()


def test_child_runs_as_nobody_without_capabilities(write):
    probe = (
        "import os\n"
        "caps = [l for l in open('/proc/self/status') if l.startswith('CapEff')][0].split()[1]\n"
        "def mlp_loss_and_grads(params, x, y):\n"
        "    raise RuntimeError(f'UID={os.getuid()} CAPS={caps}')\n"
    )
    result = grade("backprop_mlp", write("whoami.py", probe), device="cpu", throughput=False)
    layers = {layer["name"]: layer["applied"] for layer in result.sandbox["layers"]}
    if not layers.get("bubblewrap"):
        import pytest

        pytest.skip("bubblewrap is not installed here: the uid switch is bubblewrap's layer")
    assert "UID=65534" in result.cases[0].message
    assert "CAPS=0000000000000000" in result.cases[0].message


def test_result_records_every_sandbox_layer(write, backprop_reference):
    result = grade("backprop_mlp", write("ok.py", backprop_reference), device="cpu", throughput=False)
    names = [layer["name"] for layer in result.sandbox["layers"]]
    assert names == ["cgroup", "bubblewrap", "landlock", "seccomp", "rlimits"]
    assert result.limits["wall_seconds"] > 0
    if os.geteuid() == 0:
        assert result.sandbox["layers"][0]["applied"], result.sandbox["layers"][0]
