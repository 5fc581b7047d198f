#!/usr/bin/env bash
# Browser test of `csmsg emulate`: drives the chat page in headless Chromium
# through the DevTools protocol (browsertest/, a nested module with no
# dependency). Installs the Debian package chromium if no browser is found,
# and fonts-noto-cjk if no Chinese font is. Regenerate the README's
# screenshot with: cd browsertest && go test -run BrowserScreenshot -screenshot ../docs/emulate.png
# Set CHROMIUM to use another binary. Takes about a minute once
# Chromium is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 \
  && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then
  echo "--- installing chromium"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# The page shows Chinese: without a CJK font headless Chromium draws boxes
# (in the screenshot too).
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh family)" ]; then
  echo "--- installing fonts-noto-cjk"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-noto-cjk >/dev/null
fi

echo "--- browsertest module: vet, staticcheck"
cd browsertest
go vet ./...
go run "$STATICCHECK" ./...

echo "--- browser test (headless chromium)"
# -count=1: the test runs a browser; never a cached result.
# CSMSG_BROWSER_REQUIRED makes a missing browser a failure, not a skip.
CSMSG_BROWSER_REQUIRED=1 go test -count=1 -v -run Browser ./...
