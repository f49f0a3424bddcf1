#!/usr/bin/env bash
# The Debian packages `npm run test:python` needs: PyTorch, torchvision and PIL for Debian's python3
# (ortserve-migrate exports with torch.onnx.export; the test computes the original model's answers).
# Nothing is installed when they are there; as root the missing ones are installed with apt-get.
set -euo pipefail

missing=()
/usr/bin/python3 -c 'import torch' 2>/dev/null || missing+=(python3-torch)
/usr/bin/python3 -c 'import torchvision' 2>/dev/null || missing+=(python3-torchvision)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || missing+=(python3-pil)
/usr/bin/python3 -c 'import onnx' 2>/dev/null || missing+=(python3-onnx)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "test-deps: installing ${missing[*]}" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "test-deps: run 'sudo apt-get install -y --no-install-recommends ${missing[*]}', then npm run test:python again." >&2
  exit 1
fi
