#!/usr/bin/env bash
# CI of the csmsgredis module: installs redis-server if it is missing,
# starts one of its own on a free loopback port and a one-node Redis
# Cluster on another, and runs gofmt, vet, staticcheck, the two-instance
# SIGKILL crash test at the issue's full size without the race detector
# (CSMSGREDIS_CRASH=full: 5,000 pushes from 200 users, 10 kills, one
# redis-server restart; 15-40 s), the race-detected tests (the queue: the
# conformance suite of inbox/storetest on both, Redis stopped and
# restarted while accepting, the crash test at its default, smaller size;
# the Dedup: its contract, two instances behind one Redis, faults),
# none skipped: REDIS_ADDR and REDIS_CLUSTER_ADDR are set, and the Dedup's
# bounded load run ($LOAD_DURATION per scenario, default 5s). The Redis
# servers are stopped on exit. .ci/run calls it: `bash csmsgredis/ci.sh`.
set -euo pipefail
cd "$(dirname "$0")"

STATICCHECK=${STATICCHECK:-honnef.co/go/tools/cmd/staticcheck@v0.8.2}
LOAD_DURATION=${LOAD_DURATION:-5s}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

echo "--- redis-server"
if ! command -v redis-server >/dev/null; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server
fi
redis-server --version

tmp=$(mktemp -d)
stop_redis() {
  local pidfile pid
  for pidfile in "$tmp"/*/redis.pid; do
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$tmp"
}
trap stop_redis EXIT

# ping HOST PORT: whether a Redis answers there.
ping() {
  local reply
  exec 3<>"/dev/tcp/$1/$2" || return 1
  printf 'PING\r\n' >&3
  read -r -t 1 reply <&3 || true
  exec 3>&-
  [[ "$reply" == +PONG* ]]
}

# start_redis NAME [ARGS...]: starts a redis-server with ARGS on a free
# loopback port, its files in $tmp/NAME, and sets port to its port.
start_redis() {
  local name=$1 dir=$tmp/$1 p
  shift
  port=""
  for p in $(shuf -i 20000-39999 -n 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      continue # taken
    fi
    rm -rf "$dir"; mkdir -p "$dir"
    redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no \
      --maxmemory-policy noeviction "$@" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 50); do
      if ping 127.0.0.1 "$p" 2>/dev/null; then port=$p; return; fi
      sleep 0.1
    done
    # lost a race for the port: try another
    [ -s "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  done
  echo "could not start redis-server ($name) on a free loopback port"; exit 1
}

start_redis node
export REDIS_ADDR="127.0.0.1:$port"
echo "redis-server on $REDIS_ADDR"

# A Redis Cluster of one node, serving every slot: the Cluster client's
# routing and Redis's cross-slot checks.
start_redis cluster --cluster-enabled yes --cluster-config-file "$tmp/cluster/nodes.conf"
redis-cli -p "$port" cluster addslotsrange 0 16383 >/dev/null
for _ in $(seq 100); do
  redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' && break
  sleep 0.1
done
redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' || { echo "the one-node cluster is not ok"; exit 1; }
export REDIS_CLUSTER_ADDR="127.0.0.1:$port"
echo "redis-server (cluster) on $REDIS_CLUSTER_ADDR"

echo "--- go mod download"
go mod download

echo "--- gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

echo "--- go vet"
go vet ./...

echo "--- staticcheck"
go run "$STATICCHECK" ./...

echo "--- the crash test at full size (CSMSGREDIS_CRASH=full)"
CSMSGREDIS_CRASH=full go test -count=1 -run '^TestTwoInstancesSIGKILL$' -v . >"$tmp/crash.log" 2>&1 || { cat "$tmp/crash.log"; exit 1; }
grep -A2 'crash_test.go' "$tmp/crash.log" || true

echo "--- go test -race (REDIS_ADDR=$REDIS_ADDR REDIS_CLUSTER_ADDR=$REDIS_CLUSTER_ADDR)"
go test -race -count=1 -v ./... >"$tmp/test.log" 2>&1 || { cat "$tmp/test.log"; exit 1; }
grep -E '^(ok|FAIL|--- FAIL)' "$tmp/test.log" || true
if grep -q -- '--- SKIP' "$tmp/test.log"; then
  grep -B1 -A2 -- '--- SKIP' "$tmp/test.log"; echo "tests were skipped although REDIS_ADDR is set"; exit 1
fi

echo "--- the Dedup's load run ($LOAD_DURATION per scenario)"
go run ./loadtest -duration "$LOAD_DURATION" -concurrency 64 -redis "$REDIS_ADDR"

echo "csmsgredis CI passed"
