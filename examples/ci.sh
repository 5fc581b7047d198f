#!/usr/bin/env bash
# CI of the examples module: vet, staticcheck, the tests (echobot's, with
# the walkthrough of the README run by real processes: csmsg emulate and
# echobot, killed with SIGKILL mid-answer and started again, about 15 s),
# and the race detector over the in-process tests. .ci/run calls it:
# `bash examples/ci.sh`.
set -euo pipefail
cd "$(dirname "$0")"
# The module as its go.mod says (replace ../ and ../inbox), whatever
# go.work a parent directory or the environment names.
export GOWORK=off
STATICCHECK=${STATICCHECK:-honnef.co/go/tools/cmd/staticcheck@v0.8.2}
go mod download
go vet ./...
go run "$STATICCHECK" ./...
go test -count=1 ./...
# -short: the walkthrough test's programs are not built with -race.
go test -race -short -count=1 ./...
