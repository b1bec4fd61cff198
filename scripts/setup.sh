#!/usr/bin/env bash
# Installs everything Opslab needs on a fresh Debian 12 machine (as root) and builds the site:
# system packages (bubblewrap for the sandboxes, chromium for the browser tests, a C++ toolchain for
# node-pty and better-sqlite3), npm packages, the packages and services the lessons declare, the
# lessons' programs, the Astro build.
#
#   npm run setup                        every lesson
#   npm run setup -- --lessons <a>,<b>  only those lessons' packages and services
set -euo pipefail
cd "$(dirname "$0")/.."

lesson_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --lessons) lesson_args=(--lessons "${2:?--lessons needs a comma-separated list of lessons}"); shift 2 ;;
    --lessons=*) lesson_args=(--lessons "${1#--lessons=}"); shift ;;
    *) echo "setup: unknown option $1 (the one option: --lessons a,b)" >&2; exit 2 ;;
  esac
done
lessons_tool() { npx tsx scripts/packages.ts "$@" "${lesson_args[@]}"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (the server gives every sandbox its own unprivileged uid)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# The platform's own packages; each lesson declares its own (`packages:` in its index.mdx) and each
# shared service its own (services/<name>/packages), installed below once npm can read them.
platform=(
  bubblewrap util-linux procps iproute2 psmisc nano   # sandboxes: bwrap, setpriv/nsenter, pkill, ip; nano, the editor attendees expect
  chromium                                        # browser tests (Playwright drives Debian's chromium)
  make g++ python3                                # node-gyp builds node-pty and better-sqlite3 from source
  gcc libc6-dev libseccomp-dev                    # the spawner and sandbox-init (sandbox-server/native, static)
  shellcheck                                      # lessons:lint checks every lesson script with it
  postgresql-15                                   # the shared store's tests start a PostgreSQL of their own
  haproxy                                         # the room's load balancer (deploy/haproxy); tests run their own
)

install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  [ -n "${apt_updated:-}" ] || { apt-get update -q; apt_updated=1; }
  # Servers the lessons run (MariaDB) run inside sandboxes, never on the host: no package may start
  # its service here (policy-rc.d 101 = "not allowed"), whatever init system the machine has.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -q --no-install-recommends "$@"
}

# Debian's postgresql-common makes and starts a cluster on port 5432 when the server is installed;
# Opslab's tests run clusters of their own in temporary folders, and an operator's store is theirs:
# no host cluster is made (an existing setting is left as it is).
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  mkdir -p /etc/postgresql-common
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf
fi
install_missing "${platform[@]}"
npm ci --no-audit --no-fund

# The lessons' packages and services: all lessons, or those of `--lessons a,b`.
mapfile -t lesson_packages < <(lessons_tool --print packages)
[ ${#lesson_packages[@]} -eq 0 ] || install_missing "${lesson_packages[@]}"
for service in $(lessons_tool --print services); do
  if [ -x "services/$service/setup.sh" ]; then "services/$service/setup.sh"; fi
done

npx astro build
# Programs that lessons run in their sandboxes (C sources shipped with the lesson).
for lesson in $(lessons_tool --print lessons); do
  if [ -e "lessons/$lesson/native/Makefile" ]; then make -s -C "lessons/$lesson/native"; fi
done
mkdir -p -m 0755 /var/lib/opslab
# Profiles that grant /dev/net/tun (tap devices inside the sandbox's own network namespace) need it
# openable by unprivileged uids, as Debian's udev rules make it; some machines ship it 0600.
[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
echo "setup: done"
