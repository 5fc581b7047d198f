package csmsgredis

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/inbox/queue"
	"github.com/csmsg/csmsg/inbox/storetest"
)

// testRedis returns a client of the Redis at REDIS_ADDR, or skips the
// test when it is not set (csmsgredis/ci.sh sets it and fails on skips).
func testRedis(t testing.TB) *redis.Client {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		t.Skip("REDIS_ADDR not set: no Redis to test against")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// testCluster returns a Cluster client of the Redis Cluster at
// REDIS_CLUSTER_ADDR (csmsgredis/ci.sh starts a one-node cluster and fails
// on skips), or skips the test.
func testCluster(t testing.TB) *redis.ClusterClient {
	t.Helper()
	addr := os.Getenv("REDIS_CLUSTER_ADDR")
	if addr == "" {
		t.Skip("REDIS_CLUSTER_ADDR not set: no Redis Cluster to test against")
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

var prefixes atomic.Int64

// testPrefix returns a prefix no other test uses, whose keys are deleted
// when the test ends.
func testPrefix(t testing.TB, rdb redis.UniversalClient) string {
	t.Helper()
	prefix := fmt.Sprintf("csmsgredis-test:%d:%d:%d", os.Getpid(), time.Now().UnixNano(), prefixes.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		del := func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, "{"+prefix+"}:*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
			return iter.Err()
		}
		if cc, ok := rdb.(*redis.ClusterClient); ok {
			cc.ForEachMaster(ctx, del)
		} else {
			del(ctx, rdb.(*redis.Client))
		}
	})
	return prefix
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(testing.TB) redis.UniversalClient
	}{
		{"Node", func(t testing.TB) redis.UniversalClient { return testRedis(t) }},
		{"Cluster", func(t testing.TB) redis.UniversalClient { return testCluster(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := tc.client(t)
			storetest.Run(t, func(t *testing.T, now func() time.Time) queue.Store {
				q, err := NewQueue(context.Background(), rdb, QueueOptions{Prefix: testPrefix(t, rdb)})
				require.NoError(t, err)
				q.now = now
				return q
			})
		})
	}
}

func TestNewQueueErrors(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	other := testPrefix(t, rdb)
	require.NoError(t, rdb.Set(ctx, "{"+other+"}:format", "0", 0).Err())
	for _, tc := range []struct {
		name   string
		prefix string
		want   error
		text   string
	}{
		{"brace", "bot{1}", ErrPrefix, `csmsgredis: prefix must not hold { or }: "bot{1}"`},
		{"other format", other, queue.ErrFormat, `inbox: store format not supported: {` + other + `} holds format "0", this code reads "1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := NewQueue(ctx, rdb, QueueOptions{Prefix: tc.prefix})
			assert.Nil(t, q)
			assert.ErrorIs(t, err, tc.want)
			assert.EqualError(t, err, tc.text)
		})
	}
}

func TestNewQueueWritesFormat(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	prefix := testPrefix(t, rdb)
	for range 2 { // writes it, then reads it
		_, err := NewQueue(ctx, rdb, QueueOptions{Prefix: prefix})
		require.NoError(t, err)
		assert.Equal(t, Format, rdb.Get(ctx, "{"+prefix+"}:format").Val())
	}
}

// Without a test clock, leases and backoffs run on Redis's TIME. The lease
// and the backoff are long enough that no stall of a loaded machine ends
// them between two calls; their end is waited for, not slept for.
func TestLeasesOnRedisClock(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	q, err := NewQueue(ctx, rdb, QueueOptions{Prefix: testPrefix(t, rdb)})
	require.NoError(t, err)
	before := time.Now()
	a, err := q.Accept(ctx, queue.Push{Key: "k", Group: "g", Body: []byte("x")})
	require.NoError(t, err)
	const lease = 5 * time.Second
	// claimWhenDue claims the job as soon as it is due, and asserts that
	// was not before since+lease (less a little: Redis's TIME is the wall
	// clock, time.Since the monotonic one).
	claimWhenDue := func(since time.Time, msg string) []queue.Job {
		deadline := time.Now().Add(lease + 30*time.Second)
		for {
			got, err := q.Claim(ctx, 1, lease)
			require.NoError(t, err)
			if len(got) > 0 {
				assert.GreaterOrEqual(t, time.Since(since), lease-100*time.Millisecond, "%s: not before", msg)
				require.Len(t, got, 1, msg)
				return got
			}
			require.True(t, time.Now().Before(deadline), msg)
			time.Sleep(20 * time.Millisecond)
		}
	}
	claimed := time.Now()
	first, err := q.Claim(ctx, 1, lease)
	require.NoError(t, err)
	require.Len(t, first, 1)
	assert.Equal(t, a.ID, first[0].Lease.ID)
	assert.WithinDuration(t, before, first[0].Accepted, time.Second, "accepted on Redis's clock, this machine's here")
	none, err := q.Claim(ctx, 1, lease)
	require.NoError(t, err)
	assert.Empty(t, none, "leased")
	second := claimWhenDue(claimed, "the lease expired")
	assert.Equal(t, 2, second[0].Attempt)
	_, err = q.Complete(ctx, first[0].Lease)
	assert.ErrorIs(t, err, queue.ErrLeaseLost)
	retried := time.Now()
	require.NoError(t, q.Retry(ctx, second[0].Lease, lease, "boom"))
	none, err = q.Claim(ctx, 1, lease)
	require.NoError(t, err)
	assert.Empty(t, none, "in backoff")
	third := claimWhenDue(retried, "the backoff ended")
	assert.Equal(t, "boom", third[0].LastError)
	next, err := q.Complete(ctx, third[0].Lease)
	require.NoError(t, err)
	assert.False(t, next)
}

// Purge forgets more than one script's batch, in several scripts.
func TestPurgeInBatches(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	q, err := NewQueue(ctx, rdb, QueueOptions{Prefix: testPrefix(t, rdb)})
	require.NoError(t, err)
	c := storetest.NewClock()
	q.now = c.Now
	const n = 2*purgeBatch + 1
	for i := range n {
		_, err := q.Accept(ctx, queue.Push{Key: fmt.Sprint("k", i), Answer: []byte("a")})
		require.NoError(t, err)
	}
	c.Advance(time.Hour)
	p, err := q.Purge(ctx, time.Hour, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, queue.Purged{Keys: n}, p)
	assert.Zero(t, rdb.Exists(ctx, q.base+":kfree", q.base+":kans").Val(), "nothing left")
}
