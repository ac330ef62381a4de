#!/usr/bin/env bash
# Debian's Chromium for the browser tests of the HTML pages (driven by
# playwright-core from npm). Browser downloads from test tools do not work
# offline; the distribution package does.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
