#!/usr/bin/env bash
# Install the system packages the test suite runs for real (no mocks): etcd for `premortem etcd`,
# FUSE for a genuinely slow disk, a Docker registry for digest resolution, Chromium for the HTML report.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail
PACKAGES=(etcd-server etcd-client fuse3 libfuse3-3 docker-registry chromium)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
