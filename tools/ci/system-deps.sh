#!/usr/bin/env bash
# The Debian packages some tests drive (run by `npm test` before the tests, through "pretest"):
# - chromium: the /ui tests (playwright-core downloads no browser);
# - python3-grpcio with protoc and grpc_python_plugin: the Python gRPC client test generates its stubs from
#   proto/ at test time. Debian's python3-grpc-tools bundles protoc 3.5, which predates proto3 `optional`
#   (inference.proto uses it), so the stubs come from Debian's protoc (protobuf-compiler, protobuf-compiler-grpc).
# Nothing is installed when everything is there. As root the missing packages are installed with apt-get;
# otherwise the script says what to install and fails, since those tests could not pass.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3 -c 'import grpc' 2>/dev/null || missing+=(python3-grpcio)
/usr/bin/python3 -c 'import grpc_tools' 2>/dev/null || missing+=(python3-grpc-tools)
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v grpc_python_plugin >/dev/null || missing+=(protobuf-compiler-grpc)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "system-deps: installing ${missing[*]}" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "system-deps: the tests need Debian's ${missing[*]}: run" \
    "'sudo apt-get install -y --no-install-recommends ${missing[*]}', then npm test again." >&2
  exit 1
fi
