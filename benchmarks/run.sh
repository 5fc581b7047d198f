#!/usr/bin/env bash
# Benchmarks csmsg. First a push's whole cost (BenchmarkPush, this module):
# a pre-built request with a fresh body through Receiver.Handler in each
# mode and format, with the default dedup, without, and with csmsgredis's
# Dedup (when REDIS_ADDR names a Redis), against the floor (the work the
# mode cannot skip, in plain code), reading alone, and silenceper/wechat
# v2.1.10's receive path. Then parsing: against the standard library and
# its own reference decoders (the root module's BenchmarkDecode and
# BenchmarkReceiverParse), and against silenceper/wechat v2.1.10,
# medivhzhan/weapp v3.8.1, plain encoding/xml / encoding/json, and for JSON
# goccy/go-json, bytedance/sonic, segmentio/encoding and json-iterator/go,
# each into a flat struct, on the same bodies (this module): the same body
# every iteration (BenchmarkParse) and 256 different bodies of each kind in
# turn (BenchmarkParseVaried). Prints benchstat's table of the SDK
# comparison and the median tables with ratios. COUNT (default 6) runs of
# each, BENCHTIME (default 1s) long; ONLY=push runs BenchmarkPush alone.
#
# The runs are interleaved: each test binary runs every benchmark once, COUNT
# times over, rather than each benchmark COUNT times in a row (go test
# -count), so that a slow spell of a shared machine, which lasts seconds,
# falls on the runs of every implementation alike and not on one's.
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
ONLY=${ONLY:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd .. && go test -c -o "$tmp/root.test" .)
go test -c -o "$tmp/sdks.test" .
for _ in $(seq "$COUNT"); do
	"$tmp/sdks.test" -test.run='^$' -test.bench='^BenchmarkPush$' -test.benchmem -test.timeout=0 -test.benchtime="$BENCHTIME" >>"$tmp/push"
	if [ "$ONLY" != push ]; then
		(cd .. && "$tmp/root.test" -test.run='^$' -test.bench='Decode|ReceiverParse' -test.benchmem -test.timeout=0 -test.benchtime="$BENCHTIME") >>"$tmp/root"
		"$tmp/sdks.test" -test.run='^$' -test.bench='^BenchmarkParse' -test.benchmem -test.timeout=0 -test.benchtime="$BENCHTIME" >>"$tmp/sdks"
	fi
done

grep -m1 '^cpu:' "$tmp/push" || true
go version
if [ -z "${REDIS_ADDR:-}" ]; then
	echo "(REDIS_ADDR unset: no csmsg-redis column)"
fi
echo
echo "== a push's whole cost: medians and ratios =="
go run ./ratios <"$tmp/push"
if [ "$ONLY" = push ]; then
	exit 0
fi
echo
echo "== benchstat -col /impl (golang.org/x/perf/cmd/benchstat) =="
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$tmp/sdks"
echo
echo "== parsing: medians and speed-ups =="
go run ./ratios <"$tmp/sdks"
go run ./ratios <"$tmp/root"
