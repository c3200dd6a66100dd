"""Which GPU a grading uses: --gpu, CUDA_VISIBLE_DEVICES, the local child's
environment and the container's flags all name the same card."""

import pytest

from dlverify.launch.environment import child_env
from dlverify.launch.gpus import GpuChoiceError, host_index, physical_gpu, visible_gpus
from dlverify.packs.registry import get_exercise


def test_the_host_numbers_gpus_as_nvidia_smi_does():
    import os

    assert os.environ["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


@pytest.mark.parametrize("environ, requested, physical, index", [
    ({}, None, "0", 0),
    ({}, 3, "3", 3),
    ({"CUDA_VISIBLE_DEVICES": "5"}, None, "5", 0),            # a Ray worker given GPU 5
    ({"CUDA_VISIBLE_DEVICES": "2,5"}, 5, "5", 1),
    ({"CUDA_VISIBLE_DEVICES": " 2 , 5 "}, 2, "2", 0),
    ({"CUDA_VISIBLE_DEVICES": "GPU-1a2b"}, None, "GPU-1a2b", 0),
])
def test_physical_gpu_and_host_index(environ, requested, physical, index):
    assert physical_gpu(requested, environ) == physical
    assert host_index(physical, environ) == index


@pytest.mark.parametrize("environ, requested, words", [
    ({"CUDA_VISIBLE_DEVICES": "2,5"}, 3, "may only use CUDA_VISIBLE_DEVICES=2,5"),
    ({"CUDA_VISIBLE_DEVICES": ""}, None, "is empty"),
    ({}, -1, "must be a GPU index"),
])
def test_a_gpu_this_process_cannot_use_is_a_clear_error(environ, requested, words):
    with pytest.raises(GpuChoiceError, match=words):
        physical_gpu(requested, environ)


def test_unset_means_every_gpu_visible():
    assert visible_gpus({}) is None
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1,0"}) == ["1", "0"]


def test_the_local_child_sees_only_its_gpu():
    exercise = get_exercise("attention")
    env = child_env(exercise, "cuda", "3")
    assert env["CUDA_VISIBLE_DEVICES"] == "3" and env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert "CUDA_VISIBLE_DEVICES" not in child_env(exercise, "cpu", None)
