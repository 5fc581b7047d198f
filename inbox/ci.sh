#!/usr/bin/env bash
# CI of the inbox module: vet, staticcheck, the tests (the SIGKILL crash
# test of a bot process on the file store at the issue's full size, 5,000
# pushes from 200 users and 10 kills, 11 s on a quiet machine, 30 s on a
# loaded one), and the race detector over every package (every store runs
# the conformance suite; the crash test at its default, smaller size).
# .ci/run calls it: `bash inbox/ci.sh`.
set -euo pipefail
cd "$(dirname "$0")"
STATICCHECK=${STATICCHECK:-honnef.co/go/tools/cmd/staticcheck@v0.8.2}
go mod download
go vet ./...
go run "$STATICCHECK" ./...
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "--- the crash test at full size (INBOX_CRASH=full)"
INBOX_CRASH=full go test -count=1 -run '^TestSIGKILL$' -v . >"$tmp/crash.log" 2>&1 || { cat "$tmp/crash.log"; exit 1; }
grep -A2 'sigkill_test.go' "$tmp/crash.log" || true
echo "--- go test"
go test -count=1 ./...
echo "--- go test -race"
go test -race -count=1 ./...
