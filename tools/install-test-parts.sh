#!/usr/bin/env bash
# What the full test run needs beyond Python and make, on Debian/Ubuntu (the README's Quickstart and .ci/run call
# this): chromium for the browser tests, nginx for the buffering-proxy test, git for the Binder and nbgitpuller tests,
# Node.js >= 20 and npm for the hub's proxy (configurable-http-proxy, which `make test` then installs from npm).
# Without them `make test` still runs every other test and names each part it skipped (tests/parts.py).
set -euo pipefail

sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
packages=(chromium nginx git)
# only when npm is missing: NodeSource's nodejs already ships npm and conflicts with Debian's
command -v npm >/dev/null || packages+=(nodejs npm)
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "configurable-http-proxy 5.3 (the hub tests' proxy) needs Node.js >= 20, found $(node --version):" \
       "install a newer one (https://github.com/nodesource/distributions)" >&2
  exit 1
fi
