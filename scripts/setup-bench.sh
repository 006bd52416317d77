#!/usr/bin/env bash
# Creates .venv-bench with CPU PyTorch and numpy for `npm run bench`'s side-by-side measurement.
#
# Idempotent: when .venv-bench already imports torch, it does nothing. pip resolves torch from whatever
# it is configured with (a local wheel directory or index on offline machines, PyPI elsewhere; the CPU
# build is asked for through PyTorch's CPU index where pip can reach it). If no torch can be installed,
# it falls back to Debian's python3-torch (apt, needs root) and a venv with system site packages.
# Exit status 0 means `.venv-bench/bin/python -c 'import torch'` works; 1 means the bench will run our
# side only.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bench"
PY="$VENV/bin/python"
log() { echo "setup-bench: $*" >&2; }

has_torch() { [ -x "$PY" ] && "$PY" -c 'import torch, numpy' >/dev/null 2>&1; }

if has_torch; then
  log "torch $("$PY" -c 'import torch; print(torch.__version__)') already in .venv-bench"
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
  log "no python3 on PATH; PyTorch comparison skipped"
  exit 1
fi

rm -rf "$VENV"
log "creating .venv-bench and installing torch + numpy with pip"
if python3 -m venv "$VENV" &&
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --prefer-binary --retries 0 --timeout 15 \
    --extra-index-url https://download.pytorch.org/whl/cpu torch numpy >&2; then
  if has_torch; then
    log "installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
    exit 0
  fi
fi

log "pip could not install torch; trying Debian's python3-torch"
rm -rf "$VENV"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y --no-install-recommends python3-torch python3-numpy >&2 || true
  /usr/bin/python3 -m venv --system-site-packages "$VENV" >&2 || true
  if has_torch; then
    log "using Debian's torch $("$PY" -c 'import torch; print(torch.__version__)')"
    exit 0
  fi
fi
log "no PyTorch available (pip failed; apt needs root); the bench prints our side only"
exit 1
