#!/usr/bin/env bash
# Benchmarks csmsg: against the standard library and its own reference
# decoders (the root module's BenchmarkDecode and BenchmarkReceiverParse),
# and against silenceper/wechat v2.1.10, medivhzhan/weapp v3.8.1, plain
# encoding/xml / encoding/json, and for JSON goccy/go-json, bytedance/sonic,
# segmentio/encoding and json-iterator/go, each into a flat struct, on the
# same bodies (this module): the same body every iteration (BenchmarkParse)
# and 256 different bodies of each kind in turn (BenchmarkParseVaried).
# Prints benchstat's table of the SDK comparison and the median tables with
# speed-ups. COUNT (default 6) runs of each, BENCHTIME (default 1s) long.
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
root=$(mktemp)
sdks=$(mktemp)
trap 'rm -f "$root" "$sdks"' EXIT

(cd .. && go test -run='^$' -bench='Decode|ReceiverParse' -benchmem -timeout=0 -count="$COUNT" -benchtime="$BENCHTIME" .) >"$root"
go test -run='^$' -bench=. -benchmem -timeout=0 -count="$COUNT" -benchtime="$BENCHTIME" . >"$sdks"

grep -m1 '^cpu:' "$sdks" || true
go version
echo
echo "== benchstat -col /impl (golang.org/x/perf/cmd/benchstat) =="
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$sdks"
echo
echo "== medians and speed-ups =="
go run ./ratios <"$sdks"
go run ./ratios <"$root"
