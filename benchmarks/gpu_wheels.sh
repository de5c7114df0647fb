#!/usr/bin/env bash
# The wheels wgan-kit needs on the GPU machine that its image lacks, fetched here beforehand:
# that machine reaches no package index. Its image (Python 3.12, torch 2.11 with CUDA 13) holds
# every requirement of pyproject.toml but pydantic, as its package list read on 2026-11-17;
# setuptools builds wgan-kit's own editable install there, offline, from this folder too.
#
#   bash benchmarks/gpu_wheels.sh                         # into .gpu-wheels/ (git ignores it)
#   PYTHON_VERSION=3.11 DEST=/tmp/w bash benchmarks/gpu_wheels.sh   # for a rehearsal here
#
# benchmarks/README.md has the device command that installs them with --no-index.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_VERSION=${PYTHON_VERSION:-3.12}
DEST=${DEST:-.gpu-wheels}
# Pinned to what CI resolves today; pip adds their own requirements (pydantic-core, ...).
MISSING=(pydantic==2.14.4)
BUILD=(setuptools==84.2.1)  # only for pip's isolated build of wgan-kit itself

rm -rf "$DEST" && mkdir -p "$DEST"
python3 -m pip download --quiet --only-binary=:all: --dest "$DEST" \
    --python-version "$PYTHON_VERSION" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any \
    "${MISSING[@]}" "${BUILD[@]}"
printf '%s\n' "${MISSING[@]}" > "$DEST/requirements.txt"
ls -l "$DEST"
du -sh "$DEST"
