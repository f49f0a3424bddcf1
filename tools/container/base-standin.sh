#!/usr/bin/env bash
# A local stand-in for the Dockerfile's base image, for machines that cannot pull it (no route to Docker Hub),
# used by `npm run test:container` (tools/container/test-image.ts).
#
#   tools/container/base-standin.sh IMAGE_NAME
#
# It rebuilds what the image's build relies on in the official node:<major>-bookworm-slim: Debian bookworm
# (debootstrap --variant=minbase from the mirror apt is configured with), node at /usr/local/bin/node, npm
# at /usr/local/lib/node_modules/npm, and the `node` user and group with uid/gid 1000 and home /home/node.
# Node and npm are copied from the host, so the host's node must have the image's major version.
# The result is tagged IMAGE_NAME and labelled with the host's node version: a later run reuses it as long
# as that version is unchanged (the cache that keeps CI time low), otherwise rebuilds it.
set -euo pipefail
image=${1:?usage: base-standin.sh IMAGE_NAME}
node_bin=$(readlink -f "$(command -v node)")
node_version=$("$node_bin" --version)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

want_major=$(sed -E 's/^[^:]*:([0-9]+).*/\1/' <<<"$image")
if [ "v$want_major" != "${node_version%%.*}" ]; then
  echo "base-standin: the host's node is $node_version, $image needs node $want_major" >&2
  exit 1
fi
if [ "$(podman image inspect --format '{{index .Labels "ortserve.standin.node"}}' "$image" 2>/dev/null)" = "$node_version" ]; then
  echo "base-standin: reusing $image (stand-in with node $node_version)"
  exit 0
fi

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/ortserve-standin.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base-standin: debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"

install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

tar -C "$root" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change "LABEL ortserve.standin.node=$node_version" \
  --change 'CMD ["node"]' - "$image" >/dev/null
echo "base-standin: built $image (Debian bookworm minbase, node $node_version, user node 1000)"
