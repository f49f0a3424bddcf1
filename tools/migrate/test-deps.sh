#!/usr/bin/env bash
# The Python that `npm run test:python`'s Hugging Face test needs: a virtualenv with torch (CPU) and
# transformers (tools/migrate/requirements-test.txt) at $ORTSERVE_HF_VENV (default
# ~/.cache/ortserve/hf-python), outside the work tree. Nothing is done when it is there; it is made with
# Debian's python3 and the pip mirror otherwise (about 3 minutes; python3-venv is installed with apt-get
# as root when missing).
set -euo pipefail
cd "$(dirname "$0")"

venv="${ORTSERVE_HF_VENV:-$HOME/.cache/ortserve/hf-python}"
if "$venv/bin/python" -c 'import torch, transformers, onnx' 2>/dev/null; then exit 0; fi

if ! /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: run 'sudo apt-get install -y python3-venv', then npm run test:python again." >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv
fi
echo "test-deps: making $venv (torch, transformers from the pip mirror)" >&2
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
# --retries 0: an index that cannot be reached (only the mirror can) is skipped at once, not retried.
"$venv/bin/pip" install --quiet --retries 0 -r requirements-test.txt
"$venv/bin/python" -c 'import torch, transformers, onnx'
