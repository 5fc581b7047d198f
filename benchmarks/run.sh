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
#
# The runs are interleaved: each test binary runs every benchmark once, COUNT
# times over, rather than each benchmark COUNT times in a row (go test
# -count), so that a slow spell of a shared machine, which lasts seconds,
# falls on the runs of every implementation alike and not on one's.
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd .. && go test -c -o "$tmp/root.test" .)
go test -c -o "$tmp/sdks.test" .
for _ in $(seq "$COUNT"); do
	(cd .. && "$tmp/root.test" -test.run='^$' -test.bench='Decode|ReceiverParse' -test.benchmem -test.timeout=0 -test.benchtime="$BENCHTIME") >>"$tmp/root"
	"$tmp/sdks.test" -test.run='^$' -test.bench=. -test.benchmem -test.timeout=0 -test.benchtime="$BENCHTIME" >>"$tmp/sdks"
done
root=$tmp/root
sdks=$tmp/sdks

grep -m1 '^cpu:' "$sdks" || true
go version
echo
echo "== benchstat -col /impl (golang.org/x/perf/cmd/benchstat) =="
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$sdks"
echo
echo "== medians and speed-ups =="
go run ./ratios <"$sdks"
go run ./ratios <"$root"
