#!/usr/bin/env bash
# Every command and code block of README.md and doc.go works as printed:
# compiles each go block (gin and go-redis come from the Go module proxy
# the first time) and runs each sh block's commands, the servers among them
# (csmsg serve, csmsg emulate, cd examples && go run ./echobot) started on their
# loopback ports, probed and stopped. See .ci/readmecheck/main.go for the
# HTML comments that name a block's prelude or skip it. Under two minutes
# with a warm module and build cache.
#
#   bash .ci/readme.sh                 # README.md and doc.go
#   bash .ci/readme.sh -run=false      # compile the go blocks only
#   bash .ci/readme.sh docs/x.md       # other documents
set -euo pipefail
cd "$(dirname "$0")/readmecheck"

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

if [ "${READMECHECK_LINT:-1}" = 1 ]; then
  echo "--- readmecheck module: vet, staticcheck, tests"
  go vet ./...
  go run "$STATICCHECK" ./...
  go test ./...
fi

echo "--- README.md and doc.go, as printed"
go run . -root ../.. "$@"
