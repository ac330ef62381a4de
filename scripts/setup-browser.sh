#!/usr/bin/env bash
# Debian's Chromium for the browser tests of the HTML pages (driven by
# playwright-core from npm), and Debian's xmlsec1, the independent XML-DSig
# implementation that signs the fake SAML IdP's responses in the tests.
# Browser downloads from test tools do not work offline; the distribution
# packages do.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian's ${missing[*]} for the tests"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
