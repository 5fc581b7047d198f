package csmsgredis

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/inbox/queue"
	"github.com/csmsg/csmsg/inbox/storetest"
)

// testRedis returns a client of the Redis at REDIS_ADDR, or skips the
// test when it is not set (csmsgredis/ci.sh sets it and fails on skips).
func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		t.Skip("REDIS_ADDR not set: no Redis to test against")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

var prefixes atomic.Int64

// testPrefix returns a prefix no other test uses, whose keys are deleted
// when the test ends.
func testPrefix(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	prefix := fmt.Sprintf("csmsgredis-test:%d:%d:%d", os.Getpid(), time.Now().UnixNano(), prefixes.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, "{"+prefix+"}:*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}

func TestConformance(t *testing.T) {
	rdb := testRedis(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) queue.Store {
		q, err := NewQueue(context.Background(), rdb, Options{Prefix: testPrefix(t, rdb)})
		require.NoError(t, err)
		q.now = now
		return q
	})
}
