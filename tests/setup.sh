#!/usr/bin/env bash
# Installs what the tests use: the npm packages (anvil, cast, ethers, viem, solc, contract
# artifacts, the token list) into tests/node_modules, and Debian's chromium and chromium-driver
# for the confirmation page's browser test when they are missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix tests --no-audit --no-fund
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "tests/setup.sh: chromium and chromium-driver are missing and cannot be installed here" >&2
    echo "  (apt-get install chromium chromium-driver); the browser test will say it skipped" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium chromium-driver
fi
