#!/usr/bin/env bash
# Stage what a bare GPU runner lacks, on a machine that has a network, for gpu_acceptance.sh:
# the wheels of dlverify's pure dependencies that such images often miss (nbformat and its
# needs, pyseccomp) and Debian's bubblewrap package. torch, triton, numpy, rich and PyYAML are
# expected on the runner already (check with `python3 -m pip show NAME` there).
#
#   bash benchmarks/stage_offline.sh [DIR] [PYTHON_VERSION]     (default: offline/ and 3.12)
#
# Copy DIR next to the checkout on the runner; gpu_acceptance.sh finds it as offline/ (or
# OFFLINE=DIR), installs the wheels into a scratch folder on PYTHONPATH and unpacks bwrap
# there, without touching the runner's own environment.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-offline}
pyver=${2:-3.12}
mkdir -p "$dir"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$dir" nbformat fastjsonschema jsonschema jsonschema-specifications referencing rpds-py \
    jupyter_core traitlets platformdirs pyseccomp pytest-xdist execnet   # xdist: pyproject's addopts say -n 2
(cd "$dir" && apt-get download bubblewrap)
ls -1 "$dir"
