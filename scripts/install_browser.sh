#!/usr/bin/env bash
# Chromium and its driver from Debian's packages, for the UI test (tests/integration/test_ui_browser.py).
# Idempotent; needs root (CI runs as root). Without them the browser test is skipped
# with a message saying how to install them.
set -u
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "install_browser: not root; run 'sudo apt-get install chromium chromium-driver' for the UI test" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null \
  || echo "install_browser: apt-get failed; the UI test will be skipped" >&2
exit 0
