#!/usr/bin/env bash
# Benchmarks csmsg against silenceper/wechat v2.1.10, medivhzhan/weapp v3.8.1
# and plain encoding/xml / encoding/json on the same bodies, and prints
# benchstat's table and the speed-up table. COUNT (default 6) runs of each.
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

go test -run='^$' -bench=. -benchmem -count="$COUNT" -benchtime="$BENCHTIME" . | tee "$out" >/dev/null
echo "== benchstat (go run golang.org/x/perf/cmd/benchstat) =="
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$out"
echo
echo "== speed-up =="
go run ./ratios < "$out"
