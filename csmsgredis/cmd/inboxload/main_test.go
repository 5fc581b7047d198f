package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMeasure(t *testing.T) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		t.Skip("REDIS_ADDR not set: no Redis to test against")
	}
	var out bytes.Buffer
	require.NoError(t, measure(flags{addr: addr, stores: "redis,plain", instances: 2, sweep: "50,100", p99: time.Minute,
		duration: 100 * time.Millisecond, users: 5}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 6, out.String())
	assert.Regexp(t, `^redis +offered 50/s: 5 sent, 5 success, 0 failed; .*; \d+ jobs waiting at the end$`, lines[0])
	assert.Regexp(t, `^redis +offered 100/s: 10 sent, 10 success, 0 failed; .*; \d+ jobs waiting at the end$`, lines[1])
	assert.Equal(t, "redis  max sustained rate (p99 ≤ 1m0s, every push answered): 100/s", lines[2])
	assert.Regexp(t, `^plain +offered 50/s: 5 sent, 5 success, 0 failed; .*\)$`, lines[3])
	assert.Regexp(t, `^plain +offered 100/s: 10 sent, 10 success, 0 failed; .*\)$`, lines[4])
	assert.Equal(t, "plain  max sustained rate (p99 ≤ 1m0s, every push answered): 100/s", lines[5])

	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	left, err := rdb.Keys(context.Background(), "{inboxload:*").Result()
	require.NoError(t, err)
	assert.Empty(t, left, "the queues' keys are deleted")
}

func TestMeasureErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    flags
		msg  string
	}{
		{"no Redis", flags{stores: "redis", instances: 2}, "inboxload: no Redis: pass -redis or set REDIS_ADDR"},
		{"no instance", flags{addr: "127.0.0.1:1", stores: "redis"}, "inboxload: -instances 0: at least one"},
		{"unknown store", flags{addr: "127.0.0.1:1", stores: "file", instances: 2}, `inboxload: no store "file" (redis, plain)`},
		{"bad rate", flags{addr: "127.0.0.1:1", stores: "plain", instances: 2, sweep: "10,x"}, `inboxload: -sweep: "x" is no rate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.EqualError(t, measure(tc.f, &bytes.Buffer{}), tc.msg)
		})
	}
}
