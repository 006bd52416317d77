#!/usr/bin/env bash
# Installs what `npm run notebooks` and figure export need, idempotently:
#   - Jupyter (nbconvert, nbclient, jupyter_client, ipykernel) in <project>/.venv, unless a working one is there;
#   - Debian's chromium for static SVG/PNG figures, when running as root and it is missing.
# pip reaches whatever index it is configured with (PyPI on a user's machine). Safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
start=$SECONDS

if [ -x "$venv/bin/jupyter" ] && "$venv/bin/python" -c 'import nbconvert, nbclient, jupyter_client, ipykernel' 2>/dev/null; then
  echo "jupyter: $venv already has nbconvert, nbclient, jupyter_client, ipykernel"
else
  python="${PYTHON:-python3}"
  echo "jupyter: creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
  # --retries 1: on an offline machine with a local index, unreachable PyPI otherwise costs ~8 s per package.
  "$venv/bin/pip" install --quiet --quiet --retries 1 nbconvert nbclient jupyter_client ipykernel
  "$venv/bin/jupyter" nbconvert --version >/dev/null
  echo "jupyter: installed nbconvert $("$venv/bin/jupyter" nbconvert --version)"
fi

if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  echo "chromium: present ($(/usr/bin/chromium --version 2>/dev/null || chromium --version))"
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium: installing Debian's chromium with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null))"
else
  echo "chromium: missing and not root; skipped (figures fall back to HTML; as root: apt-get install chromium)"
fi

echo "setup-jupyter: done in $((SECONDS - start)) s"
