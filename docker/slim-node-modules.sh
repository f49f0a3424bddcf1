#!/bin/sh
# Run by the Dockerfile's `deps` stage on the production node_modules (npm ci --omit=dev): removes what
# the image can never load, which is most of node_modules' size.
# - onnxruntime-node ships every platform's binaries (darwin, win32, linux arm64 and x64): keep this
#   platform's only; and no CUDA / TensorRT provider libraries (its postinstall is skipped, and the image
#   runs on the CPU provider).
# - onnxruntime-web: @huggingface/transformers depends on it, but its Node build (transformers.node.mjs,
#   what our tokenizer imports) carries the web runtime bundled inside and never loads this package.
# - source maps.
set -eu
cd "${1:-node_modules}"
platform=$(node -p 'process.platform + "/" + process.arch')
bin=onnxruntime-node/bin/napi-v6
test -f "$bin/$platform/onnxruntime_binding.node"
for d in "$bin"/*/*; do
  [ "$d" = "$bin/$platform" ] || rm -rf "$d"
done
rm -f "$bin/$platform"/libonnxruntime_providers_cuda.so "$bin/$platform"/libonnxruntime_providers_tensorrt.so
rm -rf onnxruntime-web
find . -name '*.map' -type f -delete
