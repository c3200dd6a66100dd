#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the assignment's autograder image
# (Ubuntu 22.04 or later: Python 3.10+). It installs dlverify from the copy of this
# repository zipped beside it (/autograder/source/dlverify), and bubblewrap for the
# sandbox's namespace layer. Where the image cannot make user namespaces, dlverify falls
# back to Landlock, seccomp, cgroups and rlimits, and says so in every result.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv bubblewrap

python3 -m venv /opt/dlverify
/opt/dlverify/bin/pip install -q --upgrade pip
# A CPU-only torch wheel keeps the image far smaller (PyTorch's install notes say how);
# the exercises grade on the CPU here: Gradescope's machines have no GPU.
/opt/dlverify/bin/pip install -q /autograder/source/dlverify

# Fails the image build now, rather than every student's submission later.
/opt/dlverify/bin/dlverify doctor
